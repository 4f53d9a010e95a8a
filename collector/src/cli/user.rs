//! `user add|list|disable|reset-password`: console accounts.

use super::Db;
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use plumbline_collector::accounts::{self, Role};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

/// User commands.
#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a console account. The password comes from --password-file, or
    /// from standard input when that is not a terminal.
    Add {
        /// The e-mail address the person signs in with.
        email: String,
        /// msp-admin, msp-engineer or client-viewer.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// A tenant the user may see (repeatable; exactly one for a client-viewer).
        #[arg(long = "tenant")]
        tenants: Vec<String>,
        /// A file whose first line is the password.
        #[arg(long)]
        password_file: Option<PathBuf>,
        #[command(flatten)]
        db: Db,
    },
    /// List console accounts.
    List {
        #[command(flatten)]
        db: Db,
    },
    /// Disable an account; its sessions end at once.
    Disable {
        /// The account's e-mail address.
        email: String,
        #[command(flatten)]
        db: Db,
    },
    /// Set a new password; the account's sessions end at once.
    ResetPassword {
        /// The account's e-mail address.
        email: String,
        /// A file whose first line is the password.
        #[arg(long)]
        password_file: Option<PathBuf>,
        #[command(flatten)]
        db: Db,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

/// The password from a file, or from standard input when it is piped.
fn read_password(file: Option<&Path>) -> Result<String> {
    let text = match file {
        Some(f) => std::fs::read_to_string(f).with_context(|| format!("reading the password from {}", f.display()))?,
        None if std::io::stdin().is_terminal() => bail!(
            "give the password with --password-file FILE, or pipe it on standard input \
             (e.g. `printf %s \"$PASS\" | plumbline-collector user add ...`); it is never taken as an argument"
        ),
        None => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).context("reading the password from standard input")?;
            s
        }
    };
    Ok(text.lines().next().unwrap_or("").to_string())
}

/// Run one user command.
pub async fn exec(command: UserCommand) -> Result<()> {
    match command {
        UserCommand::Add { email, role, tenants, password_file, db } => {
            let password = read_password(password_file.as_deref())?;
            let store = db.open().await?;
            let u = accounts::add_user(store.as_ref(), &email, role, &tenants, &password).await?;
            let scope = if u.tenants.is_empty() { "every tenant".to_string() } else { u.tenants.join(", ") };
            println!("added {} ({}, {scope})", u.email, u.role);
        }
        UserCommand::List { db } => {
            let store = db.open().await?;
            println!("{:<36} {:<14} {:<10} TENANTS", "EMAIL", "ROLE", "STATUS");
            for u in store.users().await? {
                let status = if u.disabled_at.is_some() { "disabled" } else { "active" };
                let tenants = if u.tenants.is_empty() { "(all)".to_string() } else { u.tenants.join(", ") };
                println!("{:<36} {:<14} {:<10} {tenants}", u.email, u.role, status);
            }
        }
        UserCommand::Disable { email, db } => {
            let store = db.open().await?;
            accounts::disable_user(store.as_ref(), &email).await?;
            println!("disabled {}; its sessions have ended", email.trim().to_lowercase());
        }
        UserCommand::ResetPassword { email, password_file, db } => {
            let password = read_password(password_file.as_deref())?;
            let store = db.open().await?;
            accounts::reset_password(store.as_ref(), &email, &password).await?;
            println!("new password set for {}; its sessions have ended", email.trim().to_lowercase());
        }
    }
    Ok(())
}
