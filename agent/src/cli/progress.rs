//! How a scan's progress reaches the operator: a bar per plugin on a
//! terminal (indicatif), and on a pipe (an RMM's log) a line per plugin at
//! most every [`LINE_INTERVAL`], and its last state when the scan ends, so
//! that a long scan shows it is alive without flooding the log.

use plumbline_agent::capabilities::host_info::ProgressSink;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Between two progress lines of one plugin on a pipe: often enough that a
/// watcher sees a 20-minute scan move, rarely enough that a 100,000-step
/// plugin writes a few hundred lines, not 100,000.
pub const LINE_INTERVAL: Duration = Duration::from_secs(5);

/// One plugin's latest report.
#[derive(Default)]
struct State {
    done: u64,
    total: Option<u64>,
    what: String,
    printed: Option<Instant>,
    /// The latest report has been printed.
    current: bool,
}

fn words(name: &str, s: &State) -> String {
    match s.total {
        Some(total) => format!("plumbline: progress: {name}: {} of {total} {}", s.done, s.what),
        None => format!("plumbline: progress: {name}: {} {}", s.done, s.what),
    }
}

/// Progress for one scan: bars or lines, chosen once.
pub struct Display {
    bars: Option<indicatif::MultiProgress>,
    plugins: Mutex<BTreeMap<String, State>>,
}

impl Display {
    /// Bars when stderr is a terminal, else lines.
    pub fn new() -> Arc<Display> {
        use std::io::IsTerminal;
        let terminal = std::io::stderr().is_terminal();
        let bars = terminal.then(|| indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr()));
        Arc::new(Display { bars, plugins: Mutex::new(BTreeMap::new()) })
    }

    /// The sink for `plugin`.
    pub fn sink(self: &Arc<Self>, plugin: &str) -> Arc<dyn ProgressSink> {
        match &self.bars {
            Some(multi) => {
                let bar = indicatif::ProgressBar::hidden();
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_prefix(plugin.to_string());
                Arc::new(Bar { multi: multi.clone(), bar, shown: Mutex::new(false) })
            }
            None => Arc::new(Line { display: self.clone(), plugin: plugin.to_string() }),
        }
    }

    /// The scan is over: clear the bars, or print each plugin's last state
    /// that no line has shown yet.
    pub fn finish(&self) {
        if let Some(multi) = &self.bars {
            let _ = multi.clear();
            return;
        }
        let plugins = self.plugins.lock().unwrap_or_else(|p| p.into_inner());
        for (name, s) in plugins.iter().filter(|(_, s)| !s.current) {
            eprintln!("{}", words(name, s));
        }
    }
}

struct Line {
    display: Arc<Display>,
    plugin: String,
}

impl ProgressSink for Line {
    fn report(&self, done: u64, total: Option<u64>, what: &str) {
        let mut plugins = self.display.plugins.lock().unwrap_or_else(|p| p.into_inner());
        let s = plugins.entry(self.plugin.clone()).or_default();
        (s.done, s.total, s.current) = (done, total, false);
        if s.what != what {
            s.what = what.to_string();
        }
        if s.printed.is_none_or(|t| t.elapsed() >= LINE_INTERVAL) {
            eprintln!("{}", words(&self.plugin, s));
            (s.printed, s.current) = (Some(Instant::now()), true);
        }
    }
}

struct Bar {
    multi: indicatif::MultiProgress,
    bar: indicatif::ProgressBar,
    shown: Mutex<bool>,
}

impl ProgressSink for Bar {
    fn report(&self, done: u64, total: Option<u64>, what: &str) {
        let mut shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        if !*shown {
            // Added on its first report, so plugins that report nothing get no bar.
            self.multi.add(self.bar.clone());
            *shown = true;
        }
        self.bar.set_length(total.unwrap_or(done.max(1)));
        self.bar.set_position(done);
        self.bar.set_message(what.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_done_of_total() {
        let s = State { done: 3, total: Some(20), what: "flow permissions".into(), ..State::default() };
        assert_eq!(words("power-automate-flows", &s), "plumbline: progress: power-automate-flows: 3 of 20 flow permissions");
        let s = State { done: 3, total: None, what: "teams".into(), ..State::default() };
        assert_eq!(words("teams-webhooks", &s), "plumbline: progress: teams-webhooks: 3 teams");
    }
}
