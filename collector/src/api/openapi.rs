//! `GET /v1/openapi.json`: the API described as OpenAPI 3.1, generated from
//! the handlers' `#[utoipa::path]` attributes and the protocol types. A
//! test checks it against [`super::route_table`], so a route added to the
//! router without a description fails the build's tests.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use plumbline_protocol::{envelope, messages, ocsf, read_api, register};
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Plumbline collector API",
        description = "The connector register of each client tenant, its history and findings, \
                       and the findings as OCSF for SIEMs. Read endpoints take a bearer API token \
                       (`plumbline-collector api-token create`), for one tenant or all; agents enroll \
                       with a single-use token and sign what they ingest."
    ),
    paths(
        super::health,
        openapi_json,
        super::enroll::enroll,
        super::ingest::ingest,
        super::policy::policy,
        super::policy::plugin,
        super::read::register,
        super::read::register_csv,
        super::read::changes,
        super::read::findings,
        super::read::envelope,
        super::read::agents,
        super::read::tenants,
        super::annotate::annotate,
        super::siem::fleet,
        super::siem::tenant,
        super::releases::latest,
        super::releases::binary,
    ),
    components(schemas(
        messages::EnrollRequest,
        messages::EnrollResponse,
        messages::IngestResponse,
        messages::ErrorBody,
        envelope::Envelope,
        read_api::RegisterView,
        read_api::ChangesView,
        read_api::FindingsView,
        read_api::AgentsView,
        read_api::TenantsView,
        read_api::TenantSummary,
        read_api::AgentSummary,
        read_api::Annotations,
        read_api::AnnotationsUpdate,
        register::Severity,
        ocsf::ComplianceFinding,
    )),
    modifiers(&BearerToken),
    tags(
        (name = "agents", description = "What agents call: enrollment and signed batches"),
        (name = "register", description = "A tenant's register, history, findings and annotations"),
        (name = "siem", description = "Findings as OCSF Compliance Findings (class 2003), NDJSON from a cursor"),
        (name = "meta", description = "Health and this document"),
    )
)]
pub struct ApiDoc;

/// The `api_token` security scheme the read endpoints name.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An API token: `plumbline-collector api-token create [--tenant ID] [--scope read|write]`"))
            .build();
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("api_token", SecurityScheme::Http(scheme));
        let agent = utoipa::openapi::security::ApiKey::Header(utoipa::openapi::security::ApiKeyValue::with_description(
            "Authorization",
            "`Plumbline-Agent AGENT_ID:UNIX_SECONDS:SIGNATURE`, signed with the agent's enrolled key (plumbline sends it)",
        ));
        components.add_security_scheme("agent_signature", SecurityScheme::ApiKey(agent));
    }
}

/// The document as served (built once).
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document serialises"))
}

/// `GET /v1/openapi.json`
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document()).into_response()
}
