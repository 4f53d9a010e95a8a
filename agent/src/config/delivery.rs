//! The `[delivery]` section: where signed batches go and how they wait.

use super::paths;
use crate::delivery::limits;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `[delivery]` as written in the config file. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Base URL of the MSP's collector, e.g. `https://collector.msp.example`.
    /// Default: the URL given to `plumbline enroll` (kept in
    /// `enrollment.json` beside the key). Plain `http://` only to a
    /// collector on this machine (loopback).
    #[serde(default)]
    pub collector_url: Option<String>,
    /// A PEM file of CA certificates to trust for the collector, instead of
    /// the public web roots: for a collector with a private or self-signed
    /// certificate.
    #[serde(default)]
    pub collector_ca_file: Option<PathBuf>,
    /// The sha256 of the collector's certificate or of its key, as the
    /// collector prints it at start (`sha256:` and 64 hex digits): only that
    /// certificate or key is accepted, whoever signed it.
    #[serde(default)]
    pub collector_pin: Option<String>,
    /// The agent's private key (PKCS#8 PEM), written by `plumbline enroll`
    /// and readable only by the agent's account. `agent.pub` and
    /// `enrollment.json` are kept beside it. Default: `agent.key` in the
    /// platform's keys directory.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Directory of signed batches waiting for the collector. Default: the
    /// platform's spool directory.
    #[serde(default)]
    pub spool_dir: Option<PathBuf>,
    /// Most batches kept waiting; when full, the oldest is dropped with a
    /// warning. Default 1000.
    #[serde(default)]
    pub spool_max_batches: Option<usize>,
    /// Most bytes of batches kept waiting; when over, the oldest is dropped
    /// with a warning. Default 536870912 (512 MiB).
    #[serde(default)]
    pub spool_max_bytes: Option<u64>,
    /// Largest signed batch sent, in bytes (before compression); a larger
    /// scan goes in several parts, each under it, which the collector puts
    /// back together. Default 33554432 (32 MiB), half the collector's limit.
    #[serde(default)]
    pub max_batch_bytes: Option<u64>,
    /// First retry delay, in milliseconds, when the collector is down or
    /// busy; each retry doubles it (with jitter) up to `retry_cap_ms`.
    /// Default 500.
    #[serde(default)]
    pub retry_base_ms: Option<u64>,
    /// Longest retry delay in milliseconds; also the longest `Retry-After`
    /// honoured within one run. Default 30000.
    #[serde(default)]
    pub retry_cap_ms: Option<u64>,
    /// Attempts at a batch in one run before it waits for the next run or
    /// `plumbline spool flush`. Default 5.
    #[serde(default)]
    pub retry_max_attempts: Option<u32>,
}

/// `[delivery]` with defaults applied and paths resolved.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// The collector's base URL, when the config names one.
    pub collector_url: Option<url::Url>,
    /// The CA certificates (PEM) trusted for the collector, alone.
    pub collector_ca_file: Option<PathBuf>,
    /// The collector's pinned certificate or key.
    pub collector_pin: Option<crate::delivery::trust::Pin>,
    /// The agent's private key.
    pub key_file: PathBuf,
    /// The spool directory.
    pub spool_dir: PathBuf,
    /// Spool bound, in batches.
    pub spool_max_batches: usize,
    /// Spool bound, in bytes.
    pub spool_max_bytes: u64,
    /// Largest batch sent; a larger scan is split into parts.
    pub max_batch_bytes: u64,
    /// Retry timing.
    pub retry: RetryPolicy,
}

/// How pushes are retried within one flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First delay.
    pub base: Duration,
    /// Longest delay, and longest `Retry-After` honoured.
    pub cap: Duration,
    /// Attempts per batch per flush (at least 1).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: limits::RETRY_BASE,
            cap: limits::RETRY_CAP,
            max_attempts: limits::RETRY_MAX_ATTEMPTS,
        }
    }
}

impl DeliverySettings {
    /// The platform defaults, for commands run without a config file.
    pub fn defaults() -> Self {
        let d = paths::default_paths();
        DeliverySettings {
            collector_url: None,
            collector_ca_file: None,
            collector_pin: None,
            key_file: d.keys.join("agent.key"),
            spool_dir: d.spool,
            spool_max_batches: limits::SPOOL_MAX_BATCHES,
            spool_max_bytes: limits::SPOOL_MAX_BYTES,
            max_batch_bytes: limits::MAX_BATCH_BYTES,
            retry: RetryPolicy::default(),
        }
    }

    /// Whom to trust as the collector.
    pub fn trust(&self) -> crate::delivery::trust::Trust {
        crate::delivery::trust::Trust { ca_file: self.collector_ca_file.clone(), pin: self.collector_pin }
    }

    /// The public key file beside the key: `agent.pub` for `agent.key`.
    pub fn public_key_file(&self) -> PathBuf {
        self.key_file.with_extension("pub")
    }

    /// `enrollment.json` beside the key.
    pub fn enrollment_file(&self) -> PathBuf {
        self.key_file.with_file_name("enrollment.json")
    }
}

impl DeliveryConfig {
    /// Apply defaults and resolve paths against `base` (the config file's
    /// directory). Errors say what to write instead.
    pub(super) fn resolve(&self, base: &Path) -> Result<DeliverySettings, String> {
        let defaults = DeliverySettings::defaults();
        let collector_url = self
            .collector_url
            .as_deref()
            .map(|u| parse_collector_url(u).map_err(|e| format!("[delivery] collector_url: {e}")))
            .transpose()?;
        let positive = |name: &str, v: Option<u64>| match v {
            Some(0) => Err(format!("[delivery] {name} must be at least 1")),
            _ => Ok(()),
        };
        positive("spool_max_batches", self.spool_max_batches.map(|v| v as u64))?;
        positive("spool_max_bytes", self.spool_max_bytes)?;
        positive("retry_max_attempts", self.retry_max_attempts.map(u64::from))?;
        if let Some(n) = self.max_batch_bytes.filter(|n| *n < limits::MIN_BATCH_BYTES) {
            return Err(format!(
                "[delivery] max_batch_bytes = {n} is too small to hold a batch; write at least {} (default {})",
                limits::MIN_BATCH_BYTES,
                limits::MAX_BATCH_BYTES
            ));
        }
        let mut retry = RetryPolicy::default();
        if let Some(ms) = self.retry_base_ms {
            retry.base = Duration::from_millis(ms);
        }
        if let Some(ms) = self.retry_cap_ms {
            retry.cap = Duration::from_millis(ms);
        }
        if retry.cap < retry.base {
            return Err("[delivery] retry_cap_ms must not be below retry_base_ms".into());
        }
        if let Some(n) = self.retry_max_attempts {
            retry.max_attempts = n;
        }
        let path = |p: &Option<PathBuf>| p.as_deref().map(|p| paths::resolve(base, Some(p), p));
        let collector_pin = self
            .collector_pin
            .as_deref()
            .map(|p| crate::delivery::trust::Pin::parse(p).map_err(|e| format!("[delivery] collector_pin: {e}")))
            .transpose()?;
        Ok(DeliverySettings {
            collector_url,
            collector_ca_file: path(&self.collector_ca_file),
            collector_pin,
            key_file: path(&self.key_file).unwrap_or(defaults.key_file),
            spool_dir: path(&self.spool_dir).unwrap_or(defaults.spool_dir),
            spool_max_batches: self.spool_max_batches.unwrap_or(defaults.spool_max_batches),
            spool_max_bytes: self.spool_max_bytes.unwrap_or(defaults.spool_max_bytes),
            max_batch_bytes: self.max_batch_bytes.unwrap_or(defaults.max_batch_bytes),
            retry,
        })
    }
}

/// A collector base URL: `https://`, or `http://` to a loopback address
/// only (the batches are signed, but what they say is the client's business).
pub fn parse_collector_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text.trim())
        .map_err(|e| format!("{text:?} is not a URL ({e}); write it like \"https://collector.msp.example\""))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{text:?}: give the collector's base URL, without a query or fragment"));
    }
    match (url.scheme(), url.host()) {
        ("https", Some(_)) => Ok(url),
        ("http", Some(host)) if is_loopback(&host) => Ok(url),
        ("http", Some(_)) => Err(format!(
            "{text:?} is plain http to another machine; use https:// (plain http only to a collector on this machine)"
        )),
        _ => Err(format!("{text:?} must be an https:// URL with a host")),
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_urls_are_https_or_loopback_http() {
        assert!(parse_collector_url("https://collector.msp.example/plumbline").is_ok());
        assert!(parse_collector_url("http://127.0.0.1:8443").is_ok());
        assert!(parse_collector_url("http://localhost:8443").is_ok());
        assert!(parse_collector_url("http://[::1]:8443").is_ok());
        let e = parse_collector_url("http://collector.msp.example").unwrap_err();
        assert!(e.contains("use https://"), "{e}");
        assert!(parse_collector_url("collector.msp.example").is_err());
        assert!(parse_collector_url("ftp://collector.msp.example").is_err());
        assert!(parse_collector_url("https://c.example/?x=1").is_err());
    }

    #[test]
    fn the_sample_sets_and_documents_every_field() {
        let sample = include_str!("../../../config/plumbline.sample.toml");
        let c = crate::config::Config::parse(sample, Path::new("/etc/plumbline/plumbline.toml")).unwrap();
        let d = &c.config.delivery;
        // Destructure so a new field that the sample lacks fails to compile here.
        let DeliveryConfig {
            collector_url,
            collector_ca_file,
            collector_pin,
            key_file,
            spool_dir,
            spool_max_batches,
            spool_max_bytes,
            max_batch_bytes,
            retry_base_ms,
            retry_cap_ms,
            retry_max_attempts,
        } = d;
        assert!(collector_url.is_some() && collector_ca_file.is_some() && key_file.is_some() && spool_dir.is_some());
        assert!(collector_pin.is_some());
        assert!(spool_max_batches.is_some() && spool_max_bytes.is_some() && max_batch_bytes.is_some());
        assert!(retry_base_ms.is_some() && retry_cap_ms.is_some() && retry_max_attempts.is_some());
        for name in [
            "collector_url", "collector_ca_file", "collector_pin", "key_file", "spool_dir", "spool_max_batches", "spool_max_bytes",
            "max_batch_bytes", "retry_base_ms", "retry_cap_ms", "retry_max_attempts",
        ] {
            assert!(sample.contains(&format!("\n{name} = ")), "{name} missing from the sample");
        }
        // The sample's values are the defaults.
        assert_eq!(c.delivery.spool_max_batches, limits::SPOOL_MAX_BATCHES);
        assert_eq!(c.delivery.spool_max_bytes, limits::SPOOL_MAX_BYTES);
        assert_eq!(c.delivery.max_batch_bytes, limits::MAX_BATCH_BYTES);
        assert_eq!(c.delivery.retry, RetryPolicy::default());
    }

    #[test]
    fn defaults_and_relative_paths() {
        let s = DeliveryConfig::default().resolve(Path::new("/srv/agent")).unwrap();
        assert_eq!(s.spool_max_batches, limits::SPOOL_MAX_BATCHES);
        assert_eq!(s.retry, RetryPolicy::default());
        assert!(s.key_file.ends_with("agent.key"));
        assert!(s.public_key_file().ends_with("agent.pub"));
        assert!(s.enrollment_file().ends_with("enrollment.json"));
        let c = DeliveryConfig {
            key_file: Some("keys/site.key".into()),
            spool_dir: Some("spool".into()),
            retry_base_ms: Some(5),
            ..Default::default()
        };
        let s = c.resolve(Path::new("/srv/agent")).unwrap();
        if cfg!(unix) {
            assert_eq!(s.key_file, Path::new("/srv/agent/keys/site.key"));
            assert_eq!(s.public_key_file(), Path::new("/srv/agent/keys/site.pub"));
            assert_eq!(s.spool_dir, Path::new("/srv/agent/spool"));
        }
        assert_eq!(s.retry.base, Duration::from_millis(5));
        let zero = DeliveryConfig { spool_max_batches: Some(0), ..Default::default() };
        assert!(zero.resolve(Path::new("/")).unwrap_err().contains("spool_max_batches"));
    }

    #[test]
    fn mistakes_in_the_section_are_config_errors() {
        let parse = |body: &str| {
            crate::config::Config::parse(&format!("tenant_id = 't'\nsite_id = 's'\n[delivery]\n{body}\n"), Path::new("/a/p.toml"))
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        let e = parse("spool_max = 3");
        assert!(e.contains("unknown field `spool_max`"), "{e}");
        let e = parse("collector_url = 'http://collector.msp.example'");
        assert!(e.contains("/a/p.toml") && e.contains("collector_url") && e.contains("https://"), "{e}");
        let e = parse("retry_base_ms = 100\nretry_cap_ms = 10");
        assert!(e.contains("retry_cap_ms"), "{e}");
    }
}
