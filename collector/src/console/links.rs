//! Links between pages, with every piece of a path percent-encoded: keys
//! and tenant ids come from scans and must never break out of a URL.

/// One path segment, percent-encoded (everything but unreserved characters).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/tenants/{id}`.
pub fn tenant(id: &str) -> String {
    format!("/tenants/{}", segment(id))
}

/// `/tenants/{id}/connectors/{key}`.
pub fn connector(tenant_id: &str, key: &str) -> String {
    format!("/tenants/{}/connectors/{}", segment(tenant_id), segment(key))
}

/// `/tenants/{id}/review`.
pub fn review(tenant_id: &str) -> String {
    format!("/tenants/{}/review", segment(tenant_id))
}

/// `/tenants/{id}/batches/{digest}/envelope`.
pub fn envelope(tenant_id: &str, digest: &str) -> String {
    format!("/tenants/{}/batches/{}/envelope", segment(tenant_id), segment(digest))
}

/// A query string from pairs, empty values left out.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_keys_stay_inside_their_segment() {
        assert_eq!(segment("exchange:inbound:a/b?c#d"), "exchange%3Ainbound%3Aa%2Fb%3Fc%23d");
        assert_eq!(connector("t 1", "\"><script>"), "/tenants/t%201/connectors/%22%3E%3Cscript%3E");
        assert_eq!(query(&[("a", "x&y"), ("b", "")]), "a=x%26y");
    }
}
