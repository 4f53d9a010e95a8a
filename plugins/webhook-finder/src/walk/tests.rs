//! Tests of the bounded walk.

use super::*;
use crate::config::Config;
use std::collections::BTreeMap;

const URL: &str = "https://contoso.webhook.office.com/webhookb2/g@t/IncomingWebhook/abc/def";

enum Node {
    Dir,
    File(Vec<u8>, bool),
    Link,
}

/// An in-memory tree; records every call.
#[derive(Default)]
struct Fake {
    nodes: BTreeMap<String, Node>,
    listed: Vec<String>,
    read: Vec<String>,
    deny: Vec<String>,
}

impl Fake {
    fn dir(mut self, p: &str) -> Self {
        self.nodes.insert(p.into(), Node::Dir);
        self
    }
    fn file(mut self, p: &str, body: impl Into<Vec<u8>>) -> Self {
        self.nodes.insert(p.into(), Node::File(body.into(), false));
        self
    }
    fn public(mut self, p: &str, body: impl Into<Vec<u8>>) -> Self {
        self.nodes.insert(p.into(), Node::File(body.into(), true));
        self
    }
    fn link(mut self, p: &str) -> Self {
        self.nodes.insert(p.into(), Node::Link);
        self
    }
}

impl Files for Fake {
    fn list_dir(&mut self, path: &str) -> Result<Vec<DirEntry>, ScanError> {
        self.listed.push(path.to_string());
        let path = path.trim_end_matches('/');
        if self.deny.iter().any(|d| d == path) {
            return Err(ScanError::Denied(format!("reading `{path}` denied: outside every granted directory")));
        }
        if !matches!(self.nodes.get(path), Some(Node::Dir)) {
            return Err(ScanError::Config(format!("{path}: not found: {path}")));
        }
        let prefix = format!("{path}/");
        Ok(self
            .nodes
            .iter()
            .filter_map(|(p, n)| {
                let name = p.strip_prefix(&prefix)?;
                (!name.contains('/')).then(|| DirEntry {
                    name: name.to_string(),
                    kind: match n {
                        Node::Dir => EntryKind::Directory,
                        Node::File(..) => EntryKind::File,
                        Node::Link => EntryKind::Other,
                    },
                    size: match n {
                        Node::File(b, _) => b.len() as u64,
                        _ => 0,
                    },
                    world_readable: matches!(n, Node::File(_, true)),
                })
            })
            .collect())
    }

    fn read(&mut self, path: &str, max_bytes: u64) -> Result<Vec<u8>, ScanError> {
        self.read.push(path.to_string());
        match self.nodes.get(path) {
            Some(Node::File(b, _)) if b.len() as u64 > max_bytes => {
                Err(ScanError::Malformed(format!("{path}: too large")))
            }
            Some(Node::File(b, _)) => Ok(b.clone()),
            Some(Node::Link) => panic!("a link was read: {path}"),
            _ => Err(ScanError::Other(format!("{path}: not a file"))),
        }
    }
}

fn config(paths: &[&str]) -> Config {
    Config {
        paths: paths.iter().map(|p| p.to_string()).collect(),
        max_depth: 12,
        max_files: 1000,
        max_dirs: 1000,
        max_file_bytes: 1024,
        max_total_bytes: 1 << 20,
        exclude: vec![".git".into(), "node_modules".into()],
    }
}

fn paths(w: &Walked) -> Vec<&str> {
    w.references.iter().map(|r| r.path.as_str()).collect()
}

#[test]
fn finds_groups_and_counts() {
    let mut fs = Fake::default()
        .dir("/s")
        .dir("/s/a")
        .file("/s/a/x.ps1", format!("# one\n$u='{URL}'\n\n$v=\"{URL}\" # again\n"))
        .public("/s/b.sh", format!("curl {URL}\ncurl {}\n", URL.replace("def", "other")));
    let w = walk(&mut fs, &config(&["/s"])).unwrap();
    assert_eq!(paths(&w), vec!["/s/b.sh", "/s/b.sh", "/s/a/x.ps1"]);
    let x = &w.references[2];
    assert_eq!((x.lines.clone(), x.occurrences, x.world_readable), (vec![2, 4], 2, false));
    assert!(w.references[0].world_readable);
    assert_eq!(w.stats.files_read, 2);
    assert_eq!(w.stats.dirs_listed, 2);
    assert!(w.gaps.is_empty());
}

#[test]
fn binaries_large_files_links_and_excluded_dirs_are_skipped() {
    let mut bin = b"\x7fELF\x02\x01\x01\x00".to_vec();
    bin.extend(URL.as_bytes());
    let big = format!("{URL}\n{}", "x".repeat(2000));
    let mut fs = Fake::default()
        .dir("/s")
        .file("/s/agent.bin", bin)
        .file("/s/big.log", big)
        .link("/s/link.ps1")
        .link("/s/linkdir")
        .dir("/s/node_modules")
        .file("/s/node_modules/x.js", URL)
        .dir("/s/.GIT")
        .file("/s/.GIT/config", URL);
    let w = walk(&mut fs, &config(&["/s"])).unwrap();
    assert!(w.references.is_empty(), "{:?}", w.references);
    assert_eq!(w.stats.skipped_binary, 1);
    assert_eq!(w.stats.skipped_large, 1);
    assert_eq!(w.stats.skipped_links, 2);
    assert_eq!(w.stats.dirs_excluded, 2);
    assert!(!fs.read.iter().any(|p| p.contains("big.log")), "large files are never read: {:?}", fs.read);
    assert!(!fs.listed.iter().any(|p| p.contains("link") || p.contains("node_modules")));
    assert!(w.gaps.is_empty(), "skipping by design is not a gap");
}

#[test]
fn depth_bound() {
    let mut fs = Fake::default()
        .dir("/s")
        .dir("/s/1")
        .dir("/s/1/2")
        .file("/s/top.ps1", URL)
        .file("/s/1/one.ps1", URL)
        .file("/s/1/2/two.ps1", URL);
    let mut c = config(&["/s"]);
    c.max_depth = 1;
    let w = walk(&mut fs, &c).unwrap();
    assert_eq!(paths(&w), vec!["/s/top.ps1", "/s/1/one.ps1"]);
    assert_eq!(w.gaps, BTreeSet::from([Gap::MaxDepth]));
    assert_eq!(w.stats.dirs_too_deep, 1);
    assert!(!fs.listed.contains(&"/s/1/2".to_string()));
    c.max_depth = 0;
    let w = walk(&mut fs, &c).unwrap();
    assert_eq!(paths(&w), vec!["/s/top.ps1"]);
}

#[test]
fn file_byte_and_dir_bounds_stop_the_walk() {
    let tree = || {
        Fake::default()
            .dir("/s")
            .dir("/s/d1")
            .dir("/s/d2")
            .file("/s/a.ps1", URL)
            .file("/s/b.ps1", URL)
            .file("/s/d1/c.ps1", URL)
            .file("/s/d2/d.ps1", URL)
    };
    let mut c = config(&["/s"]);
    c.max_files = 2;
    let mut fs = tree();
    let w = walk(&mut fs, &c).unwrap();
    assert_eq!(paths(&w), vec!["/s/a.ps1", "/s/b.ps1"]);
    assert_eq!(w.gaps, BTreeSet::from([Gap::MaxFiles]));
    assert_eq!(fs.read.len(), 2);

    let mut c = config(&["/s"]);
    c.max_total_bytes = URL.len() as u64 * 3;
    let w = walk(&mut tree(), &c).unwrap();
    assert_eq!(w.references.len(), 3);
    assert_eq!(w.gaps, BTreeSet::from([Gap::MaxTotalBytes]));
    assert!(w.stats.bytes_read <= c.max_total_bytes);

    let mut c = config(&["/s"]);
    c.max_dirs = 2;
    let w = walk(&mut tree(), &c).unwrap();
    assert_eq!(paths(&w), vec!["/s/a.ps1", "/s/b.ps1", "/s/d1/c.ps1"]);
    assert_eq!(w.gaps, BTreeSet::from([Gap::MaxDirs]));
}

#[test]
fn reference_bound() {
    let many: String = (0..MAX_REFERENCES + 5).map(|i| format!("{URL}{i}\n")).collect();
    let mut fs = Fake::default().dir("/s").file("/s/a.log", many.clone()).file("/s/b.log", many);
    let mut c = config(&["/s"]);
    c.max_file_bytes = 1 << 20;
    let w = walk(&mut fs, &c).unwrap();
    assert_eq!(w.references.len(), MAX_REFERENCES);
    assert!(w.gaps.contains(&Gap::MaxReferences));
    assert_eq!(fs.read, vec!["/s/a.log"]);
}

#[test]
fn configured_paths_must_be_listable_but_subdirectories_need_not() {
    let mut fs = Fake::default().dir("/s");
    fs.deny.push("/etc".into());
    let e = walk(&mut fs, &config(&["/s", "/etc"])).unwrap_err();
    assert!(matches!(&e, ScanError::Denied(m) if m.contains("`paths` (/etc)") && m.contains("outside every granted")), "{e:?}");
    let e = walk(&mut fs, &config(&["/nope"])).unwrap_err();
    assert!(matches!(&e, ScanError::Config(m) if m.contains("/nope") && m.contains("not found")), "{e:?}");

    let mut fs = Fake::default().dir("/s").dir("/s/locked").file("/s/z.ps1", URL);
    fs.deny.push("/s/locked".into());
    let w = walk(&mut fs, &config(&["/s"])).unwrap();
    assert_eq!(paths(&w), vec!["/s/z.ps1"]);
    assert_eq!(w.gaps, BTreeSet::from([Gap::UnreadableDirs]));
    assert!(w.notes[0].contains("/s/locked"), "{:?}", w.notes);
}

#[test]
fn overlapping_paths_are_walked_once() {
    let mut fs = Fake::default().dir("/s").dir("/s/rmm").file("/s/rmm/a.ps1", URL);
    let w = walk(&mut fs, &config(&["/s/rmm", "/s", "/s/rmm/"])).unwrap();
    assert_eq!(paths(&w), vec!["/s/rmm/a.ps1"]);
}

#[test]
fn directories_differing_in_case_are_both_walked() {
    let mut fs = Fake::default()
        .dir("/s")
        .dir("/s/A")
        .dir("/s/a")
        .file("/s/A/x.ps1", URL)
        .file("/s/a/x.ps1", URL);
    let w = walk(&mut fs, &config(&["/s"])).unwrap();
    assert_eq!(paths(&w), vec!["/s/A/x.ps1", "/s/a/x.ps1"]);
}

#[test]
fn paths_normalize() {
    assert_eq!(normalize_separators(r"C:\Scripts\\RMM\"), "C:/Scripts/RMM");
    assert_eq!(normalize_path(r"C:\Scripts\\RMM\"), "c:/scripts/rmm");
    assert_eq!(normalize_path("/srv//x/"), "/srv/x");
    assert_eq!(normalize_path("/"), "/");
}
