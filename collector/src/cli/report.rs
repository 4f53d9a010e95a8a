//! `report`: a tenant's QBR report, or the MSP's fleet report, as one HTML
//! file, or as PDF through the host's headless Chromium.

use super::Db;
use anyhow::{bail, Context, Result};
use clap::Args;
use plumbline_collector::console::DEFAULT_SILENT_AFTER_HOURS;
use plumbline_collector::reports::{self, brand::Brand, qbr::Period, FleetScope};
use std::path::PathBuf;

/// The MSP's branding, for `serve` and `report`.
#[derive(Args, Clone)]
pub struct BrandArgs {
    /// The MSP's name, shown in the console and on reports.
    #[arg(long, env = "PLUMBLINE_COLLECTOR_MSP_NAME", default_value = "Plumbline")]
    msp_name: String,
    /// The MSP's logo on reports (.png, .jpg or .svg, under 512 KiB).
    #[arg(long, env = "PLUMBLINE_COLLECTOR_MSP_LOGO")]
    msp_logo: Option<PathBuf>,
    /// The reports' accent colour, #rrggbb.
    #[arg(long, env = "PLUMBLINE_COLLECTOR_ACCENT")]
    accent: Option<String>,
}

impl BrandArgs {
    /// The checked brand.
    pub fn brand(&self) -> Result<Brand> {
        Ok(Brand::new(&self.msp_name, self.msp_logo.as_deref(), self.accent.as_deref())?)
    }
}

/// What `report` takes.
#[derive(Args)]
pub struct ReportArgs {
    /// The tenant whose QBR this is.
    #[arg(long, required_unless_present = "fleet", conflicts_with = "fleet")]
    tenant: Option<String>,
    /// The MSP's fleet report instead: a summary row and a page per tenant.
    #[arg(long)]
    fleet: bool,
    /// With --fleet: only the tenants in this group.
    #[arg(long, conflicts_with = "tenant")]
    group: Option<String>,
    /// With --fleet: hours without a delivery before an agent counts silent.
    #[arg(long, default_value_t = DEFAULT_SILENT_AFTER_HOURS)]
    silent_after_hours: i64,
    /// First day of the period, YYYY-MM-DD.
    #[arg(long)]
    from: String,
    /// Last day of the period, YYYY-MM-DD.
    #[arg(long)]
    to: String,
    /// FILE.html, or FILE.pdf (printed by headless Chromium).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    brand: BrandArgs,
    #[command(flatten)]
    db: Db,
}

/// `report`.
pub async fn exec(args: ReportArgs) -> Result<()> {
    let period = Period::new(&args.from, &args.to)?;
    let brand = args.brand.brand()?;
    let ext = args.out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let pdf = match ext.as_deref() {
        Some("html") | Some("htm") => false,
        Some("pdf") => true,
        _ => bail!("--out {}: name a .html or a .pdf file", args.out.display()),
    };
    if pdf {
        // Before any work: say now if the PDF cannot be made.
        reports::pdf::find_chromium()?;
    }
    let store = args.db.open().await?;
    let html = match &args.tenant {
        Some(tenant) => reports::qbr_html(store.as_ref(), tenant, &period, &brand).await?,
        None => {
            let group = args.group.as_deref().unwrap_or("");
            let scope = FleetScope { tenants: None, group, silent_after_hours: args.silent_after_hours };
            reports::fleet_html(store.as_ref(), &scope, &period, &brand).await?
        }
    };
    if pdf {
        let out = args.out.clone();
        tokio::task::spawn_blocking(move || reports::pdf::print(&html, &out)).await??;
    } else {
        std::fs::write(&args.out, html).with_context(|| format!("writing {}", args.out.display()))?;
    }
    println!("wrote {} ({} to {})", args.out.display(), period.from, period.to);
    Ok(())
}
