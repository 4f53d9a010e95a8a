//! `plumbline`: the site agent's command line. This file only parses and
//! dispatches; each command group lives in `cli/`. The exit codes are
//! `cli::exit::Exit`.

mod cli;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use cli::exit::Exit;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "plumbline",
    version,
    about = "Find, own and fix every Office 365 connector at a client site"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every configured plugin once and print the connector register.
    Scan(cli::scan::ScanOnlyArgs),
    /// Scan exactly like `scan`, print the register, then sign the result,
    /// write it to the spool and deliver the spool to the collector.
    Run(cli::scan::ScanArgs),
    /// Make this agent's key pair and register it with the collector.
    Enroll(cli::enroll::EnrollArgs),
    /// Inspect, push or requeue the batches waiting for the collector.
    Spool {
        #[command(subcommand)]
        command: cli::spool::SpoolCommand,
    },
    /// Check a stored batch envelope against an agent's public key, offline.
    Verify(cli::verify::VerifyArgs),
    /// Show where the agent keeps its things and who may touch them; with
    /// --plugin and --path, say whether that plugin may read that path.
    Doctor(cli::doctor::DoctorArgs),
    /// Inspect plugins; make a publisher key and sign plugins with it
    /// (`plugin` works too).
    #[command(alias = "plugin")]
    Plugins {
        #[command(subcommand)]
        command: cli::plugins::PluginsCommand,
    },
    /// Install in one step, as an RMM does: enroll (COLLECTOR_URL,
    /// ENROLL_TOKEN, SITE), write the config, put the binary in place, and
    /// install and start the service.
    Install(cli::install::InstallCommand),
    /// The agent's health: last scan, last delivery, queued batches, failing
    /// plugins, highest severity; with --rmm, in that RMM's conventions.
    Status(cli::status::StatusArgs),
    /// Run as a service on the [schedule] in the config: a systemd timer on
    /// Linux, a Windows service; install, start, stop and inspect it.
    Service {
        #[command(subcommand)]
        command: cli::service::ServiceCommand,
    },
    /// Replace this binary with the newest release the collector publishes,
    /// signed by a key in [update] release_keys; --check only looks.
    Update(cli::update::UpdateArgs),
    /// The MSP's release key, and signed release manifests for the collector.
    Release {
        #[command(subcommand)]
        command: cli::release::ReleaseCommand,
    },
    /// Start and print this binary's version and platform (what an update
    /// runs on a new release before it replaces anything).
    #[command(name = "self-check", hide = true)]
    SelfCheck,
}

fn main() -> ExitCode {
    cli::console_utf8();
    // The exit codes are listed where RMM script authors look: the top
    // `--help` and the two commands whose codes they check.
    let codes = Exit::help();
    let command = Cli::command()
        .after_help(codes.clone())
        .mut_subcommand("scan", |c| c.after_help(codes.clone()))
        .mut_subcommand("run", |c| c.after_help(codes.clone()))
        .mut_subcommand("status", |c| c.after_help(codes.clone()));
    let parsed = Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit());
    // The commands print what matters themselves; the log adds only trouble.
    // A service has nobody watching: its log is what it did.
    let log = match parsed.command {
        Command::Service { .. } => "info",
        _ => "warn",
    };
    let service = matches!(parsed.command, Command::Service { .. });
    if !(service && cli::service::log::init_without_console(log)) {
        plumbline_protocol::logging::init(log);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("plumbline: error: cannot start the async runtime: {e}; check the process limits (threads)");
            return ExitCode::from(Exit::Config.code());
        }
    };
    let outcome = rt.block_on(async {
        match parsed.command {
            Command::Scan(args) => cli::scan::scan(args).await,
            Command::Run(args) => cli::scan::run(args).await,
            Command::Enroll(args) => cli::enroll::exec(args).await,
            Command::Spool { command } => cli::spool::exec(command).await,
            Command::Verify(args) => cli::verify::exec(args),
            Command::Doctor(args) => cli::doctor::exec(args).await,
            Command::Plugins { command } => cli::plugins::exec(command).await,
            Command::Service { command } => cli::service::exec(command).await,
            Command::Status(args) => cli::status::exec(args),
            Command::Install(args) => cli::install::exec(args).await,
            Command::Update(args) => cli::update::exec(args).await,
            Command::Release { command } => cli::release::exec(command),
            Command::SelfCheck => cli::update::self_check(),
        }
    });
    match outcome {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(e) => {
            eprintln!("plumbline: error: {e:#}");
            // Like clap's usage errors: an error that stops a command is
            // nearly always how it was set up (config, enrollment, rights).
            ExitCode::from(Exit::Config.code())
        }
    }
}
