//! Finding Teams and Workflows webhook URLs in text.
//!
//! The URL is a secret: whoever has it can post into the channel (and, for
//! a Workflows URL with `sig=`, run the flow). So nothing here keeps it: each
//! URL is decoded into a local buffer, classified, fingerprinted, and the
//! buffer is dropped. A [`Found`] holds only the fingerprint and the parts
//! that are safe to keep (kind, host, workflow id, whether it has a `sig`).
//!
//! Recognised formats (the grammar and its sources per cloud are in
//! `grammar.rs`):
//! - legacy connector: `https://outlook.office.com/webhook/{group}@{tenant}/{connector}/{id}/{guid}`
//!   (also `outlook.office365.com`, and `outlook.office365.us` in GCC High),
//!   `{connector}` being any connector's name (`IncomingWebhook`, `JenkinsCI`...);
//! - connector, 2021 format: `https://{tenant}.webhook.office.com/webhookb2/{group}@{tenant}/{connector}/{id}/{guid}[/V2...]`
//!   (`{tenant}.webhook.office365.us` in GCC High, and `/webhookb2/` on the Outlook hosts too);
//! - Workflows on the Logic Apps host: `https://prod-NN.{region}.logic.azure.com:443/workflows/{32hex}/triggers/manual/paths/invoke?...&sig=...`
//!   (`logic.azure.us` in the US government clouds, `logic.azure.cn` in China);
//! - Workflows on the Power Platform host: `https://{envid}.NN.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/{32hex}/triggers/manual/paths/invoke?...[&sig=...]`
//!   (`environment.api.gov.powerplatform.microsoft.us` GCC, `...api.high.powerplatform.microsoft.us` GCC High,
//!   `...api.appsplatform.us` DoD, `...api.powerplatform.partner.microsoftonline.cn` China).
//!
//! Each may be written plainly, JSON-escaped (`https:\/\/...`, `\u0026`,
//! also doubly escaped), HTML/XML-escaped (`&amp;`) or URL-encoded
//! (`https%3A%2F%2F...`), and quoted in any way: quotes, brackets, spaces and
//! other characters that cannot be part of these URLs end them.

mod decode;
mod grammar;
#[cfg(test)]
mod tests;

use decode::{starts_with_ci, Decoder, Mode};
use grammar::{classify, webhook_host};
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
