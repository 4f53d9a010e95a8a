//! `PUT /v1/tenants/{tenant}/connectors/{key}/annotations`: a partial
//! update of what staff know about a connector.

use super::auth::Caller;
use super::error::ApiError;
use super::AppState;
use crate::register::annotations;
use crate::timestamp;
use super::body::SmallBody;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use plumbline_protocol::messages::ErrorBody;
use plumbline_protocol::read_api::{Annotations, AnnotationsUpdate};

/// Update annotations; answers the merged result.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/connectors/{key}/annotations", tag = "register",
    params(("tenant" = String, Path, description = "The tenant's id"), ("key" = String, Path, description = "The connector's register key")),
    request_body(content = AnnotationsUpdate, description = "Fields left out stay; null clears one"),
    responses((status = 200, description = "The annotations after the update", body = Annotations),
        (status = 400, description = "Not an update, or one the rules refuse (`invalid_annotation`)", body = ErrorBody),
        (status = 401, description = "No valid bearer API token", body = ErrorBody), (status = 403, description = "A read-only token", body = ErrorBody),
        (status = 404, description = "No such tenant or connector, or not one this token may see", body = ErrorBody),
        (status = 408, description = "The body stalled or took over a minute (`body_timeout`)", body = ErrorBody),
        (status = 413, description = "A body over 64 KiB", body = ErrorBody)),
    security(("api_token" = [])))]
pub async fn annotate(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, key)): Path<(String, String)>,
    SmallBody(body): SmallBody,
) -> Result<Json<Annotations>, ApiError> {
    caller.may_write(&state, &tenant).await?;
    let update: AnnotationsUpdate =
        serde_json::from_slice(&body).map_err(|e| ApiError::malformed(format!("not an annotations update: {}", crate::ingest::untrusted(&e.to_string()))))?;
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
