//! The HTTP API (axum). Handlers translate; the work is in
//! [`crate::ingest`], [`crate::register`] and [`crate::store`].
//!
//! - `POST /v1/enroll`: [`plumbline_protocol::messages::EnrollRequest`] ->
//!   [`plumbline_protocol::messages::EnrollResponse`]
//! - `POST /v1/ingest`: a DSSE envelope -> [`plumbline_protocol::messages::IngestResponse`]
//! - signed as an enrolled agent ([`agent_auth`]): `GET /v1/policy`, its
//!   signed policy, and `GET /v1/plugins/{sha256}`, a plugin it names ([`policy`])
//! - `GET /v1/health`: `ok` when the database answers, else 503
//!   `database_unavailable`
//! - `GET /metrics` (outside `/v1`): Prometheus text, with a fleet API token ([`metrics`])
//! - `GET /v1/openapi.json`: all of this as OpenAPI 3.1 ([`openapi`])
//! - with a bearer API token ([`auth`]), under `/v1/tenants/{tenant}/`:
//!   `register`, `register.csv`, `changes`, `findings`, `agents` (with the
//!   batches each never delivered), `batches/{digest}/envelope`, and
//!   `PUT connectors/{key}/annotations`
//!   ([`read`], [`annotate`]);
//! - for enrolled agents ([`agent_auth`]): `GET /v1/releases/latest` and
//!   `GET /v1/releases/{sha256}` ([`releases`]);
//! - the SIEM export ([`siem`]), with a bearer API token: `GET /v1/findings.ocsf`
//!   and `GET /v1/tenants/{tenant}/findings.ocsf`.
//!
//! Every refusal is a 4xx with a [`plumbline_protocol::messages::ErrorBody`] ([`error`]).

pub mod admission;
pub mod agent_auth;
pub mod annotate;
pub mod auth;
pub mod body;
pub mod cursor;
pub mod egress;
pub mod enroll;
pub mod error;
pub mod ingest;
pub mod metrics;
pub mod openapi;
pub mod policy;
pub mod read;
pub mod releases;
pub mod siem;

use crate::accounts::throttle::Throttle;
use crate::console::ConsoleConfig;
use crate::store::Store;
use plumbline_protocol::messages::ErrorBody;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;
use axum::Router;
use std::sync::Arc;

/// Largest enrollment or annotation request body.
pub const MAX_SMALL_BODY_BYTES: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// How the console behaves.
    pub console: Arc<ConsoleConfig>,
    /// Failed sign-ins.
    pub throttle: Arc<Throttle>,
    /// Uploads in flight.
    pub admission: Arc<admission::Admission>,
    /// How long an upload's body may take.
    pub body_clock: body::BodyClock,
    /// Alert rules in force, applied at ingest (the console may add some).
    pub alerts: crate::alerts::live::LiveRules,
    /// Whose `X-Forwarded-For` names an agent's egress.
    pub proxies: Arc<crate::egress::TrustedProxies>,
    /// Counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The policy files and the key that signs them; none: no policy served.
    pub policy: Option<Arc<crate::policy::PolicyService>>,
    /// Plugin files by sha256, for `GET /v1/plugins/{sha256}`.
    pub plugins: Arc<crate::policy::plugins::PluginIndex>,
    /// Agent releases for self-update, when this collector publishes them.
    pub releases: Option<Arc<crate::releases::Releases>>,
}

impl AppState {
    /// State over a store, with the console's defaults.
    pub fn new(store: Arc<dyn Store>) -> AppState {
        AppState {
            store,
            console: Arc::new(ConsoleConfig::default()),
            throttle: Arc::new(Throttle::default()),
            admission: Arc::default(),
            body_clock: body::BodyClock::default(),
            alerts: crate::alerts::live::LiveRules::default(),
            proxies: Arc::default(),
            metrics: Arc::default(),
            policy: None,
            plugins: Arc::default(),
            releases: None,
        }
    }

    /// The same, serving policy and plugins from `policy`.
    pub fn with_policy(mut self, policy: Arc<crate::policy::PolicyService>) -> AppState {
        self.policy = Some(policy);
        self
    }

    /// The same, publishing the releases in `releases`.
    pub fn with_releases(mut self, releases: crate::releases::Releases) -> AppState {
        self.releases = Some(Arc::new(releases));
        self
    }

    /// The same, with these trusted proxies.
    pub fn with_proxies(mut self, proxies: crate::egress::TrustedProxies) -> AppState {
        self.proxies = Arc::new(proxies);
        self
    }

    /// The same, with these alert rules (fixed: the console adds none).
    pub fn with_alerts(mut self, alerts: crate::alerts::RuleSet) -> AppState {
        self.alerts = crate::alerts::live::LiveRules::fixed(alerts);
        self
    }

    /// The same, with the rules in force as the config file and the console give them.
    pub fn with_live_alerts(mut self, alerts: crate::alerts::live::LiveRules) -> AppState {
        self.alerts = alerts;
        self
    }

    /// The same, with this console configuration.
    pub fn with_console(mut self, console: ConsoleConfig) -> AppState {
        self.console = Arc::new(console);
        self
    }
}

/// The collector's router: the API under `/v1`, the console at `/`.
pub fn app(state: AppState) -> Router {
    api_routes()
        .route("/metrics", axum::routing::get(metrics::metrics))
        .merge(crate::console::routes())
        .fallback(not_found)
        .with_state(state)
}

/// Unknown paths: JSON under an API version (`/v1`, and any `/vN` a newer
/// agent may try), the console's page elsewhere.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let first = uri.path().trim_start_matches('/').split('/').next().unwrap_or("");
    let api = first.len() > 1 && first.starts_with('v') && first[1..].bytes().all(|b| b.is_ascii_digit());
    if api {
        error::ApiError::not_found("no such endpoint").into_response()
    } else {
        crate::console::error::ConsoleError::NotFound.into_response()
    }
}

/// The `/v1` routes, each added once with its method: the router and the
/// list the OpenAPI document is checked against come from this one table.
pub struct Routes {
    router: Router<AppState>,
    table: Vec<(Method, &'static str)>,
}

impl Routes {
    fn add(mut self, method: Method, path: &'static str, route: MethodRouter<AppState>) -> Routes {
        self.table.push((method, path));
        self.router = self.router.route(path, route);
        self
    }

    fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Routes {
        self.add(Method::GET, path, axum::routing::get(handler))
    }

    fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H, body_limit: usize) -> Routes {
        self.add(Method::POST, path, axum::routing::post(handler).layer(DefaultBodyLimit::max(body_limit)))
    }

    fn put<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H, body_limit: usize) -> Routes {
        self.add(Method::PUT, path, axum::routing::put(handler).layer(DefaultBodyLimit::max(body_limit)))
    }
}

fn routes() -> Routes {
    Routes { router: Router::new(), table: Vec::new() }
        .get("/v1/health", health)
        .get("/v1/openapi.json", openapi::openapi_json)
        .post("/v1/enroll", enroll::enroll, MAX_SMALL_BODY_BYTES)
        .post("/v1/ingest", ingest::ingest, crate::ingest::MAX_WIRE_BYTES)
        .get("/v1/policy", policy::policy)
        .get("/v1/plugins/{sha256}", policy::plugin)
        .get("/v1/tenants", read::tenants)
        .get("/v1/tenants/{tenant}/register", read::register)
        .get("/v1/tenants/{tenant}/register.csv", read::register_csv)
        .get("/v1/tenants/{tenant}/changes", read::changes)
        .get("/v1/tenants/{tenant}/findings", read::findings)
        .get("/v1/tenants/{tenant}/batches/{digest}/envelope", read::envelope)
        .get("/v1/tenants/{tenant}/agents", read::agents)
        .put("/v1/tenants/{tenant}/connectors/{key}/annotations", annotate::annotate, MAX_SMALL_BODY_BYTES)
        .get("/v1/releases/latest", releases::latest)
        .get("/v1/releases/{sha256}", releases::binary)
        .get("/v1/findings.ocsf", siem::fleet)
        .get("/v1/tenants/{tenant}/findings.ocsf", siem::tenant)
}

fn api_routes() -> Router<AppState> {
    routes().router
}

/// Every `/v1` route the router serves: method and path.
pub fn route_table() -> Vec<(Method, &'static str)> {
    routes().table
}

/// Longest `/v1/health` waits for the database: a load balancer's probe
/// gives up after a few seconds, and a database this slow is unhealthy.
pub const HEALTH_DATABASE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// `GET /v1/health`: `ok` once the database answers a query; else 503 with
/// the part that failed (`database_unavailable`), the detail in the log.
#[utoipa::path(get, path = "/v1/health", tag = "meta", responses(
    (status = 200, description = "The collector is up and its database answers", body = String),
    (status = 503, description = "The database does not answer (`database_unavailable`)", body = ErrorBody)))]
pub async fn health(axum::extract::State(state): axum::extract::State<AppState>) -> Result<&'static str, error::ApiError> {
    let unavailable = |why: String| {
        tracing::warn!("health: the database: {why}");
        error::ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the collector is up but its database does not answer; see the collector's log",
        )
    };
    match tokio::time::timeout(HEALTH_DATABASE_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok("ok"),
        Ok(Err(e)) => Err(unavailable(e.to_string())),
        Err(_) => Err(unavailable(format!("no answer within {} s", HEALTH_DATABASE_TIMEOUT.as_secs()))),
    }
}
