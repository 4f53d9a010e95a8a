//! Naming what a 403 lacks. Microsoft 365 answers a token without the
//! permission an API needs with a bare 403 ("Insufficient privileges"),
//! which the plugin reports as it gets it. The host knows more: which
//! permissions the plugin declared for the credential profile the request
//! used, and which the profile's token carries. On a 403 it compares the
//! two and adds one warning to the plugin's report naming what is missing.

use crate::credentials::roles::grants;
use crate::credentials::CredentialStore;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Warnings one plugin's 403s may add to its report: one per profile and
/// host is all an operator needs.
pub const MAX_FORBIDDEN_WARNINGS: usize = 8;

/// One application permission a plugin declared, as a token would show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needed {
    /// e.g. `TeamsAppInstallation.ReadForTeam.All`.
    pub name: String,
    /// What the plugin needs it for.
    pub why: String,
}

/// What one plugin declared it needs, by credential profile, and what its
/// 403s have said so far.
#[derive(Debug, Default)]
pub struct PermissionHints {
    plugin: String,
    needs: BTreeMap<String, Vec<Needed>>,
    said: Mutex<Vec<String>>,
}

impl PermissionHints {
    /// `plugin`'s needs by profile (see
    /// [`crate::runtime::declarations::needs_by_profile`]).
    pub fn new(plugin: &str, needs: BTreeMap<String, Vec<Needed>>) -> Self {
        PermissionHints { plugin: plugin.to_string(), needs, said: Mutex::new(Vec::new()) }
    }

    /// A 403 from `host` to a request with `profile`'s token: say which
    /// declared permissions that token lacks, if it lacks any.
    pub async fn forbidden(&self, profile: &str, host: &str, credentials: &CredentialStore) {
        let key = format!("{profile} {host}");
        {
            let said = self.said.lock().unwrap_or_else(|p| p.into_inner());
            if said.len() >= MAX_FORBIDDEN_WARNINGS || said.iter().any(|s| s.starts_with(&format!("{key}\n"))) {
                return;
            }
        }
        let Some(needs) = self.needs.get(profile) else { return };
        let roles = credentials.token(profile).await.ok().and_then(|t| crate::credentials::roles::token_roles(&t));
        let message = match roles {
            None => format!(
                "HTTP 403 from {host} with the token of credential profile `{profile}`, which lists no application \
                 permissions (no `roles` claim): grant the app registration {} and give admin consent",
                list(needs)
            ),
            Some(roles) => {
                let missing: Vec<Needed> = needs.iter().filter(|p| !grants(&roles, &p.name)).cloned().collect();
                // Holding them all, the 403 has another cause (a role in the
                // service, a policy, one team's settings): the plugin's own
                // report of it says enough.
                if missing.is_empty() {
                    return;
                }
                format!(
                    "HTTP 403 from {host}: the token of credential profile `{profile}` lacks {} ({}); grant it to the \
                     app registration as an application permission and give admin consent",
                    list(&missing),
                    missing.iter().map(|p| p.why.as_str()).collect::<Vec<_>>().join("; ")
                )
            }
        };
        let mut said = self.said.lock().unwrap_or_else(|p| p.into_inner());
        if said.len() < MAX_FORBIDDEN_WARNINGS && !said.iter().any(|s| s.starts_with(&format!("{key}\n"))) {
            tracing::warn!(plugin = %self.plugin, "{message}");
            said.push(format!("{key}\n{message}"));
        }
    }

    /// The warnings said, for the plugin's report.
    pub fn warnings(&self) -> Vec<String> {
        let said = self.said.lock().unwrap_or_else(|p| p.into_inner());
        said.iter().filter_map(|s| s.split_once('\n').map(|(_, m)| m.to_string())).collect()
    }
}

/// Whether an answer holds a 403 from Microsoft 365: itself, or one of the
/// answers inside a Microsoft Graph JSON batch (`POST /v1.0/$batch`, whose
/// own status is 200 whatever its requests got).
pub fn holds_403(host: &str, path: &str, status: u16, body: &[u8]) -> bool {
    if status == 403 {
        return true;
    }
    if status != 200 || !host.eq_ignore_ascii_case("graph.microsoft.com") || !path.ends_with("/$batch") {
        return false;
    }
    #[derive(serde::Deserialize)]
    struct Batch {
        #[serde(default)]
        responses: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        status: u16,
    }
    serde_json::from_slice::<Batch>(body).is_ok_and(|b| b.responses.iter().any(|r| r.status == 403))
}

/// `A`, `A and B`, `A, B and C`, each in backticks.
pub fn list(perms: &[Needed]) -> String {
    let names: Vec<String> = perms.iter().map(|p| format!("`{}`", p.name)).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_listed_as_a_sentence_does() {
        let need = |n: &str| Needed { name: n.into(), why: String::new() };
        assert_eq!(list(&[need("A")]), "`A`");
        assert_eq!(list(&[need("A"), need("B"), need("C")]), "`A`, `B` and `C`");
    }

    /// A Graph JSON batch answer as Microsoft documents it ("Combine multiple
    /// requests in one HTTP call using JSON batching", learn.microsoft.com/graph/json-batching):
    /// the batch is 200, one of its requests 403.
    #[test]
    fn a_403_inside_a_graph_batch_counts() {
        let body = br#"{"responses": [
            {"id": "1", "status": 200, "headers": {"Content-Type": "application/json"}, "body": {"value": []}},
            {"id": "3", "status": 403, "body": {"error": {"code": "Forbidden", "message": "Forbidden"}}}]}"#;
        assert!(holds_403("graph.microsoft.com", "/v1.0/$batch", 200, body));
        assert!(!holds_403("graph.microsoft.com", "/v1.0/$batch", 200, br#"{"responses": [{"id": "1", "status": 200}]}"#));
        assert!(!holds_403("example.com", "/v1.0/$batch", 200, body), "only Graph's batches are read");
        assert!(!holds_403("graph.microsoft.com", "/v1.0/groups", 200, body));
        assert!(holds_403("outlook.office365.com", "/adminapi/beta/x/InvokeCommand", 403, b""));
        assert!(!holds_403("graph.microsoft.com", "/v1.0/$batch", 200, b"not json"));
    }
}
