//! `plumbline enroll`: the agent's key, registered with the collector.

use super::exit::Exit;
use super::loaded_config;
use anyhow::Result;
use plumbline_agent::config::{parse_collector_url, DeliverySettings};
use plumbline_agent::delivery::enrollment;
use std::path::PathBuf;

/// What `enroll` takes.
#[derive(clap::Args)]
pub struct EnrollArgs {
    /// The collector's base URL, e.g. https://collector.msp.example
    #[arg(long)]
    collector: String,
    /// The site's single-use enrollment token, or the tenant's fleet
    /// secret (then give --site).
    #[arg(long)]
    token: String,
    /// The site this agent runs at: required with a fleet secret, which
    /// enrolls it there; a single-use token's own site wins.
    #[arg(long)]
    site: Option<String>,
    /// Agent config file; its [delivery] section says where the key goes
    /// (default: the platform's config path, if it exists).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Replace an existing key (the collector will see a new agent).
    #[arg(long)]
    force: bool,
}

/// `plumbline enroll`.
pub async fn exec(args: EnrollArgs) -> Result<Exit> {
    // Read once: its `[delivery]` (as `delivery_settings` gives it) and its
    // tenant, which the collector checks the token against.
    let loaded = loaded_config(args.config.clone())?;
    let settings = loaded.as_ref().map_or_else(DeliverySettings::defaults, |c| c.delivery.clone());
    let url =
        parse_collector_url(&args.collector).map_err(|e| anyhow::anyhow!("--collector: {e}"))?;
    let claims = enrollment::Claims {
        site: args.site.as_deref(),
        tenant: loaded.as_ref().map(|c| c.config.tenant_id.as_str()),
    };
    let done = enrollment::enroll(&settings, &url, &args.token, claims, args.force).await?;
    let e = &done.enrollment;
    match &done.replaced {
        Some(old) if old.revoked => outln!("replaced agent {}: the collector revoked it", old.agent_id)?,
        Some(old) => eprintln!(
            "plumbline: warning: replaced the key of agent {}, but {}, so it stays enrolled; revoke it on the \
             collector: plumbline-collector agent revoke {}",
            old.agent_id,
            if old.proved {
                "the collector did not revoke it (it is enrolled for another tenant or site, or the collector is older)"
            } else {
                "its key could not be read to sign the hand-over"
            },
            old.agent_id
        ),
        None => {}
    }
    outln!(
        "enrolled agent {} for tenant {}, site {}, at {}",
        e.agent_id, e.tenant_id, e.site_id, e.collector_url
    )?;
    outln!(
        "private key: {} (readable only by this account)",
        done.key_file.display()
    )?;
    outln!(
        "public key:  {} (give it to auditors for `plumbline verify`)",
        done.public_key_file.display()
    )?;
    if let Some(cfg) = loaded {
        if (cfg.config.tenant_id.as_str(), cfg.config.site_id.as_str())
            != (e.tenant_id.as_str(), e.site_id.as_str())
        {
            eprintln!(
                "plumbline: warning: {} says tenant_id = {:?}, site_id = {:?}, but the token was for tenant {:?} site {:?}; \
                 fix the config before `plumbline run`, or the collector will refuse the batches",
                cfg.source.display(),
                cfg.config.tenant_id,
                cfg.config.site_id,
                e.tenant_id,
                e.site_id
            );
        }
    }
    Ok(Exit::Ok)
}
