//! `init`: start a new collector's database, the one command besides `serve`
//! allowed to create one, so that a mistyped data dir is an error elsewhere.

use super::Db;
use anyhow::Result;

/// `init`.
pub async fn exec(db: Db) -> Result<()> {
    let site = db.site()?;
    if let Some(store) = site.open_if_there().await? {
        let versions = store.schema_versions().await?;
        println!(
            "the collector database at {} is there already (schema version {}); nothing to do",
            site.shown(),
            versions.last().copied().unwrap_or(0)
        );
        return Ok(());
    }
    let store = site.create().await?;
    let versions = store.schema_versions().await?;
    println!("created the collector database at {} (schema version {})", site.shown(), versions.last().copied().unwrap_or(0));
    println!("next: plumbline-collector tenant add ENTRA_TENANT_ID --name \"Client name\", then `plumbline-collector serve`");
    Ok(())
}
