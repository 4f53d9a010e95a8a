//! Accounts, sessions, fleet counts, decisions and the audit trail in the
//! store, on both backends.

use super::fixture::{self, ADMIN, CLIENT, FABRIKAM, FLOW, INBOUND, NEW_INBOUND, NORTHWIND, PASSWORD, WEBHOOK};
use crate::both_backends;
use crate::support::Backend;
use plumbline_collector::accounts::sessions::{self, SessionPolicy, SignInError};
use plumbline_collector::accounts::throttle::{Throttle, ACCOUNT_FAILURES, ADDRESS_FAILURES, WINDOW};
use plumbline_collector::accounts::{self, AccountError, Role};
use plumbline_collector::store::console::{Acceptance, DecideOutcome, Decision};
use plumbline_collector::store::{FindingFilter, StoreError};
use plumbline_collector::{timestamp, tokens};
use plumbline_protocol::read_api::AnnotationsUpdate;

async fn users_and_sessions(backend: Backend) {
    let t = backend.store().await;
    fixture::load(&t).await;
    let s = t.dyn_store();
    let dup = accounts::add_user(s, "Admin@MSP.example", Role::MspEngineer, &[], PASSWORD).await;
    assert!(matches!(dup, Err(AccountError::Store(StoreError::UserExists(_)))), "{dup:?}");
    let unknown = accounts::add_user(s, "x@msp.example", Role::ClientViewer, &["nosuch".into()], PASSWORD).await;
    assert!(matches!(unknown, Err(AccountError::Store(StoreError::UnknownTenant(_)))), "{unknown:?}");
    assert!(matches!(
        accounts::add_user(s, "y@msp.example", Role::ClientViewer, &[], PASSWORD).await,
        Err(AccountError::BadScope(_))
    ));
    assert!(matches!(accounts::add_user(s, "z@msp.example", Role::MspAdmin, &[], "short").await, Err(AccountError::WeakPassword(_))));
    let users = s.users().await.unwrap();
    assert_eq!(users.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(), vec![ADMIN, "eng@msp.example", CLIENT]);
    assert!(users[0].password_hash.starts_with("$argon2id$") && !users[0].password_hash.contains(PASSWORD));
    assert_eq!(users[2].tenants, vec![NORTHWIND.to_string()]);

    let throttle = Throttle::default();
    let (token, signed) = sessions::sign_in(s, &throttle, " IT@northwind.example", PASSWORD, "10.0.0.1").await.unwrap();
    assert_eq!((signed.user.email.as_str(), signed.role), (CLIENT, Role::ClientViewer));
    let policy = SessionPolicy::default();
    let back = sessions::resume(s, &token, policy).await.unwrap().expect("a live session");
    assert_eq!(back.csrf_token, signed.csrf_token);
    assert!(sessions::resume(s, "pls_forged", policy).await.unwrap().is_none());
    // The store keeps only the token's hash.
    assert!(s.session(&token).await.unwrap().is_none() && s.session(&tokens::hash(&token)).await.unwrap().is_some());

    // Idle too long: the session is gone, for good.
    s.touch_session(&tokens::hash(&token), "2000-01-01T00:00:00.000000Z").await.unwrap();
    assert!(sessions::resume(s, &token, policy).await.unwrap().is_none());
    assert!(s.session(&tokens::hash(&token)).await.unwrap().is_none());

    // Wrong passwords are throttled per account, and one answer fits all.
    for _ in 0..ACCOUNT_FAILURES {
        let e = sessions::sign_in(s, &throttle, ADMIN, "wrong password!", "10.0.0.2").await.unwrap_err();
        assert!(matches!(e, SignInError::Refused));
    }
    let e = sessions::sign_in(s, &throttle, ADMIN, PASSWORD, "10.0.0.3").await.unwrap_err();
    assert!(matches!(e, SignInError::Throttled(_)), "{e}");
    assert!(matches!(sessions::sign_in(s, &throttle, "nobody@msp.example", PASSWORD, "10.0.0.4").await, Err(SignInError::Refused)));

    // Disabling ends sessions; a new password ends them too.
    let (token, _) = sessions::sign_in(s, &throttle, CLIENT, PASSWORD, "10.0.0.1").await.unwrap();
    accounts::reset_password(s, CLIENT, "another long passphrase").await.unwrap();
    assert!(sessions::resume(s, &token, policy).await.unwrap().is_none());
    assert!(matches!(sessions::sign_in(s, &throttle, CLIENT, PASSWORD, "10.0.0.1").await, Err(SignInError::Refused)));
    let (token, _) = sessions::sign_in(s, &throttle, CLIENT, "another long passphrase", "10.0.0.1").await.unwrap();
    accounts::disable_user(s, CLIENT).await.unwrap();
    assert!(sessions::resume(s, &token, policy).await.unwrap().is_none());
    assert!(matches!(sessions::sign_in(s, &throttle, CLIENT, "another long passphrase", "10.0.0.1").await, Err(SignInError::Refused)));
    assert!(matches!(accounts::disable_user(s, "ghost@msp.example").await, Err(AccountError::UnknownUser(_))));
}

/// The sign-in throttle counts in the database: a second replica on the
/// same database refuses the account the first one locked, and the lock
/// ends when the window has passed.
async fn the_throttle_is_shared_by_replicas_and_ends_with_its_window(backend: Backend) {
    let t = backend.store().await;
    fixture::load(&t).await;
    let replica = plumbline_collector::store::open(&t.url).await.unwrap();
    let throttle = Throttle::default();
    for i in 0..ACCOUNT_FAILURES {
        // Guesses spread over both replicas, as a load balancer would.
        let s = if i % 2 == 0 { t.dyn_store() } else { replica.as_ref() };
        let e = sessions::sign_in(s, &throttle, ADMIN, "wrong password!", "10.0.0.2").await.unwrap_err();
        assert!(matches!(e, SignInError::Refused), "{e}");
    }
    for s in [t.dyn_store(), replica.as_ref()] {
        let e = sessions::sign_in(s, &throttle, ADMIN, PASSWORD, "10.0.0.3").await.unwrap_err();
        let SignInError::Throttled(wait) = e else { panic!("throttled on every replica: {e}") };
        assert!(wait > std::time::Duration::from_secs(14 * 60), "{wait:?}");
    }
    let now = time::OffsetDateTime::now_utc();
    let later = now + WINDOW + std::time::Duration::from_secs(1);
    assert!(throttle.check_at(replica.as_ref(), ADMIN, "10.0.0.3", later).await.unwrap().is_none(), "the window passed");
    // A failure after the window starts a new count, and old rows go.
    throttle.failed_at(replica.as_ref(), ADMIN, "10.0.0.3", later).await.unwrap();
    assert!(throttle.check_at(t.dyn_store(), ADMIN, "10.0.0.3", later).await.unwrap().is_none(), "one failure, not six");
    let start = plumbline_collector::timestamp::format(now - WINDOW);
    let keys = ["address:10.0.0.2".to_string()];
    assert!(t.store.signin_failures(&keys, &start).await.unwrap().is_empty(), "expired counts are deleted");
    // Addresses are counted across accounts.
    for i in 0..ADDRESS_FAILURES {
        throttle.failed(t.dyn_store(), &format!("user{i}@x.example"), "10.0.0.9").await.unwrap();
    }
    assert!(throttle.check(replica.as_ref(), "new@x.example", "10.0.0.9").await.unwrap().is_some());
    assert!(throttle.check(replica.as_ref(), "new@x.example", "10.0.0.8").await.unwrap().is_none());
}

async fn fleet_counts(backend: Backend) {
    let t = backend.store().await;
    fixture::load(&t).await;
    let s = t.dyn_store();
    let fleet = s.fleet(None, "2026-12-01").await.unwrap();
    assert_eq!(fleet.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), vec![FABRIKAM, NORTHWIND]);
    let nw = &fleet[1];
    assert_eq!(nw.groups, vec!["contract customers".to_string()]);
    assert_eq!(nw.agents.len(), 1);
    assert_eq!(nw.connectors_by_category.get("exchange-connector"), Some(&4), "the organisation's context record is no connector");
    assert_eq!(nw.connectors_by_category.values().sum::<u64>(), 6, "{:?}", nw.connectors_by_category);
    assert_eq!(nw.open_findings_by_severity.get("critical"), Some(&1));
    assert_eq!(nw.open_findings_by_severity.get("high"), Some(&1));
    // Batch 1: relay and xss1 are new inbound; batch 2: relay changed, one new.
    assert_eq!(nw.awaiting_review, 4);
    assert_eq!((nw.legacy_teams_left, nw.flows_single_owner, nw.reviews_overdue), (1, 1, 0));

    // Annotations move the counts: a disabled webhook is no longer "left",
    // a co-owner fixes the flow, a passed cadence is overdue.
    let by = "eng@msp.example";
    let now = timestamp::now();
    let set = |json: &str| serde_json::from_str::<AnnotationsUpdate>(json).unwrap();
    s.update_annotations(NORTHWIND, WEBHOOK, set(r#"{"migration_status":"old-disabled"}"#), by, &now).await.unwrap();
    s.update_annotations(NORTHWIND, FLOW, set(r#"{"co_owner_override":["ops@northwind.example"]}"#), by, &now).await.unwrap();
    s.update_annotations(NORTHWIND, INBOUND, set(r#"{"review_cadence_days":30,"last_reviewed":"2026-10-01"}"#), by, &now)
        .await
        .unwrap();
    let nw = s.fleet(Some(&[NORTHWIND.to_string()]), "2026-12-01").await.unwrap().remove(0);
    assert_eq!((nw.legacy_teams_left, nw.flows_single_owner, nw.reviews_overdue), (0, 0, 1));
    assert_eq!(s.fleet(Some(&[NORTHWIND.to_string()]), "2026-12-01").await.unwrap().len(), 1, "scoped to one");

    // Every change is in the audit trail, once; saving the same values again records nothing.
    s.update_annotations(NORTHWIND, WEBHOOK, set(r#"{"migration_status":"old-disabled"}"#), by, &now).await.unwrap();
    let audit = s.audit(NORTHWIND, WEBHOOK).await.unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!((audit[0].actor.as_str(), audit[0].action.as_str()), (by, "annotate"));
    assert!(audit[0].after.as_deref().unwrap().contains("old-disabled"));
    assert!(!audit[0].before.as_deref().unwrap().contains("old-disabled"));
}

async fn review_decisions(backend: Backend) {
    let t = backend.store().await;
    fixture::load(&t).await;
    let s = t.dyn_store();
    let queue = s.review_queue(NORTHWIND).await.unwrap();
    assert_eq!(queue.len(), 4);
    assert!(queue.windows(2).all(|w| w[0].change.id < w[1].change.id), "oldest first");
    let new_one = queue.iter().find(|c| c.change.connector_key == NEW_INBOUND).unwrap().change.id;
    let first = queue[0].change.id;
    let decision = |d: &str| Decision {
        decision: d.into(),
        note: "set up by the client's IT for the scanner".into(),
        by: "eng@msp.example".into(),
        at: timestamp::now(),
    };
    assert!(matches!(s.decide_change(NORTHWIND, first, decision("expected")).await.unwrap(), DecideOutcome::Decided(_)));
    // A double submit changes nothing twice.
    match s.decide_change(NORTHWIND, first, decision("suspicious")).await.unwrap() {
        DecideOutcome::AlreadyDecided(rc) => assert_eq!(rc.decision.unwrap().decision, "expected"),
        other => panic!("{other:?}"),
    }
    // Another tenant's change id is not found from here.
    assert!(matches!(s.decide_change(FABRIKAM, new_one, decision("expected")).await.unwrap(), DecideOutcome::NotFound));

    // Suspicious keeps a critical finding open on the connector...
    assert!(matches!(s.decide_change(NORTHWIND, new_one, decision("suspicious")).await.unwrap(), DecideOutcome::Decided(_)));
    let open = s.findings(NORTHWIND, FindingFilter::Open).await.unwrap();
    let flagged = open.iter().find(|f| f.entry.connector_key == NEW_INBOUND).expect("a finding on the suspicious connector");
    assert_eq!(flagged.entry.severity.as_str(), "critical");
    assert!(flagged.entry.detail.contains("eng@msp.example"));
    // ...that a rescan by the plugin does not resolve.
    let nw = t.agent(NORTHWIND, "hq2").await;
    let empty = nw.batch(1, vec![crate::support::ok("exo")], vec![], vec![]);
    plumbline_collector::ingest::ingest(s, &nw.sign(&empty)).await.unwrap();
    assert!(s.findings(NORTHWIND, FindingFilter::Open).await.unwrap().iter().any(|f| f.entry.id == flagged.entry.id));

    assert_eq!(s.review_queue(NORTHWIND).await.unwrap().len(), 2, "nothing leaves the queue without a decision");
    assert_eq!(s.decided_changes(NORTHWIND).await.unwrap().len(), 2);
    let audit = s.audit(NORTHWIND, NEW_INBOUND).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert!(audit[0].action == "review" && audit[0].after.as_deref().unwrap().contains("suspicious"));
    let history = s.connector_changes(NORTHWIND, NEW_INBOUND).await.unwrap();
    assert_eq!(history[0].decision.as_ref().unwrap().decision, "suspicious");
}

async fn accepted_risk(backend: Backend) {
    let t = backend.store().await;
    fixture::load(&t).await;
    let s = t.dyn_store();
    let today = timestamp::today();
    let critical = s.findings(NORTHWIND, FindingFilter::Open).await.unwrap().into_iter().find(|f| f.entry.connector_key == INBOUND).unwrap();
    let accept = |until: &str| Acceptance {
        rationale: "the copier cannot do TLS until its replacement in January".into(),
        approver: "Dr. Reyes (practice owner)".into(),
        expires_on: until.into(),
        accepted_by: "eng@msp.example".into(),
        accepted_at: timestamp::now(),
    };
    assert!(!s.accept_risk(NORTHWIND, "no-such-finding", accept(&today)).await.unwrap());
    assert!(!s.accept_risk(FABRIKAM, &critical.entry.id, accept(&today)).await.unwrap(), "another tenant's finding");
    assert!(s.accept_risk(NORTHWIND, &critical.entry.id, accept(&today)).await.unwrap());
    // Accepted, not open, in the fleet and the register, while it holds.
    let nw = s.fleet(Some(&[NORTHWIND.to_string()]), &today).await.unwrap().remove(0);
    assert_eq!(nw.open_findings_by_severity.get("critical"), None, "{:?}", nw.open_findings_by_severity);
    let view = plumbline_collector::reads::register(s, NORTHWIND).await.unwrap();
    let f = view.open_findings.iter().find(|f| f.entry.id == critical.entry.id).unwrap();
    assert_eq!(f.status, "accepted");
    assert_eq!(view.connectors.iter().find(|c| c.entry.key == INBOUND).unwrap().open_findings, 0);
    let audit = s.audit(NORTHWIND, INBOUND).await.unwrap();
    assert!(audit[0].action == "accept-risk" && audit[0].after.as_deref().unwrap().contains("Dr. Reyes"));
    // The day after its expiry it is open again, by itself.
    assert!(s.accept_risk(NORTHWIND, &critical.entry.id, accept("2000-01-01")).await.unwrap());
    let view = plumbline_collector::reads::register(s, NORTHWIND).await.unwrap();
    assert_ne!(view.open_findings.iter().find(|f| f.entry.id == critical.entry.id).unwrap().status, "accepted");
    let nw = s.fleet(Some(&[NORTHWIND.to_string()]), &today).await.unwrap().remove(0);
    assert_eq!(nw.open_findings_by_severity.get("critical"), Some(&1));
}

both_backends!(users_and_sessions, the_throttle_is_shared_by_replicas_and_ends_with_its_window, fleet_counts, review_decisions, accepted_risk);
