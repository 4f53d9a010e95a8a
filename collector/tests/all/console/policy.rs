//! The console's policy page in a real headless Chromium, on both backends:
//! an msp-admin sees what a tenant's agents are sent and edits its own
//! file; a save that agents would refuse (a plugin not in the folder, bad
//! TOML with markup in it) is refused with the problem and writes nothing;
//! a good one replaces the file and is audited; an engineer reads only, a
//! client viewer never sees it.

use super::browser::{no_injection, post_as, serve_https, shot, sign_in, sign_out, submit, text_of};
use super::fixture::{self, ADMIN, CLIENT, ENGINEER, NORTHWIND, PASSWORD};
use crate::both_backends;
use crate::support::Backend;
use plumbline_collector::api::{app, AppState};
use plumbline_collector::console::ConsoleConfig;
use plumbline_collector::policy::PolicyService;
use plumbline_collector::tls;
use plumbline_protocol::policy::PolicySigner;
use plumbline_tests::browser::fantoccini::{Client, Locator};
use sha2::Digest;
use std::sync::Arc;

async fn type_policy(c: &Client, text: &str) {
    let area = c.find(Locator::Css("#policy-form textarea")).await.unwrap();
    area.clear().await.unwrap();
    area.send_keys(text).await.unwrap();
    submit(c, c.find(Locator::Id("policy-save")).await.unwrap()).await;
}

async fn policy_page(backend: Backend) {
    let t = backend.store().await;
    fixture::load(&t).await;
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    std::fs::create_dir_all(d.join("plugins")).unwrap();
    std::fs::create_dir_all(d.join("policy/groups")).unwrap();
    std::fs::write(d.join("plugins/relay.wasm"), b"a relay plugin").unwrap();
    let sha = hex::encode(sha2::Sha256::digest(b"a relay plugin"));
    std::fs::write(d.join("policy/groups/standard.toml"), format!("[plugins.relay]\nsha256 = \"{sha}\"\n")).unwrap();
    std::fs::write(d.join("policy/tenant-groups.toml"), format!("{NORTHWIND} = \"standard\"\n")).unwrap();
    let policy = Arc::new(PolicyService::new(d, PolicySigner::generate()));
    let (cert, key) = tls::generate(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let state = AppState::new(t.store.clone()).with_console(ConsoleConfig::default()).with_policy(policy);
    let console = serve_https(app(state), &cert, &key).await;
    let base = console.base.clone();
    let page = format!("{base}/tenants/{NORTHWIND}/policy");
    let own_file = d.join(format!("policy/tenants/{NORTHWIND}.toml"));
    let profile = tempfile::tempdir().unwrap();
    let c = plumbline_tests::browser::session(profile.path()).await;

    // The admin: the group's policy, its plugin served.
    sign_in(&c, &base, ADMIN, PASSWORD).await;
    c.goto(&page).await.unwrap();
    assert!(text_of(&c, "#policy-state").await.contains("Served to every agent"));
    assert!(text_of(&c, "#policy-group").await.contains("group standard"));
    let plugins = text_of(&c, "#policy-plugins").await;
    assert!(plugins.contains("relay") && plugins.contains(&sha) && plugins.contains("served"), "{plugins}");
    shot(&c, backend, "policy").await;

    // Refused: a plugin that is not in the folder; then bad TOML carrying markup.
    let missing = "3".repeat(64);
    type_policy(&c, &format!("[plugins.flows]\nsha256 = \"{missing}\"\n")).await;
    let refused = text_of(&c, "#policy-refused").await;
    assert!(refused.contains("[plugins.flows]: no file in") && refused.contains(&missing), "{refused}");
    assert!(!own_file.exists(), "a refused save writes nothing");
    let hostile = "</textarea><script>alert(1)</script><img src=x onerror=alert(2)>";
    type_policy(&c, hostile).await;
    assert!(text_of(&c, "#policy-refused").await.contains("not valid TOML"));
    let kept = c.find(Locator::Css("#policy-form textarea")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some(hostile), "what was typed comes back as text, to fix");
    no_injection(&c, "policy").await;

    // Saved: the file replaced, the merged policy shows it, the audit trail has it.
    type_policy(&c, "[schedule]\nevery = \"2h\"\n").await;
    assert!(text_of(&c, "#policy-notice").await.contains("Saved"));
    assert_eq!(std::fs::read_to_string(&own_file).unwrap(), "[schedule]\nevery = \"2h\"\n");
    let merged = text_of(&c, "#policy-merged").await;
    assert!(merged.contains("every = \"2h\"") && merged.contains(&sha), "{merged}");
    let audit = t.store.audit_between(NORTHWIND, "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z").await.unwrap();
    let edit = audit.iter().find(|a| a.action == "policy").expect("the save is audited");
    assert_eq!((edit.actor.as_str(), edit.before.as_deref()), (ADMIN, None));
    assert_eq!(edit.after.as_deref(), Some("[schedule]\nevery = \"2h\"\n"));
    sign_out(&c).await;

    // An engineer reads it but has no form, and a save sent anyway is refused.
    sign_in(&c, &base, ENGINEER, PASSWORD).await;
    c.goto(&page).await.unwrap();
    assert!(text_of(&c, "#policy-merged").await.contains("every = \"2h\""));
    assert!(c.find_all(Locator::Id("policy-form")).await.unwrap().is_empty(), "no form for an engineer");
    let csrf = c.find(Locator::Css(".signout input[name=csrf]")).await.unwrap().prop("value").await.unwrap().unwrap();
    let (status, _) = post_as(&c, &cert, &page, format!("csrf={csrf}&text=")).await;
    assert_eq!(status, 403, "only an msp-admin saves");
    assert!(own_file.exists(), "the engineer's save changed nothing");
    sign_out(&c).await;

    // A client viewer: no link, no page.
    sign_in(&c, &base, CLIENT, PASSWORD).await;
    c.goto(&format!("{base}/tenants/{NORTHWIND}")).await.unwrap();
    assert!(c.find_all(Locator::Css(&format!("nav a[href=\"/tenants/{NORTHWIND}/policy\"]"))).await.unwrap().is_empty());
    c.goto(&page).await.unwrap();
    let found = c.find_all(Locator::Css("#policy-state")).await.unwrap();
    assert!(found.is_empty(), "a client viewer never sees the policy");
    c.close().await.unwrap();
}

both_backends!(policy_page);
