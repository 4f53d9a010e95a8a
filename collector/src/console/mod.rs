//! The MSP console: server-rendered pages on the collector's own listener
//! at `/` (the JSON API stays under `/v1`). Every page reads without
//! JavaScript; `console.js` only sorts tables and copies fixes.
//!
//! Handlers translate: they check the session and the tenant, call the
//! store, and hand a page model to a template ([`pages`]). Templates only
//! render (askama, escaping everything by default). No SQL here, no HTML in
//! the store.

pub mod assets;
pub mod error;
pub mod links;
pub mod pages;
pub mod session;

use crate::accounts::sessions::SessionPolicy;
use crate::api::AppState;
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// How the console behaves.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Mark the session cookie `Secure` (off only with `--insecure-http`).
    pub secure_cookies: bool,
    /// When sessions end.
    pub sessions: SessionPolicy,
    /// An agent that has not delivered for this long is flagged silent.
    pub silent_after_hours: i64,
    /// The MSP's name, shown in the header.
    pub msp_name: String,
    /// The MSP's branding on reports.
    pub brand: crate::reports::brand::Brand,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            secure_cookies: true,
            sessions: SessionPolicy::default(),
            silent_after_hours: DEFAULT_SILENT_AFTER_HOURS,
            msp_name: "Plumbline".into(),
            brand: crate::reports::brand::Brand::default(),
        }
    }
}

/// An agent scans at least daily under every RMM schedule we ship; two
/// hours' grace covers a slow scan and a retry.
pub const DEFAULT_SILENT_AFTER_HOURS: i64 = 26;

/// Only our own scripts and styles, no frames, no sniffing, no referrer
/// leaking tenant ids to other sites.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::fleet::page))
        .route("/report", get(pages::fleet_report::page))
        .route("/alerts", get(pages::alerts::page))
        .route("/alerts/retry", post(pages::alerts::retry))
        .route("/alerts/rules", post(pages::alerts::add_rule))
        .route("/alerts/rules/remove", post(pages::alerts::remove_rule))
        .route("/login", get(pages::login::form).post(pages::login::submit))
        .route("/logout", post(pages::login::logout))
        .route("/tenants/{tenant}", get(pages::register::page))
        .route("/tenants/{tenant}/register.csv", get(pages::register::csv))
        .route("/tenants/{tenant}/register.xlsx", get(pages::register::xlsx))
        .route("/tenants/{tenant}/review", get(pages::review::page).post(pages::review::decide))
        .route("/tenants/{tenant}/report", get(pages::report::page))
        .route("/tenants/{tenant}/migration", get(pages::migration::page).post(pages::migration::move_card))
        .route("/tenants/{tenant}/policy", get(pages::policy::page).post(pages::policy::save))
        .route("/tenants/{tenant}/connectors/{key}", get(pages::connector::page).post(pages::connector::annotate))
        .route("/tenants/{tenant}/connectors/{key}/accept", post(pages::connector::accept))
        .route("/tenants/{tenant}/connectors/{key}/reviewed", post(pages::connector::reviewed))
        .route("/tenants/{tenant}/batches/{digest}/envelope", get(pages::connector::envelope))
        .route("/assets/{file}", get(assets::serve))
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
}
