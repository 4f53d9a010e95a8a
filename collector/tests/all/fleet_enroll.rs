//! Fleet enrollment secrets: one reusable secret per tenant enrolls many
//! agents, each with its own key and id, at the site each names, until it
//! expires or is revoked; the list shows it by id, never the secret.

use crate::api::{call, router};
use crate::support::Backend;
use axum::http::{Method, StatusCode};
use plumbline_collector::store::NewEnrollToken;
use plumbline_collector::{admin, timestamp, tokens};
use plumbline_protocol::identity::{public_key_b64, AgentKey};
use plumbline_protocol::messages::{EnrollRequest, EnrollResponse};

fn request(token: &str, key: &AgentKey, site: Option<&str>) -> Vec<u8> {
    serde_json::to_vec(&EnrollRequest {
        token: token.into(),
        public_key: public_key_b64(&key.verifying()),
        hostname: "pc".into(),
        replaces: None,
        site: site.map(str::to_string),
        tenant: None,
    })
    .unwrap()
}

async fn a_fleet_secret_enrolls_many_agents_each_with_its_own_key(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    t.tenant("contoso").await;
    let secret = admin::create_fleet_secret(t.dyn_store(), "contoso", 24).await.unwrap().token;
    assert!(secret.starts_with(tokens::FLEET_PREFIX), "{secret}");
    let (a, b) = (AgentKey::generate(), AgentKey::generate());
    let first = call(&r, Method::POST, "/v1/enroll", None, request(&secret, &a, Some("hq"))).await;
    assert_eq!(first.status, StatusCode::OK, "{}", String::from_utf8_lossy(&first.body));
    let second = call(&r, Method::POST, "/v1/enroll", None, request(&secret, &b, Some("branch-2"))).await;
    assert_eq!(second.status, StatusCode::OK, "{}", String::from_utf8_lossy(&second.body));
    let (first, second): (EnrollResponse, EnrollResponse) = (first.json(), second.json());
    assert_eq!((first.agent_id.as_str(), first.site_id.as_str()), (a.agent_id().as_str(), "hq"));
    assert_eq!((second.agent_id.as_str(), second.site_id.as_str()), (b.agent_id().as_str(), "branch-2"));
    assert_eq!(second.tenant_id, "contoso");
    // The same key asking again (a lost answer) gets the same enrollment, not another use.
    let again = call(&r, Method::POST, "/v1/enroll", None, request(&secret, &a, Some("hq"))).await;
    assert_eq!(again.json::<EnrollResponse>().agent_id, a.agent_id());
    let agents = t.store.agents(Some("contoso")).await.unwrap();
    assert_eq!(agents.len(), 2);

    // Without a site there is nowhere to enroll: a clear refusal that uses nothing.
    let nowhere = call(&r, Method::POST, "/v1/enroll", None, request(&secret, &AgentKey::generate(), None)).await;
    assert_eq!(nowhere.error(), (StatusCode::BAD_REQUEST, "site_required".into()));
    assert!(String::from_utf8_lossy(&nowhere.body).contains("--site"), "says what to do");
    let bad_site = call(&r, Method::POST, "/v1/enroll", None, request(&secret, &AgentKey::generate(), Some("a/b"))).await;
    assert_eq!(bad_site.status, StatusCode::BAD_REQUEST);

    let list = t.store.enroll_tokens(Some("contoso")).await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].reusable && list[0].uses == 2 && list[0].last_used_at.is_some(), "{:?}", list[0]);
    let table = admin::enroll_token_table(&list, &timestamp::now());
    assert!(table.contains("fleet") && table.contains("(any)") && table.contains("active"), "{table}");
    assert!(!table.contains(&secret) && !table.contains(&tokens::hash(&secret)), "never the secret, nor its whole hash");

    // Revoked: nobody new enrolls; those it enrolled stay.
    admin::revoke_enroll_token(t.dyn_store(), &list[0].id).await.unwrap();
    let refused = call(&r, Method::POST, "/v1/enroll", None, request(&secret, &AgentKey::generate(), Some("hq"))).await;
    assert_eq!(refused.error(), (StatusCode::UNAUTHORIZED, "token_revoked".into()));
    assert_eq!(t.store.agents(Some("contoso")).await.unwrap().iter().filter(|a| a.revoked_at.is_none()).count(), 2);
    assert!(admin::enroll_token_table(&t.store.enroll_tokens(None).await.unwrap(), &timestamp::now()).contains("revoked"));
}

async fn an_expired_fleet_secret_enrolls_nobody(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    t.tenant("contoso").await;
    let secret = tokens::generate(tokens::FLEET_PREFIX);
    t.store
        .create_enroll_token(NewEnrollToken {
            token_hash: tokens::hash(&secret),
            tenant_id: "contoso".into(),
            site_id: String::new(),
            reusable: true,
            created_at: timestamp::in_hours(-3),
            expires_at: timestamp::in_hours(-1),
        })
        .await
        .unwrap();
    let refused = call(&r, Method::POST, "/v1/enroll", None, request(&secret, &AgentKey::generate(), Some("hq"))).await;
    assert_eq!(refused.error(), (StatusCode::UNAUTHORIZED, "token_expired".into()));
    assert!(String::from_utf8_lossy(&refused.body).contains("enroll-token create"), "says what to do");
    assert!(t.store.agents(None).await.unwrap().is_empty());
    let table = admin::enroll_token_table(&t.store.enroll_tokens(None).await.unwrap(), &timestamp::now());
    assert!(table.contains("expired"), "{table}");
}

/// A site's single-use token is what it was: the site it names wins over
/// the agent's, and a second agent is refused.
async fn a_single_use_token_stays_single_use(backend: Backend) {
    let t = backend.store().await;
    let r = router(&t);
    t.tenant("contoso").await;
    let token = admin::create_enroll_token(t.dyn_store(), "contoso", "hq", 24).await.unwrap().token;
    let first = call(&r, Method::POST, "/v1/enroll", None, request(&token, &AgentKey::generate(), Some("elsewhere"))).await;
    assert_eq!(first.json::<EnrollResponse>().site_id, "hq");
    let second = call(&r, Method::POST, "/v1/enroll", None, request(&token, &AgentKey::generate(), Some("hq"))).await;
    assert_eq!(second.error(), (StatusCode::UNAUTHORIZED, "token_used".into()));
    let list = t.store.enroll_tokens(None).await.unwrap();
    assert!(!list[0].reusable);
    let table = admin::enroll_token_table(&list, &timestamp::now());
    assert!(table.contains("single") && table.contains("used by"), "{table}");
}

crate::both_backends!(
    a_fleet_secret_enrolls_many_agents_each_with_its_own_key,
    an_expired_fleet_secret_enrolls_nobody,
    a_single_use_token_stays_single_use,
);

/// Through the binary: `--reusable` makes a fleet secret, `--site` with it is refused.
#[test]
fn the_cli_makes_lists_and_revokes_a_fleet_secret() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| crate::support::cli_in(dir.path(), args);
    assert_eq!(run(&["init"]).0, Some(0));
    assert_eq!(run(&["tenant", "add", "contoso", "--no-entra"]).0, Some(0));
    let (code, secret, err) = run(&["enroll-token", "create", "--tenant", "contoso", "--reusable", "--ttl-hours", "48"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(secret.trim().starts_with("plf_") && err.contains("fleet enrollment secret"), "{err}");
    let (code, _, err) = run(&["enroll-token", "create", "--tenant", "contoso", "--reusable", "--site", "hq"]);
    assert_eq!(code, Some(2), "{err}");
    let (_, list, _) = run(&["enroll-token", "list"]);
    let row = list.lines().find(|l| l.contains("fleet")).unwrap_or_else(|| panic!("{list}"));
    assert!(row.contains("(any)") && row.contains("active") && !list.contains(secret.trim()), "{list}");
    let id = row.split_whitespace().next().unwrap();
    let (code, _, err) = run(&["enroll-token", "revoke", id]);
    assert_eq!(code, Some(0), "{err}");
    assert!(run(&["enroll-token", "list"]).1.lines().any(|l| l.starts_with(id) && l.contains("revoked")));
}
