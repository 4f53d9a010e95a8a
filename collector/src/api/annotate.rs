//! `PUT /v1/tenants/{tenant}/connectors/{key}/annotations`: a partial
//! update of what staff know about a connector.

use super::auth::Caller;
use super::error::ApiError;
use super::AppState;
use crate::register::annotations;
use crate::timestamp;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use plumbline_protocol::read_api::{Annotations, AnnotationsUpdate};

/// Update annotations; answers the merged result.
pub async fn annotate(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, key)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Annotations>, ApiError> {
    caller.may_write(&state, &tenant).await?;
    let body = body.map_err(|r| ApiError::from_body(r, "too_large"))?;
    let update: AnnotationsUpdate =
        serde_json::from_slice(&body).map_err(|e| ApiError::malformed(format!("not an annotations update: {e}")))?;
    annotations::validate(&update)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_annotation", e.to_string()))?;
    let saved =
        state.store.update_annotations(&tenant, &key, update, &caller.principal.name, &timestamp::now()).await?.ok_or_else(
            || {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "unknown_connector",
                    format!("no connector {key:?} in tenant {tenant:?}"),
                )
            },
        )?;
    tracing::info!(tenant = %tenant, key = %key, by = %caller.principal.name, "annotations updated");
    Ok(Json(saved))
}
