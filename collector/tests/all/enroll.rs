//! Enrollment tokens: single use, expiring, for an existing tenant.

use crate::support::Backend;
use plumbline_collector::admin;
use plumbline_collector::store::{NewAgent, NewEnrollToken, StoreError};
use plumbline_collector::{timestamp, tokens};
use plumbline_protocol::identity::{public_key_b64, AgentKey};

fn new_agent() -> NewAgent {
    let key = AgentKey::generate();
    NewAgent {
        id: key.agent_id(),
        public_key: public_key_b64(&key.verifying()),
        hostname: "host".into(),
        enrolled_at: timestamp::now(),
        replaces: None,
        site_id: None,
    }
}

async fn tokens_are_single_use(backend: Backend) {
    let t = backend.store().await;
    t.tenant("contoso").await;
    let issued = admin::create_enroll_token(t.dyn_store(), "contoso", "hq", 72).await.unwrap();
    let hash = tokens::hash(&issued.token);
    let agent = new_agent();
    let record = t.store.enroll(&hash, agent.clone(), &timestamp::now()).await.unwrap();
    assert_eq!((record.tenant_id.as_str(), record.site_id.as_str()), ("contoso", "hq"));
    assert_eq!(record.id, agent.id);
    assert_eq!(record.last_sequence, None);

    let second = t.store.enroll(&hash, new_agent(), &timestamp::now()).await.unwrap_err();
    assert!(matches!(second, StoreError::TokenUsed), "{second}");
    let unknown = t.store.enroll(&tokens::hash("ple_nope"), new_agent(), &timestamp::now()).await.unwrap_err();
    assert!(matches!(unknown, StoreError::TokenInvalid), "{unknown}");
    assert_eq!(t.store.agents(Some("contoso")).await.unwrap().len(), 1);
}

async fn expired_tokens_are_refused(backend: Backend) {
    let t = backend.store().await;
    t.tenant("contoso").await;
    let token = tokens::generate(tokens::ENROLL_PREFIX);
    t.store
        .create_enroll_token(NewEnrollToken {
            token_hash: tokens::hash(&token),
            tenant_id: "contoso".into(),
            site_id: "hq".into(),
            reusable: false,
            created_at: timestamp::in_hours(-3),
            expires_at: timestamp::in_hours(-1),
        })
        .await
        .unwrap();
    let e = t.store.enroll(&tokens::hash(&token), new_agent(), &timestamp::now()).await.unwrap_err();
    assert!(matches!(e, StoreError::TokenExpired), "{e}");
    assert!(t.store.agents(None).await.unwrap().is_empty());
}

async fn a_key_enrolls_once_and_a_refusal_keeps_the_token(backend: Backend) {
    let t = backend.store().await;
    t.tenant("contoso").await;
    let agent = new_agent();
    let first = admin::create_enroll_token(t.dyn_store(), "contoso", "hq", 1).await.unwrap();
    t.store.enroll(&tokens::hash(&first.token), agent.clone(), &timestamp::now()).await.unwrap();
    let second = admin::create_enroll_token(t.dyn_store(), "contoso", "hq", 1).await.unwrap();
    let e = t.store.enroll(&tokens::hash(&second.token), agent, &timestamp::now()).await.unwrap_err();
    assert!(matches!(e, StoreError::AgentExists(_)), "{e}");
    // The refused attempt did not use the token up.
    t.store.enroll(&tokens::hash(&second.token), new_agent(), &timestamp::now()).await.unwrap();
}

async fn tokens_need_an_existing_tenant_and_agents_can_be_revoked(backend: Backend) {
    let t = backend.store().await;
    let e = admin::create_enroll_token(t.dyn_store(), "nobody", "hq", 1).await.unwrap_err();
    assert!(e.to_string().contains("no tenant"), "{e}");
    let e = admin::create_api_token(t.dyn_store(), Some("nobody"), None).await.unwrap_err();
    assert!(e.to_string().contains("no tenant"), "{e}");
    let e = admin::add_tenant(t.dyn_store(), "bad/id", None).await.unwrap_err();
    assert!(e.to_string().contains("tenant id"), "{e}");
    t.tenant("contoso").await;
    let e = admin::add_tenant(t.dyn_store(), "contoso", None).await.unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");

    let agent = t.agent("contoso", "hq").await;
    admin::revoke_agent(t.dyn_store(), &agent.id()).await.unwrap();
    let record = t.store.agent(&agent.id()).await.unwrap().unwrap();
    assert!(record.revoked_at.is_some());
    assert!(admin::revoke_agent(t.dyn_store(), "agt_none").await.is_err());
}

/// A lost answer once burned the token: the agent asked again with the same
/// key and was told "already used". The same key now gets the same answer;
/// any other key is still refused.
async fn the_same_key_asking_again_gets_the_same_enrollment(backend: Backend) {
    let t = backend.store().await;
    t.tenant("contoso").await;
    let issued = admin::create_enroll_token(t.dyn_store(), "contoso", "hq", 1).await.unwrap();
    let hash = tokens::hash(&issued.token);
    let agent = new_agent();
    let first = t.store.enroll(&hash, agent.clone(), &timestamp::now()).await.unwrap();
    let again = t.store.enroll(&hash, agent.clone(), &timestamp::now()).await.unwrap();
    assert_eq!(again, first);
    assert!(matches!(t.store.enroll(&hash, new_agent(), &timestamp::now()).await, Err(StoreError::TokenUsed)));
    admin::revoke_agent(t.dyn_store(), &agent.id).await.unwrap();
    assert!(matches!(t.store.enroll(&hash, agent, &timestamp::now()).await, Err(StoreError::TokenUsed)), "not once revoked");
    assert_eq!(t.store.agents(Some("contoso")).await.unwrap().len(), 1);
}

/// `enroll --force` once left the old key valid. With the old key's
/// signature over the new one, the enrollment revokes the old agent in the
/// same transaction; a bad proof is refused before the token is used.
async fn re_enrollment_revokes_the_agent_it_replaces(backend: Backend) {
    use axum::http::{Method, StatusCode};
    use plumbline_protocol::identity::sign_rotation;
    use plumbline_protocol::messages::{EnrollRequest, EnrollResponse, Replacement};
    let t = backend.store().await;
    let r = crate::api::router(&t);
    t.tenant("contoso").await;
    let enroll = |token: String, key: &AgentKey, replaces: Option<Replacement>| {
        let body = serde_json::to_vec(&EnrollRequest {
            token,
            public_key: public_key_b64(&key.verifying()),
            hostname: "gw".into(),
            replaces,
            site: None,
            tenant: None,
        })
        .unwrap();
        let r = r.clone();
        async move { crate::api::call(&r, Method::POST, "/v1/enroll", None, body).await }
    };
    let old = AgentKey::generate();
    let t1 = admin::create_enroll_token(t.dyn_store(), "contoso", "hq", 1).await.unwrap();
    assert_eq!(enroll(t1.token, &old, None).await.status, StatusCode::OK);

    let new = AgentKey::generate();
    let t2 = admin::create_enroll_token(t.dyn_store(), "contoso", "hq", 1).await.unwrap();
    let forged = Replacement { agent_id: old.agent_id(), signature: sign_rotation(&new, &public_key_b64(&new.verifying())) };
    let refused = enroll(t2.token.clone(), &new, Some(forged)).await;
    assert_eq!(refused.error(), (StatusCode::BAD_REQUEST, "bad_replacement".into()));
    assert!(t.store.agent(&old.agent_id()).await.unwrap().unwrap().revoked_at.is_none());

    let proof = Replacement { agent_id: old.agent_id(), signature: sign_rotation(&old, &public_key_b64(&new.verifying())) };
    let done = enroll(t2.token, &new, Some(proof)).await;
    assert_eq!(done.status, StatusCode::OK, "the refused attempt left the token usable");
    assert_eq!(done.json::<EnrollResponse>().replaced, Some(old.agent_id()));
    assert!(t.store.agent(&old.agent_id()).await.unwrap().unwrap().revoked_at.is_some(), "the old key is revoked");
    assert!(t.store.agent(&new.agent_id()).await.unwrap().unwrap().revoked_at.is_none());
}

/// A token for another tenant than the agent's config names is refused
/// before it is used, so the right config enrolls with it afterwards; the
/// Entra admin center's upper case is the same tenant.
async fn a_token_for_another_tenant_is_refused_before_it_is_used(backend: Backend) {
    use axum::http::{Method, StatusCode};
    use plumbline_protocol::messages::EnrollRequest;
    let t = backend.store().await;
    let r = crate::api::router(&t);
    let tenant = "5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa";
    t.tenant(tenant).await;
    let issued = admin::create_enroll_token(t.dyn_store(), tenant, "hq", 1).await.unwrap();
    let key = AgentKey::generate();
    let enroll = |claimed: Option<&str>| {
        let body = serde_json::to_vec(&EnrollRequest {
            token: issued.token.clone(),
            public_key: public_key_b64(&key.verifying()),
            hostname: "gw".into(),
            replaces: None,
            site: None,
            tenant: claimed.map(str::to_string),
        })
        .unwrap();
        let r = r.clone();
        async move { crate::api::call(&r, Method::POST, "/v1/enroll", None, body).await }
    };
    let refused = enroll(Some("northwind")).await;
    assert_eq!(refused.error(), (StatusCode::CONFLICT, "tenant_mismatch".into()));
    let message = String::from_utf8_lossy(&refused.body).to_string();
    assert!(message.contains("was not used") && message.contains("northwind") && message.contains(tenant), "{message}");
    assert!(t.store.agents(Some(tenant)).await.unwrap().is_empty());
    let done = enroll(Some("5F0C1A8E-2B6D-4C1E-9A77-3D2F8B41C0AA")).await;
    assert_eq!(done.status, StatusCode::OK, "the refusal left the token usable");
    // A used token still says whose it is: asking again for another tenant is refused the same way.
    assert_eq!(enroll(Some("northwind")).await.error(), (StatusCode::CONFLICT, "tenant_mismatch".into()));
}

crate::both_backends!(
    a_token_for_another_tenant_is_refused_before_it_is_used,
    the_same_key_asking_again_gets_the_same_enrollment,
    re_enrollment_revokes_the_agent_it_replaces,
    tokens_are_single_use,
    expired_tokens_are_refused,
    a_key_enrolls_once_and_a_refusal_keeps_the_token,
    tokens_need_an_existing_tenant_and_agents_can_be_revoked,
);
