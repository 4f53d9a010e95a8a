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

crate::both_backends!(
    tokens_are_single_use,
    expired_tokens_are_refused,
    a_key_enrolls_once_and_a_refusal_keeps_the_token,
    tokens_need_an_existing_tenant_and_agents_can_be_revoked,
);
