//! Refusals as HTTP: a status and an [`ErrorBody`].

use crate::ingest::IngestError;
use crate::store::StoreError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use plumbline_protocol::messages::ErrorBody;

/// A refusal.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// [`ErrorBody::error`].
    pub code: &'static str,
    /// [`ErrorBody::message`].
    pub message: String,
    /// [`ErrorBody::last_accepted_sequence`].
    pub last_accepted_sequence: Option<u64>,
    /// Sent as `Retry-After` (a 429).
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    /// Any refusal.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), last_accepted_sequence: None, retry_after_secs: None }
    }

    /// 400 `malformed`.
    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "a valid bearer API token is required")
    }

    /// 500: logged in full, answered without detail.
    pub fn internal(e: &dyn std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {e}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; see the collector's log")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(ErrorBody {
            error: self.code.to_string(),
            message: self.message,
            last_accepted_sequence: self.last_accepted_sequence,
        });
        if self.status == StatusCode::UNAUTHORIZED && self.code == "unauthorized" {
            return (self.status, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response();
        }
        if let Some(secs) = self.retry_after_secs {
            return (self.status, [(header::RETRY_AFTER, secs.to_string())], body).into_response();
        }
        (self.status, body).into_response()
    }
}

/// The status of each ingest refusal.
pub fn ingest_status(e: &IngestError) -> StatusCode {
    match e {
        IngestError::TooLarge | IngestError::InflatesTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        IngestError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        IngestError::Malformed(_) => StatusCode::BAD_REQUEST,
        IngestError::UnknownAgent(_) | IngestError::BadSignature(_) => StatusCode::UNAUTHORIZED,
        IngestError::RevokedAgent(_)
        | IngestError::WrongAgent { .. }
        | IngestError::SignedByOther { .. }
        | IngestError::WrongTenant { .. } => StatusCode::FORBIDDEN,
        IngestError::ReplayedSequence { .. } | IngestError::SequenceJump { .. } => StatusCode::CONFLICT,
        IngestError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        if let IngestError::Store(inner) = &e {
            return ApiError::internal(inner);
        }
        let mut refusal = ApiError::new(ingest_status(&e), e.code(), e.to_string());
        if let IngestError::ReplayedSequence { last, .. } | IngestError::SequenceJump { last, .. } = e {
            refusal.last_accepted_sequence = Some(last);
        }
        refusal
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::TokenInvalid => ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", e.to_string()),
            StoreError::TokenUsed => ApiError::new(StatusCode::UNAUTHORIZED, "token_used", e.to_string()),
            StoreError::TokenExpired => ApiError::new(StatusCode::UNAUTHORIZED, "token_expired", e.to_string()),
            StoreError::TokenRevoked => ApiError::new(StatusCode::UNAUTHORIZED, "token_revoked", e.to_string()),
            StoreError::SiteRequired => ApiError::new(StatusCode::BAD_REQUEST, "site_required", e.to_string()),
            StoreError::AgentExists(_) => ApiError::new(StatusCode::CONFLICT, "already_enrolled", e.to_string()),
            StoreError::InvalidAnnotation(_) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_annotation", e.to_string()),
            other => ApiError::internal(&other),
        }
    }
}
