//! Plumbline plugin `webhook-finder`: Teams and Workflows webhook URLs in
//! the scripts, monitoring configs and RMM script folders of a site host.
//!
//! It walks the directories named in `paths` (each also granted to the
//! plugin) and reports every reference to a webhook URL: the retired
//! Office 365 connector formats (`outlook.office.com/webhook/...`,
//! `{tenant}.webhook.office.com/webhookb2/...`) and Workflows trigger URLs
//! (`*.logic.azure.com/workflows/...`,
//! `*.environment.api.powerplatform.com/.../workflows/...`), in the
//! commercial, US government (GCC, GCC High, DoD) and China clouds, plain,
//! JSON-escaped, HTML-escaped or URL-encoded.
//!
//! **The URL is a secret** (the URL alone is enough to post, and a `sig`
//! is enough to run the flow): it is never stored, logged or passed to the
//! host. The register gets its sha256 fingerprint and its non-secret parts
//! only (host, kind, workflow id, whether it has a `sig`).
//!
//! The walk is bounded (depth, directories, files, bytes per file and in
//! all), skips binaries, and never follows links. Everything but
//! [`walk::HostFiles`] is pure and runs natively:
//! [`walk::walk`] over a [`walk::Files`] → [`assess`].
#![warn(missing_docs)]

pub mod assess;
pub mod checks;
pub mod config;
pub mod detect;
pub mod register;
pub mod text;
pub mod walk;

pub use assess::assess;
pub use config::Config;

use plumbline_plugin_sdk::log;
use plumbline_plugin_sdk::prelude::*;

/// The plugin.
pub struct WebhookFinder;

impl Plugin for WebhookFinder {
    const NAME: &'static str = "webhook-finder";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "Teams and Workflows webhook URLs in scripts and configs on site hosts (retired connector URLs, exposed sig)";

    fn categories() -> Vec<Category> {
        vec![Category::WebhookReference]
    }

    fn capabilities() -> Capabilities {
        Capabilities::none().files("*")
    }

    fn settings() -> Vec<SettingSpec> {
        config::declared()
    }

    fn watch() -> Vec<String> {
        // Scripts and configs change when someone pastes a new webhook URL.
        vec!["*".into()]
    }

    fn scan(ctx: &ScanContext) -> Result<Report, ScanError> {
        scan(ctx)
    }
}

/// One scan: read the settings, walk, assess. Log lines carry paths and
/// counts, never a URL.
pub fn scan(ctx: &ScanContext) -> Result<Report, ScanError> {
    let config = Config::from_settings(&Settings::new(&ctx.settings))?;
    log::info(&format!(
        "searching {} for Teams and Workflows webhook URLs",
        config.paths.join(", ")
    ));
    let walked = walk::walk(&mut walk::HostFiles, &config)?;
    for note in &walked.notes {
        log::warn(note);
    }
    let s = &walked.stats;
    log::info(&format!(
        "searched {} directories and {} files ({} bytes; {} UTF-16, {} 8-bit text); skipped {} \
         binary, {} over max_file_bytes, {} links or special files, {} excluded directories; \
         found {} webhook references",
        s.dirs_listed,
        s.files_read,
        s.bytes_read,
        s.utf16_files,
        s.eight_bit_files,
        s.skipped_binary,
        s.skipped_large,
        s.skipped_links,
        s.dirs_excluded,
        walked.references.len()
    ));
    if !walked.gaps.is_empty() {
        let gaps: Vec<String> = walked.gaps.iter().map(|g| g.explain(&config)).collect();
        log::warn(&format!("the search is incomplete: {}", gaps.join("; ")));
    }
    Ok(assess(&ctx.site_id, &config, &walked))
}

register_plugin!(WebhookFinder);
