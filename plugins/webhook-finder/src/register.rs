//! Register entries: one per reference (a webhook URL in a file), and one
//! for the search itself.
//!
//! Keys are stable: `webhook:{url}:{file}` with `{url}` the first 16 hex
//! digits of the URL's sha256 fingerprint and `{file}` the first 12 hex
//! digits of the sha256 of the site id and the normalised file path. The
//! same URL in the same file keeps its key when lines move; the line is an
//! attribute. The site id is in the file part because the collector keys a
//! tenant's register by key alone, and an RMM deploys the same script to the
//! same path on many hosts.

use crate::config::Config;
use crate::detect::Kind;
use crate::walk::{normalize_path, Reference, Walked};
use plumbline_plugin_sdk::redact::fingerprint;
use plumbline_plugin_sdk::{Category, ConnectorRecord};

/// Migration state of a retired connector URL (legacy or webhookb2).
pub const LEGACY_RETIRED: &str = "legacy-retired";
/// Migration state of a Workflows URL.
pub const WORKFLOW: &str = "workflow";

/// Key of the reference to the URL with `url_fingerprint` in `path`.
pub fn reference_key(site_id: &str, path: &str, url_fingerprint: &str) -> String {
    let url_hex = hex_of(url_fingerprint);
    let file = fingerprint(&format!("{site_id}\n{}", normalize_path(path)));
    format!(
        "webhook:{}:{}",
        url_hex.get(..16).unwrap_or(url_hex),
        hex_of(&file).get(..12).unwrap_or_default()
    )
}

/// Key of the search entry; search-wide findings attach to it.
pub fn search_key(site_id: &str) -> String {
    format!("webhook:search:{site_id}")
}

fn hex_of(fp: &str) -> &str {
    fp.strip_prefix("sha256:").unwrap_or(fp)
}

/// How a caller authenticates to the URL.
pub fn auth_type(r: &Reference) -> &'static str {
    match (r.kind.is_workflow(), r.has_sig) {
        (false, _) => "url-secret",
        (true, true) => "sas-signature",
        (true, false) => "oauth",
    }
}

/// The reference's lines as text: `12` or `12, 40`.
pub fn lines_text(r: &Reference) -> String {
    r.lines
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The register entry of a reference. Only the fingerprint and the
/// non-secret parts of the URL go in: host, kind, workflow id, whether it
/// has a `sig`.
pub fn reference_record(key: &str, r: &Reference) -> ConnectorRecord {
    let state = if r.kind.is_retired() {
        LEGACY_RETIRED
    } else {
        WORKFLOW
    };
    let mut rec = ConnectorRecord::new(
        key,
        Category::WebhookReference,
        format!("{} in {}", r.kind.label(), r.path),
    )
    .scope(r.path.clone())
    .auth_type(Some(auth_type(r).to_string()))
    .migration_state(state)
    .attr("file", r.path.clone())
    .attr("line", r.line().to_string())
    .attr("lines", lines_text(r))
    .attr("occurrences", r.occurrences.to_string())
    .attr("kind", r.kind.as_str())
    .attr("host", r.host.clone())
    .attr("url_fingerprint", r.fingerprint.clone())
    .attr("written_as", r.encoding.as_str())
    .attr("file_world_readable", bool_text(r.world_readable));
    if r.kind.is_workflow() {
        rec = rec
            .attr("workflow_id", r.workflow_id.clone().unwrap_or_default())
            .attr("has_sig", bool_text(r.has_sig));
    }
    rec
}

/// The search entry: where the plugin looked, with which bounds, and
/// whether it covered everything. Only values that change when the search
/// or its result changes (no file counts, which change with every new log
/// file and would make the register churn).
pub fn search_record(site_id: &str, config: &Config, walked: &Walked) -> ConnectorRecord {
    let count = |f: fn(&Kind) -> bool| {
        walked
            .references
            .iter()
            .filter(|r| f(&r.kind))
            .count()
            .to_string()
    };
    let gaps = if walked.gaps.is_empty() {
        "none".to_string()
    } else {
        walked
            .gaps
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    ConnectorRecord::new(
        search_key(site_id),
        Category::WebhookReference,
        format!("Webhook URL search on {site_id}"),
    )
    .context_record()
    .scope(config.paths.join(", "))
    .purpose(Some(
        "Where webhook-finder looked for Teams and Workflows webhook URLs on this host, and \
         whether the search covered everything"
            .to_string(),
    ))
    .attr("paths", config.paths.join(", "))
    .attr("exclude", config.exclude.join(", "))
    .attr("max_depth", config.max_depth.to_string())
    .attr("max_dirs", config.max_dirs.to_string())
    .attr("max_files", config.max_files.to_string())
    .attr("max_file_bytes", config.max_file_bytes.to_string())
    .attr("max_total_bytes", config.max_total_bytes.to_string())
    .attr("complete", bool_text(walked.gaps.is_empty()))
    .attr("gaps", gaps)
    .attr("references", walked.references.len().to_string())
    .attr("retired_references", count(|k| k.is_retired()))
    .attr("workflow_references", count(|k| k.is_workflow()))
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_url_file_and_site_only() {
        let fp = fingerprint("https://x.webhook.office.com/webhookb2/a@b/c/d");
        let k = reference_key("site-a", "/srv/scripts/alert.ps1", &fp);
        assert_eq!(k.len(), "webhook:".len() + 16 + 1 + 12);
        assert!(k.starts_with(&format!("webhook:{}:", &fp[7..23])), "{k}");
        assert_eq!(k, reference_key("site-a", "/srv/scripts/alert.ps1", &fp));
        assert_eq!(k, reference_key("site-a", "/srv//scripts/alert.ps1", &fp));
        assert_ne!(k, reference_key("site-b", "/srv/scripts/alert.ps1", &fp));
        assert_ne!(k, reference_key("site-a", "/srv/scripts/other.ps1", &fp));
        assert_ne!(k, reference_key("site-a", "/srv/scripts/alert.ps1", &fingerprint("x")));
        assert_eq!(
            reference_key("s", r"C:\Scripts\Alert.ps1", &fp),
            reference_key("s", "c:/scripts/alert.ps1", &fp),
            "Windows paths are case-insensitive"
        );
        assert_eq!(search_key("northwind-hq"), "webhook:search:northwind-hq");
    }
}
