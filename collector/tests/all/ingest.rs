//! The verify-first pipeline: stored, duplicate, and every refusal storing nothing.

use crate::support::{sign_with, Backend};
use base64::Engine as _;
use plumbline_collector::admin;
use plumbline_collector::ingest::{ingest, IngestError, MAX_ENVELOPE_BYTES};
use plumbline_collector::store::{StoreError, VerifiedBatch};
use plumbline_protocol::envelope::{sign, Envelope};
use plumbline_protocol::identity::AgentKey;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

async fn a_batch_is_stored_once_and_resends_are_duplicates(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    let body = agent.sign(&agent.typical(1, 3));
    let first = ingest(t.dyn_store(), &body).await.unwrap();
    assert_eq!((first.status.as_str(), first.sequence), ("stored", 1));
    let after_first = t.store.counts().await.unwrap();
    assert_eq!((after_first.batches, after_first.connectors, after_first.findings, after_first.changes), (1, 3, 3, 3));
    let register = t.store.connectors("contoso").await.unwrap();

    let again = ingest(t.dyn_store(), &body).await.unwrap();
    assert_eq!((again.status.as_str(), again.digest.as_str()), ("duplicate", first.digest.as_str()));
    // The same payload in a differently laid out envelope is the same batch.
    let relaid = serde_json::to_vec_pretty(&Envelope::from_json(&body).unwrap()).unwrap();
    assert_ne!(relaid, body);
    assert_eq!(ingest(t.dyn_store(), &relaid).await.unwrap().status, "duplicate");
    assert_eq!(t.store.counts().await.unwrap(), after_first);
    assert_eq!(t.store.connectors("contoso").await.unwrap(), register, "register unchanged");
    assert_eq!(
        t.store.envelope("contoso", &first.digest).await.unwrap().unwrap(),
        body,
        "the first bytes are the evidence"
    );

    let next = ingest(t.dyn_store(), &agent.sign(&agent.typical(2, 3))).await.unwrap();
    assert_eq!(next.status, "stored");
    let record = t.store.agent(&agent.id()).await.unwrap().unwrap();
    assert_eq!(record.last_sequence, Some(2));
}

async fn every_refusal_stores_nothing(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    t.tenant("fabrikam").await;
    ingest(t.dyn_store(), &agent.sign(&agent.typical(5, 2))).await.unwrap();
    let before = t.store.counts().await.unwrap();
    let refuse = |body: Vec<u8>| {
        let store = t.store.clone();
        async move { ingest(store.as_ref(), &body).await.expect_err("refused") }
    };

    // A payload swapped under a valid signature.
    let good: Envelope = Envelope::from_json(&agent.sign(&agent.typical(6, 2))).unwrap();
    let mut tampered = good.clone();
    let mut other = agent.typical(6, 2);
    other.connectors[0].name = "Evil".into();
    tampered.payload = B64.encode(serde_json::to_vec(&other).unwrap());
    let e = refuse(serde_json::to_vec(&tampered).unwrap()).await;
    assert!(matches!(e, IngestError::BadSignature(_)), "{e}");

    // Re-signed by another key, naming the enrolled agent.
    let e = refuse(sign_with(&AgentKey::generate(), &agent.id(), &agent.typical(6, 2))).await;
    assert!(matches!(e, IngestError::BadSignature(_)), "{e}");

    // A replayed (or stale) sequence with new content.
    let mut replay = agent.typical(5, 2);
    replay.connectors.pop();
    let e = refuse(agent.sign(&replay)).await;
    assert!(matches!(e, IngestError::ReplayedSequence { sequence: 5, last: 5 }), "{e}");
    let e = refuse(agent.sign(&agent.typical(4, 2))).await;
    assert!(matches!(e, IngestError::ReplayedSequence { sequence: 4, last: 5 }), "{e}");

    // A push for another tenant, or another site.
    let mut foreign = agent.typical(6, 2);
    foreign.tenant_id = "fabrikam".into();
    let e = refuse(agent.sign(&foreign)).await;
    assert!(matches!(e, IngestError::WrongTenant { .. }), "{e}");
    let mut elsewhere = agent.typical(6, 2);
    elsewhere.site_id = "branch".into();
    let e = refuse(agent.sign(&elsewhere)).await;
    assert!(matches!(e, IngestError::WrongTenant { .. }), "{e}");

    // Signed by the agent, naming another.
    let mut impostor = agent.typical(6, 2);
    impostor.agent_id = "agt_00000000000000000000000000000000".into();
    let e = refuse(agent.sign(&impostor)).await;
    assert!(matches!(e, IngestError::WrongAgent { .. }), "{e}");

    // An unknown agent.
    let stranger = AgentKey::generate();
    let e = refuse(sign_with(&stranger, &stranger.agent_id(), &agent.typical(6, 2))).await;
    assert!(matches!(e, IngestError::UnknownAgent(_)), "{e}");

    // Truncated, not JSON, unsigned, not a batch, wrong type, oversized.
    let whole = agent.sign(&agent.typical(6, 2));
    let e = refuse(whole[..whole.len() / 2].to_vec()).await;
    assert!(matches!(e, IngestError::Malformed(_)), "{e}");
    let e = refuse(b"\x00\x01".to_vec()).await;
    assert!(matches!(e, IngestError::Malformed(_)), "{e}");
    let e =
        refuse(br#"{"payloadType":"application/vnd.plumbline.scan+json","payload":"","signatures":[]}"#.to_vec()).await;
    assert!(matches!(e, IngestError::Malformed(_)), "{e}");
    let mut extra = serde_json::to_value(agent.typical(6, 2)).unwrap();
    extra["surprise"] = serde_json::json!(true);
    let not_batch = sign(
        plumbline_protocol::envelope::SCAN_PAYLOAD_TYPE,
        &serde_json::to_vec(&extra).unwrap(),
        agent.key.signing(),
        &agent.id(),
    );
    let e = refuse(serde_json::to_vec(&not_batch).unwrap()).await;
    assert!(matches!(e, IngestError::Malformed(_)), "unknown fields are refused: {e}");
    let typed =
        sign("application/json", &serde_json::to_vec(&agent.typical(6, 2)).unwrap(), agent.key.signing(), &agent.id());
    let e = refuse(serde_json::to_vec(&typed).unwrap()).await;
    assert!(matches!(e, IngestError::Malformed(_)), "{e}");
    let e = refuse(vec![b' '; MAX_ENVELOPE_BYTES + 1]).await;
    assert!(matches!(e, IngestError::TooLarge), "{e}");

    // A revoked agent.
    admin::revoke_agent(t.dyn_store(), &agent.id()).await.unwrap();
    let e = refuse(agent.sign(&agent.typical(6, 2))).await;
    assert!(matches!(e, IngestError::RevokedAgent(_)), "{e}");

    assert_eq!(t.store.counts().await.unwrap(), before, "nothing was stored");
    assert_eq!(t.store.agent(&agent.id()).await.unwrap().unwrap().last_sequence, Some(5));
}

async fn a_revocation_racing_verification_still_refuses(backend: Backend) {
    // Verified before the revocation, stored after it: the store re-checks
    // under its lock.
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    admin::revoke_agent(t.dyn_store(), &agent.id()).await.unwrap();
    let batch = agent.typical(1, 1);
    let e = t
        .store
        .ingest(VerifiedBatch {
            digest: "d".repeat(64),
            envelope: agent.sign(&batch),
            batch,
            received_at: plumbline_collector::timestamp::now(),
            alerts: Default::default(),
            egress: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Revoked(_)), "{e}");
    assert_eq!(t.store.counts().await.unwrap().batches, 0);
}

/// PostgreSQL cannot store U+0000 in text and once answered every retry of
/// such a batch with a 500, blocking the agent's queue, while SQLite stored
/// it. Both now refuse it as malformed (a typed 400, final for the agent),
/// name the field, store nothing, and take the next batch.
async fn a_nul_character_is_a_typed_refusal_on_both_backends(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    let mut batch = agent.typical(1, 2);
    batch.connectors[1].key = "exo/exchange:inbound:evil\0x".into();
    batch.findings[1].connector_key = batch.connectors[1].key.clone();
    let e = ingest(t.dyn_store(), &agent.sign(&batch)).await.expect_err("refused");
    let text = e.to_string();
    assert!(matches!(e, IngestError::Malformed(_)), "{e}");
    assert!(text.contains("batch.connectors[1].key") && text.contains("U+0000"), "{text}");
    assert_eq!(t.store.counts().await.unwrap().batches, 0);
    let mut named = agent.typical(1, 1);
    named.connectors[0].name = "Relay \0".into();
    assert!(matches!(ingest(t.dyn_store(), &agent.sign(&named)).await, Err(IngestError::Malformed(_))));
    // A literal backslash-u text is not a NUL, and the queue moves on.
    let mut escaped = agent.typical(1, 1);
    escaped.connectors[0].name = "C:\\u0000\\share".into();
    assert_eq!(ingest(t.dyn_store(), &agent.sign(&escaped)).await.unwrap().status, "stored");
}

/// A plugin once could report another plugin's key (`exchange:inbound:X`
/// from a plugin that sorts first) and take its place in the register,
/// dodging the review. Keys are now `PLUGIN/KEY`, and one outside the
/// reporting plugin's namespace is refused whole.
async fn a_key_outside_its_plugins_namespace_is_refused(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    let mut shadow = agent.typical(1, 1);
    shadow.connectors[0].plugin = "aaa-shadow".into();
    let e = ingest(t.dyn_store(), &agent.sign(&shadow)).await.expect_err("refused");
    assert!(matches!(e, IngestError::Malformed(_)) && e.to_string().contains("namespace of plugin \"aaa-shadow\""), "{e}");
    let mut bare = agent.typical(1, 1);
    bare.findings[0].connector_key = "exchange:outbound:0".into();
    assert!(matches!(ingest(t.dyn_store(), &agent.sign(&bare)).await, Err(IngestError::Malformed(_))));
    assert_eq!(t.store.counts().await.unwrap().batches, 0);
    assert_eq!(ingest(t.dyn_store(), &agent.sign(&agent.typical(1, 1))).await.unwrap().status, "stored");
}

/// A gap in an agent's numbers is counted and shown; a number far beyond
/// the last (a damaged counter, up to i64::MAX) is refused with the last
/// accepted number instead of becoming it, which once locked the agent out:
/// every later batch was "replayed".
async fn gaps_are_counted_and_a_wild_sequence_cannot_lock_an_agent_out(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    ingest(t.dyn_store(), &agent.sign(&agent.typical(1, 1))).await.unwrap();
    ingest(t.dyn_store(), &agent.sign(&agent.typical(4, 1))).await.unwrap();
    let record = t.store.agent(&agent.id()).await.unwrap().unwrap();
    assert_eq!((record.last_sequence, record.missing_batches), (Some(4), 2), "batches 2 and 3 never came");
    let table = admin::agent_table(&[record]);
    assert!(table.lines().next().unwrap().contains("MISSING") && table.lines().nth(1).unwrap().contains(" 2 "), "{table}");

    for wild in [i64::MAX as u64, 4 + 1_000_001] {
        let e = ingest(t.dyn_store(), &agent.sign(&agent.typical(wild, 1))).await.expect_err("refused");
        assert!(matches!(e, IngestError::SequenceJump { last: 4, .. }), "{e}");
        assert_eq!(e.code(), "sequence_jump");
        assert!(e.to_string().contains("spool requeue --all"), "says what to do: {e}");
    }
    // The agent is not locked out: the next honest number is taken.
    assert_eq!(ingest(t.dyn_store(), &agent.sign(&agent.typical(5, 1))).await.unwrap().status, "stored");
    assert_eq!(t.store.agent(&agent.id()).await.unwrap().unwrap().last_sequence, Some(5));
    // A first batch may not start beyond the jump either.
    let fresh = t.agent("contoso", "branch").await;
    assert!(matches!(ingest(t.dyn_store(), &fresh.sign(&fresh.typical(i64::MAX as u64, 1))).await, Err(IngestError::SequenceJump { last: 0, .. })));
}

/// A keyid is the envelope's first untrusted text: once echoed whole into
/// the 401 and the log, whatever its size.
async fn a_keyid_that_is_not_an_agent_id_is_refused_unechoed(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    let huge = format!("agt_{}\nFORGED log line", "f".repeat(1 << 20));
    let body = sign_with(&AgentKey::generate(), &huge, &agent.typical(1, 1));
    let e = ingest(t.dyn_store(), &body).await.expect_err("refused");
    let text = e.to_string();
    assert!(matches!(e, IngestError::Malformed(_)) && text.contains("not an agent id"), "{text:.200}");
    assert!(text.len() < 200 && !text.contains("FORGED"), "the keyid is not echoed: {} bytes", text.len());
}

crate::both_backends!(
    a_keyid_that_is_not_an_agent_id_is_refused_unechoed,
    gaps_are_counted_and_a_wild_sequence_cannot_lock_an_agent_out,
    a_key_outside_its_plugins_namespace_is_refused,
    a_batch_is_stored_once_and_resends_are_duplicates,
    every_refusal_stores_nothing,
    a_revocation_racing_verification_still_refuses,
    a_nul_character_is_a_typed_refusal_on_both_backends,
);
