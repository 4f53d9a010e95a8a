//! The open-relay test of nmap's `smtp-open-relay` script: 16 MAIL FROM /
//! RCPT TO combinations, RSET before each, never DATA. The server is an
//! open relay when it accepts (250 or 251) a recipient in the outside
//! domain for any of them; a 530 anywhere ends the test as "authentication
//! needed".

use crate::reply::Reply;

/// nmap's `smtp-open-relay.from` default.
pub const FROM_USER: &str = "antispam";
/// nmap's `smtp-open-relay.to` default.
pub const TO_USER: &str = "relaytest";
/// How many combinations nmap's script has.
pub const COMBINATIONS: usize = 16;

/// One MAIL FROM / RCPT TO pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combination {
    /// 1-based, in nmap's order.
    pub number: usize,
    /// The MAIL FROM path, without `<>` (empty: the null sender).
    pub from: String,
    /// The RCPT TO path, without `<>`.
    pub to: String,
}

impl Combination {
    /// `MAIL FROM:<..> -> RCPT TO:<..>`, as nmap prints a success.
    pub fn describe(&self) -> String {
        format!("MAIL FROM:<{}> -> RCPT TO:<{}>", self.from, self.to)
    }
}

/// The combinations for outside domain `d`, server name `srv` (from the
/// banner) and the target's IP address `ip`. A combination needing a value
/// that is unknown is left out (see [`plan`]).
pub fn combinations(d: &str, srv: Option<&str>, ip: Option<&str>) -> Vec<Combination> {
    // (from, to) templates with {D}, {SRV}, {IP}; nmap's order.
    const TEMPLATES: [(&str, &str); COMBINATIONS] = [
        ("", "relaytest@{D}"),
        ("antispam@{D}", "relaytest@{D}"),
        ("antispam@{SRV}", "relaytest@{D}"),
        ("antispam@[{IP}]", "relaytest@{D}"),
        ("antispam@[{IP}]", "relaytest%{D}@[{IP}]"),
        ("antispam@[{IP}]", "relaytest%{D}@{SRV}"),
        ("antispam@[{IP}]", "\"relaytest@{D}\""),
        ("antispam@[{IP}]", "\"relaytest%{D}\""),
        ("antispam@[{IP}]", "relaytest@{D}@[{IP}]"),
        ("antispam@[{IP}]", "\"relaytest@{D}\"@[{IP}]"),
        ("antispam@[{IP}]", "relaytest@{D}@{SRV}"),
        ("antispam@[{IP}]", "@[{IP}]:relaytest@{D}"),
        ("antispam@[{IP}]", "@{SRV}:relaytest@{D}"),
        ("antispam@[{IP}]", "{D}!relaytest"),
        ("antispam@[{IP}]", "{D}!relaytest@[{IP}]"),
        ("antispam@[{IP}]", "{D}!relaytest@{SRV}"),
    ];
    let fill = |t: &str| -> Option<String> {
        let mut s = t.replace("{D}", d);
        if s.contains("{SRV}") {
            s = s.replace("{SRV}", srv?);
        }
        if s.contains("{IP}") {
            s = s.replace("{IP}", ip?);
        }
        Some(s)
    };
    TEMPLATES
        .iter()
        .enumerate()
        .filter_map(|(i, (from, to))| {
            Some(Combination {
                number: i + 1,
                from: fill(from)?,
                to: fill(to)?,
            })
        })
        .collect()
}

/// The combinations to run and a note on those left out: an IPv6 target
/// goes in address literals as `IPv6:...` (RFC 5321 §4.1.3); a target named
/// by host name has no known IP (the host resolves names and does not say
/// to what), and a server whose banner and EHLO name no host has no SRV.
pub fn plan(d: &str, srv: Option<&str>, ip: Option<std::net::IpAddr>) -> (Vec<Combination>, Option<String>) {
    let literal = ip.map(|ip| match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => format!("IPv6:{v6}"),
    });
    let list = combinations(d, srv, literal.as_deref());
    let skipped = COMBINATIONS - list.len();
    let note = (skipped > 0).then(|| {
        let mut why = Vec::new();
        if ip.is_none() {
            why.push("the target's IP address is unknown (it was named by host name; name it by IP for the full test)");
        }
        if srv.is_none() {
            why.push("the server announced no host name");
        }
        format!("{skipped} of {COMBINATIONS} combinations skipped: {}", why.join("; "))
    });
    (list, note)
}

/// The relay test's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not run (disabled, or the session failed before it).
    NotTested(String),
    /// At least one combination was accepted.
    Open {
        /// The accepted combinations.
        accepted: Vec<Combination>,
        /// How many were tried.
        tried: usize,
        /// An error that cut the test short after the first success.
        cut_short: Option<String>,
    },
    /// Every combination tried was refused.
    Closed {
        /// How many were tried.
        tried: usize,
    },
    /// The server answered 530: it wants authentication first.
    AuthRequired {
        /// The 530 reply.
        reply: String,
    },
    /// The test failed before any combination was accepted.
    Inconclusive {
        /// Why.
        error: String,
        /// How many were tried before.
        tried: usize,
    },
}

impl Verdict {
    /// `yes`, `no`, `auth-required`, `inconclusive` or `not-tested`.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Open { .. } => "yes",
            Verdict::Closed { .. } => "no",
            Verdict::AuthRequired { .. } => "auth-required",
            Verdict::Inconclusive { .. } => "inconclusive",
            Verdict::NotTested(_) => "not-tested",
        }
    }

    /// One line for the register, in the words nmap would use.
    pub fn summary(&self) -> String {
        match self {
            Verdict::Open { accepted, tried, cut_short } => {
                let mut s = format!("Server is an open relay ({}/{tried} tests)", accepted.len());
                if let Some(e) = cut_short {
                    s.push_str(&format!("; stopped early: {e}"));
                }
                s
            }
            Verdict::Closed { tried } => {
                format!("Server doesn't seem to be an open relay, all {tried} tests failed")
            }
            Verdict::AuthRequired { reply } => {
                format!("Server isn't an open relay, authentication needed ({reply})")
            }
            Verdict::Inconclusive { error, tried } => {
                format!("Relay test inconclusive after {tried} tests: {error}")
            }
            Verdict::NotTested(why) => format!("Relay test not run: {why}"),
        }
    }
}

/// What one step of the test decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Go on with the next command or combination.
    Continue,
    /// The combination was refused at MAIL FROM: skip its RCPT TO.
    SkipRcpt,
    /// 530: stop, authentication needed.
    AuthRequired(String),
    /// RSET failed: stop (nmap gives up here too).
    Fail(String),
}

/// Judge a reply to RSET.
pub fn after_rset(reply: &Reply) -> Step {
    match reply.code {
        530 => Step::AuthRequired(reply.shown()),
        250 => Step::Continue,
        _ => Step::Fail(format!("RSET answered {}", reply.shown())),
    }
}

/// Judge a reply to MAIL FROM.
pub fn after_mail(reply: &Reply) -> Step {
    match reply.code {
        530 => Step::AuthRequired(reply.shown()),
        250 => Step::Continue,
        _ => Step::SkipRcpt,
    }
}

/// Judge a reply to RCPT TO: `Ok(true)` accepted (250, or 251 "will
/// forward"), `Ok(false)` refused, `Err` 530.
pub fn after_rcpt(reply: &Reply) -> Result<bool, String> {
    match reply.code {
        530 => Err(reply.shown()),
        250 | 251 => Ok(true),
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_combinations_exactly_as_nmap() {
        let all = combinations("example.com", Some("mx.contoso.com"), Some("192.0.2.7"));
        assert_eq!(all.len(), 16);
        let pairs: Vec<String> = all.iter().map(Combination::describe).collect();
        assert_eq!(
            pairs,
            [
                "MAIL FROM:<> -> RCPT TO:<relaytest@example.com>",
                "MAIL FROM:<antispam@example.com> -> RCPT TO:<relaytest@example.com>",
                "MAIL FROM:<antispam@mx.contoso.com> -> RCPT TO:<relaytest@example.com>",
                "MAIL FROM:<antispam@[192.0.2.7]> -> RCPT TO:<relaytest@example.com>",
                "MAIL FROM:<antispam@[192.0.2.7]> -> RCPT TO:<relaytest%example.com@[192.0.2.7]>",
                "MAIL FROM:<antispam@[192.0.2.7]> -> RCPT TO:<relaytest%example.com@mx.contoso.com>",
                "MAIL FROM:<antispam@[192.0.2.7]> -> RCPT TO:<\"relaytest@example.com\">",
                "MAIL FROM:<antispam@[192.0.2.7]> -> RCPT TO:<\"relaytest%example.com\">",
                "MAIL FROM:<antispam@[192.0.2.7]> -> RCPT TO:<relaytest@example.com@[192.0.2.7]>",
                "MAIL FROM:<antispam@[192.0.2.7]> -> RCPT TO:<\"relaytest@example.com\"@[192.0.2.7]>",
                "MAIL FROM:<antispam@[192.0.2.7]> -> RCPT TO:<relaytest@example.com@mx.contoso.com>",
                "MAIL FROM:<antispam@[192.0.2.7]> -> RCPT TO:<@[192.0.2.7]:relaytest@example.com>",
                "MAIL FROM:<antispam@[192.0.2.7]> -> RCPT TO:<@mx.contoso.com:relaytest@example.com>",
                "MAIL FROM:<antispam@[192.0.2.7]> -> RCPT TO:<example.com!relaytest>",
                "MAIL FROM:<antispam@[192.0.2.7]> -> RCPT TO:<example.com!relaytest@[192.0.2.7]>",
                "MAIL FROM:<antispam@[192.0.2.7]> -> RCPT TO:<example.com!relaytest@mx.contoso.com>",
            ]
        );
        assert!(all.iter().enumerate().all(|(i, c)| c.number == i + 1));
    }

    #[test]
    fn unknown_values_leave_combinations_out_with_a_note() {
        let (list, note) = plan("example.com", Some("mx"), Some("10.0.0.1".parse().unwrap()));
        assert_eq!((list.len(), note), (16, None));
        let (list, note) = plan("example.com", Some("mx"), None);
        assert_eq!(list.iter().map(|c| c.number).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(note.unwrap().contains("13 of 16 combinations skipped"));
        let (list, note) = plan("example.com", None, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(list.iter().map(|c| c.number).collect::<Vec<_>>(), [1, 2, 4, 5, 7, 8, 9, 10, 12, 14, 15]);
        assert!(note.unwrap().contains("announced no host name"));
        let (list, _) = plan("example.com", Some("mx"), Some("::1".parse().unwrap()));
        assert_eq!(list[3].from, "antispam@[IPv6:::1]");
    }

    #[test]
    fn replies_are_judged_like_nmap() {
        let r = |code: u16| Reply { code, lines: vec!["x".into()] };
        assert_eq!(after_rset(&r(250)), Step::Continue);
        assert_eq!(after_rset(&r(530)), Step::AuthRequired("530 x".into()));
        assert!(matches!(after_rset(&r(421)), Step::Fail(m) if m.contains("421")));
        assert_eq!(after_mail(&r(250)), Step::Continue);
        assert_eq!(after_mail(&r(553)), Step::SkipRcpt);
        assert_eq!(after_mail(&r(530)), Step::AuthRequired("530 x".into()));
        assert_eq!(after_rcpt(&r(250)), Ok(true));
        assert_eq!(after_rcpt(&r(251)), Ok(true));
        assert_eq!(after_rcpt(&r(554)), Ok(false));
        assert_eq!(after_rcpt(&r(450)), Ok(false));
        assert_eq!(after_rcpt(&r(530)), Err("530 x".into()));
    }

    #[test]
    fn summaries_read_like_nmap() {
        let c = combinations("d.example", Some("s"), Some("1.2.3.4"));
        let open = Verdict::Open { accepted: c[..2].to_vec(), tried: 16, cut_short: None };
        assert_eq!(open.summary(), "Server is an open relay (2/16 tests)");
        assert_eq!(open.label(), "yes");
        assert_eq!(
            Verdict::Closed { tried: 16 }.summary(),
            "Server doesn't seem to be an open relay, all 16 tests failed"
        );
        assert_eq!(Verdict::AuthRequired { reply: "530 5.7.0".into() }.label(), "auth-required");
    }
}
