//! The message a Teams Workflows webhook takes: one Adaptive Card (version
//! 1.5, named colours only) naming the tenant, the site, the connector, the
//! severity, what changed, the fix and a link to the console. Everything a
//! scan reported goes in as `TextRun`s, which Teams shows as text, never as
//! Markdown: a connector named `[click](https://evil)` stays those words.

use super::Event;
use serde_json::{json, Value};

/// Teams refuses a message over about 28 KB; keep under it with room to spare.
pub const MAX_MESSAGE_BYTES: usize = 27_000;
/// The longest text kept from one field, so one huge value cannot crowd
/// out the rest of a digest.
pub const MAX_FIELD_CHARS: usize = 600;

fn cut(s: &str) -> String {
    if s.chars().count() <= MAX_FIELD_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_FIELD_CHARS - 1).collect();
    out.push('…');
    out
}

/// Plain text, never Markdown.
fn text(s: &str, color: &str, bold: bool) -> Value {
    let mut run = json!({"type": "TextRun", "text": cut(s), "color": color});
    if bold {
        run["weight"] = json!("bolder");
    }
    json!({"type": "RichTextBlock", "inlines": [run]})
}

/// A label and its value side by side; the value is text.
fn fact(label: &str, value: &str) -> Value {
    json!({
        "type": "ColumnSet",
        "spacing": "none",
        "columns": [
            {"type": "Column", "width": "100px", "items": [text(label, "default", true)]},
            {"type": "Column", "width": "stretch", "items": [text(value, "default", false)]},
        ]
    })
}

/// A severity's named colour.
fn colour(severity: Option<&str>) -> &'static str {
    match severity {
        Some("critical") | Some("high") => "attention",
        Some("medium") => "warning",
        Some(_) => "default",
        None => "accent",
    }
}

fn event_block(e: &Event, tenant_name: &str, console_url: Option<&str>) -> Value {
    let mut items = vec![text(&e.heading(), colour(e.severity.as_deref()), true)];
    let facts = e.facts(tenant_name);
    // The changes follow the detail, as before → after lines.
    let (about, changes) = facts.split_at(facts.len() - e.changes.len());
    items.extend(about.iter().map(|(label, value)| fact(label, value)));
    if !e.detail.is_empty() {
        items.push(text(&e.detail, "default", false));
    }
    items.extend(changes.iter().map(|(label, value)| fact(label, value)));
    if !e.remediation.is_empty() {
        let mut fix = text(&format!("Fix: {}", e.remediation), "default", false);
        fix["inlines"][0]["fontType"] = json!("monospace");
        items.push(fix);
    }
    if let Some(url) = e.console_link(console_url) {
        items.push(json!({"type": "ActionSet", "actions": [{"type": "Action.OpenUrl", "title": "Open in Plumbline", "url": url}]}));
    }
    json!({"type": "Container", "separator": true, "items": items})
}

fn card(rule: &str, tenant_name: &str, events: &[Event], left_out: usize, console_url: Option<&str>) -> Value {
    let heading = if events.len() + left_out == 1 {
        format!("Plumbline · {rule}")
    } else {
        format!("Plumbline · {rule} · {} alerts", events.len() + left_out)
    };
    let mut body = vec![text(&heading, "accent", true)];
    body.extend(events.iter().map(|e| event_block(e, tenant_name, console_url)));
    if left_out > 0 {
        body.push(text(&format!("… and {left_out} more for {tenant_name}: see the console."), "warning", true));
    }
    let mut card = json!({
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
    });
    if let (Some(base), Some(first)) = (console_url, events.first()) {
        let url = format!("{}{}", base.trim_end_matches('/'), crate::console::links::tenant(&first.tenant_id));
        card["actions"] = json!([{"type": "Action.OpenUrl", "title": "Open the tenant's register", "url": url}]);
    }
    card
}

/// The Workflows body carrying the card.
fn envelope(card: Value) -> Value {
    json!({
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": card}]
    })
}

/// The message for a digest of `events` (one tenant, one rule): as many
/// events as fit in [`MAX_MESSAGE_BYTES`], then "and N more".
pub fn message(rule: &str, tenant_name: &str, events: &[Event], console_url: Option<&str>) -> Vec<u8> {
    let mut shown = events.len();
    loop {
        let body = envelope(card(rule, tenant_name, &events[..shown], events.len() - shown, console_url));
        let bytes = serde_json::to_vec(&body).expect("a card serialises");
        if bytes.len() <= MAX_MESSAGE_BYTES || shown == 0 {
            return bytes;
        }
        // Shrink fast for a large digest, one by one near the limit.
        shown = if bytes.len() > 2 * MAX_MESSAGE_BYTES { shown / 2 } else { shown - 1 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(i: usize) -> Event {
        Event {
            kind: "finding-opened".into(),
            tenant_id: "northwind".into(),
            site_id: "hq".into(),
            connector_key: format!("exo/exchange:inbound:{i}"),
            name: format!("[click](https://evil.example) relay {i}"),
            category: "exchange-connector".into(),
            severity: Some("critical".into()),
            title: "Accepts mail from any server".into(),
            detail: "x".repeat(2000),
            changes: vec![("attributes.sender_ip_addresses".into(), "(none)".into(), "203.0.113.9".into())],
            remediation: "Set-InboundConnector -Identity 'Scanner relay' -SenderIPAddresses 203.0.113.9".into(),
            at: "2026-12-01T10:00:00.000000Z".into(),
        }
    }

    #[test]
    fn a_large_digest_fits_and_says_how_many_were_left_out() {
        let events: Vec<Event> = (0..500).map(event).collect();
        let m = message("critical findings", "Northwind Dental", &events, Some("https://plumbline.msp.example"));
        assert!(m.len() <= MAX_MESSAGE_BYTES, "{}", m.len());
        let v: Value = serde_json::from_slice(&m).unwrap();
        let text = v.to_string();
        assert!(text.contains("500 alerts") && text.contains("more for Northwind Dental"), "{}", &text[..300]);
        assert_eq!(v["attachments"][0]["content"]["version"], "1.5");
        // Names are TextRuns (text), never a TextBlock's Markdown.
        assert!(!text.contains("\"TextBlock\""));
        assert!(text.contains("https://plumbline.msp.example/tenants/northwind/connectors/"));
        assert!(!text.contains(&"x".repeat(MAX_FIELD_CHARS + 1)), "long fields are cut");
    }

    #[test]
    fn one_event_is_one_card_with_its_facts() {
        let v: Value = serde_json::from_slice(&message("r", "Northwind", &[event(1)], None)).unwrap();
        let text = v.to_string();
        assert!(text.contains("CRITICAL: Accepts mail") && text.contains("(none) → 203.0.113.9") && text.contains("Fix: Set-InboundConnector"));
        assert!(!text.contains("Action.OpenUrl"), "no console URL, no link");
    }
}
