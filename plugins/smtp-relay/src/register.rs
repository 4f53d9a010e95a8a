//! The register entry of one relay endpoint. Every entry carries the same
//! attributes, `unknown` (or `none`) where nothing was learnt, so entries
//! compare column by column.

use crate::checks::starttls_label;
use crate::probe::{shown_banner, Probe, Reach};
use plumbline_plugin_sdk::time::to_rfc3339;
use plumbline_plugin_sdk::{Category, ConnectorRecord};

const UNKNOWN: &str = "unknown";

/// The register entry for `p`.
pub fn record(p: &Probe) -> ConnectorRecord {
    let ep = &p.endpoint;
    let name = p.server_name.clone().unwrap_or_else(|| ep.host.clone());
    let status = match (&p.reach, &p.error) {
        (Reach::Connected, None) => "ok",
        (Reach::Connected, Some(_)) => "error",
        (r, _) => r.label(),
    };
    let error = match (&p.reach, &p.error) {
        (Reach::Connected, e) => e.clone().unwrap_or_else(|| "none".to_string()),
        (r, _) => r.describe(),
    };
    let auth = p.effective_caps().map(|c| {
        if c.auth.is_empty() {
            "none advertised".to_string()
        } else {
            format!("AUTH {}", c.auth.join(" "))
        }
    });
    let purpose = match ep.port {
        25 => "SMTP relay (port 25)".to_string(),
        587 => "Mail submission (port 587)".to_string(),
        465 => "Mail submission over implicit TLS (port 465)".to_string(),
        p if ep.implicit_tls => format!("SMTP over implicit TLS (port {p})"),
        p => format!("SMTP (port {p})"),
    };
    let list = |v: Option<&Vec<String>>| match v {
        None => UNKNOWN.to_string(),
        Some(v) if v.is_empty() => "none".to_string(),
        Some(v) => v.join(", "),
    };
    let tls = p.tls.as_ref();
    let tls_text = |f: fn(&plumbline_plugin_sdk::tcp::TlsInfo) -> String| tls.map_or_else(|| UNKNOWN.to_string(), f);
    let (relay_accepted, relay_tests) = match &p.relay {
        crate::relay::Verdict::Open { accepted, tried, .. } => (
            accepted.iter().map(|c| format!("#{} {}", c.number, c.describe())).collect::<Vec<_>>().join("; "),
            format!("{}/{tried} accepted", accepted.len()),
        ),
        crate::relay::Verdict::Closed { tried } | crate::relay::Verdict::Inconclusive { tried, .. } => {
            ("none".to_string(), format!("0/{tried} accepted"))
        }
        _ => ("none".to_string(), "none run".to_string()),
    };
    ConnectorRecord::new(ep.key(), Category::SmtpRelay, name)
        .scope(ep.target.clone())
        .purpose(Some(purpose))
        .auth_type(auth)
        .attr("status", status)
        .attr("error", error)
        .attr("target", ep.target.clone())
        .attr("address", ep.address())
        .attr("connected_to", p.peer_ip.map_or_else(|| ep.ip.map_or(UNKNOWN.to_string(), |ip| ip.to_string()), |ip| ip.to_string()))
        .attr("port", ep.port.to_string())
        .attr("discovered_by", if ep.swept { "cidr-sweep" } else { "named" })
        .attr("tls_mode", if ep.implicit_tls { "implicit" } else { "starttls" })
        .attr("banner", shown_banner(p).unwrap_or_else(|| UNKNOWN.to_string()))
        .attr("server_name", p.server_name.clone().unwrap_or_else(|| UNKNOWN.to_string()))
        .attr("helo_only", p.caps.as_ref().map_or(UNKNOWN, |c| if c.helo_only { "true" } else { "false" }))
        .attr("esmtp_extensions", list(p.caps.as_ref().map(|c| &c.extensions)))
        .attr("esmtp_extensions_after_tls", list(p.caps_tls.as_ref().map(|c| &c.extensions)))
        .attr(
            "starttls_offered",
            if ep.implicit_tls {
                "not-applicable"
            } else {
                p.caps.as_ref().map_or(UNKNOWN, |c| if c.starttls { "true" } else { "false" })
            },
        )
        .attr("starttls", starttls_label(&p.starttls))
        .attr("auth_before_tls", if ep.implicit_tls { "not-applicable".to_string() } else { list(p.caps.as_ref().map(|c| &c.auth)) })
        .attr(
            "auth_after_tls",
            if ep.implicit_tls { list(p.caps.as_ref().map(|c| &c.auth)) } else { list(p.caps_tls.as_ref().map(|c| &c.auth)) },
        )
        .attr("tls_protocol", tls_text(|t| t.protocol.clone()))
        .attr("tls_cipher", tls_text(|t| t.cipher.clone()))
        .attr("tls_subject", tls_text(|t| t.subject.clone()))
        .attr("tls_issuer", tls_text(|t| t.issuer.clone()))
        .attr("tls_not_before", tls_text(|t| to_rfc3339(t.not_before.saturating_mul(1000))))
        .attr("tls_not_after", tls_text(|t| to_rfc3339(t.not_after.saturating_mul(1000))))
        .attr("tls_self_signed", tls_text(|t| t.self_signed.to_string()))
        .attr("tls_trusted", tls_text(|t| t.trusted.to_string()))
        .attr("tls_checked_name", p.tls_name.clone().unwrap_or_else(|| UNKNOWN.to_string()))
        .attr("open_relay", p.relay.label())
        .attr("open_relay_result", p.relay.summary())
        .attr("open_relay_tests", relay_tests)
        .attr("open_relay_accepted", relay_accepted)
        .attr("open_relay_channel", p.relay_channel.unwrap_or("none"))
        .attr("open_relay_note", p.relay_note.clone().unwrap_or_else(|| "none".to_string()))
        .attr("notes", if p.notes.is_empty() { "none".to_string() } else { p.notes.join("; ") })
    // No timings here: register attributes are compared scan to scan by the
    // collector, and a duration would record a "change" every time.
}
