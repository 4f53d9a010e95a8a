//! What an access token grants: the application permissions in its
//! `roles` claim, and whether they cover what a plugin declares it needs.
//! Read only to tell the operator what is missing; the token is never
//! trusted for anything (Microsoft 365 checks it, not the agent).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;

/// Most roles read from one token: Entra ID lists each granted application
/// permission once, and an app with hundreds is misconfigured anyway.
pub const MAX_TOKEN_ROLES: usize = 500;

/// The `roles` claim of an Entra ID access token (a JWT): the application
/// permissions consented for the resource it is for. `None` when the token
/// is not a JWT or carries no `roles` (no application permission granted,
/// or a token of another kind).
pub fn token_roles(token: &str) -> Option<Vec<String>> {
    let payload = token.split('.').nth(1)?;
    let json: serde_json::Value = serde_json::from_slice(&B64URL.decode(payload.trim_end_matches('=')).ok()?).ok()?;
    let roles = json.get("roles")?.as_array()?;
    Some(roles.iter().filter_map(|r| r.as_str()).take(MAX_TOKEN_ROLES).map(str::to_string).collect())
}

/// Broader permissions that include a narrower one, from Microsoft Graph's
/// permissions reference: an app granted the broader one may do what the
/// narrower allows. The `Read` to `ReadWrite` step is general and is not
/// listed here.
const INCLUDED_IN: &[(&str, &[&str])] = &[
    ("User.Read.All", &["Directory.Read.All", "Directory.ReadWrite.All"]),
    ("GroupMember.Read.All", &["Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"]),
    (
        "TeamsAppInstallation.ReadForTeam.All",
        &["TeamsAppInstallation.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
    ),
];

/// Whether `roles` grant `needed`: itself, its write form (`X.Read.All` in
/// `X.ReadWrite.All`, `X.ReadForTeam.All` in `X.ReadWriteForTeam.All`), or
/// a broader permission known to include it. Names compare as Entra ID
/// compares them, without regard to case.
pub fn grants(roles: &[String], needed: &str) -> bool {
    let held = |name: &str| roles.iter().any(|r| r.eq_ignore_ascii_case(name));
    held(needed)
        || write_form(needed).is_some_and(|w| held(&w))
        || INCLUDED_IN
            .iter()
            .filter(|(narrow, _)| narrow.eq_ignore_ascii_case(needed))
            .any(|(_, broader)| broader.iter().any(|b| held(b)))
}

/// `Resource.ReadX.All` -> `Resource.ReadWriteX.All`, for a permission whose
/// second part starts with `Read` but is not a write permission already.
fn write_form(needed: &str) -> Option<String> {
    let mut parts: Vec<&str> = needed.split('.').collect();
    let verb = parts.get(1)?;
    let rest = verb.strip_prefix("Read").filter(|r| !r.starts_with("Write"))?;
    let widened = format!("ReadWrite{rest}");
    parts[1] = &widened;
    Some(parts.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &serde_json::Value) -> String {
        format!("{}.{}.c2ln", B64URL.encode(br#"{"typ":"JWT","alg":"RS256"}"#), B64URL.encode(payload.to_string()))
    }

    /// The claims Microsoft documents for an app-only token from a client
    /// credentials grant ("Access token claims reference", Microsoft identity
    /// platform, learn.microsoft.com/entra/identity-platform/access-token-claims-reference:
    /// `idtyp` `app`, `roles` the consented application permissions); the
    /// values are illustrative.
    #[test]
    fn roles_are_read_from_an_app_only_token() {
        let token = jwt(&serde_json::json!({
            "aud": "https://graph.microsoft.com", "iss": "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
            "iat": 1700000000, "nbf": 1700000000, "exp": 1700003599, "appid": "6731de76-14a6-49ae-97bc-6eba6914391e",
            "idtyp": "app", "oid": "b9ba3c5d-2e4c-4c4b-9f5b-3f4d0e1f0a11", "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "roles": ["GroupMember.Read.All", "TeamsAppInstallation.ReadForTeam.All"], "ver": "1.0"
        }));
        assert_eq!(token_roles(&token), Some(vec!["GroupMember.Read.All".to_string(), "TeamsAppInstallation.ReadForTeam.All".to_string()]));
        assert_eq!(token_roles(&jwt(&serde_json::json!({"scp": "User.Read"}))), None, "a delegated token has no roles");
        assert_eq!(token_roles("opaque-token"), None);
        assert_eq!(token_roles("a.!!!.c"), None, "not base64");
    }

    #[test]
    fn broader_permissions_cover_narrower_ones() {
        let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(grants(&roles(&["user.read.all"]), "User.Read.All"), "case does not matter");
        assert!(grants(&roles(&["User.ReadWrite.All"]), "User.Read.All"));
        assert!(grants(&roles(&["TeamsAppInstallation.ReadWriteForTeam.All"]), "TeamsAppInstallation.ReadForTeam.All"));
        assert!(grants(&roles(&["Directory.Read.All"]), "User.Read.All"));
        assert!(grants(&roles(&["Group.Read.All"]), "GroupMember.Read.All"));
        assert!(!grants(&roles(&["GroupMember.Read.All"]), "Group.Read.All"), "narrower does not cover broader");
        assert!(!grants(&roles(&["User.Read.All"]), "User.ReadWrite.All"));
        assert!(!grants(&roles(&["Mail.Read"]), "Exchange.ManageAsApp"));
        assert!(!grants(&[], "Exchange.ManageAsApp"));
    }
}
