//! `/login` and `/logout`: the sign-in form, the session cookie, and the
//! throttle's answer. The form's CSRF token is a random value in a
//! short-lived cookie of its own (there is no session yet to hold it).

use super::super::error::ConsoleError;
use super::super::session::{self, Viewer};
use crate::accounts::sessions::{self as accounts, SignInError};
use crate::api::AppState;
use crate::tokens;
use askama::Template;
use axum::extract::{Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

/// The sign-in form's CSRF cookie.
const LOGIN_COOKIE: &str = "plumbline_login";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    msp_name: String,
    csrf: String,
    email: String,
    error: String,
}

fn login_page(state: &AppState, status: StatusCode, email: &str, error: &str) -> Response {
    let csrf = tokens::generate("");
    let page = LoginPage { msp_name: state.console.msp_name.clone(), csrf: csrf.clone(), email: email.into(), error: error.into() };
    let cookie = format!(
        "{LOGIN_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        if state.console.secure_cookies { "; Secure" } else { "" }
    );
    match page.render() {
        Ok(html) => (status, [(header::SET_COOKIE, cookie), (header::CACHE_CONTROL, "no-store".into())], Html(html))
            .into_response(),
        Err(e) => ConsoleError::from(e).into_response(),
    }
}

/// `GET /login`: the form, or the fleet for someone signed in.
pub async fn form(State(state): State<AppState>, parts: Parts) -> Response {
    let mut parts = parts;
    if Viewer::from_request_parts(&mut parts, &state).await.is_ok() {
        return Redirect::to("/").into_response();
    }
    login_page(&state, StatusCode::OK, "", "")
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /login`: a session cookie and the fleet, or the form again.
pub async fn submit(State(state): State<AppState>, parts: Parts, Form(f): Form<LoginForm>) -> Response {
    if f.csrf.is_empty() || session::cookie(&parts, LOGIN_COOKIE).as_deref() != Some(f.csrf.as_str()) {
        return login_page(&state, StatusCode::FORBIDDEN, &f.email, "The form expired; please sign in again.");
    }
    let address = session::client_address(&parts);
    match accounts::sign_in(state.store.as_ref(), &state.throttle, &f.email, &f.password, &address).await {
        Ok((token, signed_in)) => {
            tracing::info!(user = %signed_in.user.email, %address, "signed in");
            let cookie =
                session::set_cookie(&token, state.console.secure_cookies, state.console.sessions.max_age_minutes);
            (StatusCode::SEE_OTHER, [(header::SET_COOKIE, cookie), (header::LOCATION, "/".to_string())]).into_response()
        }
        Err(SignInError::Throttled(wait)) => {
            tracing::warn!(%address, "sign-in throttled");
            let mut r = login_page(&state, StatusCode::TOO_MANY_REQUESTS, &f.email, &SignInError::Throttled(wait).to_string());
            r.headers_mut().insert(header::RETRY_AFTER, wait.as_secs().max(1).into());
            r
        }
        Err(SignInError::Refused) => {
            tracing::info!(%address, "sign-in refused");
            login_page(&state, StatusCode::UNAUTHORIZED, &f.email, &SignInError::Refused.to_string())
        }
        Err(SignInError::Store(e)) => ConsoleError::Store(e).into_response(),
    }
}

/// The sign-out form's field.
#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: the session ends.
pub async fn logout(State(state): State<AppState>, viewer: Viewer, Form(f): Form<LogoutForm>) -> Result<Response, ConsoleError> {
    viewer.check_csrf(&f.csrf)?;
    state.store.delete_session(&viewer.session.token_hash).await?;
    let cookie = session::clear_cookie(state.console.secure_cookies);
    Ok((StatusCode::SEE_OTHER, [(header::SET_COOKIE, cookie), (header::LOCATION, "/login".to_string())]).into_response())
}
