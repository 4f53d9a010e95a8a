//! `plumbline status --rmm ...` with the real binary, after real runs
//! against the stand-in collector: each RMM's convention for a healthy
//! agent, for one with findings, for one the collector refuses, and for one
//! not enrolled.

use crate::delivery::{delivery_section, enroll, enrolled_site, text};
use crate::support::Site;
use plumbline_tests::stub_collector::StubCollector;
use std::process::Output;

fn status(site: &Site, config: &str, rmm: &str) -> Output {
    site.run(&["status", "--config", config, "--rmm", rmm])
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_healthy_agent_in_every_rmm_s_terms() {
    let stub = StubCollector::start();
    let (site, config) = enrolled_site(&stub, "");
    let out = site.run(&["service", "run", "--once", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let plain = status(&site, &config, "plain");
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain));
    for want in ["status:           OK", "queued batches:   0", "failing plugins:  none", "highest severity: none"] {
        assert!(stdout(&plain).contains(want), "{want}:\n{}", text(&plain));
    }
    assert!(!stdout(&plain).contains("last scan:        never"), "{}", stdout(&plain));

    let datto = status(&site, &config, "datto");
    assert_eq!(datto.status.code(), Some(0));
    let lines: Vec<String> = stdout(&datto).lines().map(str::to_string).collect();
    assert_eq!(lines[0], "<-Start Result->");
    assert!(lines[1].starts_with("STATUS=OK: last scan "), "{}", lines[1]);
    assert_eq!(lines[2], "<-End Result->");

    let ninja = status(&site, &config, "ninja");
    assert_eq!(ninja.status.code(), Some(0));
    assert!(stdout(&ninja).contains("plumbline_status=OK\n") && stdout(&ninja).contains("plumbline_queued_batches=0\n"), "{}", text(&ninja));

    let nable = status(&site, &config, "nable");
    assert_eq!(nable.status.code(), Some(0), "{}", text(&nable));

    let intune = status(&site, &config, "intune");
    assert_eq!(intune.status.code(), Some(0));
    assert!(stdout(&intune).starts_with("Plumbline agent installed and working"), "detected: {}", text(&intune));
}

#[test]
fn findings_and_refusals_alert_where_they_should() {
    let stub = StubCollector::start();
    let site = Site::new();
    let exports = site.demo_exports();
    let config = site.config(&format!("{}\n{}", delivery_section(&site, ""), Site::exchange_offline_section(&exports)));
    let config = config.to_string_lossy().into_owned();
    assert_eq!(enroll(&site, &config, &stub, "enroll-token-1").status.code(), Some(0));
    let agent = stub.agents()[0].agent_id.clone();
    stub.revoke(&agent);
    let out = site.run(&["service", "run", "--once", "--config", &config]);
    assert_eq!(out.status.code(), Some(4), "refused: {}", text(&out));

    // The demo tenant has critical findings; the batch was refused.
    let datto = status(&site, &config, "datto");
    assert_eq!(datto.status.code(), Some(1), "{}", text(&datto));
    let said = stdout(&datto);
    assert!(said.lines().nth(1).unwrap().starts_with("STATUS=ALERT delivery_refused:"), "{said}");
    assert!(said.contains("problems=delivery_refused,findings") && said.contains("spool requeue --all"), "{said}");
    assert!(said.contains("highest_severity=critical"), "{said}");

    let nable = status(&site, &config, "nable");
    assert_eq!(nable.status.code(), Some(1), "Unix stops at 255: {}", text(&nable));
    assert!(stdout(&nable).contains("N-sight code 1004"), "{}", text(&nable));

    // Intune asks "installed and working?": a refused agent is not.
    let intune = status(&site, &config, "intune");
    assert_eq!(intune.status.code(), Some(1));
    assert!(intune.stdout.is_empty() && text(&intune).contains("refused"), "{}", text(&intune));

    // Findings alone: the threshold decides.
    stub.reinstate(&agent);
    assert_eq!(site.run(&["spool", "requeue", "--all", "--config", &config]).status.code(), Some(0));
    assert_eq!(site.run(&["spool", "flush", "--config", &config]).status.code(), Some(0));
    let plain = site.run(&["status", "--config", &config, "--fail-on", "critical"]);
    assert_eq!(plain.status.code(), Some(1), "{}", text(&plain));
    assert!(stdout(&plain).contains("problems:         findings"), "{}", stdout(&plain));
    let intune = status(&site, &config, "intune");
    assert_eq!(intune.status.code(), Some(0), "findings are not a broken install: {}", text(&intune));
}

#[test]
fn an_agent_that_is_not_enrolled_says_how_to_enroll() {
    let site = Site::new();
    let config = site.config(&delivery_section(&site, "")).to_string_lossy().into_owned();
    let plain = status(&site, &config, "plain");
    assert_eq!(plain.status.code(), Some(1));
    assert!(stdout(&plain).contains("problems:         not_enrolled") && stdout(&plain).contains("plumbline enroll"), "{}", text(&plain));
    let intune = status(&site, &config, "intune");
    assert_eq!((intune.status.code(), intune.stdout.is_empty()), (Some(1), true), "not detected: {}", text(&intune));
    let out = site.run(&["status", "--config", &config, "--rmm", "kaseya"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("ninja") && text(&out).contains("datto"), "clap lists the ones there are: {}", text(&out));
}
