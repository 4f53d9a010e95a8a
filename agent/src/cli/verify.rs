//! `plumbline verify`: an auditor checks a stored batch offline.

use super::exit::Exit;
use anyhow::{Context, Result};
use plumbline_agent::delivery::verify;
use plumbline_agent::register::Severity;
use std::path::PathBuf;

/// What `verify` takes.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The envelope file (a spooled or collector-stored batch).
    file: PathBuf,
    /// The agent's public key: a PEM file (agent.pub), or the raw key in
    /// base64.
    #[arg(long)]
    key: String,
}

/// `plumbline verify`: 0 valid, 1 invalid.
pub fn exec(args: VerifyArgs) -> Result<Exit> {
    let VerifyArgs { file, key } = args;
    let key_text = match std::fs::read_to_string(&key) {
        Ok(text) => text,
        Err(_) if !std::path::Path::new(&key).exists() => key.clone(),
        Err(e) => return Err(anyhow::anyhow!("reading the public key {key}: {e}")),
    };
    let public = plumbline_protocol::identity::parse_public_key(&key_text)
        .map_err(|e| anyhow::anyhow!("--key {key}: {e}"))?;
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    match verify::verify_envelope(&bytes, &public) {
        Ok(v) => {
            print_verified(&v)?;
            Ok(Exit::Ok)
        }
        Err(e) => {
            outln!("INVALID: {}: {e}", file.display())?;
            Ok(Exit::Flagged)
        }
    }
}

fn print_verified(v: &verify::Verified) -> Result<()> {
    let b = &v.batch;
    outln!("VALID: signed by agent {}", v.agent_id)?;
    outln!("tenant:     {}", b.tenant_id)?;
    outln!("site:       {}", b.site_id)?;
    outln!("sequence:   {}", b.sequence)?;
    outln!(
        "scan:       {} .. {}",
        b.scan_started_at, b.scan_finished_at
    )?;
    outln!("digest:     {}", v.digest)?;
    outln!(
        "plugins:{}",
        if b.plugins.is_empty() {
            "    (none)"
        } else {
            ""
        }
    )?;
    for p in &b.plugins {
        outln!(
            "  {} {} {} sha256 {}",
            p.name,
            p.version.as_deref().unwrap_or("-"),
            p.status,
            p.sha256.as_deref().unwrap_or("-")
        )?;
    }
    let by_severity: Vec<String> = Severity::ALL
        .into_iter()
        .rev()
        .map(|s| {
            format!(
                "{} {}",
                b.findings.iter().filter(|f| f.severity == s).count(),
                s.as_str()
            )
        })
        .collect();
    let context = b.connectors.iter().filter(|c| c.is_context()).count();
    outln!("connectors: {} (and {context} context records)", b.connectors.len() - context)?;
    outln!(
        "findings:   {} ({})",
        b.findings.len(),
        by_severity.join(", ")
    )?;
    Ok(())
}
