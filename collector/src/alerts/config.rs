//! The `[alerts]` part of the collector's config file: destinations (whose
//! URLs and secrets are secrets, so they may come from the environment and
//! are only ever shown as a fingerprint) and the rules that send to them.

use super::email::{EmailTarget, EmailTls};
use super::{Destination, DestinationKind, Rule, RuleSet, Scope, Trigger};
use lettre::message::Mailbox;
use plumbline_protocol::register::Severity;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The most rules a config may hold: each ingest checks every rule.
pub const MAX_RULES: usize = 200;

/// `[alerts]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsFile {
    /// PEM certificates to trust for destinations besides the public roots
    /// (a private PSA's CA, or a test's).
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// By name.
    #[serde(default)]
    pub destinations: BTreeMap<String, DestinationFile>,
    /// In order.
    #[serde(default)]
    pub rules: Vec<RuleFile>,
}

/// One destination as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationFile {
    /// `teams` (a Workflows webhook), `webhook` (signed JSON) or `email`.
    pub kind: String,
    /// The URL; better `url_env`, since it is a secret.
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable that holds the URL.
    #[serde(default)]
    pub url_env: Option<String>,
    /// `webhook` only: the environment variable that holds the HMAC secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// `email`: the SMTP server.
    #[serde(default)]
    pub smtp_host: Option<String>,
    /// `email`: its port (587 for STARTTLS, 465 for implicit TLS).
    #[serde(default)]
    pub smtp_port: Option<u16>,
    /// `email`: `starttls` (the default) or `implicit`.
    #[serde(default)]
    pub tls: Option<String>,
    /// `email`: the name the server's certificate carries, when it is not `smtp_host`.
    #[serde(default)]
    pub tls_server_name: Option<String>,
    /// `email`: the sender, e.g. `Plumbline <alerts@msp.example>`.
    #[serde(default)]
    pub from: Option<String>,
    /// `email`: the recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// `email`: the environment variable that holds the SMTP AUTH user.
    #[serde(default)]
    pub username_env: Option<String>,
    /// `email`: the environment variable that holds its password.
    #[serde(default)]
    pub password_env: Option<String>,
}

/// One rule as written (in the config file, or as JSON when added in the console).
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Shown on every alert it sends.
    pub name: String,
    /// What fires it.
    pub when: String,
    /// `finding-opened` and `finding-reopened`: the least severity.
    #[serde(default)]
    pub min_severity: Option<String>,
    /// `risk-expiring`: days ahead.
    #[serde(default)]
    pub within_days: Option<u32>,
    /// `agent-silent`: hours without a delivery.
    #[serde(default)]
    pub silent_hours: Option<u32>,
    /// One tenant, by id.
    #[serde(default)]
    pub tenant: Option<String>,
    /// One tenant group.
    #[serde(default)]
    pub group: Option<String>,
    /// Destination names.
    pub send_to: Vec<String>,
}

/// Why the alert config was refused.
#[derive(Debug, thiserror::Error)]
#[error("[alerts] {0}")]
pub struct AlertConfigError(pub String);

fn bad<T>(message: String) -> Result<T, AlertConfigError> {
    Err(AlertConfigError(message))
}

/// What the environment holds, so tests need not set process variables.
pub trait Environment {
    /// The variable's value, if set and not empty.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

const TRIGGERS: &str = "finding-opened, finding-reopened, exchange-connector-changed, risk-expiring, agent-silent, review-overdue";

/// The config file's rules with `added` after them (rules from the
/// console), checked together: a name used twice is refused.
pub fn resolve_with(
    file: &AlertsFile,
    added: &[RuleFile],
    env: &dyn Environment,
    known_tenant: &dyn Fn(&str) -> bool,
) -> Result<RuleSet, AlertConfigError> {
    let mut merged = file.clone();
    merged.rules.extend(added.iter().cloned());
    resolve(&merged, env, known_tenant)
}

/// Check the rules and resolve the secrets; tenants are checked against the
/// store by the caller (`known_tenant`).
pub fn resolve(
    file: &AlertsFile,
    env: &dyn Environment,
    known_tenant: &dyn Fn(&str) -> bool,
) -> Result<RuleSet, AlertConfigError> {
    let mut destinations = BTreeMap::new();
    for (name, d) in &file.destinations {
        destinations.insert(name.clone(), Arc::new(destination(name, d, env)?));
    }
    rules(file, destinations, known_tenant)
}

/// The email-only settings, which a web destination must not carry.
fn email_settings(d: &DestinationFile) -> bool {
    d.smtp_host.is_some()
        || d.smtp_port.is_some()
        || d.tls.is_some()
        || d.tls_server_name.is_some()
        || d.from.is_some()
        || !d.to.is_empty()
        || d.username_env.is_some()
        || d.password_env.is_some()
}

fn destination(name: &str, d: &DestinationFile, env: &dyn Environment) -> Result<Destination, AlertConfigError> {
    let kind = match d.kind.as_str() {
        "teams" => DestinationKind::Teams,
        "webhook" => DestinationKind::Webhook,
        "email" => return email_destination(name, d, env),
        other => return bad(format!("destination {name:?}: kind {other:?} is not known; use \"teams\", \"webhook\" or \"email\"")),
    };
    if email_settings(d) {
        return bad(format!("destination {name:?}: smtp_host, from, to and the like belong to kind = \"email\"; a {} destination takes a URL", kind.as_str()));
    }
    {
        let url = match (&d.url, &d.url_env) {
            (Some(u), None) => u.clone(),
            (None, Some(var)) => match env.get(var) {
                Some(u) => u,
                None => return bad(format!("destination {name:?}: the environment variable {var} (its URL) is not set")),
            },
            _ => return bad(format!("destination {name:?}: give its URL as url_env = \"VARIABLE\" (or url = \"https://...\")")),
        };
        if !url.starts_with("https://") {
            return bad(format!("destination {name:?}: the URL must start with https:// (it is a secret; only TLS carries it)"));
        }
        let secret = match (kind, &d.secret_env) {
            (DestinationKind::Webhook, Some(var)) => match env.get(var) {
                Some(s) if s.len() >= 16 => Some(s),
                Some(_) => return bad(format!("destination {name:?}: the secret in {var} is shorter than 16 characters")),
                None => return bad(format!("destination {name:?}: the environment variable {var} (its secret) is not set")),
            },
            (DestinationKind::Webhook, None) => {
                return bad(format!("destination {name:?}: a webhook is signed; name the secret's variable in secret_env"))
            }
            (DestinationKind::Teams, Some(_)) => {
                return bad(format!("destination {name:?}: a Teams Workflows URL carries its own sig; drop secret_env"))
            }
            (DestinationKind::Teams, None) => None,
            (DestinationKind::Email, _) => unreachable!("email destinations are resolved apart"),
        };
        Ok(Destination { name: name.to_string(), kind, url, secret, email: None })
    }
}

fn email_destination(name: &str, d: &DestinationFile, env: &dyn Environment) -> Result<Destination, AlertConfigError> {
    let what = format!("destination {name:?}");
    if d.url.is_some() || d.url_env.is_some() || d.secret_env.is_some() {
        return bad(format!("{what}: an email destination takes smtp_host, from and to, not url, url_env or secret_env"));
    }
    let Some(host) = d.smtp_host.as_deref().map(str::trim).filter(|h| !h.is_empty()) else {
        return bad(format!("{what}: give the SMTP server as smtp_host = \"smtp.msp.example\""));
    };
    let tls = match d.tls.as_deref().unwrap_or("starttls") {
        "starttls" => EmailTls::StartTls,
        "implicit" => EmailTls::Implicit,
        other => return bad(format!("{what}: tls = {other:?} is not known; use \"starttls\" (port 587) or \"implicit\" (port 465); plain SMTP is not offered")),
    };
    let port = d.smtp_port.unwrap_or(if tls == EmailTls::Implicit { 465 } else { 587 });
    let mailbox = |field: &str, value: &str| -> Result<Mailbox, AlertConfigError> {
        value.parse::<Mailbox>().map_err(|e| AlertConfigError(format!("{what}: {field} {value:?} is not an address ({e}); write it as \"Name <alerts@msp.example>\" or \"alerts@msp.example\"")))
    };
    let Some(from) = d.from.as_deref() else {
        return bad(format!("{what}: give the sender as from = \"Plumbline <alerts@msp.example>\""));
    };
    let from = mailbox("from", from)?;
    if d.to.is_empty() {
        return bad(format!("{what}: give the recipients as to = [\"noc@msp.example\"]"));
    }
    let to = d.to.iter().map(|t| mailbox("to", t)).collect::<Result<Vec<_>, _>>()?;
    let credentials = match (&d.username_env, &d.password_env) {
        (None, None) => None,
        (Some(u), Some(p)) => {
            let get = |var: &str, what_it_is: &str| env.get(var).ok_or_else(|| AlertConfigError(format!("{what}: the environment variable {var} (its SMTP {what_it_is}) is not set")));
            Some((get(u, "user")?, get(p, "password")?))
        }
        _ => return bad(format!("{what}: give both username_env and password_env, or neither")),
    };
    let target = EmailTarget {
        host: host.to_string(),
        port,
        tls,
        tls_name: d.tls_server_name.clone().unwrap_or_else(|| host.to_string()),
        from,
        to,
        credentials,
    };
    Ok(Destination { name: name.to_string(), kind: DestinationKind::Email, url: target.address(), secret: None, email: Some(target) })
}

fn rules(file: &AlertsFile, destinations: BTreeMap<String, Arc<Destination>>, known_tenant: &dyn Fn(&str) -> bool) -> Result<RuleSet, AlertConfigError> {
    if file.rules.len() > MAX_RULES {
        return bad(format!("{} rules: at most {MAX_RULES}", file.rules.len()));
    }
    let mut rules = Vec::new();
    for r in &file.rules {
        let what = format!("rule {:?}", r.name);
        if r.name.trim().is_empty() {
            return bad("a rule needs a name; it is shown on every alert it sends".into());
        }
        if rules.iter().any(|x: &Rule| x.name == r.name) {
            return bad(format!("{what}: two rules have this name"));
        }
        let severity = |required: bool| -> Result<Severity, AlertConfigError> {
            match &r.min_severity {
                Some(s) => Severity::ALL.into_iter().find(|v| v.as_str() == s.as_str()).ok_or_else(|| {
                    AlertConfigError(format!("{what}: min_severity {s:?} is not one of info, low, medium, high, critical"))
                }),
                None if required => Err(AlertConfigError(format!("{what}: give min_severity, e.g. \"high\""))),
                None => Ok(Severity::Info),
            }
        };
        let trigger = match r.when.as_str() {
            "finding-opened" => Trigger::FindingOpened(severity(true)?),
            "finding-reopened" => Trigger::FindingReopened(severity(false)?),
            "exchange-connector-changed" => Trigger::ExchangeConnectorChanged,
            "review-overdue" => Trigger::ReviewOverdue,
            "risk-expiring" => match r.within_days {
                Some(d) if (1..=366).contains(&d) => Trigger::RiskExpiring(d),
                _ => return bad(format!("{what}: give within_days from 1 to 366, e.g. 14")),
            },
            "agent-silent" => match r.silent_hours {
                Some(h) if (1..=24 * 90).contains(&h) => Trigger::AgentSilent(h),
                _ => return bad(format!("{what}: give silent_hours from 1 to 2160, e.g. 26")),
            },
            other => return bad(format!("{what}: when = {other:?} is not known; use one of {TRIGGERS}")),
        };
        let scope = match (&r.tenant, &r.group) {
            (Some(_), Some(_)) => return bad(format!("{what}: give tenant or group, not both")),
            (Some(t), None) if !known_tenant(t) => {
                return bad(format!("{what}: no tenant {t:?}; `plumbline-collector tenant list` shows the tenants"))
            }
            (Some(t), None) => Scope::Tenant(t.clone()),
            (None, Some(g)) if g.trim().is_empty() => return bad(format!("{what}: the group name is empty")),
            (None, Some(g)) => Scope::Group(g.clone()),
            (None, None) => Scope::All,
        };
        if r.send_to.is_empty() {
            return bad(format!("{what}: send_to names no destination"));
        }
        let mut send_to = Vec::new();
        for name in &r.send_to {
            match destinations.get(name) {
                Some(d) => send_to.push(Arc::clone(d)),
                None => {
                    let known: Vec<&str> = destinations.keys().map(String::as_str).collect();
                    return bad(format!("{what}: no destination {name:?} (defined: {})", if known.is_empty() { "none".into() } else { known.join(", ") }));
                }
            }
        }
        rules.push(Rule { name: r.name.clone(), trigger, scope, send_to });
    }
    Ok(RuleSet { rules: Arc::new(rules), destinations: destinations.into_values().collect(), ..RuleSet::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Env;
    impl Environment for Env {
        fn get(&self, name: &str) -> Option<String> {
            match name {
                "TEAMS_URL" => Some("https://prod-01.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=s".into()),
                "SHORT" => Some("short".into()),
                "SMTP_USER" => Some("alerts@msp.example".into()),
                "SMTP_PASSWORD" => Some("hunter2-secret".into()),
                _ => None,
            }
        }
    }

    fn check(rules: &str) -> Result<RuleSet, String> {
        let text = format!("[destinations.noc]\nkind = \"teams\"\nurl_env = \"TEAMS_URL\"\n{rules}");
        let file: AlertsFile = toml::from_str(&text).map_err(|e| e.to_string())?;
        resolve(&file, &Env, &|t| t == "northwind").map_err(|e| e.to_string())
    }

    #[test]
    fn a_good_config_resolves_and_never_shows_the_url() {
        let set = check("[[rules]]\nname = \"c\"\nwhen = \"finding-opened\"\nmin_severity = \"critical\"\ntenant = \"northwind\"\nsend_to = [\"noc\"]").unwrap();
        assert_eq!(set.rules[0].trigger, Trigger::FindingOpened(Severity::Critical));
        assert_eq!(set.rules[0].scope, Scope::Tenant("northwind".into()));
        let shown = format!("{set:?}");
        assert!(!shown.contains("logic.azure.com") && shown.contains("sha256:"), "{shown}");
    }

    #[test]
    fn each_mistake_is_named_with_what_works() {
        let cases = [
            ("when = \"finding-opened\"\nmin_severity = \"severe\"\nsend_to = [\"noc\"]", "not one of info, low, medium, high, critical"),
            ("when = \"finding-opened\"\nsend_to = [\"noc\"]", "give min_severity"),
            ("when = \"finding-opend\"\nsend_to = [\"noc\"]", "use one of finding-opened"),
            ("when = \"exchange-connector-changed\"\ntenant = \"nosuch\"\nsend_to = [\"noc\"]", "no tenant \"nosuch\""),
            ("when = \"exchange-connector-changed\"\nsend_to = [\"soc\"]", "no destination \"soc\" (defined: noc)"),
            ("when = \"agent-silent\"\nsend_to = [\"noc\"]", "give silent_hours"),
            ("when = \"exchange-connector-changed\"\ntenant = \"northwind\"\ngroup = \"g\"\nsend_to = [\"noc\"]", "not both"),
        ];
        for (rule, want) in cases {
            let err = check(&format!("[[rules]]\nname = \"r\"\n{rule}")).unwrap_err();
            assert!(err.contains(want), "{rule}: {err}");
        }
        let unset = AlertsFile { destinations: [("psa".to_string(), DestinationFile { kind: "webhook".into(), url: Some("https://psa.example/x".into()), url_env: None, secret_env: Some("NOPE".into()), ..Default::default() })].into(), ..Default::default() };
        assert!(resolve(&unset, &Env, &|_| true).unwrap_err().to_string().contains("NOPE (its secret) is not set"));
        let plain = AlertsFile { destinations: [("psa".to_string(), DestinationFile { kind: "teams".into(), url: Some("http://psa.example/x".into()), url_env: None, secret_env: None, ..Default::default() })].into(), ..Default::default() };
        assert!(resolve(&plain, &Env, &|_| true).unwrap_err().to_string().contains("https://"));
    }

    fn email(settings: &str) -> Result<RuleSet, String> {
        let text = format!("[destinations.mail]\nkind = \"email\"\n{settings}");
        let file: AlertsFile = toml::from_str(&text).map_err(|e| e.to_string())?;
        resolve(&file, &Env, &|_| true).map_err(|e| e.to_string())
    }

    #[test]
    fn an_email_destination_resolves_and_never_shows_the_password() {
        let good = "smtp_host = \"smtp.msp.example\"\nfrom = \"Plumbline <alerts@msp.example>\"\nto = [\"noc@msp.example\", \"Ops <ops@msp.example>\"]\nusername_env = \"SMTP_USER\"\npassword_env = \"SMTP_PASSWORD\"";
        let set = email(good).unwrap();
        let d = set.destination("mail").unwrap();
        let target = d.email.as_ref().unwrap();
        assert_eq!((target.port, target.tls, target.tls_name.as_str()), (587, EmailTls::StartTls, "smtp.msp.example"));
        assert_eq!(target.to.len(), 2);
        assert_eq!(target.credentials.as_ref().map(|(u, _)| u.as_str()), Some("alerts@msp.example"));
        assert!(!format!("{set:?}").contains("hunter2"), "{set:?}");
        let implicit = email(&format!("{good}\ntls = \"implicit\"")).unwrap();
        assert_eq!(implicit.destination("mail").unwrap().email.as_ref().unwrap().port, 465);
    }

    #[test]
    fn each_email_mistake_is_named_with_what_works() {
        let base = "smtp_host = \"smtp.msp.example\"\nfrom = \"alerts@msp.example\"\nto = [\"noc@msp.example\"]";
        let cases = [
            ("from = \"alerts@msp.example\"\nto = [\"noc@msp.example\"]", "give the SMTP server as smtp_host"),
            ("smtp_host = \"smtp.msp.example\"\nto = [\"noc@msp.example\"]", "give the sender as from"),
            ("smtp_host = \"smtp.msp.example\"\nfrom = \"alerts@msp.example\"", "give the recipients as to"),
            ("smtp_host = \"smtp.msp.example\"\nfrom = \"alerts at msp\"\nto = [\"noc@msp.example\"]", "is not an address"),
            (&format!("{base}\ntls = \"none\""), "plain SMTP is not offered"),
            (&format!("{base}\nurl = \"https://x.example\""), "not url, url_env or secret_env"),
            (&format!("{base}\nusername_env = \"SMTP_USER\""), "both username_env and password_env"),
            (&format!("{base}\nusername_env = \"SMTP_USER\"\npassword_env = \"UNSET\""), "UNSET (its SMTP password) is not set"),
        ];
        for (settings, want) in cases {
            let err = email(settings).unwrap_err();
            assert!(err.contains(want), "{settings}: {err}");
        }
        let text = "[destinations.noc]\nkind = \"teams\"\nurl_env = \"TEAMS_URL\"\nto = [\"noc@msp.example\"]";
        let file: AlertsFile = toml::from_str(text).unwrap();
        assert!(resolve(&file, &Env, &|_| true).unwrap_err().to_string().contains("belong to kind = \"email\""));
    }
}
