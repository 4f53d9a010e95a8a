//! The HTTP API through `app(state).oneshot(request)`.

use crate::support::{connector, finding, ok, Backend, TestStore};
use axum::body::{Body, Bytes};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use plumbline_collector::admin;
use plumbline_collector::api::{app, AppState};
use plumbline_collector::ingest::MAX_ENVELOPE_BYTES;
use plumbline_protocol::identity::{public_key_b64, AgentKey};
use plumbline_protocol::messages::{EnrollRequest, EnrollResponse, ErrorBody, IngestResponse};
use plumbline_protocol::read_api::{Annotations, ChangesView, FindingsView, RegisterView};
use tower::ServiceExt;

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn error(&self) -> (StatusCode, String) {
        (self.status, self.json::<ErrorBody>().error)
    }
}

pub(crate) async fn call(router: &Router, method: Method, uri: &str, token: Option<&str>, body: impl Into<Body>) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let res = router.clone().oneshot(req.body(body.into()).unwrap()).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Answer { status, headers, body }
}

pub(crate) fn router(t: &TestStore) -> Router {
    app(AppState::new(t.store.clone()))
}

async fn enrollment_over_http(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    t.tenant("contoso").await;
    let issued = admin::create_enroll_token(t.dyn_store(), "contoso", "hq", 72).await.unwrap();
    let key = AgentKey::generate();
    let request_for = |token: &str, key: &AgentKey| {
        serde_json::to_vec(&EnrollRequest {
            token: token.into(),
            public_key: public_key_b64(&key.verifying()),
            hostname: "mail-gw".into(),
            replaces: None,
            site: None,
            tenant: None,
        })
        .unwrap()
    };
    let request = |token: &str| request_for(token, &key);
    let a = call(&r, Method::POST, "/v1/enroll", None, request(&issued.token)).await;
    assert_eq!(a.status, StatusCode::OK);
    let enrolled: EnrollResponse = a.json();
    assert_eq!(
        enrolled,
        EnrollResponse { agent_id: key.agent_id(), tenant_id: "contoso".into(), site_id: "hq".into(), replaced: None, policy_key: None }
    );
    // The same key again (a lost answer) gets the same enrollment; another key is refused.
    let again = call(&r, Method::POST, "/v1/enroll", None, request(&issued.token)).await;
    assert_eq!(again.json::<EnrollResponse>(), enrolled);
    let other = call(&r, Method::POST, "/v1/enroll", None, request_for(&issued.token, &AgentKey::generate())).await;
    assert_eq!(other.error(), (StatusCode::UNAUTHORIZED, "token_used".into()));
    let wrong = call(&r, Method::POST, "/v1/enroll", None, request("ple_guess")).await;
    assert_eq!(wrong.error(), (StatusCode::UNAUTHORIZED, "invalid_token".into()));
    let junk = call(&r, Method::POST, "/v1/enroll", None, "{\"token\":1}").await;
    assert_eq!(junk.error(), (StatusCode::BAD_REQUEST, "malformed".into()));
    let bad_key = serde_json::json!({"token": issued.token, "public_key": "AAAA", "hostname": "x"}).to_string();
    assert_eq!(
        call(&r, Method::POST, "/v1/enroll", None, bad_key).await.error(),
        (StatusCode::BAD_REQUEST, "malformed".into())
    );
}

async fn ingest_statuses_over_http(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    let agent = t.agent("contoso", "hq").await;
    t.tenant("fabrikam").await;
    let body = agent.sign(&agent.typical(1, 2));
    let a = call(&r, Method::POST, "/v1/ingest", None, body.clone()).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json::<IngestResponse>().status, "stored");
    assert_eq!(
        call(&r, Method::POST, "/v1/ingest", None, body.clone()).await.json::<IngestResponse>().status,
        "duplicate"
    );
    let before = t.store.counts().await.unwrap();

    let oversized = call(&r, Method::POST, "/v1/ingest", None, vec![b' '; MAX_ENVELOPE_BYTES + 1]).await;
    assert_eq!(oversized.error(), (StatusCode::PAYLOAD_TOO_LARGE, "too_large".into()));
    // Exactly at the cap is read (and found not to be an envelope): the limit is the cap, not axum's default.
    let at_cap = call(&r, Method::POST, "/v1/ingest", None, vec![b' '; MAX_ENVELOPE_BYTES]).await;
    assert_eq!(at_cap.error(), (StatusCode::BAD_REQUEST, "malformed".into()));
    let truncated = call(&r, Method::POST, "/v1/ingest", None, body[..body.len() - 10].to_vec()).await;
    assert_eq!(truncated.error(), (StatusCode::BAD_REQUEST, "malformed".into()));
    let mut replay = agent.typical(1, 1);
    replay.scan_finished_at = "later".into();
    let refused = call(&r, Method::POST, "/v1/ingest", None, agent.sign(&replay)).await;
    assert_eq!(refused.error(), (StatusCode::CONFLICT, "replayed_sequence".into()));
    // The 409 names the last accepted number, so an agent whose counter went
    // back can re-number above it.
    let body: plumbline_protocol::messages::ErrorBody = refused.json();
    assert_eq!(body.last_accepted_sequence, Some(1));
    let mut foreign = agent.typical(2, 1);
    foreign.tenant_id = "fabrikam".into();
    assert_eq!(
        call(&r, Method::POST, "/v1/ingest", None, agent.sign(&foreign)).await.error(),
        (StatusCode::FORBIDDEN, "wrong_tenant".into())
    );
    let other = AgentKey::generate();
    let forged = crate::support::sign_with(&other, &agent.id(), &agent.typical(2, 1));
    assert_eq!(
        call(&r, Method::POST, "/v1/ingest", None, forged).await.error(),
        (StatusCode::UNAUTHORIZED, "bad_signature".into())
    );
    let stranger = crate::support::sign_with(&other, &other.agent_id(), &agent.typical(2, 1));
    assert_eq!(
        call(&r, Method::POST, "/v1/ingest", None, stranger).await.error(),
        (StatusCode::UNAUTHORIZED, "unknown_agent".into())
    );
    admin::revoke_agent(t.dyn_store(), &agent.id()).await.unwrap();
    assert_eq!(
        call(&r, Method::POST, "/v1/ingest", None, agent.sign(&agent.typical(2, 1))).await.error(),
        (StatusCode::FORBIDDEN, "revoked_agent".into())
    );
    assert_eq!(t.store.counts().await.unwrap(), before);
}

async fn read_api_scopes_tokens_to_tenants(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    let a = t.agent("contoso", "hq").await;
    let b = t.agent("fabrikam", "hq").await;
    let inbound = connector("exchange:inbound:partner", "exchange-connector", "exo");
    let relay = connector("exchange:outbound:relay", "exchange-connector", "exo");
    let batch = a.batch(
        1,
        vec![ok("exo")],
        vec![inbound.clone(), relay.clone()],
        vec![finding("contoso", "exo.open-relay", &relay.key, "exo")],
    );
    let envelope = a.sign(&batch);
    let digest = plumbline_collector::ingest::ingest(t.dyn_store(), &envelope).await.unwrap().digest;
    plumbline_collector::ingest::ingest(t.dyn_store(), &b.sign(&b.typical(1, 1))).await.unwrap();

    let token_a = admin::create_api_token(t.dyn_store(), Some("contoso"), Some("alice")).await.unwrap();
    let token_all = admin::create_api_token(t.dyn_store(), None, None).await.unwrap();

    // The tenants each token may read: its own, or every one for --all.
    let listed = async |token: &str| -> Vec<String> {
        let answer = call(&r, Method::GET, "/v1/tenants", Some(token), Body::empty()).await;
        assert_eq!(answer.status, StatusCode::OK);
        answer.json::<plumbline_protocol::read_api::TenantsView>().tenants.into_iter().map(|t| t.tenant_id).collect()
    };
    assert_eq!(listed(&token_a).await, vec!["contoso".to_string()]);
    assert_eq!(listed(&token_all).await, vec!["contoso".to_string(), "fabrikam".to_string()]);
    assert_eq!(call(&r, Method::GET, "/v1/tenants", None, Body::empty()).await.status, StatusCode::UNAUTHORIZED);

    let reg = call(&r, Method::GET, "/v1/tenants/contoso/register", Some(&token_a), Body::empty()).await;
    assert_eq!(reg.status, StatusCode::OK);
    let view: RegisterView = reg.json();
    assert_eq!(view.connectors.len(), 2);
    assert_eq!(view.open_findings.len(), 1);
    assert_eq!(view.connectors.iter().find(|c| c.entry.key == relay.key).unwrap().open_findings, 1);

    // Tenant A's token never sees tenant B: the same 404 as a tenant that does not exist.
    for path in ["register", "register.csv", "changes", "findings", &format!("batches/{digest}/envelope")] {
        let other = call(&r, Method::GET, &format!("/v1/tenants/fabrikam/{path}"), Some(&token_a), Body::empty()).await;
        let none = call(&r, Method::GET, &format!("/v1/tenants/nobody/{path}"), Some(&token_all), Body::empty()).await;
        assert_eq!(other.error(), (StatusCode::NOT_FOUND, "not_found".into()), "{path}");
        assert_eq!(none.error(), other.error(), "{path}");
    }
    let put = call(
        &r,
        Method::PUT,
        &format!("/v1/tenants/fabrikam/connectors/{}/annotations", "exo/exchange:outbound:0"),
        Some(&token_a),
        "{}",
    )
    .await;
    assert_eq!(put.status, StatusCode::NOT_FOUND);
    // The envelope of tenant A's batch is not served under tenant B, even to --all.
    let cross = call(
        &r,
        Method::GET,
        &format!("/v1/tenants/fabrikam/batches/{digest}/envelope"),
        Some(&token_all),
        Body::empty(),
    )
    .await;
    assert_eq!(cross.status, StatusCode::NOT_FOUND);

    // --all sees both.
    for tenant in ["contoso", "fabrikam"] {
        let all =
            call(&r, Method::GET, &format!("/v1/tenants/{tenant}/register"), Some(&token_all), Body::empty()).await;
        assert_eq!(all.status, StatusCode::OK, "{tenant}");
        assert_eq!(all.json::<RegisterView>().tenant_id, tenant);
    }

    // No token, a wrong token.
    let anon = call(&r, Method::GET, "/v1/tenants/contoso/register", None, Body::empty()).await;
    assert_eq!(anon.error(), (StatusCode::UNAUTHORIZED, "unauthorized".into()));
    assert_eq!(anon.headers[header::WWW_AUTHENTICATE], "Bearer");
    let wrong = call(&r, Method::GET, "/v1/tenants/contoso/register", Some("plt_wrong"), Body::empty()).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    // The stored envelope, byte for byte.
    let ev =
        call(&r, Method::GET, &format!("/v1/tenants/contoso/batches/{digest}/envelope"), Some(&token_a), Body::empty())
            .await;
    assert_eq!(ev.status, StatusCode::OK);
    assert_eq!(ev.body.as_ref(), envelope.as_slice());
    assert_eq!(ev.headers[header::CONTENT_TYPE], "application/json");
    let missing = call(
        &r,
        Method::GET,
        &format!("/v1/tenants/contoso/batches/{}/envelope", "0".repeat(64)),
        Some(&token_a),
        Body::empty(),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // History and its review filter.
    let changes: ChangesView =
        call(&r, Method::GET, "/v1/tenants/contoso/changes", Some(&token_a), Body::empty()).await.json();
    assert_eq!(changes.changes.len(), 2);
    let review: ChangesView =
        call(&r, Method::GET, "/v1/tenants/contoso/changes?needs_review=true", Some(&token_a), Body::empty())
            .await
            .json();
    assert_eq!(review.changes.len(), 1);
    assert_eq!(review.changes[0].connector_key, inbound.key);
    assert!(review.changes[0].needs_review);

    // Findings by status.
    let open: FindingsView =
        call(&r, Method::GET, "/v1/tenants/contoso/findings", Some(&token_a), Body::empty()).await.json();
    assert_eq!((open.status.as_str(), open.findings.len()), ("open", 1));
    let resolved: FindingsView =
        call(&r, Method::GET, "/v1/tenants/contoso/findings?status=resolved", Some(&token_a), Body::empty())
            .await
            .json();
    assert!(resolved.findings.is_empty());
    let all: FindingsView =
        call(&r, Method::GET, "/v1/tenants/contoso/findings?status=all", Some(&token_a), Body::empty()).await.json();
    assert_eq!(all.findings.len(), 1);
    let bogus = call(&r, Method::GET, "/v1/tenants/contoso/findings?status=maybe", Some(&token_a), Body::empty()).await;
    assert_eq!(bogus.error(), (StatusCode::BAD_REQUEST, "malformed".into()));
}

async fn annotations_and_csv_over_http(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    let a = t.agent("contoso", "hq").await;
    let mut formula = connector("teams:=cmd", "incoming-webhook", "teams");
    formula.name = "=HYPERLINK(\"http://evil\")".into();
    let relay = connector("exchange:outbound:relay/eu", "exchange-connector", "exo");
    let batch = a.batch(1, vec![ok("exo"), ok("teams")], vec![relay.clone(), formula.clone()], vec![]);
    plumbline_collector::ingest::ingest(t.dyn_store(), &a.sign(&batch)).await.unwrap();
    let token = admin::create_api_token(t.dyn_store(), Some("contoso"), Some("alice")).await.unwrap();

    let uri = "/v1/tenants/contoso/connectors/exo%2Fexchange:outbound:relay%2Feu/annotations";
    let put = call(
        &r,
        Method::PUT,
        uri,
        Some(&token),
        r#"{"purpose":"copiers","owner_override":"facilities@contoso.example"}"#,
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", String::from_utf8_lossy(&put.body));
    let saved: Annotations = put.json();
    assert_eq!(saved.updated_by.as_deref(), Some("alice"));
    let invalid = call(&r, Method::PUT, uri, Some(&token), r#"{"review_cadence_days":0}"#).await;
    assert_eq!(invalid.error(), (StatusCode::BAD_REQUEST, "invalid_annotation".into()));
    let unknown_field = call(&r, Method::PUT, uri, Some(&token), r#"{"updated_by":"mallory"}"#).await;
    assert_eq!(unknown_field.error(), (StatusCode::BAD_REQUEST, "malformed".into()));
    let unknown = call(&r, Method::PUT, "/v1/tenants/contoso/connectors/nope/annotations", Some(&token), "{}").await;
    assert_eq!(unknown.error(), (StatusCode::NOT_FOUND, "unknown_connector".into()));
    // The migration ladder's rule holds over the API as on the board: tested
    // needs a test date and an evidence link, and keeps them while there.
    let put = |body: &'static str| call(&r, Method::PUT, uri, Some(&token), body);
    let untested = put(r#"{"migration_status":"tested"}"#).await;
    assert_eq!(untested.error(), (StatusCode::BAD_REQUEST, "invalid_annotation".into()));
    assert!(String::from_utf8_lossy(&untested.body).contains("evidence link"), "says what is missing");
    let tested = put(r#"{"migration_status":"tested","last_tested":"2026-11-30","evidence_link":"https://x.example/t"}"#).await;
    assert_eq!(tested.status, StatusCode::OK, "{}", String::from_utf8_lossy(&tested.body));
    assert_eq!(put(r#"{"evidence_link":null}"#).await.error(), (StatusCode::BAD_REQUEST, "invalid_annotation".into()));
    assert_eq!(put(r#"{"migration_status":"old-disabled","evidence_link":null}"#).await.status, StatusCode::OK);
    let kept = t.store.annotations("contoso").await.unwrap();
    assert_eq!(kept.iter().find(|(k, _)| k == &relay.key).unwrap().1.last_tested.as_deref(), Some("2026-11-30"));

    // A rescan keeps the annotations.
    plumbline_collector::ingest::ingest(
        t.dyn_store(),
        &a.sign(&a.batch(2, vec![ok("exo"), ok("teams")], vec![relay.clone(), formula.clone()], vec![])),
    )
    .await
    .unwrap();
    let view: RegisterView =
        call(&r, Method::GET, "/v1/tenants/contoso/register", Some(&token), Body::empty()).await.json();
    let c = view.connectors.iter().find(|c| c.entry.key == relay.key).unwrap();
    assert_eq!(c.annotations.purpose.as_deref(), Some("copiers"));
    assert_eq!(c.effective.owner.as_deref(), Some("facilities@contoso.example"));

    let csv = call(&r, Method::GET, "/v1/tenants/contoso/register.csv", Some(&token), Body::empty()).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(csv.body.as_ref());
    let header_row: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header_row, plumbline_collector::register::csv::header());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "one row per connector");
    let col = |name: &str| header_row.iter().position(|h| h == name).unwrap();
    assert_eq!(&header_row[..18], plumbline_protocol::cells::REGISTER_COLUMNS, "the agent's CSV columns come first");
    let relay_row = rows.iter().find(|r| &r[col("key")] == relay.key.as_str()).unwrap();
    assert_eq!(&relay_row[col("tenant_id")], "contoso");
    assert_eq!(&relay_row[col("owner")], "facilities@contoso.example");
    assert_eq!(&relay_row[col("purpose")], "copiers");
    assert_eq!(&relay_row[col("record")], "connector");
    let formula_row = rows.iter().find(|r| r[col("key")].contains("teams")).unwrap();
    assert!(formula_row[col("name")].starts_with("'="), "formulas are defused: {}", &formula_row[col("name")]);
}

/// Over the in-flight limit, an upload is refused before its body is read,
/// with a 429 and Retry-After that the agent honours; a slot freed lets the
/// next one in.
async fn a_busy_collector_answers_429_before_reading_the_body(backend: Backend) {
    use plumbline_collector::api::admission::{Uploader, MAX_UNSIGNED_IN_FLIGHT};
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    let state = AppState::new(t.store.clone());
    let r = app(state.clone());
    let mut held: Vec<_> = (0..MAX_UNSIGNED_IN_FLIGHT).map(|_| state.admission.admit(Uploader::Unsigned(None)).unwrap()).collect();
    let busy = call(&r, Method::POST, "/v1/ingest", None, agent.sign(&agent.typical(1, 1))).await;
    assert_eq!(busy.error(), (StatusCode::TOO_MANY_REQUESTS, "busy".into()));
    assert_eq!(busy.headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("5"));
    assert_eq!(t.store.counts().await.unwrap().batches, 0);
    held.pop();
    let ok = call(&r, Method::POST, "/v1/ingest", None, agent.sign(&agent.typical(1, 1))).await;
    assert_eq!(ok.status, StatusCode::OK);
}

crate::both_backends!(
    a_busy_collector_answers_429_before_reading_the_body,
    enrollment_over_http,
    ingest_statuses_over_http,
    read_api_scopes_tokens_to_tenants,
    annotations_and_csv_over_http,
);

#[tokio::test]
async fn unknown_paths_answer_an_error_body() {
    let t = Backend::Sqlite.store().await;
    let a = call(&router(&t), Method::GET, "/v2/nothing", None, Body::empty()).await;
    assert_eq!(a.error(), (StatusCode::NOT_FOUND, "not_found".into()));
    let h = call(&router(&t), Method::GET, "/v1/health", None, Body::empty()).await;
    assert_eq!((h.status, h.body.as_ref()), (StatusCode::OK, b"ok".as_ref()));
}
