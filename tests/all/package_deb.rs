//! The .deb that `scripts/package deb` builds, from the agent binary this
//! test run built (uncompressed, to stay fast), installed, removed and
//! purged by the real dpkg into a private root (`dpkg --root` with the
//! maintainer scripts run chrootless, as image builders do): never into /.
//! Its units are the agent's own and pass `systemd-analyze verify`; the
//! timers are enabled offline by its postinst; removal keeps the agent's
//! state and purge deletes it.
#![cfg(target_os = "linux")]

use crate::delivery::text;
use crate::support::Site;
use plumbline_tests::plugins;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNITS: [&str; 4] = ["plumbline.service", "plumbline-flush.service", "plumbline.timer", "plumbline-flush.timer"];

fn package(site: &Site, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(plugins::root().join("scripts/package"))
        .args(args)
        .env("CARGO_TARGET_DIR", site.path("target"))
        .output()
        .expect("bash runs")
}

/// The .deb, built from this run's binary and plugins.
fn build(site: &Site) -> PathBuf {
    let out = site.path("out");
    let binary = env!("CARGO_BIN_EXE_plumbline");
    let plugins = plugins::plugins_dir();
    let args = ["deb", "--out", out.to_str().unwrap(), "--binary", binary, "--plugins", plugins.to_str().unwrap(), "--compress", "none"];
    let built = package(site, &args);
    assert_eq!(built.status.code(), Some(0), "{}", text(&built));
    let deb = out.join(format!("plumbline_{}_amd64.deb", env!("CARGO_PKG_VERSION")));
    assert_eq!(String::from_utf8_lossy(&built.stdout).trim(), deb.to_str().unwrap(), "it prints the package's path");
    deb
}

/// An empty dpkg database below `root`: what `dpkg --root` needs.
fn private_root(root: &Path) {
    let admin = root.join("var/lib/dpkg");
    for dir in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(admin.join(dir)).unwrap();
    }
    std::fs::write(admin.join("status"), "").unwrap();
    std::fs::write(admin.join("available"), "").unwrap();
}

/// `dpkg --root ROOT ACTION`: the maintainer scripts see `DPKG_ROOT`. The
/// root has no libc6 in its database, hence --force-depends.
fn dpkg(root: &Path, action: &[&str]) -> Output {
    Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args(["--force-script-chrootless", "--force-depends", "--log=/dev/null"])
        .args(action)
        .output()
        .expect("dpkg runs")
}

fn dpkg_deb(what: &str, deb: &Path) -> String {
    let out = Command::new("dpkg-deb").arg(what).arg(deb).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn status(root: &Path) -> String {
    let out = Command::new("dpkg-query").arg(format!("--admindir={}", root.join("var/lib/dpkg").display())).args(["-W", "-f=${Status}", "plumbline"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

#[test]
fn the_deb_installs_its_units_and_plugins_and_remove_keeps_the_state_that_purge_deletes() {
    let site = Site::new();
    let deb = build(&site);

    let info = dpkg_deb("--info", &deb);
    for want in ["Package: plumbline\n", &format!("Version: {}\n", env!("CARGO_PKG_VERSION")), "Architecture: amd64\n", "Depends: libc6 (>= 2."] {
        assert!(info.contains(want), "{want}:\n{info}");
    }
    for script in ["postinst", "prerm", "postrm", "conffiles"] {
        assert!(info.lines().any(|l| l.split_whitespace().any(|w| w == script)), "{script} in:\n{info}");
    }
    let contents = dpkg_deb("--contents", &deb);
    let mut want: Vec<String> = ["./usr/bin/plumbline", "./etc/plumbline/plumbline.sample.toml"].map(String::from).to_vec();
    want.extend(UNITS.map(|u| format!("./usr/lib/systemd/system/{u}")));
    let mut shipped_plugins = Vec::new();
    for entry in std::fs::read_dir(plugins::plugins_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".wasm") {
            want.push(format!("./var/lib/plumbline/plugins/{name}"));
            shipped_plugins.push(name);
        }
    }
    assert_eq!(shipped_plugins.len(), 5, "the five first-party plugins: {shipped_plugins:?}");
    for path in &want {
        assert!(contents.lines().any(|l| l.ends_with(&format!(" {path}"))), "{path} missing:\n{contents}");
    }
    assert!(contents.lines().any(|l| l.starts_with("-rwxr-xr-x root/root") && l.ends_with(" ./usr/bin/plumbline")), "{contents}");
    assert!(contents.lines().any(|l| l.starts_with("drwx------ root/root") && l.ends_with(" ./var/lib/plumbline/")), "{contents}");
    assert!(!contents.contains("./etc/plumbline/plumbline.toml"), "the live config is enrollment's to write: {contents}");

    let root = site.path("root");
    private_root(&root);
    let out = dpkg(&root, &["--install", deb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(status(&root), "install ok installed");
    let installed = root.join("usr/bin/plumbline");
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("plumbline {}", env!("CARGO_PKG_VERSION")));
    for name in &shipped_plugins {
        let shipped = std::fs::read(root.join("var/lib/plumbline/plugins").join(name)).unwrap();
        assert_eq!(shipped, std::fs::read(plugins::plugin(name.trim_end_matches(".wasm"))).unwrap(), "{name}");
    }

    // The units are the agent's own, for the installed paths, and valid.
    let unit_dir = root.join("usr/lib/systemd/system");
    let generated = site.path("generated");
    let made = site.run(&["service", "units", "--dir", generated.to_str().unwrap(), "--binary", "/usr/bin/plumbline", "--config", "/etc/plumbline/plumbline.toml"]);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made));
    let service = std::fs::read_to_string(unit_dir.join("plumbline.service")).unwrap();
    assert!(service.contains("ExecStart=/usr/bin/plumbline service run --once --config /etc/plumbline/plumbline.toml\n"), "{service}");
    assert!(std::fs::read_to_string(unit_dir.join("plumbline.timer")).unwrap().contains("Persistent=true\n"));
    let check = site.path("verify");
    std::fs::create_dir_all(&check).unwrap();
    let mut checked = Vec::new();
    for unit in UNITS {
        let packaged = std::fs::read_to_string(unit_dir.join(unit)).unwrap();
        assert_eq!(packaged, std::fs::read_to_string(generated.join(unit)).unwrap(), "{unit} is the generator's");
        // verify also checks that ExecStart exists: the root's copy stands in for /usr/bin/plumbline.
        std::fs::write(check.join(unit), packaged.replace("/usr/bin/plumbline", installed.to_str().unwrap())).unwrap();
        checked.push(check.join(unit));
    }
    let verify = Command::new("systemd-analyze").arg("verify").args(&checked).output().unwrap();
    let said: Vec<String> = text(&verify)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("non-existent unit timers.target"))
        .map(str::to_string)
        .collect();
    assert!(verify.status.success() && said.is_empty(), "systemd-analyze verify: {said:#?}");

    // The postinst enabled both timers offline, for the root's own boot.
    let wants = root.join("etc/systemd/system/timers.target.wants");
    for timer in ["plumbline.timer", "plumbline-flush.timer"] {
        assert!(exists(&wants.join(timer)), "{timer} enabled: {}", text(&out));
    }

    // Enrolled later (here: its config, key and a unit set `plumbline install` would write).
    let state = root.join("var/lib/plumbline");
    std::fs::create_dir_all(state.join("keys")).unwrap();
    std::fs::write(state.join("keys/agent.key"), "key").unwrap();
    std::fs::create_dir_all(root.join("var/cache/plumbline")).unwrap();
    let config = root.join("etc/plumbline/plumbline.toml");
    std::fs::write(&config, "tenant_id = 't'\nsite_id = 's'\n").unwrap();
    let wrote = Command::new(&installed)
        .args(["service", "install", "--no-start", "--binary", "/usr/bin/plumbline", "--root", root.to_str().unwrap(), "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(wrote.status.code(), Some(0), "{}", text(&wrote));
    assert!(root.join("etc/systemd/system/plumbline.service").is_file());

    // remove: the program, its plugins and every unit go, the timers are
    // disabled; the key, the config and the sample (a conffile) stay.
    let out = dpkg(&root, &["--remove", "plumbline"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(status(&root), "deinstall ok config-files");
    assert!(!installed.exists() && !state.join("plugins").exists(), "{}", text(&out));
    for unit in UNITS {
        assert!(!exists(&unit_dir.join(unit)) && !exists(&root.join("etc/systemd/system").join(unit)), "{unit}: {}", text(&out));
    }
    assert!(!exists(&wants.join("plumbline.timer")) && !exists(&wants.join("plumbline-flush.timer")), "{}", text(&out));
    assert!(state.join("keys/agent.key").is_file() && config.is_file(), "remove keeps the state: {}", text(&out));
    assert!(root.join("etc/plumbline/plumbline.sample.toml").is_file());

    // purge: the state and the config go too.
    let out = dpkg(&root, &["--purge", "plumbline"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(status(&root), "", "{}", text(&out));
    for gone in ["var/lib/plumbline", "var/cache/plumbline", "etc/plumbline"] {
        assert!(!exists(&root.join(gone)), "{gone} is still there: {}", text(&out));
    }
}

#[test]
fn package_refuses_what_it_cannot_use_and_builds_nothing() {
    let site = Site::new();
    let out_dir = site.path("out");
    let out = out_dir.to_str().unwrap();
    let missing = site.path("no-such-plumbline");
    let out_put = package(&site, &["deb", "--out", out, "--binary", missing.to_str().unwrap()]);
    assert_eq!(out_put.status.code(), Some(2), "{}", text(&out_put));
    assert!(text(&out_put).contains("is not a file"), "{}", text(&out_put));
    let empty = site.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let binary = env!("CARGO_BIN_EXE_plumbline");
    let no_plugins = package(&site, &["deb", "--out", out, "--binary", binary, "--plugins", empty.to_str().unwrap()]);
    assert_eq!(no_plugins.status.code(), Some(2), "{}", text(&no_plugins));
    assert!(text(&no_plugins).contains("holds no NAME.wasm"), "{}", text(&no_plugins));
    let bad = package(&site, &["deb", "--compress", "zstd-19"]);
    assert!(bad.status.code() == Some(2) && text(&bad).contains("give xz, gzip or none"), "{}", text(&bad));
    assert!(!out_dir.exists(), "nothing was built");

    // The agent's unit writer wants the installed system's absolute paths.
    let units = site.run(&["service", "units", "--dir", site.path("u").to_str().unwrap(), "--binary", "plumbline", "--config", "/etc/plumbline/plumbline.toml"]);
    assert_eq!(units.status.code(), Some(2), "{}", text(&units));
    assert!(text(&units).contains("--binary plumbline must be an absolute path"), "{}", text(&units));
    assert!(!site.path("u").exists());
}
