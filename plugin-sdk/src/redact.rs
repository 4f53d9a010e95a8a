//! Secret redaction. Webhook URLs carry their own credentials: store a
//! fingerprint and the non-secret parts, never the URL.

use sha2::{Digest, Sha256};

/// `sha256:<hex>` of `secret`. Stable, so the same URL seen twice or on two
/// hosts gets the same fingerprint.
pub fn fingerprint(secret: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(secret.as_bytes())))
}

/// The parts of a URL that are safe to keep: scheme and host, with the path
/// and query dropped. `None` when it is not an absolute URL.
pub fn url_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    if host.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_and_hides_the_secret() {
        let url = "https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/0123/guid";
        let a = fingerprint(url);
        assert_eq!(a, fingerprint(url));
        assert!(a.starts_with("sha256:"));
        assert_eq!(a.len(), 7 + 64);
        assert!(!a.contains("webhookb2"));
        assert_ne!(a, fingerprint("https://other.example/"));
    }

    #[test]
    fn origin_drops_path_and_query() {
        assert_eq!(
            url_origin("https://prod-01.westus.logic.azure.com:443/workflows/x?sig=secret").as_deref(),
            Some("https://prod-01.westus.logic.azure.com:443")
        );
        assert_eq!(url_origin("not a url"), None);
    }
}
