//! The register: latest state, history, finding lifecycle, annotations.

use crate::support::{connector, failed, finding, ok, Backend};
use plumbline_collector::ingest::ingest;
use plumbline_collector::register::view;
use plumbline_collector::store::FindingFilter;
use plumbline_protocol::read_api::AnnotationsUpdate;
use serde_json::json;

async fn history_records_created_changed_and_disappeared(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    let relay = connector("exchange:outbound:relay", "exchange-connector", "exo");
    let hook = connector("teams:hook", "incoming-webhook", "teams");
    let inbound = connector("exchange:inbound:partner", "exchange-connector", "exo");
    let b1 = agent.batch(1, vec![ok("exo"), ok("teams")], vec![relay.clone(), hook.clone(), inbound.clone()], vec![]);
    let d1 = ingest(t.dyn_store(), &agent.sign(&b1)).await.unwrap().digest;

    let created = t.store.changes("contoso", false, 100).await.unwrap();
    assert_eq!(created.len(), 3);
    assert!(created.iter().all(|c| c.kind == "created" && c.batch_digest == d1 && c.agent_id == agent.id()));
    let review = t.store.changes("contoso", true, 100).await.unwrap();
    assert_eq!(review.len(), 1, "only the new inbound Exchange connector needs review");
    assert_eq!(review[0].connector_key, inbound.key);
    assert!(review[0].review_reason.as_deref().unwrap().contains("inbound"));
    assert_eq!(review[0].entry.as_ref(), Some(&inbound));

    // The relay changes, the webhook is gone (its plugin ran fine).
    let mut relay2 = relay.clone();
    relay2.name = "Relay (renamed)".into();
    relay2.attributes.insert("tls_domain".into(), "relay.contoso.example".into());
    let b2 = agent.batch(2, vec![ok("exo"), ok("teams")], vec![relay2.clone(), inbound.clone()], vec![]);
    ingest(t.dyn_store(), &agent.sign(&b2)).await.unwrap();
    let changes = t.store.changes("contoso", false, 100).await.unwrap();
    assert_eq!(changes.len(), 5);
    assert!(changes.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let newest: Vec<(&str, &str)> = changes[..2].iter().map(|c| (c.connector_key.as_str(), c.kind.as_str())).collect();
    assert!(
        newest.contains(&("teams/teams:hook", "disappeared")) && newest.contains(&("exo/exchange:outbound:relay", "changed")),
        "{newest:?}"
    );
    let changed = changes.iter().find(|c| c.kind == "changed").unwrap();
    let fields: Vec<(&str, &serde_json::Value, &serde_json::Value)> =
        changed.fields.iter().map(|f| (f.field.as_str(), &f.before, &f.after)).collect();
    assert_eq!(
        fields,
        vec![
            ("name", &json!("Connector exo/exchange:outbound:relay"), &json!("Relay (renamed)")),
            ("attributes.tls_domain", &json!("mail.contoso.example"), &json!("relay.contoso.example")),
        ]
    );
    let state = t.store.connectors("contoso").await.unwrap();
    let hook_state = state.iter().find(|c| c.entry.key == hook.key).unwrap();
    assert!(!hook_state.present && hook_state.disappeared_at.is_some());
    let relay_state = state.iter().find(|c| c.entry.key == relay.key).unwrap();
    assert_eq!(relay_state.entry, relay2);
    assert!(relay_state.first_seen < relay_state.last_seen);

    // A failed plugin makes nothing disappear; an unchanged rescan adds no history.
    let b3 = agent.batch(3, vec![ok("exo"), failed("teams")], vec![relay2.clone(), inbound.clone()], vec![]);
    ingest(t.dyn_store(), &agent.sign(&b3)).await.unwrap();
    let b4 = agent.batch(4, vec![failed("exo"), ok("teams")], vec![], vec![]);
    ingest(t.dyn_store(), &agent.sign(&b4)).await.unwrap();
    assert_eq!(t.store.changes("contoso", false, 100).await.unwrap().len(), 5);
    assert_eq!(t.store.changes("contoso", false, 2).await.unwrap().len(), 2, "limit");
}

async fn findings_open_resolve_and_reopen(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    let relay = connector("exchange:outbound:relay", "exchange-connector", "exo");
    let f = finding("contoso", "exo.tls-not-enforced", &relay.key, "exo");
    let with = |seq, status| agent.batch(seq, vec![status], vec![relay.clone()], vec![f.clone()]);
    let without = |seq, status| agent.batch(seq, vec![status], vec![relay.clone()], vec![]);

    ingest(t.dyn_store(), &agent.sign(&with(1, ok("exo")))).await.unwrap();
    let open = t.store.findings("contoso", FindingFilter::Open).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].status.as_str(), open[0].entry.id.as_str()), ("open", f.id.as_str()));
    let first_seen = open[0].first_seen.clone();

    // The plugin failed: not resolved.
    ingest(t.dyn_store(), &agent.sign(&without(2, failed("exo")))).await.unwrap();
    assert_eq!(t.store.findings("contoso", FindingFilter::Open).await.unwrap().len(), 1);

    ingest(t.dyn_store(), &agent.sign(&without(3, ok("exo")))).await.unwrap();
    assert!(t.store.findings("contoso", FindingFilter::Open).await.unwrap().is_empty());
    let resolved = t.store.findings("contoso", FindingFilter::Resolved).await.unwrap();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].status, "resolved");
    assert!(resolved[0].resolved_at.is_some());

    ingest(t.dyn_store(), &agent.sign(&with(4, ok("exo")))).await.unwrap();
    let reopened = t.store.findings("contoso", FindingFilter::Open).await.unwrap();
    assert_eq!(reopened.len(), 1);
    assert_eq!(reopened[0].status, "reopened");
    assert_eq!(reopened[0].reopened_count, 1);
    assert_eq!(reopened[0].resolved_at, None);
    assert_eq!(reopened[0].first_seen, first_seen);
    assert_eq!(t.store.findings("contoso", FindingFilter::All).await.unwrap().len(), 1);
}

async fn annotations_survive_rescans(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    let relay = connector("exchange:outbound:relay", "exchange-connector", "exo");
    ingest(t.dyn_store(), &agent.sign(&agent.batch(1, vec![ok("exo")], vec![relay.clone()], vec![]))).await.unwrap();

    let update: AnnotationsUpdate = serde_json::from_value(json!({
        "purpose": "scanner-to-email for the copiers",
        "owner_override": "facilities@contoso.example",
        "co_owner_override": ["ann@contoso.example"],
        "review_cadence_days": 90,
        "last_tested": "2025-11-01",
        "client_decision": "keep",
        "evidence_link": "https://tickets.example/123"
    }))
    .unwrap();
    let saved = t
        .store
        .update_annotations("contoso", &relay.key, update, "alice", "2025-11-25T00:00:00.000000Z")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.updated_by.as_deref(), Some("alice"));
    let partial: AnnotationsUpdate =
        serde_json::from_value(json!({"client_decision": "retire", "last_tested": null})).unwrap();
    let saved = t
        .store
        .update_annotations("contoso", &relay.key, partial, "bob", "2025-11-26T00:00:00.000000Z")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.client_decision.as_deref(), Some("retire"));
    assert_eq!(saved.last_tested, None);
    assert_eq!(saved.review_cadence_days, Some(90));
    assert!(t
        .store
        .update_annotations("contoso", "no-such-key", AnnotationsUpdate::default(), "bob", "x")
        .await
        .unwrap()
        .is_none());

    // Rescans, one changing the connector, one where it disappears and one where it is back.
    let mut relay2 = relay.clone();
    relay2.owner = Some("someone-else@contoso.example".into());
    ingest(t.dyn_store(), &agent.sign(&agent.batch(2, vec![ok("exo")], vec![relay2.clone()], vec![]))).await.unwrap();
    ingest(t.dyn_store(), &agent.sign(&agent.batch(3, vec![ok("exo")], vec![], vec![]))).await.unwrap();
    ingest(t.dyn_store(), &agent.sign(&agent.batch(4, vec![ok("exo")], vec![relay2.clone()], vec![]))).await.unwrap();

    let annotations = t.store.annotations("contoso").await.unwrap();
    assert_eq!(annotations.len(), 1);
    assert_eq!(annotations[0].1, saved);
    let kinds: Vec<String> = t.store.changes("contoso", false, 10).await.unwrap().into_iter().map(|c| c.kind).collect();
    assert_eq!(kinds, ["reappeared", "disappeared", "changed", "created"]);

    let v = view::register(
        "contoso",
        t.store.connectors("contoso").await.unwrap(),
        annotations.into_iter().collect(),
        t.store.findings("contoso", FindingFilter::Open).await.unwrap(),
    );
    let c = &v.connectors[0];
    assert_eq!(c.status, "present");
    assert_eq!(c.entry.owner.as_deref(), Some("someone-else@contoso.example"), "the scanned owner is kept");
    assert_eq!(c.effective.owner.as_deref(), Some("facilities@contoso.example"), "the override wins");
    assert_eq!(c.effective.co_owners, ["ann@contoso.example"]);
    assert_eq!(c.effective.purpose.as_deref(), Some("scanner-to-email for the copiers"));
}

async fn tenants_registers_are_apart(backend: Backend) {
    let t = backend.store().await;
    let a = t.agent("contoso", "hq").await;
    let b = t.agent("fabrikam", "hq").await;
    ingest(t.dyn_store(), &a.sign(&a.typical(1, 2))).await.unwrap();
    ingest(t.dyn_store(), &b.sign(&b.typical(1, 1))).await.unwrap();
    // Fabrikam's scan (same plugin, same site name, fewer connectors) makes nothing of Contoso's disappear.
    assert!(t.store.connectors("contoso").await.unwrap().iter().all(|c| c.present));
    assert_eq!(t.store.connectors("contoso").await.unwrap().len(), 2);
    assert_eq!(t.store.connectors("fabrikam").await.unwrap().len(), 1);
    assert_eq!(t.store.findings("fabrikam", FindingFilter::All).await.unwrap().len(), 1);
}

/// Two hosts of one site with webhook-finder, and a second site scanning
/// the same cloud tenant: scan after scan, nobody's batch erases another's
/// connectors or resolves another's findings. A connector goes only when
/// no live agent sees it.
async fn agents_sharing_a_site_or_a_tenant_do_not_erase_each_other(backend: Backend) {
    let t = backend.store().await;
    let (a, b, c) = (t.agent("contoso", "hq").await, t.agent("contoso", "hq").await, t.agent("contoso", "branch").await);
    let hook = |k: &str| connector(k, "incoming-webhook", "wf");
    let relay = connector("exchange:outbound:relay", "exchange-connector", "exo");
    let f_hook = |k: &str| finding("contoso", "wf.legacy", &format!("wf/{k}"), "wf");
    let plugins = || vec![ok("wf"), ok("exo")];
    for seq in 1..=3 {
        let from_a = a.batch(seq, plugins(), vec![hook("a.ps1"), relay.clone()], vec![f_hook("a.ps1")]);
        let from_b = b.batch(seq, plugins(), vec![hook("b.ps1")], vec![f_hook("b.ps1")]);
        let from_c = c.batch(seq, vec![ok("exo")], vec![relay.clone()], vec![]);
        for (agent, batch) in [(&a, from_a), (&b, from_b), (&c, from_c)] {
            ingest(t.dyn_store(), &agent.sign(&batch)).await.unwrap();
        }
    }
    let kinds: Vec<String> = t.store.changes("contoso", false, 100).await.unwrap().into_iter().map(|c| c.kind).collect();
    assert_eq!(kinds, ["created", "created", "created"], "no churn, scan after scan");
    assert!(t.store.connectors("contoso").await.unwrap().iter().all(|c| c.present));
    assert!(t.store.findings("contoso", FindingFilter::Resolved).await.unwrap().is_empty());

    // The relay: gone from A's view, C still sees it; then from C's too.
    ingest(t.dyn_store(), &a.sign(&a.batch(4, plugins(), vec![hook("a.ps1")], vec![f_hook("a.ps1")]))).await.unwrap();
    assert!(t.store.connectors("contoso").await.unwrap().iter().all(|c| c.present), "C still sees the relay");
    ingest(t.dyn_store(), &c.sign(&c.batch(4, vec![ok("exo")], vec![], vec![]))).await.unwrap();
    let relay_now = t.store.connectors("contoso").await.unwrap().into_iter().find(|x| x.entry.key == relay.key).unwrap();
    assert!(!relay_now.present, "no live agent sees it any more");
    // B's script is deleted: its webhook goes and its finding resolves; A's stay.
    ingest(t.dyn_store(), &b.sign(&b.batch(4, plugins(), vec![], vec![]))).await.unwrap();
    let state = t.store.connectors("contoso").await.unwrap();
    let present: Vec<&str> = state.iter().filter(|x| x.present).map(|x| x.entry.key.as_str()).collect();
    assert_eq!(present, ["wf/a.ps1"]);
    let resolved = t.store.findings("contoso", FindingFilter::Resolved).await.unwrap();
    assert_eq!(resolved.iter().map(|f| f.entry.connector_key.as_str()).collect::<Vec<_>>(), ["wf/b.ps1"]);

    // A revoked agent keeps nothing present: C is revoked, A saw the relay
    // come back and go again.
    ingest(t.dyn_store(), &a.sign(&a.batch(5, plugins(), vec![hook("a.ps1"), relay.clone()], vec![]))).await.unwrap();
    ingest(t.dyn_store(), &c.sign(&c.batch(5, vec![ok("exo")], vec![relay.clone()], vec![]))).await.unwrap();
    t.store.revoke_agent(&c.id(), &plumbline_collector::timestamp::now()).await.unwrap();
    ingest(t.dyn_store(), &a.sign(&a.batch(6, plugins(), vec![hook("a.ps1")], vec![]))).await.unwrap();
    let relay_now = t.store.connectors("contoso").await.unwrap().into_iter().find(|x| x.entry.key == relay.key).unwrap();
    assert!(!relay_now.present, "a revoked agent's sighting does not count");
}

/// History takes the scan's time, not the delivery's: a scan queued
/// through an outage keeps its own minute; a clock ahead is cut to receipt.
async fn history_takes_the_scan_time(backend: Backend) {
    let t = backend.store().await;
    let agent = t.agent("contoso", "hq").await;
    let scanned = plumbline_collector::timestamp::now();
    let mut b1 = agent.batch(1, vec![ok("exo")], vec![connector("exchange:outbound:a", "exchange-connector", "exo")], vec![]);
    b1.scan_finished_at = scanned.clone();
    ingest(t.dyn_store(), &agent.sign(&b1)).await.unwrap();
    let change = t.store.changes("contoso", false, 10).await.unwrap().remove(0);
    assert_eq!(change.at, scanned);
    let state = t.store.connectors("contoso").await.unwrap().remove(0);
    assert_eq!((state.first_seen.as_str(), state.last_seen.as_str()), (scanned.as_str(), scanned.as_str()));
    let delivered = t.store.agent(&agent.id()).await.unwrap().unwrap().last_seen_at.unwrap();
    assert!(delivered > scanned, "the agent's last delivery is the receipt: {delivered} vs {scanned}");

    let mut ahead = agent.batch(2, vec![ok("exo")], vec![], vec![]);
    ahead.scan_finished_at = "2099-01-01T00:00:00Z".into();
    ingest(t.dyn_store(), &agent.sign(&ahead)).await.unwrap();
    let gone = t.store.changes("contoso", false, 10).await.unwrap().remove(0);
    assert_eq!(gone.kind, "disappeared");
    assert!(gone.at.as_str() < "2099" && gone.at > scanned, "cut to receipt: {}", gone.at);
}

crate::both_backends!(
    agents_sharing_a_site_or_a_tenant_do_not_erase_each_other,
    history_takes_the_scan_time,
    history_records_created_changed_and_disappeared,
    findings_open_resolve_and_reopen,
    annotations_survive_rescans,
    tenants_registers_are_apart,
);
