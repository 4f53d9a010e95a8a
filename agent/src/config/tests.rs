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
    assert!(g.http[0].matches("outlook.office365.com"));
    assert_eq!(g.credentials, vec!["exchange".to_string()]);
    let settings = c.settings("exchange-connectors");
    assert!(settings.contains(&("recent_days".to_string(), "30".to_string())));
    assert!(settings.contains(&("mode".to_string(), "live".to_string())));
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
