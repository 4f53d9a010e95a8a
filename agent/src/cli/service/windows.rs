//! `plumbline service ...` on Windows: a real service of the service control
//! manager (the windows-service crate). It runs as LocalSystem, starts
//! automatically after boot (delayed, so it does not slow the boot), and is
//! restarted by the manager after a failure, three times, a minute apart.
//! The agent sets that recovery policy and the delayed start itself, at
//! install and again each time the service starts, because an MSI built
//! with wixl cannot (it lacks `util:ServiceConfig` and `ServiceConfig`).
//!
//! The manager starts `plumbline.exe service run --config FILE`; `run` then
//! hands this thread to the manager's dispatcher, and the long-lived loop
//! runs on the service's own thread with the agent's runtime. A stop or
//! shutdown control asks for a stop: the plugin calls in progress finish
//! (reported as stop-pending, with a checkpoint every few seconds so the
//! manager does not take it for hung).

use super::super::exit::Exit;
use super::run::{run_with, RunArgs};
use super::{InstallArgs, UnitArgs};
use anyhow::{bail, Context, Result};
use plumbline_agent::config::Config;
use plumbline_agent::service::state;
use plumbline_agent::service::stop::Stop;
use std::ffi::{OsStr, OsString};
use std::sync::OnceLock;
use std::time::Duration;
use windows_service::service::{
    ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept, ServiceErrorControl,
    ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod, ServiceInfo, ServiceStartType, ServiceState,
    ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult, ServiceStatusHandle};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

/// The service's name (`sc query Plumbline`).
pub const SERVICE_NAME: &str = "Plumbline";
const DISPLAY_NAME: &str = "Plumbline connector agent";
const DESCRIPTION: &str =
    "Scans this site's Microsoft 365 connectors on the schedule in plumbline.toml and delivers the signed register to the MSP's collector.";
/// Restarts after a failure: three, as RMM-deployed agents do; a fourth
/// failure in a day leaves it stopped for the MSP to see.
const RESTARTS: usize = 3;
/// Wait before each restart: long enough for a network or disk that was
/// not ready at boot to come up.
const RESTART_DELAY: Duration = Duration::from_secs(60);
/// A day without failures resets the count of restarts.
const FAILURE_RESET: Duration = Duration::from_secs(24 * 3600);
/// While stopping, how often the service tells the manager it is still
/// making progress, and how long the manager is to wait for the next sign.
const STOP_CHECKPOINT_EVERY: Duration = Duration::from_secs(5);
const STOP_WAIT_HINT: Duration = Duration::from_secs(30);
/// Windows' code when a process was not started by the service manager.
const ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: i32 = 1063;
const ERROR_SERVICE_DOES_NOT_EXIST: i32 = 1060;
const ERROR_SERVICE_EXISTS: i32 = 1073;
/// What a service manager answers for a setting it does not know (wine's
/// for delayed start and the non-crash failure flag; Windows knows both).
const ERROR_INVALID_LEVEL: i32 = 124;

/// What the service's thread needs from the thread that started it.
struct ServiceContext {
    runtime: tokio::runtime::Handle,
    args: RunArgs,
}

static CONTEXT: OnceLock<ServiceContext> = OnceLock::new();
static OUTCOME: OnceLock<Exit> = OnceLock::new();

define_windows_service!(ffi_service_main, service_main);

/// The Windows API error inside `e`, said with its number.
fn why(e: &windows_service::Error) -> String {
    match e {
        windows_service::Error::Winapi(io) => io.to_string(),
        other => other.to_string(),
    }
}

fn os_error(e: &windows_service::Error) -> Option<i32> {
    match e {
        windows_service::Error::Winapi(io) => io.raw_os_error(),
        _ => None,
    }
}

/// Started by the service manager: serve it until the service stops, and
/// return its outcome. `None`: started from a console, run there.
pub fn dispatch(args: &RunArgs) -> Result<Option<Exit>> {
    let _ = CONTEXT.set(ServiceContext { runtime: tokio::runtime::Handle::current(), args: args.clone() });
    match tokio::task::block_in_place(|| service_dispatcher::start(SERVICE_NAME, ffi_service_main)) {
        Ok(()) => Ok(Some(OUTCOME.get().copied().unwrap_or(Exit::Config))),
        Err(e) if os_error(&e) == Some(ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) => Ok(None),
        Err(e) => bail!("starting as the {SERVICE_NAME} service: {}", why(&e)),
    }
}

fn status(state: ServiceState, exit: ServiceExitCode, checkpoint: u32, wait: Duration) -> ServiceStatus {
    let controls_accepted = match state {
        ServiceState::Running => ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN,
        _ => ServiceControlAccept::empty(),
    };
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted,
        exit_code: exit,
        checkpoint,
        wait_hint: wait,
        process_id: None,
    }
}

fn service_main(_arguments: Vec<OsString>) {
    let Some(ctx) = CONTEXT.get() else { return };
    let (handle, stop) = Stop::new();
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            handle.request();
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let reporter: ServiceStatusHandle = match service_control_handler::register(SERVICE_NAME, handler) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("registering with the service manager: {}", why(&e));
            return;
        }
    };
    let _ = reporter.set_service_status(status(ServiceState::Running, ServiceExitCode::NO_ERROR, 0, Duration::ZERO));
    if let Err(e) = set_own_policy() {
        tracing::warn!("{e:#}; the service runs without it");
    }
    let outcome = ctx.runtime.block_on(async {
        let pending = stop.clone();
        let signs = tokio::spawn(async move {
            pending.requested().await;
            for checkpoint in 1u32.. {
                let _ = reporter.set_service_status(status(ServiceState::StopPending, ServiceExitCode::NO_ERROR, checkpoint, STOP_WAIT_HINT));
                tokio::time::sleep(STOP_CHECKPOINT_EVERY).await;
            }
        });
        let outcome = run_with(ctx.args.clone(), stop).await;
        signs.abort();
        outcome
    });
    // A failure is reported as the service's own code, so the recovery
    // policy (set for non-crash failures too) restarts it.
    let exit = match outcome {
        // Installed a release: stopping "with an error" makes the recovery
        // policy start the service again, on the new binary.
        Ok(_) if super::super::update::restart_requested() => {
            tracing::warn!("stopping to restart on the new release (the service manager starts it again)");
            let _ = OUTCOME.set(Exit::Ok);
            ServiceExitCode::ServiceSpecific(u32::from(Exit::Config.code()))
        }
        Ok(exit) => {
            let _ = OUTCOME.set(exit);
            ServiceExitCode::NO_ERROR
        }
        Err(e) => {
            tracing::error!("the service stopped: {e:#}");
            let _ = OUTCOME.set(Exit::Config);
            ServiceExitCode::ServiceSpecific(u32::from(Exit::Config.code()))
        }
    };
    let _ = reporter.set_service_status(status(ServiceState::Stopped, exit, 0, Duration::ZERO));
}

fn manager(access: ServiceManagerAccess) -> Result<ServiceManager> {
    ServiceManager::local_computer(None::<&str>, access).map_err(|e| {
        anyhow::anyhow!("opening the service manager: {}; run this as an administrator (or SYSTEM, as RMMs do)", why(&e))
    })
}

fn open(access: ServiceAccess) -> Result<windows_service::service::Service> {
    manager(ServiceManagerAccess::CONNECT)?.open_service(SERVICE_NAME, access).map_err(|e| match os_error(&e) {
        Some(ERROR_SERVICE_DOES_NOT_EXIST) => {
            anyhow::anyhow!("the {SERVICE_NAME} service is not installed; `plumbline service install --config FILE` installs it")
        }
        _ => anyhow::anyhow!("opening the {SERVICE_NAME} service: {}; run this as an administrator", why(&e)),
    })
}

/// What the MSI could not set (see the module's notes): the delayed start
/// and the recovery policy.
fn set_own_policy() -> Result<()> {
    let service = open(ServiceAccess::CHANGE_CONFIG | ServiceAccess::START)?;
    unless_unknown(service.set_delayed_auto_start(true), "delayed automatic start")?;
    apply_recovery_policy(&service)
}

/// `result`, except that a setting this service manager does not know is a
/// warning: the service works without it (wine's manager lacks some).
fn unless_unknown(result: windows_service::Result<()>, what: &str) -> Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if os_error(&e) == Some(ERROR_INVALID_LEVEL) => {
            eprintln!("plumbline: warning: this service manager does not know {what} ({}); the service runs without it", why(&e));
            Ok(())
        }
        Err(e) => bail!("setting {what}: {}", why(&e)),
    }
}

/// Three restarts a minute apart, the count reset after a day, for
/// failures that are not crashes too (the service stopping with an error).
fn apply_recovery_policy(service: &windows_service::service::Service) -> Result<()> {
    let actions = vec![ServiceAction { action_type: ServiceActionType::Restart, delay: RESTART_DELAY }; RESTARTS];
    service
        .update_failure_actions(ServiceFailureActions {
            reset_period: ServiceFailureResetPeriod::After(FAILURE_RESET),
            reboot_msg: None,
            command: None,
            actions: Some(actions),
        })
        .map_err(|e| anyhow::anyhow!("setting the service's recovery policy: {}", why(&e)))?;
    unless_unknown(service.set_failure_actions_on_non_crash_failures(true), "the recovery policy for non-crash failures")
}

/// `service install`.
pub fn install(args: InstallArgs) -> Result<Exit> {
    if args.root.is_some() {
        bail!("--root is for Linux (systemd units below a directory); on Windows the service is registered with the service manager");
    }
    let config_path = super::absolute_config(args.config)?;
    // Checked first: a config that does not load installs nothing.
    let config = Config::load(&config_path)?;
    let binary = match args.binary {
        Some(b) => std::path::absolute(b).context("making --binary absolute")?,
        None => std::env::current_exe().context("finding this plumbline.exe; pass --binary PATH")?,
    };
    let info = ServiceInfo {
        name: SERVICE_NAME.into(),
        display_name: DISPLAY_NAME.into(),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: binary.clone(),
        launch_arguments: vec!["service".into(), "run".into(), "--config".into(), config_path.clone().into_os_string()],
        dependencies: vec![],
        // LocalSystem.
        account_name: None,
        account_password: None,
    };
    let access = ServiceAccess::CHANGE_CONFIG | ServiceAccess::START | ServiceAccess::QUERY_STATUS;
    let scm = manager(ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE)?;
    // Installed already (an RMM policy applied again): brought up to date.
    let (service, existed) = match scm.create_service(&info, access) {
        Ok(service) => (service, false),
        Err(e) if os_error(&e) == Some(ERROR_SERVICE_EXISTS) => {
            let service = open(access)?;
            service.change_config(&info).map_err(|e| anyhow::anyhow!("updating the {SERVICE_NAME} service: {}", why(&e)))?;
            (service, true)
        }
        Err(e) => bail!("creating the {SERVICE_NAME} service: {}; run this as an administrator", why(&e)),
    };
    if let Err(e) = service.set_description(DESCRIPTION) {
        tracing::warn!("setting the service's description: {}", why(&e));
    }
    unless_unknown(service.set_delayed_auto_start(true), "delayed automatic start")?;
    apply_recovery_policy(&service)?;
    outln!(
        "{} the {SERVICE_NAME} service: {} service run --config {} as LocalSystem, delayed automatic start, \
         {RESTARTS} restarts after a failure",
        if existed { "updated" } else { "installed" },
        binary.display(),
        config_path.display()
    )?;
    let running = service.query_status().is_ok_and(|s| s.current_state != ServiceState::Stopped);
    if args.no_start {
        outln!("not started; `plumbline service start` starts it")?;
    } else if running {
        outln!("it is running; the new settings apply from its next start (`plumbline service stop`, then start)")?;
    } else {
        service.start(&[] as &[&OsStr]).map_err(|e| anyhow::anyhow!("starting the service: {}", why(&e)))?;
        outln!(
            "started: it scans every {} (UTC steps)",
            plumbline_agent::config::format_duration(config.schedule.every)
        )?;
    }
    Ok(Exit::Ok)
}

/// `service uninstall`: stopped, then deleted; the spool, keys and config stay.
pub fn uninstall(_args: UnitArgs) -> Result<Exit> {
    let service = match open(ServiceAccess::STOP | ServiceAccess::DELETE | ServiceAccess::QUERY_STATUS) {
        Ok(s) => s,
        Err(e) if e.to_string().contains("is not installed") => {
            outln!("not installed: there is no {SERVICE_NAME} service")?;
            return Ok(Exit::Ok);
        }
        Err(e) => return Err(e),
    };
    let running = service.query_status().map(|s| s.current_state != ServiceState::Stopped).unwrap_or(false);
    if running {
        let _ = service.stop();
        outln!("stop requested; the plugin calls in progress finish first")?;
    }
    service.delete().map_err(|e| anyhow::anyhow!("deleting the service: {}", why(&e)))?;
    outln!("removed the {SERVICE_NAME} service (it goes once it has stopped)")?;
    outln!("the spool, the keys and the config are kept; delete them by hand if this agent is gone for good")?;
    Ok(Exit::Ok)
}

/// `service start`.
pub fn start(_args: UnitArgs) -> Result<Exit> {
    open(ServiceAccess::START)?.start(&[] as &[&OsStr]).map_err(|e| anyhow::anyhow!("starting the service: {}", why(&e)))?;
    outln!("{SERVICE_NAME} started")?;
    Ok(Exit::Ok)
}

/// `service stop`.
pub fn stop(_args: UnitArgs) -> Result<Exit> {
    open(ServiceAccess::STOP)?.stop().map_err(|e| anyhow::anyhow!("stopping the service: {}", why(&e)))?;
    outln!("stop requested: the plugin calls in progress finish and their results are spooled, then {SERVICE_NAME} stops")?;
    Ok(Exit::Ok)
}

/// `service status`: the manager's view, and the last run.
pub fn status_command(args: UnitArgs) -> Result<Exit> {
    let service = open(ServiceAccess::QUERY_STATUS | ServiceAccess::QUERY_CONFIG)?;
    let now = service.query_status().map_err(|e| anyhow::anyhow!("querying the service: {}", why(&e)))?;
    outln!("service:    {SERVICE_NAME}")?;
    outln!("state:      {:?}", now.current_state)?;
    if let Ok(config) = service.query_config() {
        outln!("start:      {:?}", config.start_type)?;
        outln!("command:    {}", config.executable_path.display())?;
        outln!("account:    {}", config.account_name.as_deref().map_or("LocalSystem".into(), |a| a.to_string_lossy()))?;
    }
    match service.get_failure_actions() {
        Ok(f) => {
            let restarts = f.actions.unwrap_or_default().iter().filter(|a| a.action_type == ServiceActionType::Restart).count();
            let reset = match f.reset_period {
                ServiceFailureResetPeriod::Never => "never".to_string(),
                ServiceFailureResetPeriod::After(d) => format!("after {} s", d.as_secs()),
            };
            outln!("recovery:   {restarts} restarts after a failure, count reset {reset}")?;
        }
        Err(e) => outln!("recovery:   unknown ({})", why(&e))?,
    }
    if let Some(config) = super::super::loaded_config(args.config)? {
        match state::load(&config.delivery.spool_dir)? {
            Some(run) => {
                outln!("last run:   {}", run.scan.map(|s| s.finished_at).unwrap_or_else(|| "none".into()))?;
                outln!("next scan:  {}", run.next_scan_at.unwrap_or_else(|| "not yet known".into()))?;
            }
            None => outln!("last run:   none recorded yet")?,
        }
        if let Some(watching) = plumbline_agent::service::watch::record::WatchRecord::load(&config.delivery.spool_dir) {
            for line in watching.lines() {
                outln!("{line}")?;
            }
        }
    }
    Ok(if now.current_state == ServiceState::Running { Exit::Ok } else { Exit::Flagged })
}
