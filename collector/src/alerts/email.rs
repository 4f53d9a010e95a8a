//! Alerts by email: one message per digest, with a plain-text and an HTML
//! part, sent over SMTP with STARTTLS (or implicit TLS) and, when the
//! config names credentials, SMTP AUTH. TLS is never optional: an alert
//! names a client's connectors and findings, and the password must not
//! cross the network in the clear.

use super::dispatch::{Sent, REQUEST_TIMEOUT};
use super::Event;
use askama::Template;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// The most events one message lists; the rest are counted, and the
/// console has them all.
pub const MAX_EMAIL_EVENTS: usize = 200;
/// The longest text kept from one field of an event in a message.
pub const MAX_FIELD_CHARS: usize = 2000;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTls {
    /// Plain SMTP upgraded with STARTTLS before anything else is said
    /// (submission, port 587); a server without STARTTLS is refused.
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
}

/// Where and how to send, from the config.
#[derive(Clone)]
pub struct EmailTarget {
    /// The SMTP server to connect to.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// STARTTLS or implicit TLS.
    pub tls: EmailTls,
    /// The name its certificate must carry (the host, unless the config says otherwise).
    pub tls_name: String,
    /// The sender.
    pub from: Mailbox,
    /// The recipients.
    pub to: Vec<Mailbox>,
    /// SMTP AUTH user and password, if the server wants them.
    pub credentials: Option<(String, String)>,
}

impl EmailTarget {
    /// What logs and pages show: the server and the recipients, never the password.
    pub fn address(&self) -> String {
        format!("smtp://{}:{} to {}", self.host, self.port, self.to.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
    }
}

impl std::fmt::Debug for EmailTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailTarget")
            .field("server", &self.address())
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .finish_non_exhaustive()
    }
}

fn cut(s: &str) -> String {
    plumbline_protocol::cells::bounded(s, MAX_FIELD_CHARS)
}

/// One event as both parts show it.
pub struct EventView {
    /// Severity, for the HTML part's colour.
    pub severity: String,
    /// `SEVERITY: title`.
    pub heading: String,
    /// `(label, value)` lines.
    pub facts: Vec<(String, String)>,
    /// More, in words.
    pub detail: String,
    /// What to do.
    pub remediation: String,
    /// Its console page.
    pub link: Option<String>,
}

/// The message's model: the HTML part escapes every value (askama), the
/// text part carries them as they are.
#[derive(Template)]
#[template(path = "alert_email.html")]
pub struct HtmlPart<'a> {
    /// The rule that fired.
    pub rule: &'a str,
    /// The client.
    pub tenant_name: &'a str,
    /// What happened.
    pub events: &'a [EventView],
    /// Events left out of this message.
    pub more: usize,
    /// The tenant's register in the console.
    pub register: Option<String>,
}

/// The plain-text part, the same model.
#[derive(Template)]
#[template(path = "alert_email.txt", escape = "none")]
pub struct TextPart<'a> {
    /// The rule that fired.
    pub rule: &'a str,
    /// The client.
    pub tenant_name: &'a str,
    /// What happened.
    pub events: &'a [EventView],
    /// Events left out of this message.
    pub more: usize,
    /// The tenant's register in the console.
    pub register: Option<String>,
}

/// A header value from config or scan text: one line, bounded.
fn header_text(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).take(200).collect()
}

/// The message for one digest. `delivery` becomes its Message-ID's left
/// part, so a retry of the same digest is recognisably the same message.
pub fn message(
    target: &EmailTarget,
    rule: &str,
    tenant_name: &str,
    events: &[Event],
    console_url: Option<&str>,
    delivery: &str,
) -> Result<Message, String> {
    let views: Vec<EventView> = events
        .iter()
        .take(MAX_EMAIL_EVENTS)
        .map(|e| EventView {
            severity: e.severity.clone().unwrap_or_default(),
            heading: cut(&e.heading()),
            facts: e.facts(tenant_name).into_iter().map(|(l, v)| (cut(&l), cut(&v))).collect(),
            detail: cut(&e.detail),
            remediation: cut(&e.remediation),
            link: e.console_link(console_url),
        })
        .collect();
    let more = events.len().saturating_sub(views.len());
    let register = match (console_url, events.first()) {
        (Some(base), Some(first)) => Some(format!("{}{}", base.trim_end_matches('/'), crate::console::links::tenant(&first.tenant_id))),
        _ => None,
    };
    let html = HtmlPart { rule, tenant_name, events: &views, more, register: register.clone() }.render().map_err(|e| e.to_string())?;
    let text = TextPart { rule, tenant_name, events: &views, more, register }.render().map_err(|e| e.to_string())?;
    let subject = match events.len() {
        1 => format!("[Plumbline] {}: {}", header_text(tenant_name), header_text(&events[0].heading())),
        n => format!("[Plumbline] {}: {} alerts from {}", header_text(tenant_name), n, header_text(rule)),
    };
    let domain = target.from.email.domain().to_string();
    let mut builder = Message::builder().from(target.from.clone()).subject(subject).message_id(Some(format!("<{delivery}@{domain}>")));
    for to in &target.to {
        builder = builder.to(to.clone());
    }
    builder.multipart(MultiPart::alternative_plain_html(text, html)).map_err(|e| e.to_string())
}

/// Send one message. A temporary refusal (4xx), a dropped connection or a
/// timeout is retried; a permanent refusal (5xx, such as a wrong password
/// or an unknown recipient) is kept as refused, since sending it again
/// cannot help until the config changes.
pub async fn send(target: &EmailTarget, roots: &[Vec<u8>], message: Message) -> Sent {
    let mut tls = TlsParameters::builder(target.tls_name.clone());
    for der in roots {
        match Certificate::from_der(der.clone()) {
            Ok(cert) => tls = tls.add_root_certificate(cert),
            Err(e) => return Sent::Refused(format!("ca_file: {e}")),
        }
    }
    let tls = match tls.build_rustls() {
        Ok(t) => t,
        Err(e) => return Sent::Refused(format!("TLS for {}: {e}", target.tls_name)),
    };
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(target.host.as_str())
        .port(target.port)
        .timeout(Some(REQUEST_TIMEOUT))
        .tls(match target.tls {
            EmailTls::StartTls => Tls::Required(tls),
            EmailTls::Implicit => Tls::Wrapper(tls),
        });
    if let Some((user, password)) = &target.credentials {
        transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
    }
    match transport.build().send(message).await {
        Ok(_) => Sent::Ok,
        Err(e) if e.is_permanent() => Sent::Refused(format!("{}: {e}", target.address())),
        Err(e) => Sent::Retry(Duration::ZERO, format!("{}: {e}", target.address())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> EmailTarget {
        EmailTarget {
            host: "127.0.0.1".into(),
            port: 587,
            tls: EmailTls::StartTls,
            tls_name: "mail.msp.example".into(),
            from: "Plumbline <alerts@msp.example>".parse().unwrap(),
            to: vec!["noc@msp.example".parse().unwrap()],
            credentials: Some(("alerts".into(), "hunter2-secret".into())),
        }
    }

    fn event(name: &str) -> Event {
        Event {
            kind: "finding-opened".into(),
            tenant_id: "northwind".into(),
            site_id: "hq".into(),
            connector_key: "exo/exchange:inbound:relay".into(),
            name: name.into(),
            category: "exchange-connector".into(),
            severity: Some("critical".into()),
            title: "Accepts mail from any server".into(),
            detail: "SenderIPAddresses is empty".into(),
            changes: vec![("sender_ip_addresses".into(), "203.0.113.9".into(), "".into())],
            remediation: "Set-InboundConnector -Identity 'Scanner relay' -SenderIPAddresses 203.0.113.9".into(),
            at: "2026-12-01T10:00:00Z".into(),
        }
    }

    #[test]
    fn both_parts_carry_the_event_and_only_the_html_part_escapes_it() {
        let hostile = "<img src=x onerror=alert(1)>";
        let m = message(&target(), "critical", "Northwind\r\nBcc: evil@x", &[event(hostile)], Some("https://plumbline.msp.example"), "plb-7-1").unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("Content-Type: multipart/alternative"), "{raw}");
        assert!(raw.contains("Content-Type: text/plain") && raw.contains("Content-Type: text/html"), "{raw}");
        let headers = &raw[..raw.find("\r\n\r\n").unwrap()];
        assert!(!headers.contains("\r\nBcc:") && headers.contains("Northwind  Bcc"), "no header can be injected: {headers}");
        assert!(raw.contains("Message-ID: <plb-7-1@msp.example>"), "{raw}");
        // Both parts are quoted-printable: `=` is `=3D`.
        let (text, html) = raw.split_once("Content-Type: text/html").unwrap();
        assert!(text.contains("Connector: <img src=3Dx onerror=3Dalert(1)>"), "the text part keeps it as typed: {text}");
        assert!(html.contains("&#60;img src=3Dx onerror=3Dalert(1)&#62;") && !html.contains("<img"), "escaped in HTML: {html}");
        assert!(!format!("{:?}", target()).contains("hunter2"), "the password never shows");
    }

    #[test]
    fn a_large_digest_is_cut_and_counted() {
        let events: Vec<Event> = (0..MAX_EMAIL_EVENTS + 5).map(|i| event(&format!("relay {i}"))).collect();
        let m = message(&target(), "critical", "Northwind", &events, None, "plb-1-205").unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("205 alerts from critical"), "{}", &raw[..400]);
        assert!(raw.contains("and 5 more"), "the rest are counted");
    }
}
