//! The one integration test binary. Every test gets a fresh temp dir (a
//! [`support::Site`]); plugins are the real components built by the test
//! kit's build script, run in the real wasmtime host.

mod cli;
mod contract_v0_2;
mod credentials_check;
mod contract_versions;
mod delivery;
mod delivery_busy;
mod delivery_large;
mod end_to_end;
mod example_plugin;
mod exit_codes;
mod exchange_live;
mod exchange_offline;
mod install;
mod package_deb;
mod package_msi;
mod plugin_new;
mod plugin_replay;
mod plugin_replay_tcp;
mod plugin_signing;
mod policy;
mod power_automate_flows;
mod azure_support;
mod js_plugin;
mod python_plugin;
mod runtime_cache;
mod service;
mod service_systemd;
mod service_watch;
mod sandbox;
mod sandbox_files;
mod sandbox_network;
mod self_update;
mod smtp_relay;
mod status;
mod support;
mod teams_webhooks;
mod webhook_finder;
