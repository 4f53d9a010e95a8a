//! The signed-in user behind a request, from the session cookie; the
//! cookie itself; and the CSRF check every form goes through.

use super::error::ConsoleError;
use crate::access::Principal;
use crate::accounts::sessions::{self, SignedIn};
use crate::accounts::Role;
use crate::api::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use crate::serve::PeerAddr;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "plumbline_session";

/// A signed-in user, as a handler sees it.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The session.
    pub session: SignedIn,
    /// What it may see and do.
    pub principal: Principal,
}

impl Viewer {
    /// The user's e-mail address.
    pub fn email(&self) -> &str {
        &self.session.user.email
    }

    /// The user's role.
    pub fn role(&self) -> Role {
        self.session.role
    }

    /// Go on only when `given` is this session's CSRF token.
    pub fn check_csrf(&self, given: &str) -> Result<(), ConsoleError> {
        if constant_time_eq(given.as_bytes(), self.session.csrf_token.as_bytes()) {
            Ok(())
        } else {
            Err(ConsoleError::Csrf)
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session token from the request's cookies.
pub fn cookie_token(parts: &Parts) -> Option<String> {
    cookie(parts, COOKIE_NAME)
}

/// The value of the request's cookie `name`, if set and not empty.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

/// The client's address, for the sign-in throttle.
pub fn client_address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<PeerAddr>>()
        .map(|ConnectInfo(PeerAddr(addr))| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(token: &str, secure: bool, max_age_minutes: i64) -> String {
    format!(
        "{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        max_age_minutes * 60,
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}", if secure { "; Secure" } else { "" })
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = cookie_token(parts).ok_or(ConsoleError::SignIn)?;
        let session = sessions::resume(state.store.as_ref(), &token, state.console.sessions)
            .await?
            .ok_or(ConsoleError::SignIn)?;
        let principal = Principal::user(&session.user.email, session.role, &session.user.tenants);
        Ok(Viewer { session, principal })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_flags_are_set() {
        let req = axum::http::Request::builder()
            .header(COOKIE, "a=1; plumbline_session=pls_abc; b=2")
            .body(())
            .unwrap();
        let (parts, _) = req.into_parts();
        assert_eq!(cookie_token(&parts).as_deref(), Some("pls_abc"));
        let c = set_cookie("pls_abc", true, 30);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"), "{c}");
        assert!(!set_cookie("x", false, 30).contains("Secure"));
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd") && !constant_time_eq(b"a", b"ab"));
    }
}
