//! What a server's greeting and EHLO answer say about it.

use crate::reply::Reply;
use crate::text::{leading_host_name, sanitize};

/// Most extensions kept from one EHLO answer.
pub const MAX_EXTENSIONS: usize = 32;
/// Most characters kept of one extension line.
pub const MAX_EXTENSION_CHARS: usize = 80;
/// Most SASL mechanisms kept from AUTH lines.
pub const MAX_AUTH_MECHANISMS: usize = 16;

/// The server's answer to EHLO (or HELO, when EHLO was refused).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `true` when only HELO worked: no extensions at all.
    pub helo_only: bool,
    /// The host name in the answer's first line, when it has one.
    pub server_name: Option<String>,
    /// Extension lines, sanitised, e.g. `SIZE 10240000`, `STARTTLS`.
    pub extensions: Vec<String>,
    /// STARTTLS is advertised.
    pub starttls: bool,
    /// SASL mechanisms from `AUTH` (and old-style `AUTH=`) lines, upper
    /// case, without duplicates, in the order advertised.
    pub auth: Vec<String>,
}

impl Capabilities {
    /// Read an EHLO answer.
    pub fn from_ehlo(reply: &Reply) -> Self {
        let mut caps = Capabilities {
            server_name: leading_host_name(reply.first_line()).map(str::to_string),
            ..Capabilities::default()
        };
        for line in reply.lines.iter().skip(1) {
            let line = line.trim();
            let keyword = line
                .split([' ', '='])
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            if keyword.is_empty() {
                continue;
            }
            if keyword == "STARTTLS" {
                caps.starttls = true;
            }
            if keyword == "AUTH" {
                for mech in line[4..].split([' ', '=']).filter(|m| !m.is_empty()) {
                    let mech = sanitize(&mech.to_ascii_uppercase(), 40);
                    if !caps.auth.contains(&mech) && caps.auth.len() < MAX_AUTH_MECHANISMS {
                        caps.auth.push(mech);
                    }
                }
            }
            if caps.extensions.len() < MAX_EXTENSIONS {
                caps.extensions.push(sanitize(line, MAX_EXTENSION_CHARS));
            }
        }
        caps
    }

    /// After a HELO: nothing advertised.
    pub fn helo(reply: &Reply) -> Self {
        Capabilities {
            helo_only: true,
            server_name: leading_host_name(reply.first_line()).map(str::to_string),
            ..Capabilities::default()
        }
    }

    /// PLAIN or LOGIN (passwords readable by anyone on the path when sent
    /// without TLS) among the advertised mechanisms.
    pub fn cleartext_password_mechanisms(&self) -> Vec<String> {
        self.auth
            .iter()
            .filter(|m| *m == "PLAIN" || *m == "LOGIN")
            .cloned()
            .collect()
    }
}

/// The server name nmap's smtp-open-relay would use: the first word after
/// the greeting's code, else the first word of the EHLO answer.
pub fn server_name(banner: &Reply, ehlo: Option<&Capabilities>) -> Option<String> {
    leading_host_name(banner.first_line())
        .map(str::to_string)
        .or_else(|| ehlo.and_then(|c| c.server_name.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, lines: &[&str]) -> Reply {
        Reply {
            code,
            lines: lines.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn exchange_style_ehlo() {
        let caps = Capabilities::from_ehlo(&reply(
            250,
            &[
                "EXCH01.corp.contoso.com Hello [10.0.0.50]",
                "SIZE 37748736",
                "PIPELINING",
                "DSN",
                "ENHANCEDSTATUSCODES",
                "STARTTLS",
                "X-ANONYMOUSTLS",
                "AUTH NTLM LOGIN",
                "X-EXPS GSSAPI NTLM",
                "8BITMIME",
                "BINARYMIME",
                "CHUNKING",
                "SMTPUTF8",
            ],
        ));
        assert_eq!(caps.server_name.as_deref(), Some("EXCH01.corp.contoso.com"));
        assert!(caps.starttls && !caps.helo_only);
        assert_eq!(caps.auth, ["NTLM", "LOGIN"]);
        assert_eq!(caps.cleartext_password_mechanisms(), ["LOGIN"]);
        assert_eq!(caps.extensions.len(), 12);
        assert_eq!(caps.extensions[0], "SIZE 37748736");
    }

    #[test]
    fn old_style_auth_and_duplicates_and_lower_case() {
        let caps = Capabilities::from_ehlo(&reply(
            250,
            &["printer-relay", "auth plain login", "AUTH=LOGIN PLAIN CRAM-MD5", "starttls"],
        ));
        assert_eq!(caps.auth, ["PLAIN", "LOGIN", "CRAM-MD5"]);
        assert!(caps.starttls);
        assert_eq!(caps.cleartext_password_mechanisms(), ["PLAIN", "LOGIN"]);
    }

    #[test]
    fn hostile_ehlo_is_bounded_and_clean() {
        let mut lines = vec!["evil".to_string()];
        for i in 0..100 {
            lines.push(format!("X-EXT{i} \x1b[31m{}", "y".repeat(300)));
        }
        lines.push(format!("AUTH {}", (0..50).map(|i| format!("M{i}")).collect::<Vec<_>>().join(" ")));
        let caps = Capabilities::from_ehlo(&Reply { code: 250, lines });
        assert_eq!(caps.extensions.len(), MAX_EXTENSIONS);
        assert!(caps.extensions.iter().all(|e| e.chars().count() <= MAX_EXTENSION_CHARS + 1));
        assert!(caps.extensions.iter().all(|e| !e.chars().any(char::is_control)));
        assert_eq!(caps.auth.len(), MAX_AUTH_MECHANISMS, "AUTH past the extension cap still counts");
    }

    #[test]
    fn server_name_from_banner_then_ehlo() {
        let ehlo = Capabilities::from_ehlo(&reply(250, &["relay.contoso.local", "PIPELINING"]));
        assert_eq!(
            server_name(&reply(220, &["mx.contoso.com ESMTP"]), Some(&ehlo)).as_deref(),
            Some("mx.contoso.com")
        );
        assert_eq!(
            server_name(&reply(220, &["*** ESMTP ready"]), Some(&ehlo)).as_deref(),
            Some("relay.contoso.local")
        );
        assert_eq!(server_name(&reply(220, &[""]), None), None);
        let helo = Capabilities::helo(&reply(250, &["old.host"]));
        assert!(helo.helo_only && helo.extensions.is_empty());
        assert_eq!(helo.server_name.as_deref(), Some("old.host"));
    }
}
