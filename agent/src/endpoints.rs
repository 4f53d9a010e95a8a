//! Endpoint overrides: where a host a plugin (or a token request) names is
//! really reached. Tests, proxies and sovereign clouds use them.

use std::collections::BTreeMap;

/// Endpoint overrides: route a host a plugin asked for to another base URL.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    map: BTreeMap<String, url::Url>,
}

impl Endpoints {
    /// From `host -> base URL` (validated by the config loader).
    pub fn new(raw: BTreeMap<String, String>) -> Self {
        Endpoints {
            map: raw
                .into_iter()
                .filter_map(|(h, u)| {
                    let h = h.strip_suffix('.').unwrap_or(&h).to_ascii_lowercase();
                    url::Url::parse(&u).ok().map(|u| (h, u))
                })
                .collect(),
        }
    }

    /// The URL to really connect to for `url`: the override's scheme, host,
    /// port and path prefix, then the original path and query. Unchanged
    /// when no override matches.
    pub fn route(&self, url: &url::Url) -> url::Url {
        let Some(host) = url.host_str() else { return url.clone() };
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        let Some(base) = self.map.get(&host) else { return url.clone() };
        let mut routed = base.clone();
        let prefix = base.path().trim_end_matches('/');
        routed.set_path(&format!("{prefix}{}", url.path()));
        routed.set_query(url.query());
        routed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_keep_path_and_query() {
        let e = Endpoints::new(BTreeMap::from([(
            "outlook.office365.com".to_string(),
            "http://127.0.0.1:8080/exo/".to_string(),
        )]));
        let u = url::Url::parse("https://Outlook.Office365.com/adminapi/beta/t/InvokeCommand?$skiptoken=2").unwrap();
        assert_eq!(
            e.route(&u).as_str(),
            "http://127.0.0.1:8080/exo/adminapi/beta/t/InvokeCommand?$skiptoken=2"
        );
        let other = url::Url::parse("https://graph.microsoft.com/v1.0/teams").unwrap();
        assert_eq!(e.route(&other), other);
        let dotted = url::Url::parse("https://outlook.office365.com./adminapi").unwrap();
        assert_eq!(e.route(&dotted).as_str(), "http://127.0.0.1:8080/exo/adminapi", "a trailing dot must not escape the override");
    }
}
