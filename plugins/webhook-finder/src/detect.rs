//! Finding Teams and Workflows webhook URLs in text.
//!
//! The URL is a secret: whoever has it can post into the channel (and, for
//! a Workflows URL with `sig=`, run the flow). So nothing here keeps it: each
//! URL is decoded into a local buffer, classified, fingerprinted, and the
//! buffer is dropped. A [`Found`] holds only the fingerprint and the parts
//! that are safe to keep (kind, host, workflow id, whether it has a `sig`).
//!
//! Recognised formats (see the m365 facts notes):
//! - legacy connector: `https://outlook.office.com/webhook/{group}@{tenant}/{connector}/{id}/{guid}`
//!   (also `outlook.office365.com`);
//! - Incoming Webhook connector (2021 format): `https://{tenant}.webhook.office.com/webhookb2/{group}@{tenant}/IncomingWebhook/{id}/{guid}[/V2...]`;
//! - Workflows on the Logic Apps host: `https://prod-NN.{region}.logic.azure.com:443/workflows/{32hex}/triggers/manual/paths/invoke?...&sig=...`;
//! - Workflows on the Power Platform host: `https://{envid}.NN.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/{32hex}/triggers/manual/paths/invoke?...[&sig=...]`.
//!
//! Each may be written plainly, JSON-escaped (`https:\/\/...`, `\u0026`,
//! also doubly escaped), HTML/XML-escaped (`&amp;`) or URL-encoded
//! (`https%3A%2F%2F...`), and quoted in any way: quotes, brackets, spaces and
//! other characters that cannot be part of these URLs end them.

use plumbline_plugin_sdk::redact;

/// The kinds of webhook URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `outlook.office.com/webhook/...`: an Office 365 connector URL in the
    /// pre-2021 format.
    LegacyConnector,
    /// `{tenant}.webhook.office.com/webhookb2/...`: an Incoming Webhook (or
    /// other Office 365 connector) URL in the 2021 format.
    IncomingWebhookB2,
    /// A Workflows (Power Automate) trigger URL on the Logic Apps host.
    WorkflowLogicApps,
    /// A Workflows (Power Automate) trigger URL on the Power Platform host.
    WorkflowPowerPlatform,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [
        Kind::LegacyConnector,
        Kind::IncomingWebhookB2,
        Kind::WorkflowLogicApps,
        Kind::WorkflowPowerPlatform,
    ];

    /// Its name in the register (`kind` attribute).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::LegacyConnector => "legacy-connector",
            Kind::IncomingWebhookB2 => "incoming-webhook-webhookb2",
            Kind::WorkflowLogicApps => "workflow-logic-apps",
            Kind::WorkflowPowerPlatform => "workflow-power-platform",
        }
    }

    /// A few words for titles and names.
    pub fn label(self) -> &'static str {
        match self {
            Kind::LegacyConnector => "Office 365 connector webhook URL (legacy outlook.office.com format, retired)",
            Kind::IncomingWebhookB2 => "Teams Incoming Webhook connector URL (webhookb2, retired)",
            Kind::WorkflowLogicApps => "Workflows webhook URL (Logic Apps host)",
            Kind::WorkflowPowerPlatform => "Workflows webhook URL (Power Platform host)",
        }
    }

    /// An Office 365 connector URL: dead since the connectors' retirement.
    pub fn is_retired(self) -> bool {
        matches!(self, Kind::LegacyConnector | Kind::IncomingWebhookB2)
    }

    /// A Workflows trigger URL.
    pub fn is_workflow(self) -> bool {
        !self.is_retired()
    }
}

/// How the URL was written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encoding {
    /// As is.
    Plain,
    /// JSON string escapes: `\/`, `\u0026`.
    JsonEscaped,
    /// HTML or XML entities: `&amp;`.
    HtmlEscaped,
    /// Percent-encoded, as a query parameter value: `https%3A%2F%2F...`.
    UrlEncoded,
}

impl Encoding {
    /// Its name in the register (`written_as` attribute).
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Plain => "plain",
            Encoding::JsonEscaped => "json-escaped",
            Encoding::HtmlEscaped => "html-escaped",
            Encoding::UrlEncoded => "url-encoded",
        }
    }
}

/// One webhook URL found in a text: where, what kind, and its non-secret
/// parts. The URL itself is not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// What kind of URL.
    pub kind: Kind,
    /// 1-based line where it starts.
    pub line: u32,
    /// How it was written.
    pub encoding: Encoding,
    /// Host name, lower case, without the port.
    pub host: String,
    /// The workflow id (32 hex digits, lower case), for Workflows URLs.
    pub workflow_id: Option<String>,
    /// Whether the query carries a non-empty `sig` (a shared-access
    /// signature: the URL alone is then enough to run the flow).
    pub has_sig: bool,
    /// `sha256:<hex>` of the URL as decoded (escapes undone, nothing else
    /// normalised), from [`redact::fingerprint`]: the same URL gives the same
    /// fingerprint however it was escaped, in any file, on any host.
    pub fingerprint: String,
}

/// Longest URL considered; these webhook URLs are a few hundred characters.
pub const MAX_URL_LEN: usize = 2048;
/// Longest host part considered.
const MAX_AUTHORITY_LEN: usize = 260;

/// Every webhook URL in `text`, in order.
pub fn find_webhook_urls(text: &str) -> Vec<Found> {
    let mut out = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
        find_in_line(line.as_bytes(), line_no, &mut out);
    }
    out
}

fn find_in_line(b: &[u8], line: u32, out: &mut Vec<Found>) {
    let mut i = 0;
    while i + 4 <= b.len() {
        if b[i].eq_ignore_ascii_case(&b'h') && b[i..i + 4].eq_ignore_ascii_case(b"http") {
            match extract(b, i, line) {
                Extracted::Found(found, end) => {
                    out.push(found);
                    i = end.max(i + 1);
                    continue;
                }
                // Too long to be a webhook URL: nothing inside it is one
                // either, and rescanning it from every `http` would be slow.
                Extracted::Skip(end) => {
                    i = end.max(i + 1);
                    continue;
                }
                Extracted::No => {}
            }
        }
        i += 1;
    }
}

enum Extracted {
    /// A webhook URL, and where its text ends.
    Found(Found, usize),
    /// An over-long URL on a webhook host; skip to here.
    Skip(usize),
    /// Nothing here.
    No,
}

/// Decode the URL starting at `start` (if it is one of ours), classify and
/// fingerprint it.
fn extract(b: &[u8], start: usize, line: u32) -> Extracted {
    match extract_url(b, start, line) {
        Ok(found) => found.map_or(Extracted::No, |(f, end)| Extracted::Found(f, end)),
        Err(end) => Extracted::Skip(end),
    }
}

/// [`extract`]; `Err(end)` for an over-long URL on a webhook host.
fn extract_url(b: &[u8], start: usize, line: u32) -> Result<Option<(Found, usize)>, usize> {
    let mut decoder = if starts_with_ci(&b[start..], b"https%3a%2f%2f")
        || starts_with_ci(&b[start..], b"http%3a%2f%2f")
    {
        Decoder::new(b, start, Mode::Percent)
    } else {
        Decoder::new(b, start, Mode::Plain)
    };
    // The URL text; dropped at the end of this function.
    let mut url = String::new();

    // Scheme.
    while url.len() < 8 && !url.ends_with("://") {
        let Some(c) = decoder.next_byte() else {
            return Ok(None);
        };
        url.push(char::from(c));
    }
    if !(url.eq_ignore_ascii_case("https://") || url.eq_ignore_ascii_case("http://")) {
        return Ok(None);
    }
    // Authority: stop early when it is not one of the webhook hosts, so that
    // ordinary URLs cost little.
    let authority_start = url.len();
    loop {
        match decoder.next_byte() {
            None => break,
            Some(c) => {
                url.push(char::from(c));
                if c == b'/' || c == b'?' {
                    break;
                }
                if url.len() - authority_start > MAX_AUTHORITY_LEN {
                    return Ok(None);
                }
            }
        }
    }
    let authority = url[authority_start..].trim_end_matches(['/', '?']);
    let host = authority.split(':').next().unwrap_or_default();
    if webhook_host(&host.to_ascii_lowercase()).is_none() {
        return Ok(None);
    }
    // Path and query.
    while let Some(c) = decoder.next_byte() {
        url.push(char::from(c));
        if url.len() > MAX_URL_LEN {
            while decoder.next_byte().is_some() {}
            return Err(decoder.pos);
        }
    }
    // Prose: "post to https://...invoke?...sig=abc." ends with a full stop.
    let trimmed = url.trim_end_matches(['.', ':']);
    let Some(parts) = classify(trimmed) else {
        return Ok(None);
    };
    let found = Found {
        kind: parts.kind,
        line,
        encoding: decoder.encoding(),
        host: parts.host,
        workflow_id: parts.workflow_id,
        has_sig: parts.has_sig,
        fingerprint: redact::fingerprint(trimmed),
    };
    Ok(Some((found, decoder.pos)))
}

/// Bytes that can be part of the webhook URLs we look for. Quotes,
/// brackets, whitespace, `$`, `,`, `;`, `#`, backticks and everything
/// non-ASCII end a URL.
fn url_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~:/?@&=+%".contains(&c)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Literal text, with JSON and HTML escapes undone.
    Plain,
    /// Percent-encoded text, decoded once.
    Percent,
}

/// Reads decoded URL bytes from raw text until a byte that cannot be part
/// of the URL.
struct Decoder<'a> {
    b: &'a [u8],
    pos: usize,
    mode: Mode,
    json: bool,
    html: bool,
}

impl<'a> Decoder<'a> {
    fn new(b: &'a [u8], pos: usize, mode: Mode) -> Self {
        Decoder {
            b,
            pos,
            mode,
            json: false,
            html: false,
        }
    }

    fn encoding(&self) -> Encoding {
        match self.mode {
            Mode::Percent => Encoding::UrlEncoded,
            Mode::Plain if self.json => Encoding::JsonEscaped,
            Mode::Plain if self.html => Encoding::HtmlEscaped,
            Mode::Plain => Encoding::Plain,
        }
    }

    /// The next decoded byte, or `None` at the end of the URL (`pos` then
    /// stays on the byte that ended it).
    fn next_byte(&mut self) -> Option<u8> {
        let rest = self.b.get(self.pos..)?;
        let c = *rest.first()?;
        match self.mode {
            Mode::Percent => {
                if c == b'%' {
                    let v = hex_byte(rest.get(1..3)?)?;
                    if !url_byte(v) {
                        return None;
                    }
                    self.pos += 3;
                    Some(v)
                } else if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
                    self.pos += 1;
                    Some(c)
                } else {
                    None
                }
            }
            Mode::Plain => match c {
                b'\\' => {
                    // `\/`, or `\\\/` when JSON sits in a JSON string;
                    // `\u0026` (Windows PowerShell's ConvertTo-Json writes
                    // `&` so).
                    let slashes = rest.iter().take_while(|&&x| x == b'\\').count();
                    let after = &rest[slashes..];
                    match after.first() {
                        Some(b'/') => {
                            self.json = true;
                            self.pos += slashes + 1;
                            Some(b'/')
                        }
                        Some(b'u') | Some(b'U') => {
                            let hi = hex_byte(after.get(1..3)?)?;
                            let lo = hex_byte(after.get(3..5)?)?;
                            if hi != 0 || !url_byte(lo) {
                                return None;
                            }
                            self.json = true;
                            self.pos += slashes + 5;
                            Some(lo)
                        }
                        _ => None,
                    }
                }
                b'&' => match entity(rest) {
                    Entity::NotOne => {
                        self.pos += 1;
                        Some(b'&')
                    }
                    Entity::Ampersand(len) => {
                        self.html = true;
                        self.pos += len;
                        Some(b'&')
                    }
                    // `&quot;`, `&lt;` and the like end the URL.
                    Entity::Other => None,
                },
                c if url_byte(c) => {
                    self.pos += 1;
                    Some(c)
                }
                _ => None,
            },
        }
    }
}

enum Entity {
    /// A bare `&`.
    NotOne,
    /// `&amp;`, `&#38;` or `&#x26;`, this many bytes long.
    Ampersand(usize),
    /// Any other entity.
    Other,
}

/// What an `&` at the start of `rest` begins.
fn entity(rest: &[u8]) -> Entity {
    let body_len = rest[1..]
        .iter()
        .take(10)
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'#')
        .count();
    if body_len == 0 || rest.get(1 + body_len) != Some(&b';') {
        return Entity::NotOne;
    }
    let body = &rest[1..1 + body_len];
    let is_amp = body.eq_ignore_ascii_case(b"amp")
        || body == b"#38"
        || body.eq_ignore_ascii_case(b"#x26");
    if is_amp {
        Entity::Ampersand(body_len + 2)
    } else {
        let named = body.iter().all(u8::is_ascii_alphabetic);
        let numeric = body.first() == Some(&b'#') && body.len() > 1;
        if named || numeric {
            Entity::Other
        } else {
            Entity::NotOne
        }
    }
}

fn hex_byte(two: &[u8]) -> Option<u8> {
    let d = |c: u8| char::from(c).to_digit(16);
    match two {
        [a, b] => Some(u8::try_from(d(*a)? * 16 + d(*b)?).ok()?),
        _ => None,
    }
}

fn starts_with_ci(b: &[u8], prefix: &[u8]) -> bool {
    b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Which family a host belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HostFamily {
    Outlook,
    WebhookOffice,
    LogicApps,
    PowerPlatform,
}

const WEBHOOK_OFFICE: &str = ".webhook.office.com";
const LOGIC_APPS: &str = ".logic.azure.com";
const POWER_PLATFORM: &str = ".environment.api.powerplatform.com";

/// The family of a lower-case host name, if it is a webhook host.
fn webhook_host(host: &str) -> Option<HostFamily> {
    let dns_name = !host.is_empty()
        && host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.');
    if !dns_name {
        return None;
    }
    let below = |suffix: &str| {
        host.strip_suffix(suffix)
            .is_some_and(|label| !label.is_empty() && !label.starts_with('.') && !label.ends_with('.'))
    };
    if host == "outlook.office.com" || host == "outlook.office365.com" {
        Some(HostFamily::Outlook)
    } else if below(WEBHOOK_OFFICE) {
        Some(HostFamily::WebhookOffice)
    } else if below(LOGIC_APPS) {
        Some(HostFamily::LogicApps)
    } else if below(POWER_PLATFORM) {
        Some(HostFamily::PowerPlatform)
    } else {
        None
    }
}

/// The non-secret parts of a webhook URL.
struct Parts {
    kind: Kind,
    host: String,
    workflow_id: Option<String>,
    has_sig: bool,
}

/// Classify a decoded URL; `None` when it is not one of the webhook formats.
fn classify(url: &str) -> Option<Parts> {
    let scheme_len = if url.len() >= 8 && url[..8].eq_ignore_ascii_case("https://") {
        8
    } else if url.len() >= 7 && url[..7].eq_ignore_ascii_case("http://") {
        7
    } else {
        return None;
    };
    let rest = &url[scheme_len..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    // `https://outlook.office.com@evil.example/...` is not Microsoft's host.
    if authority.contains('@') {
        return None;
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let host = host.to_ascii_lowercase();
    let family = webhook_host(&host)?;
    let after = &rest[authority_end..];
    let (path, query) = after.split_once('?').unwrap_or((after, ""));
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let is = |i: usize, name: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(name));
    let present = |i: usize| segs.get(i).is_some_and(|s| !s.is_empty());
    let group_at_tenant = |i: usize| {
        segs.get(i)
            .and_then(|s| s.split_once('@'))
            .is_some_and(|(g, t)| !g.is_empty() && !t.is_empty())
    };
    let hex32 = |i: usize| {
        segs.get(i)
            .filter(|s| s.len() == 32 && s.bytes().all(|c| c.is_ascii_hexdigit()))
            .map(|s| s.to_ascii_lowercase())
    };
    let (kind, workflow_id) = match family {
        // /webhook/{group}@{tenant}/{connector}/{id}/...
        HostFamily::Outlook if is(0, "webhook") && group_at_tenant(1) && present(2) && present(3) => {
            (Kind::LegacyConnector, None)
        }
        // /webhookb2/{group}@{tenant}/{connector}/{id}/...
        HostFamily::WebhookOffice
            if is(0, "webhookb2") && group_at_tenant(1) && present(2) && present(3) =>
        {
            (Kind::IncomingWebhookB2, None)
        }
        // /workflows/{32hex}/triggers/{trigger}/...
        HostFamily::LogicApps if is(0, "workflows") && is(2, "triggers") && present(3) => {
            (Kind::WorkflowLogicApps, Some(hex32(1)?))
        }
        // /powerautomate/automations/direct/workflows/{32hex}/triggers/{trigger}/...
        HostFamily::PowerPlatform
            if is(0, "powerautomate")
                && is(1, "automations")
                && is(2, "direct")
                && is(3, "workflows")
                && is(5, "triggers")
                && present(6) =>
        {
            (Kind::WorkflowPowerPlatform, Some(hex32(4)?))
        }
        _ => return None,
    };
    let has_sig = query.split('&').any(|param| {
        param
            .split_once('=')
            .is_some_and(|(k, v)| k.eq_ignore_ascii_case("sig") && !v.is_empty())
    });
    Some(Parts {
        kind,
        host,
        workflow_id,
        has_sig,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: &str = "11111111-2222-3333-4444-555555555555";
    const TENANT: &str = "5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa";
    const WF: &str = "0123456789ABCDEF0123456789abcdef";
    const SIG: &str = "DEMOsig_n0t-real_AAAAAAAAAAAAAAAAAAAAAAAAAAA";

    fn legacy() -> String {
        format!(
            "https://outlook.office.com/webhook/{GROUP}@{TENANT}/IncomingWebhook/\
             aaaabbbbccccddddeeeeffff00001111/99999999-8888-7777-6666-555555555555"
        )
    }

    fn b2() -> String {
        format!(
            "https://northwinddental.webhook.office.com/webhookb2/{GROUP}@{TENANT}/IncomingWebhook/\
             fedcba9876543210fedcba9876543210/99999999-8888-7777-6666-555555555555/V2FAKEfakeFAKE"
        )
    }

    fn logic() -> String {
        format!(
            "https://prod-27.westeurope.logic.azure.com:443/workflows/{WF}/triggers/manual/paths/invoke\
             ?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
        )
    }

    fn power_platform(sig: bool) -> String {
        let mut u = format!(
            "https://0a1b2c3d4e5f40718293a4b5c6d7e8f9.05.environment.api.powerplatform.com:443/\
             powerautomate/automations/direct/workflows/{WF}/triggers/manual/paths/invoke?api-version=1"
        );
        if sig {
            u.push_str(&format!("&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"));
        }
        u
    }

    fn one(text: &str) -> Found {
        let found = find_webhook_urls(text);
        assert_eq!(found.len(), 1, "expected one URL in {text:?}, got {found:?}");
        found.into_iter().next().unwrap()
    }

    fn none(text: &str) {
        let found = find_webhook_urls(text);
        assert!(found.is_empty(), "expected no URL in {text:?}, got {found:?}");
    }

    fn json_escape(url: &str) -> String {
        url.replace('/', "\\/")
    }

    fn url_encode(url: &str) -> String {
        url.bytes()
            .map(|c| {
                if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
                    char::from(c).to_string()
                } else {
                    format!("%{c:02X}")
                }
            })
            .collect()
    }

    #[test]
    fn every_format_is_recognised_with_its_parts() {
        let f = one(&format!("$uri = '{}'", legacy()));
        assert_eq!(f.kind, Kind::LegacyConnector);
        assert_eq!(f.host, "outlook.office.com");
        assert_eq!((f.workflow_id.clone(), f.has_sig), (None, false));
        assert_eq!(f.fingerprint, redact::fingerprint(&legacy()));

        let f = one(&legacy().replace("outlook.office.com", "outlook.office365.com"));
        assert_eq!((f.kind, f.host.as_str()), (Kind::LegacyConnector, "outlook.office365.com"));

        let f = one(&format!("url: \"{}\"", b2()));
        assert_eq!(f.kind, Kind::IncomingWebhookB2);
        assert_eq!(f.host, "northwinddental.webhook.office.com");
        assert_eq!(f.fingerprint, redact::fingerprint(&b2()));

        let f = one(&format!("curl -H 'Content-Type: application/json' -d @msg.json \"{}\"", logic()));
        assert_eq!(f.kind, Kind::WorkflowLogicApps);
        assert_eq!(f.host, "prod-27.westeurope.logic.azure.com");
        assert_eq!(f.workflow_id.as_deref(), Some(WF.to_ascii_lowercase().as_str()));
        assert!(f.has_sig);
        assert_eq!(f.fingerprint, redact::fingerprint(&logic()));

        let f = one(&power_platform(false));
        assert_eq!(f.kind, Kind::WorkflowPowerPlatform);
        assert_eq!(f.host, "0a1b2c3d4e5f40718293a4b5c6d7e8f9.05.environment.api.powerplatform.com");
        assert!(!f.has_sig, "tenant-restricted trigger: no sig");
        let f = one(&power_platform(true));
        assert!(f.has_sig);
        assert_eq!(f.encoding, Encoding::Plain);
    }

    #[test]
    fn near_misses_do_not_match() {
        for text in [
            // Placeholders in documentation and comments.
            "https://outlook.office.com/webhook/...".to_string(),
            "https://outlook.office.com/webhook/<group>@<tenant>/IncomingWebhook/<id>/<guid>".to_string(),
            "https://{tenant}.webhook.office.com/webhookb2/{group}@{tenant}/IncomingWebhook/...".to_string(),
            "https://prod-00.westus.logic.azure.com:443/workflows/{workflowId}/triggers/manual/paths/invoke".to_string(),
            // Other paths on the same hosts.
            "https://outlook.office.com/mail/inbox".to_string(),
            "https://outlook.office365.com/adminapi/beta/x@y/InvokeCommand/a/b".to_string(),
            format!("https://outlook.office.com/webhooks/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
            format!("https://outlook.office.com/webhook/{GROUP}/IncomingWebhook/a/b"),
            format!("https://contoso.webhook.office.com/webhook/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
            format!("https://prod-27.westeurope.logic.azure.com/workflows/{WF}"),
            format!("https://prod-27.westeurope.logic.azure.com/workflows/{}/triggers/manual/paths/invoke", &WF[..31]),
            "https://prod-27.westeurope.logic.azure.com/workflows/0123456789abcdef0123456789abcdeg/triggers/manual/paths/invoke".to_string(),
            format!("https://x.05.environment.api.powerplatform.com/powerautomate/flows/{WF}/triggers/manual"),
            // Look-alike hosts.
            format!("https://outlook.office.com.evil.example/webhook/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
            format!("https://outlook.office.com@evil.example/webhook/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
            format!("https://evilwebhook.office.com/webhookb2/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
            format!("https://webhook.office.com/webhookb2/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
            format!("https://prod-1.logic.azure.com.evil.example/workflows/{WF}/triggers/manual/paths/invoke"),
            format!("https://logic.azure.com/workflows/{WF}/triggers/manual/paths/invoke"),
            format!("https://management.azure.com/subscriptions/x/workflows/{WF}/triggers/manual"),
            format!("https://prod-1.logic.azure.com:abc/workflows/{WF}/triggers/manual/paths/invoke"),
            // Not a URL.
            format!("outlook.office.com/webhook/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
            format!("ftp://outlook.office.com/webhook/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
            "httphttphttp https:// http".to_string(),
        ] {
            none(&text);
        }
    }

    #[test]
    fn escaped_forms_give_the_same_fingerprint() {
        let plain = redact::fingerprint(&logic());
        let cases = [
            (json_escape(&logic()), Encoding::JsonEscaped),
            // Windows PowerShell 5.1 ConvertTo-Json escapes & as \u0026.
            (json_escape(&logic()).replace('&', "\\u0026"), Encoding::JsonEscaped),
            // JSON inside a JSON string.
            (logic().replace('/', "\\\\\\/"), Encoding::JsonEscaped),
            // XML / HTML.
            (logic().replace('&', "&amp;"), Encoding::HtmlEscaped),
            (logic().replace('&', "&#38;"), Encoding::HtmlEscaped),
            // A query parameter value.
            (url_encode(&logic()), Encoding::UrlEncoded),
            // Lower-case hex digits.
            (url_encode(&logic()).to_ascii_lowercase(), Encoding::UrlEncoded),
        ];
        for (i, (written, encoding)) in cases.iter().enumerate() {
            let f = one(&format!("{{\"url\":\"{written}\",\"n\":{i}}}"));
            assert_eq!(f.encoding, *encoding, "{written}");
            assert_eq!(f.kind, Kind::WorkflowLogicApps, "{written}");
            assert!(f.has_sig, "{written}");
            if i != 6 {
                assert_eq!(f.fingerprint, plain, "{written}");
            }
        }
        let f = one(&format!("https://safelinks.protection.outlook.com/?url={}&data=05", url_encode(&b2())));
        assert_eq!((f.kind, f.encoding), (Kind::IncomingWebhookB2, Encoding::UrlEncoded));
        assert_eq!(f.fingerprint, redact::fingerprint(&b2()));
    }

    #[test]
    fn quotes_brackets_and_prose_end_the_url() {
        let want = redact::fingerprint(&legacy());
        for text in [
            format!("\"{}\"", legacy()),
            format!("'{}'", legacy()),
            format!("<{}>", legacy()),
            format!("({})", legacy()),
            format!("[alert]({})", legacy()),
            format!("`{}`", legacy()),
            format!("Post to {}. Then stop.", legacy()),
            format!("url={};next", legacy()),
            format!("url={},next", legacy()),
            format!("<url>{}</url>", legacy()),
            format!("value=\"{}&quot;", legacy()),
            format!("{{\"u\":\"{}\\\"}}", legacy()),
            format!("{}\r", legacy()),
            format!("{}#comment", legacy()),
        ] {
            assert_eq!(one(&text).fingerprint, want, "{text}");
        }
    }

    #[test]
    fn sig_must_have_a_value() {
        // A template filled in at run time is not the credential.
        let template = logic().replace(SIG, "$sig");
        let f = one(&template);
        assert!(!f.has_sig);
        let f = one(&logic().replace(SIG, "${env:FLOW_SIG}"));
        assert!(!f.has_sig);
        assert!(one(&logic().replace("&sig=", "&SIG=")).has_sig);
        assert!(!one(&logic().replace("&sig=", "&signature=")).has_sig);
    }

    #[test]
    fn lines_and_several_urls_per_line() {
        let text = format!(
            "# alerts\r\n$a = '{}'; $b = \"{}\"\r\n\r\n{}\n",
            legacy(),
            b2(),
            power_platform(true)
        );
        let found = find_webhook_urls(&text);
        let got: Vec<(Kind, u32)> = found.iter().map(|f| (f.kind, f.line)).collect();
        assert_eq!(
            got,
            vec![
                (Kind::LegacyConnector, 2),
                (Kind::IncomingWebhookB2, 2),
                (Kind::WorkflowPowerPlatform, 4)
            ]
        );
        // Glued together they are still two.
        let glued = find_webhook_urls(&format!("{} {}", logic(), logic()));
        assert_eq!(glued.len(), 2);
    }

    #[test]
    fn case_of_scheme_host_and_path_does_not_matter() {
        let upper = legacy().replace("https://outlook.office.com/webhook", "HTTPS://Outlook.Office.com/WEBHOOK");
        let f = one(&upper);
        assert_eq!((f.kind, f.host.as_str()), (Kind::LegacyConnector, "outlook.office.com"));
        let http = logic().replacen("https", "http", 1);
        assert_eq!(one(&http).kind, Kind::WorkflowLogicApps);
    }

    #[test]
    fn never_panics_and_stays_linear_on_junk() {
        for junk in [
            "h", "http", "https:", "https://", "https:\\", "https:\\u00", "https%3", "https%3A%2F%2",
            "https://outlook.office.com", "https://outlook.office.com/", "&amp", "https://a&#",
            "http\u{0}s://", "https://outlook.office.com:/webhook/a@b/c/d", "ünïcode https://ö.webhook.office.com/",
        ] {
            let _ = find_webhook_urls(junk);
        }
        let long = format!("https://prod-1.logic.azure.com/{}", "a".repeat(1_000_000));
        assert!(find_webhook_urls(&long).is_empty());
        let many = "http".repeat(200_000);
        assert!(find_webhook_urls(&many).is_empty());
    }

    #[test]
    fn found_holds_no_part_of_the_secret() {
        for url in [legacy(), b2(), logic(), power_platform(true)] {
            let f = one(&url);
            let shown = format!("{f:?}");
            assert!(!shown.contains(SIG) && !shown.contains(GROUP) && !shown.contains(TENANT), "{shown}");
            for secret in ["aaaabbbbccccdddd", "fedcba9876543210", "99999999-8888", "/", "sig="] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
        }
    }
}
