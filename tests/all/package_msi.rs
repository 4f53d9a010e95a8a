//! The MSI that `scripts/package msi` builds with wixl, read back with
//! msiinfo: the files and where they go, the service it registers and
//! starts, the enrollment properties and the custom action that passes them
//! to `plumbline install`, and the major upgrade. The .exe here is a
//! stand-in (the tables do not depend on its bytes); scripts/windows-check
//! installs the real one under wine.
#![cfg(target_os = "linux")]

use crate::delivery::text;
use crate::support::Site;
use plumbline_tests::plugins;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Stays the same in every build: it is what makes a build an upgrade.
const UPGRADE_CODE: &str = "{2187E6BA-5D53-4E36-858F-81D47D3425C6}";

fn build(site: &Site) -> PathBuf {
    let exe = site.path("plumbline.exe");
    std::fs::write(&exe, b"MZ stand-in").unwrap();
    let out = site.path("out");
    let plugins = plugins::plugins_dir();
    let built = Command::new("bash")
        .arg(plugins::root().join("scripts/package"))
        .args(["msi", "--out", out.to_str().unwrap(), "--exe", exe.to_str().unwrap(), "--plugins", plugins.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(built.status.code(), Some(0), "{}", text(&built));
    let msi = out.join(format!("plumbline_{}_x64.msi", env!("CARGO_PKG_VERSION")));
    assert_eq!(String::from_utf8_lossy(&built.stdout).trim(), msi.to_str().unwrap());
    msi
}

/// One table's rows (after the three header lines), as column name to value.
fn table(msi: &Path, name: &str) -> Vec<BTreeMap<String, String>> {
    let out = Command::new("msiinfo").args(["export"]).arg(msi).arg(name).output().expect("msiinfo (Debian package msitools) runs");
    assert!(out.status.success(), "{name}: {}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let mut lines = said.lines();
    let columns: Vec<String> = lines.next().unwrap_or_default().split('\t').map(str::to_string).collect();
    lines
        .skip(2)
        .map(|l| columns.iter().cloned().zip(l.split('\t').map(str::to_string).chain(std::iter::repeat(String::new()))).collect())
        .collect()
}

fn row<'a>(rows: &'a [BTreeMap<String, String>], column: &str, value: &str) -> &'a BTreeMap<String, String> {
    rows.iter().find(|r| r[column] == value).unwrap_or_else(|| panic!("no {column} = {value} in {rows:#?}"))
}

#[test]
fn the_msi_installs_the_agent_its_plugins_and_its_service_and_upgrades_in_place() {
    let site = Site::new();
    let msi = build(&site);
    let tables = Command::new("msiinfo").arg("tables").arg(&msi).output().unwrap();
    let tables = String::from_utf8_lossy(&tables.stdout).into_owned();
    for want in ["File", "Component", "Directory", "CreateFolder", "ServiceInstall", "ServiceControl", "Property", "Upgrade", "CustomAction"] {
        assert!(tables.lines().any(|l| l.trim() == want), "{want} table:\n{tables}");
    }

    // Where everything goes: Program Files\Plumbline and ProgramData\Plumbline\{plugins,logs}.
    let dirs = table(&msi, "Directory");
    assert_eq!(row(&dirs, "Directory", "INSTALLDIR")["Directory_Parent"], "ProgramFiles64Folder");
    assert_eq!(row(&dirs, "Directory", "INSTALLDIR")["DefaultDir"], "Plumbline");
    assert_eq!(row(&dirs, "Directory", "DATADIR")["Directory_Parent"], "CommonAppDataFolder");
    assert_eq!(row(&dirs, "Directory", "PLUGINDIR")["Directory_Parent"], "DATADIR");
    let created: Vec<String> = table(&msi, "CreateFolder").iter().map(|r| r["Directory_"].clone()).collect();
    assert_eq!(created, ["DATADIR", "LOGDIR", "PLUGINDIR"]);
    let files = table(&msi, "File");
    let components = table(&msi, "Component");
    let exe = row(&files, "FileName", "plumbline.exe");
    let agent = row(&components, "Component", &exe["Component_"]);
    assert_eq!(agent["Directory_"], "INSTALLDIR");
    // 256: a 64-bit component (Program Files, not Program Files (x86)).
    assert_eq!(agent["Attributes"], "256");
    let mut wanted: Vec<String> = std::fs::read_dir(plugins::plugins_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".wasm"))
        .collect();
    wanted.sort();
    let mut shipped: Vec<String> = files.iter().filter(|f| f["FileName"].ends_with(".wasm")).map(|f| f["FileName"].clone()).collect();
    shipped.sort();
    assert_eq!(shipped, wanted, "every first-party plugin, and only those (deploy/msi/plumbline.wxs lists them)");
    for plugin in files.iter().filter(|f| f["FileName"].ends_with(".wasm")) {
        let size = std::fs::metadata(plugins::plugins_dir().join(&plugin["FileName"])).unwrap().len();
        assert_eq!(plugin["FileSize"], size.to_string(), "{plugin:?}");
        assert_eq!(row(&components, "Component", &plugin["Component_"])["Directory_"], "PLUGINDIR");
    }

    // The service: LocalSystem, automatic, own process, run with the config in ProgramData.
    let services = table(&msi, "ServiceInstall");
    let service = row(&services, "Name", "Plumbline");
    assert_eq!((service["ServiceType"].as_str(), service["StartType"].as_str()), ("16", "2"), "own process, automatic");
    assert_eq!(service["StartName"], "LocalSystem");
    assert_eq!(service["Arguments"], r#"service run --config "[CommonAppDataFolder]Plumbline\plumbline.toml""#);
    assert_eq!(service["Component_"], exe["Component_"]);
    // 1 start at install, 2 stop at install, 32 stop at uninstall, 128 delete at uninstall.
    let control = row(&table(&msi, "ServiceControl"), "Name", "Plumbline").clone();
    assert_eq!((control["Event"].as_str(), control["Wait"].as_str()), ("163", "1"));

    // The enrollment: properties to `plumbline install`, as SYSTEM, before the service starts.
    let properties = table(&msi, "Property");
    let property = |name: &str| row(&properties, "Property", name)["Value"].clone();
    let secure: Vec<String> = property("SecureCustomProperties").split(';').map(str::to_string).collect();
    for name in ["COLLECTOR_URL", "ENROLL_TOKEN", "SITE", "COLLECTOR_PIN", "PLUGIN_PUBLISHERS", "WIX_UPGRADE_DETECTED"] {
        assert!(secure.iter().any(|s| s == name), "{name} secure: {secure:?}");
    }
    assert_eq!(property("MsiHiddenProperties"), "ENROLL_TOKEN", "the token stays out of the log");
    assert_eq!(property("UpgradeCode"), UPGRADE_CODE);
    assert_eq!(property("ProductVersion"), env!("CARGO_PKG_VERSION"));
    let action = row(&table(&msi, "CustomAction"), "Action", "Enroll").clone();
    assert_eq!(action["Source"], exe["File"]);
    // 18 an .exe installed by this package, 1024 deferred, 2048 not impersonated (SYSTEM); return checked.
    assert_eq!(action["Type"], (18 + 1024 + 2048).to_string());
    for arg in [
        r#"install --collector "[COLLECTOR_URL]""#,
        r#"--token "[ENROLL_TOKEN]""#,
        r#"--site "[SITE]""#,
        r#"--pin "[COLLECTOR_PIN]""#,
        r#"--plugin-publishers "[PLUGIN_PUBLISHERS]""#,
        r#"--config "[CommonAppDataFolder]Plumbline\plumbline.toml""#,
        "--no-service",
    ] {
        assert!(action["Target"].contains(arg), "{arg} in {}", action["Target"]);
    }
    let sequence = table(&msi, "InstallExecuteSequence");
    let at = |action: &str| row(&sequence, "Action", action)["Sequence"].parse::<u32>().unwrap();
    assert!(at("InstallFiles") < at("Enroll") && at("Enroll") < at("StartServices"), "{sequence:#?}");
    assert_eq!(row(&sequence, "Action", "Enroll")["Condition"], r#"COLLECTOR_URL AND NOT REMOVE~="ALL""#);
    assert!(at("RemoveExistingProducts") < at("InstallInitialize"), "the old version goes first: {sequence:#?}");
    let launch = table(&msi, "LaunchCondition");
    assert!(launch.iter().any(|c| c["Condition"] == "Installed OR WIX_UPGRADE_DETECTED OR COLLECTOR_URL"), "{launch:#?}");

    // The major upgrade: any older version with this UpgradeCode is replaced; a newer one refuses.
    let upgrade = table(&msi, "Upgrade");
    assert!(upgrade.iter().all(|u| u["UpgradeCode"] == UPGRADE_CODE), "{upgrade:#?}");
    let older = row(&upgrade, "ActionProperty", "WIX_UPGRADE_DETECTED");
    assert_eq!((older["VersionMin"].as_str(), older["VersionMax"].as_str()), ("", env!("CARGO_PKG_VERSION")));
    assert_eq!(row(&upgrade, "ActionProperty", "WIX_DOWNGRADE_DETECTED")["VersionMin"], env!("CARGO_PKG_VERSION"));
    assert!(launch.iter().any(|c| c["Condition"] == "NOT WIX_DOWNGRADE_DETECTED"), "{launch:#?}");
}

#[test]
fn the_msi_refuses_an_exe_that_is_not_there() {
    let site = Site::new();
    let out = site.path("out");
    let built = Command::new("bash")
        .arg(plugins::root().join("scripts/package"))
        .args(["msi", "--out", out.to_str().unwrap(), "--exe", site.path("nope.exe").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(built.status.code(), Some(2), "{}", text(&built));
    assert!(text(&built).contains("nope.exe is not a file"), "{}", text(&built));
    assert!(!out.exists());
}
