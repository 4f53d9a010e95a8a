//! Token lifecycle: API tokens with a scope, an expiry, a last use and a
//! revocation; enrollment tokens listed and revoked; on both backends and
//! through the binary.

use crate::api::{call, router};
use crate::support::Backend;
use axum::http::{Method, StatusCode};
use plumbline_collector::admin::{self, ApiTokenSpec, TokenScope};
use plumbline_collector::store::NewApiToken;
use plumbline_protocol::identity::{public_key_b64, AgentKey};
use plumbline_protocol::messages::EnrollRequest;

const ANNOTATE: &str = "/v1/tenants/contoso/connectors/exo%2Fexchange:outbound:0/annotations";

async fn api_tokens_have_a_scope_an_expiry_a_last_use_and_a_revocation(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    let agent = t.agent("contoso", "hq").await;
    plumbline_collector::ingest::ingest(t.dyn_store(), &agent.sign(&agent.typical(1, 1))).await.unwrap();
    let spec = |name, scope| ApiTokenSpec { tenant: Some("contoso"), name: Some(name), scope, ttl_days: Some(30) };
    let reader = admin::issue_api_token(t.dyn_store(), &spec("reader", TokenScope::Read)).await.unwrap();
    let writer = admin::issue_api_token(t.dyn_store(), &spec("writer", TokenScope::Write)).await.unwrap();
    let body = r#"{"purpose":"copiers"}"#;

    // Read tokens read, and get a 403 (not a 404) when they write.
    assert_eq!(call(&r, Method::GET, "/v1/tenants/contoso/register", Some(&reader), "").await.status, StatusCode::OK);
    let refused = call(&r, Method::PUT, ANNOTATE, Some(&reader), body).await;
    assert_eq!(refused.error(), (StatusCode::FORBIDDEN, "read_only".into()));
    assert_eq!(call(&r, Method::PUT, ANNOTATE, Some(&writer), body).await.status, StatusCode::OK);

    // Listed with its scope, expiry and last use; never the token.
    let list = t.dyn_store().api_tokens().await.unwrap();
    let read = list.iter().find(|k| k.name == "reader").unwrap();
    assert_eq!((read.scope.as_str(), read.revoked_at.as_deref()), ("read", None));
    assert!(read.expires_at.is_some() && read.last_used_at.is_some(), "{read:?}");
    assert_eq!(read.id.len(), 12, "a short public id, from the hash");
    let table = admin::api_token_table(&list, &plumbline_collector::timestamp::now());
    assert!(table.contains(&read.id) && !table.contains(&reader) && table.contains("active"), "{table}");

    // Revoked: 401 at once.
    admin::revoke_api_token(t.dyn_store(), &read.id).await.unwrap();
    let gone = call(&r, Method::GET, "/v1/tenants/contoso/register", Some(&reader), "").await;
    assert_eq!(gone.error(), (StatusCode::UNAUTHORIZED, "token_revoked".into()));
    assert!(admin::revoke_api_token(t.dyn_store(), "000000000000").await.unwrap_err().to_string().contains("api-token list"));

    // Expired: 401, saying what to do.
    let expired = "plt_expired-token-for-the-test";
    t.dyn_store()
        .create_api_token(NewApiToken {
            token_hash: plumbline_collector::tokens::hash(expired),
            name: "old".into(),
            tenant_id: Some("contoso".into()),
            scope: "read".into(),
            created_at: "2024-01-01T00:00:00Z".into(),
            expires_at: Some("2025-01-01T00:00:00Z".into()),
        })
        .await
        .unwrap();
    let late = call(&r, Method::GET, "/v1/tenants/contoso/register", Some(expired), "").await;
    assert_eq!(late.error(), (StatusCode::UNAUTHORIZED, "token_expired".into()));
}

async fn a_revoked_enrollment_token_enrolls_nobody(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    t.tenant("contoso").await;
    let issued = admin::create_enroll_token(t.dyn_store(), "contoso", "hq", 24).await.unwrap();
    let list = t.dyn_store().enroll_tokens(Some("contoso")).await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(t.dyn_store().enroll_tokens(Some("fabrikam")).await.unwrap().is_empty());
    admin::revoke_enroll_token(t.dyn_store(), &list[0].id).await.unwrap();
    let key = AgentKey::generate();
    let req = EnrollRequest { token: issued.token, public_key: public_key_b64(&key.verifying()), hostname: "gw".into(), replaces: None, site: None, tenant: None };
    let refused = call(&r, Method::POST, "/v1/enroll", None, serde_json::to_vec(&req).unwrap()).await;
    assert_eq!(refused.error(), (StatusCode::UNAUTHORIZED, "token_revoked".into()));
    let table = admin::enroll_token_table(&t.dyn_store().enroll_tokens(None).await.unwrap(), "2000-01-01T00:00:00Z");
    assert!(table.contains("revoked") && table.contains(&list[0].id), "{table}");
    assert!(t.dyn_store().agents(Some("contoso")).await.unwrap().is_empty());
}

crate::both_backends!(
    api_tokens_have_a_scope_an_expiry_a_last_use_and_a_revocation,
    a_revoked_enrollment_token_enrolls_nobody,
);

/// The same through the binary: create with a scope, list, revoke.
#[test]
fn the_token_commands_list_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| crate::support::cli_in(dir.path(), args);
    assert_eq!(run(&["init"]).0, Some(0));
    assert_eq!(run(&["tenant", "add", "contoso", "--no-entra"]).0, Some(0));
    let (code, token, err) = run(&["api-token", "create", "--tenant", "contoso", "--scope", "write", "--ttl-days", "7"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(token.trim().starts_with("plt_") && err.contains("write") && err.contains("7 days"), "{err}");
    let (_, list, _) = run(&["api-token", "list"]);
    let row = list.lines().find(|l| l.contains("contoso-writer")).unwrap_or_else(|| panic!("{list}"));
    assert!(row.contains("write") && row.contains("active") && !list.contains(token.trim()), "{list}");
    let id = row.split_whitespace().next().unwrap();
    assert_eq!(run(&["api-token", "revoke", id]).0, Some(0));
    assert!(run(&["api-token", "list"]).1.lines().any(|l| l.starts_with(id) && l.contains("revoked")));
    let (code, _, err) = run(&["api-token", "revoke", "ffffffffffff"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("api-token list"), "{err}");
    assert_eq!(run(&["enroll-token", "create", "--tenant", "contoso", "--site", "hq"]).0, Some(0));
    let (_, list, _) = run(&["enroll-token", "list", "--tenant", "contoso"]);
    assert!(list.starts_with("ID") && list.contains("unused"), "{list}");
    assert_eq!(run(&["api-token", "create", "--all", "--ttl-days", "0"]).0, Some(2));
}
