//! `plumbline plugin new NAME --category CATEGORY`: a plugin crate from the
//! template embedded in this binary, ready for `cargo test` and a wasm build.
//!
//! The SDK is not on a registry, so the crate names it by path: `--sdk`, or
//! else the SDK of the source checkout this binary was built from. The
//! checkout's Cargo.lock seeds the crate's, so it builds with the versions
//! the SDK is tested with.

use super::exit::Exit;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// What `plugin new` takes.
#[derive(clap::Args)]
pub struct NewArgs {
    /// The plugin's name: lower-case letters, digits and single dashes
    /// (`slack-webhooks`); also the crate's name and its folder's.
    name: String,
    /// What it reports: one of the contract's categories.
    #[arg(long)]
    category: String,
    /// Make the crate's folder in here (default: the current folder).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The plugin SDK's folder (`plugin-sdk` in a Plumbline checkout);
    /// default: the checkout this binary was built from.
    #[arg(long)]
    sdk: Option<PathBuf>,
}

/// The contract's categories, as the WIT spells them, with the SDK's names.
pub const CATEGORIES: &[(&str, &str)] = &[
    ("teams-connector", "TeamsConnector"),
    ("incoming-webhook", "IncomingWebhook"),
    ("workflow", "Workflow"),
    ("power-automate-flow", "PowerAutomateFlow"),
    ("exchange-connector", "ExchangeConnector"),
    ("smtp-relay", "SmtpRelay"),
    ("webhook-reference", "WebhookReference"),
];

/// Longest plugin name: it is part of every register key the plugin makes.
const MAX_NAME_LEN: usize = 48;

/// Names cargo or Rust keep for themselves.
const RESERVED: &[&str] = &["test", "std", "core", "alloc", "proc-macro", "plumbline-plugin-sdk"];

/// The template's files: where each goes, and its text.
const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("plugin_new/Cargo.toml.in")),
    ("src/lib.rs", include_str!("plugin_new/lib.rs.in")),
    ("tests/assess.rs", include_str!("plugin_new/assess.rs.in")),
    ("README.md", include_str!("plugin_new/README.md.in")),
];

/// Where the SDK is when this binary runs beside its own source checkout.
const BUILT_FROM_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugin-sdk");

/// `plumbline plugin new`.
pub fn exec(args: NewArgs) -> Result<Exit> {
    check_name(&args.name)?;
    let variant = category_variant(&args.category)?;
    let sdk = find_sdk(args.sdk.as_deref())?;
    let parent = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let dir = parent.join(&args.name);
    if dir.exists() {
        bail!("{} already exists; nothing was written. Pick another name or --dir", dir.display());
    }
    let sdk_text = sdk.to_str().filter(|s| !s.contains('\'')).with_context(|| {
        format!("the SDK path {} cannot be written in Cargo.toml; move the checkout to a plain path", sdk.display())
    })?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let shown = dir.canonicalize().unwrap_or_else(|_| dir.clone());
    let (crate_name, type_name, shown_text) = (args.name.replace('-', "_"), type_name(&args.name), shown.display().to_string());
    let vars: [(&str, &str); 7] = [
        ("{{name}}", &args.name),
        ("{{crate}}", &crate_name),
        ("{{type}}", &type_name),
        ("{{category}}", &args.category),
        ("{{variant}}", variant),
        ("{{sdk}}", sdk_text),
        ("{{dir}}", &shown_text),
    ];
    for (rel, template) in FILES {
        let text = vars.iter().fold(template.to_string(), |t, (k, v)| t.replace(k, v));
        let path = dir.join(rel);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(lock) = sdk.parent().map(|p| p.join("Cargo.lock")).filter(|l| l.is_file()) {
        std::fs::copy(&lock, dir.join("Cargo.lock")).with_context(|| format!("copying {}", lock.display()))?;
    }
    outln!("made plugin {} ({}) in {}, using the SDK in {}", args.name, args.category, shown.display(), sdk.display())?;
    outln!("next: cd {} && cargo test; README.md says how to build the component", shown.display())?;
    Ok(Exit::Ok)
}

/// A name cargo takes as a package and the agent as a plugin (and a config
/// section): lower-case ASCII letters and digits in dash-separated words.
pub fn check_name(name: &str) -> Result<()> {
    let fits = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.split('-').all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    if !fits {
        bail!(
            "{name:?} is not a plugin name: use lower-case letters, digits and single dashes, starting with a letter, \
             at most {MAX_NAME_LEN} characters (e.g. \"slack-webhooks\")"
        );
    }
    if RESERVED.contains(&name) {
        bail!("{name:?} is a name cargo keeps for itself; pick another (e.g. \"{name}-connectors\")");
    }
    Ok(())
}

/// The SDK's name of `category`, or an error listing the valid ones.
pub fn category_variant(category: &str) -> Result<&'static str> {
    match CATEGORIES.iter().find(|(c, _)| *c == category) {
        Some((_, v)) => Ok(v),
        None => {
            let valid: Vec<&str> = CATEGORIES.iter().map(|(c, _)| *c).collect();
            bail!("{category:?} is not a category; use one of: {}", valid.join(", "))
        }
    }
}

fn type_name(name: &str) -> String {
    let mut out: String = name.split('-').map(|w| w[..1].to_ascii_uppercase() + &w[1..]).collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'P');
    }
    out
}

fn find_sdk(given: Option<&Path>) -> Result<PathBuf> {
    let (dir, how) = match given {
        Some(d) => (d.to_path_buf(), "--sdk"),
        None => (PathBuf::from(BUILT_FROM_SDK), "the checkout this binary was built from"),
    };
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).ok();
    if !text.is_some_and(|t| t.contains("name = \"plumbline-plugin-sdk\"")) {
        bail!(
            "no plugin SDK at {} ({how}); pass --sdk with the plugin-sdk folder of a Plumbline checkout \
             (`git clone` the project, then --sdk CHECKOUT/plugin-sdk)",
            dir.display()
        );
    }
    dir.canonicalize().with_context(|| format!("resolving {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_cargo_and_the_agent() {
        for ok in ["slack-webhooks", "a", "servicenow-rest2"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        for bad in ["", "Slack", "9lives", "a--b", "a-", "-a", "a_b", "a.b", "test", long.as_str()] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(type_name("servicenow-rest2"), "ServicenowRest2");
    }

    #[test]
    fn a_wrong_category_lists_the_valid_ones() {
        assert_eq!(category_variant("smtp-relay").unwrap(), "SmtpRelay");
        let e = category_variant("smtp").unwrap_err().to_string();
        assert!(e.contains("smtp-relay") && e.contains("incoming-webhook"), "{e}");
    }

    #[test]
    fn the_categories_are_the_contracts() {
        let wit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../wit/since_v0.2.0/plugin.wit")).unwrap();
        let body = wit.split("enum category {").nth(1).unwrap().split('}').next().unwrap();
        let declared: Vec<&str> = body.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
        let ours: Vec<&str> = CATEGORIES.iter().map(|(c, _)| *c).collect();
        assert_eq!(ours, declared);
    }
}
