use super::*;
use crate::capabilities::files::open_checked;
use crate::config::{FileGrant, Grants, HttpTarget, TcpGrant};
use crate::runtime::wit::latest::plumbline::plugin::files::FileError;

fn grants(dir: &Path) -> Grants {
    Grants {
        http: vec![HttpTarget::parse_grant("outlook.office365.com").unwrap()],
        tcp: vec![TcpGrant::parse("127.0.0.0/8:25,587").unwrap()],
        files: vec![FileGrant::new(dir)],
        credentials: vec!["exchange".into()],
    }
}

fn declared() -> Declared {
    Declared {
        http_hosts: vec!["outlook.office365.com".into(), "graph.microsoft.com".into()],
        tcp_targets: vec![("*".into(), vec![25])],
        file_dirs: vec!["*".into()],
    }
}

#[test]
fn needs_both_declaration_and_grant() {
    let dir = tempfile::tempdir().unwrap();
    let p = Permissions::new("x", &declared(), &grants(dir.path()));
    assert!(p.check_http("outlook.office365.com", 443).is_ok());
    let e = p.check_http("outlook.office365.com", 8443).unwrap_err().0;
    assert!(e.contains("`outlook.office365.com:8443` denied"), "a host without a port is 443 only: {e}");
    let e = p.check_http("graph.microsoft.com", 443).unwrap_err().0;
    assert!(e.contains("not granted") && e.contains("[plugins.x.grants] http"), "{e}");
    let e = p.check_http("evil.example", 443).unwrap_err().0;
    assert!(e.contains("did not declare"), "{e}");
    let lo: IpAddr = "127.0.0.1".parse().unwrap();
    assert!(p.check_tcp_ip(lo, 25).is_ok());
    assert!(p.check_tcp_ip("::ffff:127.0.0.1".parse().unwrap(), 25).is_ok(), "mapped is IPv4");
    assert!(p.check_tcp_ip(lo, 587).is_err(), "587 granted but not declared");
    assert!(p.check_tcp_ip("10.0.0.1".parse().unwrap(), 25).is_err());
    let e = p.check_tcp_name("localhost", 25).unwrap_err().0;
    assert!(e.contains("\"localhost:25\"") && e.contains("CIDR grant covers IP literals only"), "{e}");
    assert!(p.check_credential("exchange").is_ok());
    assert!(p.check_credential("graph").is_err());
}

#[test]
fn files_stay_inside_the_grant() {
    let top = tempfile::tempdir().unwrap();
    let granted = top.path().join("granted");
    std::fs::create_dir_all(granted.join("sub")).unwrap();
    std::fs::write(granted.join("sub/ok.json"), "{}").unwrap();
    std::fs::write(top.path().join("secret.txt"), "s").unwrap();
    let p = Permissions::new("x", &declared(), &grants(&granted));
    let g = granted.to_string_lossy().to_string();

    assert!(p.resolve_file(&format!("{g}/sub/ok.json"), top.path()).is_ok());
    assert!(p.resolve_file(&format!("{g}\\sub\\ok.json"), top.path()).is_ok(), "backslashes");
    assert!(p.resolve_file("granted/sub/ok.json", top.path()).is_ok(), "relative to base");
    for bad in [
        format!("{g}/../secret.txt"),
        format!("{g}/sub/../../secret.txt"),
        top.path().join("secret.txt").to_string_lossy().to_string(),
        format!("{g}/sub/ok.json:hidden"),
        "/etc/passwd".to_string(),
    ] {
        match p.resolve_file(&bad, top.path()) {
            Err(FileDenied::Denied(m)) => assert!(m.contains("refused") && !m.contains("denied"), "{m}"),
            other => panic!("{bad}: expected denial, got {other:?}"),
        }
    }
    assert!(matches!(open_checked(&p, &format!("{g}/missing.json"), top.path()), Err(FileError::NotFound(_))));
    let (_, real) = open_checked(&p, &format!("{g}/sub/ok.json"), top.path()).unwrap();
    assert_eq!(real, std::fs::canonicalize(granted.join("sub/ok.json")).unwrap());
}

#[test]
fn a_leading_parent_is_kept_and_roots_are_never_empty() {
    assert_eq!(lexical_normalize(Path::new("../exports/x")), Path::new("../exports/x"));
    assert_eq!(lexical_normalize(Path::new("a/../../b")), Path::new("../b"));
    assert_eq!(lexical_normalize(Path::new("/a/../../b")), Path::new("/b"));
    let top = tempfile::tempdir().unwrap();
    std::fs::write(top.path().join("secret.txt"), "s").unwrap();
    // A grant of `.` beside a config given by a bare file name once became
    // the empty root, which matched every path.
    let p = Permissions::new("x", &declared(), &grants(Path::new(".")));
    assert!(p.warnings.iter().any(|w| w.contains("not an absolute path")), "{:?}", p.warnings);
    let secret = top.path().join("secret.txt").to_string_lossy().to_string();
    assert!(matches!(p.resolve_file(&secret, top.path()), Err(FileDenied::Denied(_))));
}

#[cfg(unix)]
#[test]
fn a_symlink_cannot_lead_outside() {
    let top = tempfile::tempdir().unwrap();
    let granted = top.path().join("granted");
    std::fs::create_dir_all(&granted).unwrap();
    std::fs::write(top.path().join("secret.txt"), "s").unwrap();
    std::os::unix::fs::symlink(top.path().join("secret.txt"), granted.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(top.path(), granted.join("updir")).unwrap();
    let p = Permissions::new("x", &declared(), &grants(&granted));
    for bad in ["link.txt", "updir/secret.txt"] {
        let path = granted.join(bad).to_string_lossy().to_string();
        match open_checked(&p, &path, top.path()) {
            Err(FileError::Denied(m)) => assert!(m.contains("link"), "{m}"),
            Err(other) => panic!("{bad}: expected denial, got {other:?}"),
            Ok(_) => panic!("{bad}: expected denial, got the file"),
        }
    }
}

#[test]
fn declared_directories_narrow_the_grant() {
    let top = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(top.path().join("a/b")).unwrap();
    std::fs::write(top.path().join("a/x.txt"), "x").unwrap();
    std::fs::write(top.path().join("a/b/y.txt"), "y").unwrap();
    let d = Declared {
        file_dirs: vec![top.path().join("a/b").to_string_lossy().to_string()],
        ..Declared::default()
    };
    let p = Permissions::new("x", &d, &grants(&top.path().join("a")));
    assert!(p.resolve_file(&top.path().join("a/b/y.txt").to_string_lossy(), top.path()).is_ok());
    assert!(p.resolve_file(&top.path().join("a/x.txt").to_string_lossy(), top.path()).is_err());
    let none = Permissions::new("x", &Declared::default(), &grants(&top.path().join("a")));
    assert!(none.resolve_file(&top.path().join("a/x.txt").to_string_lossy(), top.path()).is_err());
}

#[test]
fn stream_suffixes_are_spotted_but_drive_letters_are_not() {
    assert!(has_stream_suffix("C:\\data\\file.txt:secret"));
    assert!(has_stream_suffix("/data/file.txt:secret"));
    assert!(!has_stream_suffix("C:\\data\\file.txt"));
    assert!(!has_stream_suffix("\\\\?\\C:\\data\\file.txt"));
}
