//! Fitting text to a terminal: a table's columns shrunk widest first (and
//! the least needed dropped when even that is too wide), and a fix wrapped
//! between words without ever breaking a command someone will paste.

use console::measure_text_width as width;
use std::fmt::Write as _;

/// Between two columns.
const GAP: &str = "  ";

/// One column of a [`grid`].
pub struct Column {
    /// Its header.
    pub header: &'static str,
    /// The narrowest its cells may be cut to (names, keys), below which a
    /// cut name no longer says which it is; `None` for dates and states,
    /// which are short and lose their meaning cut.
    pub min: Option<usize>,
    /// The order it goes in when the shrunk table is still too wide: 1
    /// first; `None` never.
    pub drop: Option<u8>,
}

/// `s` cut to at most `max` columns, ending in `…` when cut.
pub fn cut(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    for ch in s.chars() {
        if width(&out) + width(ch.encode_utf8(&mut [0; 4])) + 1 > max {
            break;
        }
        out.push(ch);
    }
    out.push('…');
    out
}

/// The widths `columns` get in `total` columns (`None`: as wide as their
/// widest cell), and which of them are shown at all.
fn layout(columns: &[Column], natural: &[usize], total: Option<usize>) -> Vec<Option<usize>> {
    let mut widths: Vec<Option<usize>> = natural.iter().map(|&w| Some(w)).collect();
    let Some(total) = total else { return widths };
    let used = |widths: &[Option<usize>]| {
        let shown: Vec<usize> = widths.iter().flatten().copied().collect();
        shown.iter().sum::<usize>() + GAP.len() * shown.len().saturating_sub(1)
    };
    let floor = |i: usize| columns[i].min.map_or(natural[i], |m| m.max(columns[i].header.len()).min(natural[i]));
    loop {
        // Shrink the column with the most room above its floor, a column
        // at a time, so that the cut is shared and a name keeps more than
        // an owner's address.
        while used(&widths) > total {
            let widest = (0..columns.len())
                .filter(|&i| widths[i].is_some_and(|w| w > floor(i)))
                .max_by_key(|&i| widths[i].unwrap_or(0) - floor(i));
            match widest {
                Some(i) => widths[i] = widths[i].map(|w| w - 1),
                None => break,
            }
        }
        if used(&widths) <= total {
            return widths;
        }
        let next = (0..columns.len()).filter(|&i| widths[i].is_some()).filter_map(|i| columns[i].drop.map(|d| (d, i))).min();
        match next {
            Some((_, i)) => {
                widths[i] = None;
                // What was cut may come back in the room the drop left.
                for (j, w) in widths.iter_mut().enumerate() {
                    if w.is_some() {
                        *w = Some(natural[j]);
                    }
                }
            }
            None => return widths,
        }
    }
}

/// `rows` under `columns`, aligned, fitted to `total` columns.
pub fn grid(out: &mut String, columns: &[Column], rows: &[Vec<String>], total: Option<usize>) {
    let natural: Vec<usize> = (0..columns.len())
        .map(|i| rows.iter().map(|r| width(&r[i])).chain([width(columns[i].header)]).max().unwrap_or(0))
        .collect();
    let widths = layout(columns, &natural, total);
    let line = |cells: Vec<&str>| {
        let shown: Vec<String> = cells
            .iter()
            .zip(&widths)
            .filter_map(|(c, w)| w.map(|w| (cut(c, w), w)))
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(width(&c)))))
            .collect();
        shown.join(GAP).trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(columns.iter().map(|c| c.header).collect()));
    for r in rows {
        let _ = writeln!(out, "{}", line(r.iter().map(String::as_str).collect()));
    }
}

/// Whether `word` starts a command: a PowerShell cmdlet (`Set-InboundConnector`).
fn is_cmdlet(word: &str) -> bool {
    let word = word.trim_start_matches(['(', '`', '"', '\'']);
    let Some((verb, noun)) = word.split_once('-') else { return false };
    let capitalised = |s: &str| s.starts_with(|c: char| c.is_ascii_uppercase()) && s.chars().all(|c| c.is_ascii_alphanumeric());
    capitalised(verb) && capitalised(noun) && verb.len() >= 3 && noun.len() >= 2
}

/// Where a cmdlet's text stands after a word: inside `<placeholders>` and
/// quotes a full stop ends nothing (`'<subject, e.g. mail.contoso.com>'`).
#[derive(Default)]
struct Command {
    /// `<` not yet closed.
    angles: i32,
    /// Inside a single-quoted string.
    quoted: bool,
    /// `(` opened since the cmdlet began; below 0 when a `)` closes one
    /// opened before it, which ends the command.
    parens: i32,
    /// The command is itself in parentheses: its `)` ends it.
    in_parens: bool,
}

impl Command {
    /// Take `word`; whether the command ends with it.
    fn ends_with(&mut self, word: &str) -> bool {
        for c in word.chars() {
            match c {
                '<' if !self.quoted => self.angles += 1,
                '>' if !self.quoted => self.angles -= 1,
                '\'' if self.angles <= 0 => self.quoted = !self.quoted,
                '(' if !self.quoted && self.angles <= 0 => self.parens += 1,
                ')' if !self.quoted && self.angles <= 0 => self.parens -= 1,
                _ => {}
            }
        }
        if self.quoted || self.angles > 0 {
            return false;
        }
        let abbreviation = matches!(word, "e.g." | "i.e." | "etc.");
        if self.in_parens {
            return self.parens <= 0;
        }
        self.parens < 0 || (self.parens == 0 && word.ends_with(['.', ';']) && !abbreviation)
    }
}

/// `text` split into what may not be broken: single words, and whole
/// commands, a backtick span or a cmdlet to the end of its sentence.
fn units(text: &str) -> Vec<String> {
    let mut units: Vec<String> = Vec::new();
    // The command being gathered, and (for a cmdlet) where its text stands.
    let mut open: Option<(String, Option<Command>)> = None;
    for word in text.split_whitespace() {
        if let Some((unit, state)) = open.as_mut() {
            unit.push(' ');
            unit.push_str(word);
            let ends = match state {
                Some(command) => command.ends_with(word),
                None => word.contains('`'),
            };
            if ends {
                units.extend(open.take().map(|(unit, _)| unit));
            }
            continue;
        }
        let ticks = word.matches('`').count();
        if ticks % 2 == 1 {
            open = Some((word.to_string(), None));
        } else if ticks == 0 && is_cmdlet(word) {
            let in_parens = word.starts_with('(');
            let mut command = Command { parens: i32::from(in_parens), in_parens, ..Command::default() };
            if command.ends_with(word.trim_start_matches('(')) {
                units.push(word.to_string());
            } else {
                open = Some((word.to_string(), Some(command)));
            }
        } else {
            units.push(word.to_string());
        }
    }
    units.extend(open.map(|(unit, _)| unit));
    units
}

/// `text` as lines of at most `max` columns, broken only between
/// [`units`]; a command longer than a line gets a line of its own, whole.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for unit in units(text) {
        if !line.is_empty() && width(&line) + 1 + width(&unit) > max {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&unit);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_never_broken() {
        let fix = "If nobody can account for this connector, disable it now: Set-InboundConnector -Identity \
                   'eFax Relay Service' -Enabled $false. Otherwise replace the wildcard with the partner's domains.";
        let lines = wrap(fix, 40);
        assert!(lines.iter().any(|l| l.contains("Set-InboundConnector -Identity 'eFax Relay Service' -Enabled $false.")), "{lines:#?}");
        assert!(lines.iter().filter(|l| !l.contains("Set-")).all(|l| width(l) <= 40), "{lines:#?}");
        assert_eq!(lines.join(" "), fix.split_whitespace().collect::<Vec<_>>().join(" "), "nothing lost");
        let ticks = wrap("give it an owner with `Set-AdminFlowOwnerRole -FlowName 'x' -RoleName CanEdit` today", 20);
        assert!(ticks.iter().any(|l| l == "`Set-AdminFlowOwnerRole -FlowName 'x' -RoleName CanEdit`"), "{ticks:#?}");
        // A semicolon ends a command as a full stop does.
        let two = wrap("Turn it off: Set-TransportConfig -SmtpClientAuthenticationDisabled $true; then allow it per mailbox", 30);
        assert!(two.contains(&"Set-TransportConfig -SmtpClientAuthenticationDisabled $true;".to_string()), "{two:#?}");
        // A placeholder's "e.g." ends nothing; a closing parenthesis opened
        // before the command ends it; so does its own.
        let placeholder = wrap(
            "Restrict it: Set-InboundConnector -Identity 'eFax' -SenderIPAddresses <the partner's IPs, e.g. \
             203.0.113.0/24>; or by certificate",
            20,
        );
        assert!(placeholder.iter().any(|l| l.ends_with("e.g. 203.0.113.0/24>;")), "{placeholder:#?}");
        let parens = wrap("(Teams admin center, or Add-TeamUser -GroupId <team id> -Role Owner), ideally the desk", 20);
        assert!(parens.contains(&"Add-TeamUser -GroupId <team id> -Role Owner),".to_string()), "{parens:#?}");
        let own = wrap("disable it at once (Set-InboundConnector -Identity 'eFax Relay' -Enabled $false), reset the", 20);
        assert!(own.contains(&"(Set-InboundConnector -Identity 'eFax Relay' -Enabled $false),".to_string()), "{own:#?}");
        assert!(!is_cmdlet("co-owner") && !is_cmdlet("Power-") && is_cmdlet("(Add-TeamUser"));
    }

    #[test]
    fn columns_shrink_widest_first_then_the_least_needed_go() {
        let columns = [
            Column { header: "NAME", min: Some(20), drop: None },
            Column { header: "WHEN", min: None, drop: Some(1) },
            Column { header: "KEY", min: Some(10), drop: None },
        ];
        let rows = vec![vec!["a".repeat(30), "2026-11-19T03:42:17Z".into(), "k".repeat(50)]];
        let mut out = String::new();
        grid(&mut out, &columns, &rows, Some(70));
        assert!(out.lines().all(|l| width(l) <= 70), "{out}");
        assert!(out.contains("2026-11-19T03:42:17Z") && out.contains(&"a".repeat(24)) && out.contains('…'), "{out}");
        assert!(out.contains(&"k".repeat(12)), "the key shrinks before the name does: {out}");
        let mut narrow = String::new();
        grid(&mut narrow, &columns, &rows, Some(40));
        assert!(!narrow.contains("WHEN") && narrow.lines().all(|l| width(l) <= 40), "{narrow}");
        let mut wide = String::new();
        grid(&mut wide, &columns, &rows, None);
        assert!(wide.contains(&"k".repeat(50)) && !wide.contains('…'), "{wide}");
        assert_eq!(cut("Contoso Dental Supply", 10), "Contoso D…");
    }
}
