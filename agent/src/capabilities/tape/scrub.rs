//! Secrets out of a recording. Plugins never see credentials, but what the
//! host adds (tokens), what services answer (`client_secret` in JSON, SAS
//! `sig=`), and webhook URLs (each is enough to post) must not reach a file
//! an author commits. The same scrub runs over a replayed request before it
//! is matched, so a request carrying a secret still finds its recording.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// What a secret is replaced with.
pub const REDACTED: &str = "REDACTED";

/// Header names whose value is always a secret.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "ocp-apim-subscription-key",
    "x-functions-key",
    "x-auth-token",
];

/// Words in a header name, JSON key or query parameter that mark its value secret.
const SECRET_WORDS: &[&str] = &["secret", "token", "password", "signature", "assertion"];

/// Query and form parameters that are secrets though their names say nothing.
const SECRET_PARAMS: &[&str] = &["sig", "code", "client_secret", "client_assertion", "access_token", "refresh_token"];

/// Webhook URLs, by host suffix and path prefix: the URL alone lets anyone post.
const WEBHOOKS: &[(&str, &str)] = &[
    (".webhook.office.com", "/webhookb2/"),
    ("outlook.office.com", "/webhook/"),
    ("outlook.office365.com", "/webhook/"),
    (".webhook.office365.us", "/webhookb2/"),
    ("hooks.slack.com", "/"),
    ("discord.com", "/api/webhooks/"),
];

/// A query or form parameter that is a secret: paging names such as
/// `$skiptoken` are not, so only the plain words count here.
fn secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SECRET_PARAMS.contains(&n.as_str()) || n.contains("secret") || n.contains("password")
}

fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SECRET_HEADERS.contains(&n.as_str()) || SECRET_PARAMS.contains(&n.as_str()) || SECRET_WORDS.iter().any(|w| n.contains(w))
}

/// A header value as it may be stored.
pub fn header(name: &str, value: &str) -> String {
    if secret_name(name) {
        return REDACTED.to_string();
    }
    text(value)
}

/// A JSON document with every secret-named member and every secret inside
/// a string replaced.
pub fn json(v: &mut Value) {
    match v {
        Value::String(s) => *s = text(s),
        Value::Array(items) => items.iter_mut().for_each(json),
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if secret_name(k) && !val.is_null() && !val.is_object() && !val.is_array() {
                    *val = Value::String(REDACTED.into());
                } else {
                    json(val);
                }
            }
        }
        _ => {}
    }
}

/// Text with bearer tokens, secret `name=value` parameters and webhook URLs
/// replaced.
pub fn text(s: &str) -> String {
    let s = bearer(s);
    let s = params(&s);
    webhooks(&s)
}

fn bearer(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("Bearer ").or_else(|| rest.find("bearer ")) {
        out.push_str(&rest[..i + 7]);
        let after = &rest[i + 7..];
        let end = after.find(|c: char| c.is_whitespace() || c == '"' || c == '\'').unwrap_or(after.len());
        if end > 0 {
            out.push_str(REDACTED);
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// `name=value` where `name` is secret, in a query or a form body.
fn params(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(eq) = rest.find('=') {
        let start = rest[..eq]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let name = &rest[start..eq];
        out.push_str(&rest[..=eq]);
        let after = &rest[eq + 1..];
        if !name.is_empty() && secret_param(name) {
            let end = after.find(['&', '"', '\'', ' ', '\n', '\r', '\t', '<', '>', '#']).unwrap_or(after.len());
            if end > 0 {
                out.push_str(REDACTED);
            }
            rest = &after[end..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Each webhook URL becomes `https://HOST/redacted-webhook/sha256:HEX`: its
/// host (not secret) and the fingerprint plugins store for it.
fn webhooks(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("https://") {
        out.push_str(&rest[..i]);
        let url_part = &rest[i..];
        let end = url_part.find(|c: char| c.is_whitespace() || "\"'<>\\`".contains(c)).unwrap_or(url_part.len());
        let url = &url_part[..end];
        out.push_str(&webhook(url).unwrap_or_else(|| url.to_string()));
        rest = &url_part[end..];
    }
    out.push_str(rest);
    out
}

fn webhook(url: &str) -> Option<String> {
    let after = &url["https://".len()..];
    let slash = after.find('/')?;
    let (host, path) = (after[..slash].to_ascii_lowercase(), &after[slash..]);
    let host_only = host.split(':').next().unwrap_or(&host);
    let hit = WEBHOOKS.iter().any(|(suffix, prefix)| {
        let host_fits = match suffix.strip_prefix('.') {
            Some(_) => host_only.ends_with(suffix),
            None => host_only == *suffix,
        };
        host_fits && path.starts_with(prefix) && path.len() > prefix.len()
    });
    hit.then(|| format!("https://{host}/redacted-webhook/sha256:{}", hex::encode(Sha256::digest(url.as_bytes()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_secret_is_replaced() {
        let hook = "https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/0123/guid";
        let t = text(&format!("post to {hook} now; Bearer eyJ0.abc; https://p.logic.azure.com/workflows/1?api-version=1&sig=S3CRET&x=1"));
        assert!(!t.contains("webhookb2") && !t.contains("eyJ0") && !t.contains("S3CRET"), "{t}");
        assert!(t.contains("https://contoso.webhook.office.com/redacted-webhook/sha256:"), "{t}");
        assert!(t.contains("api-version=1&sig=REDACTED&x=1"), "{t}");
        assert_eq!(text("client_id=abc&client_secret=pw&scope=s"), "client_id=abc&client_secret=REDACTED&scope=s");
        assert_eq!(header("Authorization", "Bearer x"), REDACTED);
        assert_eq!(header("x-ms-client-request-id", "42"), "42");
        let mut v = serde_json::json!({"client_secret": "pw", "nested": {"accessToken": "t", "name": "ok"}, "list": [hook]});
        json(&mut v);
        assert_eq!(v["client_secret"], REDACTED);
        assert_eq!(v["nested"]["accessToken"], REDACTED);
        assert_eq!(v["nested"]["name"], "ok");
        assert!(!v.to_string().contains("webhookb2"));
    }

    #[test]
    fn ordinary_urls_and_text_stay() {
        let s = "https://outlook.office365.com/adminapi/beta/t/InvokeCommand?$skiptoken=5 and a=b";
        assert_eq!(text(s), s);
        assert_eq!(text(&text(s)), s, "scrubbing twice changes nothing");
    }
}
