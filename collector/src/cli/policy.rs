//! `policy check | show`: the policy files the MSP edits in the data dir,
//! checked, or one tenant's merged policy as its agents are sent it.

use super::Db;
use anyhow::{bail, Result};
use clap::Subcommand;
use plumbline_collector::policy::check::{self, Verdict};
use plumbline_collector::policy::{self as policy_files, PolicySourceError};

/// Policy commands.
#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Check every tenant's policy (or one's): the files parse, hold only
    /// [schedule] and [plugins.NAME], pin plugins that are in the plugins
    /// folder, and are for tenants that exist. Exits 2 on a problem.
    Check {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        db: Db,
    },
    /// Print a tenant's policy as its agents are sent it: its group's file
    /// overlaid with its own.
    Show {
        /// The tenant.
        tenant: String,
        #[command(flatten)]
        db: Db,
    },
}

/// Run one policy command.
pub async fn exec(command: PolicyCommand) -> Result<()> {
    match command {
        PolicyCommand::Check { tenant, db } => {
            let site = db.site()?;
            let store = site.open().await?;
            let known: Vec<String> =
                store.fleet(None, &plumbline_collector::timestamp::today()).await?.into_iter().map(|t| t.id).collect();
            if let Some(t) = tenant.as_deref().filter(|t| !known.iter().any(|k| k == t)) {
                bail!("there is no tenant {t:?} in {}: `plumbline-collector tenant list` shows them", site.shown());
            }
            let dir = policy_files::policy_dir(&site.dir);
            let report = check::check(&dir, &site.dir.join("plugins"), &known, tenant.as_deref());
            print!("{}", render(&report, &dir));
            match report.problem_count() {
                0 => Ok(()),
                n => bail!("{n} problem{} in the policy files under {}; fix them and check again", plural(n), dir.display()),
            }
        }
        PolicyCommand::Show { tenant, db } => {
            let site = db.site()?;
            let dir = policy_files::policy_dir(&site.dir);
            match policy_files::content_in(&dir, &tenant) {
                Ok(content) => {
                    print!("{content}");
                    Ok(())
                }
                Err(PolicySourceError::None(_)) => bail!(
                    "tenant {tenant:?} has no policy under {}: its agents run their local config alone; write \
                     tenants/{tenant}.toml, or map it to a group in tenant-groups.toml",
                    dir.display()
                ),
                Err(e) => bail!("{e}"),
            }
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One block per tenant, then the unused groups.
fn render(report: &check::CheckReport, dir: &std::path::Path) -> String {
    let mut out = String::new();
    for t in &report.tenants {
        let head = match &t.verdict {
            Verdict::None => "no policy: its agents run their local config alone".to_string(),
            Verdict::Invalid(_) => "NOT SERVED: its agents keep their last good policy".to_string(),
            Verdict::Policy { group, every, plugins } => {
                let from = group.as_deref().map(|g| format!("group {g}")).unwrap_or_else(|| "its own file".into());
                let every = every.as_deref().map(|e| format!(", every {e}")).unwrap_or_default();
                format!("{} plugin{} from {from}{every}", plugins.len(), plural(plugins.len()))
            }
        };
        out.push_str(&format!("{}: {head}\n", t.tenant));
        if let Verdict::Policy { plugins, .. } = &t.verdict {
            for p in plugins {
                let state = if p.enabled { "" } else { " (disabled)" };
                out.push_str(&format!("  {} {}{state}\n", p.name, p.sha256));
            }
        }
        for problem in t.problems() {
            out.push_str(&format!("  PROBLEM: {problem}\n"));
        }
    }
    for g in &report.unused_groups {
        out.push_str(&format!("group {g}: no tenant is mapped to it in {}\n", policy_files::groups_file(dir).display()));
    }
    out.push_str("plugin settings are checked by each agent, against what the plugin declares\n");
    out
}
