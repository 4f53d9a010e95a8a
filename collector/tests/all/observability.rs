//! `/v1/health` touches the database; `/metrics` gives Prometheus text to a
//! fleet API token.

use crate::api::{call, router};
use crate::support::{Backend, TestStore};
use axum::http::{Method, StatusCode};
use plumbline_collector::admin;

/// Break the database under the running store: its migrations table goes.
async fn damage(t: &TestStore) {
    if let Some(path) = t.url.strip_prefix("sqlite:") {
        rusqlite::Connection::open(path).unwrap().execute_batch("DROP TABLE schema_migrations").unwrap();
    } else {
        let (client, conn) = tokio_postgres::connect(&t.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client.batch_execute("DROP TABLE schema_migrations").await.unwrap();
    }
}

async fn health_answers_only_when_the_database_does(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    let up = call(&r, Method::GET, "/v1/health", None, "").await;
    assert_eq!((up.status, &up.body[..]), (StatusCode::OK, &b"ok"[..]));
    damage(&t).await;
    let down = call(&r, Method::GET, "/v1/health", None, "").await;
    assert_eq!(down.error(), (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable".to_string()));
    let message = down.json::<plumbline_protocol::messages::ErrorBody>().message;
    assert!(message.contains("database") && message.contains("log"), "names the part and where to look: {message}");
    assert!(!message.contains("schema_migrations"), "the detail stays in the log: {message}");
}

async fn metrics_count_ingests_outcomes_and_agents_for_a_fleet_token(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    let agent = t.agent("contoso", "hq").await;
    let _never = t.agent("contoso", "branch").await;
    let fleet = admin::create_api_token(t.dyn_store(), None, None).await.unwrap();
    let tenant = admin::create_api_token(t.dyn_store(), Some("contoso"), None).await.unwrap();
    assert_eq!(call(&r, Method::GET, "/metrics", None, "").await.status, StatusCode::UNAUTHORIZED);
    let scoped = call(&r, Method::GET, "/metrics", Some(&tenant), "").await;
    assert_eq!(scoped.error(), (StatusCode::FORBIDDEN, "fleet_token_required".to_string()));

    let body = agent.sign(&agent.typical(1, 2));
    for _ in 0..2 {
        call(&r, Method::POST, "/v1/ingest", None, body.clone()).await;
    }
    call(&r, Method::POST, "/v1/ingest", None, "{not an envelope").await;
    let m = call(&r, Method::GET, "/metrics", Some(&fleet), "").await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(m.headers["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(m.body.to_vec()).unwrap();
    for line in [
        "plumbline_ingest_requests_total{outcome=\"stored\"} 1",
        "plumbline_ingest_requests_total{outcome=\"duplicate\"} 1",
        "plumbline_ingest_requests_total{outcome=\"malformed\"} 1",
        "plumbline_ingest_duration_seconds_count 3",
        "plumbline_ingest_duration_seconds_bucket{le=\"+Inf\"} 3",
        "plumbline_alert_outbox_by_state{state=\"pending\"} 0",
        "plumbline_alert_outbox_by_state{state=\"refused\"} 0",
        "plumbline_agents{last_seen=\"1h\"} 1",
        "plumbline_agents{last_seen=\"24h\"} 0",
        "plumbline_agents{last_seen=\"never\"} 1",
        "plumbline_agents_revoked 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
    }
    // Every sample line is `name{labels} value` with a number, as a scraper parses it.
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let value = l.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{l}");
    }
}

/// A gap in an agent's sequence numbers is shown through the API (and the
/// fleet page), to tokens that may see its tenant only.
async fn the_agents_view_shows_batches_that_never_arrived(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    let agent = t.agent("contoso", "hq").await;
    t.agent("fabrikam", "hq").await;
    for sequence in [1, 4] {
        let stored = call(&r, Method::POST, "/v1/ingest", None, agent.sign(&agent.typical(sequence, 1))).await;
        assert_eq!(stored.status, StatusCode::OK);
    }
    let token = admin::create_api_token(t.dyn_store(), Some("contoso"), None).await.unwrap();
    let view: plumbline_protocol::read_api::AgentsView =
        call(&r, Method::GET, "/v1/tenants/contoso/agents", Some(&token), "").await.json();
    let a = &view.agents[..];
    assert_eq!(a.len(), 1);
    assert_eq!((a[0].agent_id.clone(), a[0].last_sequence, a[0].missing_batches), (agent.id(), Some(4), 2), "2 and 3 never came");
    let other = call(&r, Method::GET, "/v1/tenants/fabrikam/agents", Some(&token), "").await;
    assert_eq!(other.error(), (StatusCode::NOT_FOUND, "not_found".to_string()));
}

crate::both_backends!(
    health_answers_only_when_the_database_does,
    metrics_count_ingests_outcomes_and_agents_for_a_fleet_token,
    the_agents_view_shows_batches_that_never_arrived,
);
