//! What a console request answers when it cannot show its page: sign in,
//! not found (also for a tenant the user may not see), read-only, a form
//! that failed its CSRF check, too many sign-ins, or a server error.

use crate::access::AccessError;
use crate::store::StoreError;
use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

/// A refusal.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No live session: go to the sign-in page.
    #[error("sign in first")]
    SignIn,
    /// Nothing here (or nothing this user may see).
    #[error("not found")]
    NotFound,
    /// This user may read but not change this.
    #[error("{0}")]
    Forbidden(String),
    /// A form without this session's CSRF token.
    #[error("this form is out of date or did not come from this console; reload the page and try again")]
    Csrf,
    /// A bad query string.
    #[error("{0}")]
    BadRequest(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A template failed.
    #[error("rendering: {0}")]
    Render(#[from] askama::Error),
}

impl From<AccessError> for ConsoleError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Hidden(_) => ConsoleError::NotFound,
            AccessError::ReadOnly(t) => ConsoleError::Forbidden(format!(
                "your account may read tenant {t} but not change it; ask an MSP engineer"
            )),
            AccessError::Store(e) => ConsoleError::Store(e),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: String,
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, title) = match &self {
            ConsoleError::SignIn => return Redirect::to("/login").into_response(),
            ConsoleError::NotFound => (StatusCode::NOT_FOUND, "Not found"),
            ConsoleError::Forbidden(_) => (StatusCode::FORBIDDEN, "Read-only"),
            ConsoleError::Csrf => (StatusCode::FORBIDDEN, "Form refused"),
            ConsoleError::BadRequest(_) => (StatusCode::BAD_REQUEST, "Bad request"),
            ConsoleError::Store(_) | ConsoleError::Render(_) => {
                tracing::error!("console: {self}");
                (StatusCode::INTERNAL_SERVER_ERROR, "Server error")
            }
        };
        let message = match &self {
            ConsoleError::NotFound => "There is nothing here, or nothing this account may see.".to_string(),
            ConsoleError::Store(_) | ConsoleError::Render(_) => {
                "Something failed on the collector; its log says what.".to_string()
            }
            other => other.to_string(),
        };
        let body = ErrorPage { title, message }.render().unwrap_or_else(|_| title.to_string());
        (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
    }
}
