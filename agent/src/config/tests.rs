use super::*;

const SAMPLE: &str = include_str!("../../../config/plumbline.sample.toml");

fn parse(text: &str) -> Result<Resolved, ConfigError> {
    Config::parse(text, Path::new("/etc/plumbline/plumbline.toml"))
}

#[test]
fn the_sample_config_parses() {
    let c = parse(SAMPLE).expect("sample config parses");
    assert_eq!(c.config.site_id, "northwind-hq");
    let g = &c.grants["exchange-connectors"];
    assert!(g.http[0].matches("outlook.office365.com", 443));
    assert_eq!(g.credentials, vec!["exchange".to_string()]);
    let settings = c.settings("exchange-connectors");
    assert!(settings.contains(&("recent_days".to_string(), "30".to_string())));
    assert!(settings.contains(&("mode".to_string(), "live".to_string())));
    assert_eq!(c.schedule.every, std::time::Duration::from_secs(6 * 3600));
    assert_eq!(c.schedule.jitter, std::time::Duration::from_secs(30 * 60));
    let test_key = include_str!("../../../tests/data/plugin-publisher-TEST.pub").trim();
    assert_eq!(c.publishers.iter().map(|k| k.to_string()).collect::<Vec<_>>(), [test_key]);
}

#[test]
fn trust_settings_are_checked_when_the_config_loads() {
    let head = "tenant_id = \"t\"\nsite_id = \"s\"\n";
    let e = parse(&format!("{head}[plugin_trust]\npublishers = [\"ed25519:AAAA\"]\n")).unwrap_err().to_string();
    assert!(e.contains("plugin_trust.publishers") && e.contains("plumbline plugin keygen"), "{e}");
    let e = parse(&format!("{head}[plugin_trust]\npublisher = []\n")).unwrap_err().to_string();
    assert!(e.contains("unknown field `publisher`"), "{e}");
    let e = parse(&format!("{head}[plugins.p]\nsha256 = \"abc\"\n")).unwrap_err().to_string();
    assert!(e.contains("plugins.p.sha256") && e.contains("64 hex digits"), "{e}");
    let pin = "AB".repeat(32);
    let c = parse(&format!("{head}[plugins.p]\nsha256 = \"{pin}\"\nallow_unsigned = true\n")).unwrap();
    let policy = c.trust("p");
    assert_eq!(policy.sha256, Some(pin.to_lowercase()), "pins are compared as inspect prints them");
    assert!(policy.allow_unsigned && policy.publishers.is_empty());
    assert!(!c.trust("absent").allow_unsigned, "signatures are required unless a section says otherwise");
}

#[test]
fn a_bad_schedule_is_a_config_error_that_shows_what_works() {
    let head = "tenant_id = \"t\"\nsite_id = \"s\"\n[schedule]\n";
    let e = parse(&format!("{head}every = \"7h\"\n")).unwrap_err().to_string();
    assert!(e.contains("/etc/plumbline/plumbline.toml") && e.contains("every = \"7h\"") && e.contains("6h, 8h"), "{e}");
    let e = parse(&format!("{head}every = \"1h\"\njitter = \"45m\"\n")).unwrap_err().to_string();
    assert!(e.contains("at most \"30m\""), "{e}");
    let e = parse(&format!("{head}evry = \"1h\"\n")).unwrap_err().to_string();
    assert!(e.contains("unknown field `evry`"), "{e}");
    let c = parse("tenant_id = \"t\"\nsite_id = \"s\"\n").unwrap();
    assert_eq!(c.schedule, Schedule::default());
}

#[test]
fn the_demo_config_parses() {
    let demo = include_str!("../../../demo/plumbline.toml");
    let c = Config::parse(demo, Path::new("demo/plumbline.toml")).expect("demo config parses");
    assert!(c.config.plugins.contains_key("exchange-connectors"));
}

#[test]
fn unknown_keys_are_errors_with_a_location() {
    let e = parse("tenant_id = \"t\"\nsite_id = \"s\"\n[plugins.x.grants]\nhttps = [\"a\"]\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `https`"), "{e}");
    assert!(e.contains("line 4"), "{e}");
}

#[test]
fn bad_grants_say_how_to_fix_them() {
    let e = parse("tenant_id = \"t\"\nsite_id = \"s\"\n[plugins.x.grants]\ntcp = [\"10.0.0.0/33:25\"]\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("plugins.x.grants.tcp") && e.contains("CIDR"), "{e}");
    let e = parse("tenant_id = \"t\"\nsite_id = \"s\"\n[plugins.x.grants]\ncredentials = [\"nope\"]\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("[credentials.nope]"), "{e}");
}

#[test]
fn credential_profiles_are_checked() {
    let base = "tenant_id = \"t\"\nsite_id = \"s\"\n[credentials.c]\nclient_id = \"x\"\nscope = \"s\"\naudience = [\"a.example\"]\n";
    let e = parse(base).unwrap_err().to_string();
    assert!(e.contains("no credential"), "{e}");
    let e = parse(&format!("{base}client_secret_env = \"X\"\ncertificate_file = \"c.pem\"\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not both"), "{e}");
    assert!(parse(&format!("{base}client_secret_env = \"X\"\n")).is_ok());
}

#[test]
fn endpoint_overrides_must_be_urls() {
    let e = parse("tenant_id = \"t\"\nsite_id = \"s\"\n[endpoints]\n\"graph.microsoft.com\" = \"127.0.0.1:80\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("graph.microsoft.com"), "{e}");
}

#[test]
fn relative_paths_follow_the_config_file() {
    let c = Config::parse(
        "tenant_id = \"t\"\nsite_id = \"s\"\nplugin_dir = \"plugins\"\n[plugins.x.grants]\nfiles = [\"exports\\\\exchange\"]\n",
        Path::new("/srv/agent/plumbline.toml"),
    )
    .unwrap();
    assert_eq!(c.plugin_dir, Path::new("/srv/agent/plugins"));
    assert_eq!(c.grants["x"].files[0].dir, Path::new("/srv/agent/exports/exchange"));
    assert_eq!(c.plugin_path("x"), Path::new("/srv/agent/plugins/x.wasm"));
}

#[test]
fn a_bare_config_name_still_gives_absolute_grants() {
    let c = Config::parse(
        "tenant_id = \"t\"\nsite_id = \"s\"\n[plugins.x.grants]\nfiles = [\".\", \"../exports\", \"x/..\"]\n",
        Path::new("plumbline.toml"),
    )
    .unwrap();
    let cwd = std::env::current_dir().unwrap();
    let files: Vec<_> = c.grants["x"].files.iter().map(|f| f.dir.clone()).collect();
    assert_eq!(files, vec![cwd.clone(), cwd.parent().unwrap().join("exports"), cwd.clone()]);
    assert!(c.base_dir.is_absolute());
}

#[test]
fn parent_paths_follow_the_config_file_not_the_working_directory() {
    let c = Config::parse(
        "tenant_id = \"t\"\nsite_id = \"s\"\nplugin_dir = \"../plugins\"\n[plugins.x.grants]\nfiles = [\"../../exports\"]\n",
        Path::new("/srv/agent/conf/plumbline.toml"),
    )
    .unwrap();
    assert_eq!(c.plugin_dir, Path::new("/srv/agent/plugins"));
    assert_eq!(c.grants["x"].files[0].dir, Path::new("/srv/exports"));
}

#[test]
fn hostile_or_loose_values_are_config_errors() {
    let head = "tenant_id = \"t\"\nsite_id = \"s\"\n";
    let cases = [
        (format!("{head}[plugins.x]\ntimeout_secs = 18446744073709551615\n"), "between 1 and 86400"),
        (format!("{head}[plugins.x]\ntimeout_secs = 0\n"), "between 1 and 86400"),
        (format!("{head}[endpoints]\n\"graph.microsoft.com\" = \"http://proxy.example:8080\"\n"), "in the clear"),
        (format!("{head}[endpoints]\n\"graph.microsoft.com\" = \"https://u:p@proxy.example\"\n"), "user name or password"),
        (format!("{head}[plugins.x.grants]\nhttp = [\"*\"]\n"), "every host"),
        (format!("{head}[plugins.x.grants]\ntcp = [\"*:25\"]\n"), "every address"),
        (
            format!("{head}[credentials.c]\nclient_id = \"x\"\nscope = \"s\"\nclient_secret_env = \"X\"\naudience = [\"*\"]\n"),
            "audience",
        ),
        (
            format!("{head}[credentials.c]\nclient_id = \"x\"\nscope = \"s\"\nclient_secret_env = \"X\"\naudience = [\"https://graph.microsoft.com/\"]\n"),
            "bare host name",
        ),
    ];
    for (text, expect) in cases {
        let e = parse(&text).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains(expect), "{expect:?} not in {e}");
    }
    assert!(parse(&format!("{head}[endpoints]\n\"graph.microsoft.com\" = \"http://127.0.0.1:8080\"\n")).is_ok());
    assert!(parse(&format!("{head}[endpoints]\n\"graph.microsoft.com\" = \"http://[::1]:8080\"\n")).is_ok());
}

#[test]
fn an_entra_tenant_id_is_kept_in_lower_case() {
    let c = parse("tenant_id = \"5F0C1A8E-2B6D-4C1E-9A77-3D2F8B41C0AA\"\nsite_id = \"s\"\n").unwrap();
    assert_eq!(c.config.tenant_id, "5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa", "as the collector keeps it");
    assert_eq!(parse("tenant_id = \"Contoso\"\nsite_id = \"s\"\n").unwrap().config.tenant_id, "Contoso");
}
