//! The plugins' reference page (`docs/plugins.md`): each plugin's settings,
//! permissions and capabilities, written from what it declares in
//! `describe()` (`plumbline plugins docs`), so that the page cannot drift
//! from the code; a test compares the committed page with a fresh one.

use crate::runtime::Description;
use std::fmt::Write as _;

/// The line after which the page is written by hand (the guide for plugin
/// authors): `plumbline plugins docs --out` keeps what follows it, and the
/// staleness test compares only what precedes it.
pub const HAND_WRITTEN: &str = "<!-- Written by hand below this line; `plumbline plugins docs --out` keeps it. -->";

/// The generated part of `page`: everything before [`HAND_WRITTEN`].
pub fn generated_part(page: &str) -> &str {
    page.split_once(HAND_WRITTEN).map_or(page, |(generated, _)| generated)
}

/// `fresh`, followed by the hand-written part of `old` (if it has one).
pub fn keeping_hand_written(fresh: &str, old: &str) -> String {
    match old.split_once(HAND_WRITTEN) {
        Some((_, hand)) => format!("{}\n\n{HAND_WRITTEN}{hand}", fresh.trim_end()),
        None => fresh.to_string(),
    }
}

/// A table cell: plugin text is the plugin's, so nothing in it may end the
/// cell or the row.
fn cell(text: &str) -> String {
    plumbline_protocol::cells::printable(text).replace('|', "\\|")
}

/// The page for `plugins`, in the order given.
pub fn markdown(plugins: &[Description]) -> String {
    let mut out = String::from(
        "# Plugin reference\n\n\
         Written by `plumbline plugins docs --dir target/plugins --out docs/plugins.md` from what each plugin \
         declares; do not edit it by hand down to the guide for plugin authors at the end. Settings go under \
         `[plugins.NAME.settings]` in the agent's config (a key not listed here is refused, with a \"did you \
         mean\"); grants under `[plugins.NAME.grants]`.\n",
    );
    for d in plugins {
        let _ = write!(
            out,
            "\n## {}\n\n{}\n\n- version {}, contract {}\n- categories: {}\n",
            cell(&d.name),
            cell(&d.description),
            cell(&d.version),
            d.contract,
            d.categories.iter().map(|c| format!("`{}`", cell(c))).collect::<Vec<_>>().join(", ")
        );
        let asks: Vec<String> = d
            .declared
            .http_hosts
            .iter()
            .map(|h| format!("HTTPS to `{}`", cell(h)))
            .chain(d.declared.tcp_targets.iter().map(|(h, ports)| {
                let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
                format!("TCP to `{}` ports {}", cell(h), ports.join(","))
            }))
            .chain(d.declared.file_dirs.iter().map(|f| format!("files under `{}`", cell(f))))
            .collect();
        let _ = writeln!(out, "- asks for: {}", if asks.is_empty() { "nothing".to_string() } else { asks.join("; ") });
        if !d.watch.is_empty() {
            let _ = writeln!(out, "- rescans when these change: {}", d.watch.iter().map(|w| cell(w)).collect::<Vec<_>>().join(", "));
        }
        if d.settings.is_empty() {
            let _ = writeln!(out, "\nSettings: none declared.");
        } else {
            let _ = writeln!(out, "\n| setting | kind | default | what it does |\n|---|---|---|---|");
            for s in &d.settings {
                let default = match (&s.default, s.required) {
                    (_, true) => "(required)".to_string(),
                    (Some(v), _) => format!("`{}`", cell(v)),
                    (None, _) => "-".to_string(),
                };
                let _ = writeln!(out, "| `{}` | {} | {default} | {} |", cell(&s.name), cell(&s.kind.label()), cell(&s.doc));
            }
        }
        if d.permissions.is_empty() {
            let _ = writeln!(out, "\nMicrosoft 365 permissions: none.");
        } else {
            let _ = writeln!(out, "\n| Microsoft 365 permission | API | why |\n|---|---|---|");
            for p in &d.permissions {
                let via = p.credential_setting.as_ref().map(|s| format!(" (token of the profile in `{}`)", cell(s))).unwrap_or_default();
                let _ = writeln!(out, "| `{}` | {}{via} | {} |", cell(&p.name), cell(&p.api), cell(&p.why));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hand_written_part_survives_a_regeneration() {
        let old = format!("# Plugin reference\n\nold\n\n{HAND_WRITTEN}\n\n## Starting a plugin\n");
        let page = keeping_hand_written("# Plugin reference\n\nnew\n", &old);
        assert_eq!(page, format!("# Plugin reference\n\nnew\n\n{HAND_WRITTEN}\n\n## Starting a plugin\n"));
        assert_eq!(generated_part(&page), "# Plugin reference\n\nnew\n\n");
        assert_eq!(keeping_hand_written("fresh\n", "no marker"), "fresh\n");
    }
}
