//! When a change is acted on: a plugin's folder changed is rescanned
//! `rescan_after_change` after the first change, however many follow (a
//! busy folder still gets its rescan, it is not put off for ever); changes
//! while the plugin is being rescanned wait for one rescan after it. A
//! change to the service's own files is read once it has settled.

use super::Changes;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long a change to the config, the policy or a plugin file settles
/// before it is read: an editor's save or a copy is a few writes within
/// milliseconds, and reading half of one would refuse a good change.
pub const RELOAD_SETTLE: Duration = Duration::from_secs(1);

/// The changes waiting, each with when it is due.
#[derive(Debug, Default)]
pub struct Debounce {
    wait: Duration,
    reload: Option<Instant>,
    plugins: BTreeMap<String, Instant>,
}

impl Debounce {
    /// Rescans `wait` after the first change.
    pub fn new(wait: Duration) -> Debounce {
        Debounce { wait, ..Debounce::default() }
    }

    /// Rescans from now on `wait` after the first change.
    pub fn set_wait(&mut self, wait: Duration) {
        self.wait = wait;
    }

    /// Take in `changes` seen at `now`; a change already waiting keeps the
    /// time it is due.
    pub fn absorb(&mut self, changes: Changes, now: Instant) {
        if changes.reload {
            self.reload.get_or_insert(now + RELOAD_SETTLE);
        }
        for plugin in changes.plugins {
            self.plugins.entry(plugin).or_insert(now + self.wait);
        }
    }

    /// When the next change is due, if one waits.
    pub fn next_due(&self) -> Option<Instant> {
        self.reload.iter().chain(self.plugins.values()).min().copied()
    }

    /// The changes due at `now`, taken out.
    pub fn take_due(&mut self, now: Instant) -> Changes {
        let reload = self.reload.is_some_and(|at| at <= now);
        if reload {
            self.reload = None;
        }
        let due: Vec<String> = self.plugins.iter().filter(|(_, at)| **at <= now).map(|(p, _)| p.clone()).collect();
        for p in &due {
            self.plugins.remove(p);
        }
        Changes { reload, plugins: due.into_iter().collect(), limit_reached: false }
    }

    /// Forget a plugin's waiting rescan (a full scan just covered it).
    pub fn clear(&mut self) {
        self.plugins.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(name: &str) -> Changes {
        Changes { plugins: [name.to_string()].into(), ..Changes::default() }
    }

    #[test]
    fn a_burst_costs_one_rescan_due_after_the_first_change() {
        let t0 = Instant::now();
        let mut d = Debounce::new(Duration::from_secs(30));
        d.absorb(plugin("webhook-finder"), t0);
        d.absorb(plugin("webhook-finder"), t0 + Duration::from_secs(20));
        assert_eq!(d.next_due(), Some(t0 + Duration::from_secs(30)), "later changes do not put it off");
        assert!(d.take_due(t0 + Duration::from_secs(29)).plugins.is_empty());
        let due = d.take_due(t0 + Duration::from_secs(30));
        assert_eq!(due.plugins.into_iter().collect::<Vec<_>>(), vec!["webhook-finder".to_string()]);
        assert_eq!(d.next_due(), None, "taken once");
    }

    #[test]
    fn a_reload_settles_briefly_and_plugins_are_due_apart() {
        let t0 = Instant::now();
        let mut d = Debounce::new(Duration::from_secs(30));
        d.absorb(Changes { reload: true, ..plugin("a") }, t0);
        d.absorb(plugin("b"), t0 + Duration::from_secs(10));
        assert_eq!(d.next_due(), Some(t0 + RELOAD_SETTLE));
        let first = d.take_due(t0 + RELOAD_SETTLE);
        assert!(first.reload && first.plugins.is_empty());
        let second = d.take_due(t0 + Duration::from_secs(30));
        assert_eq!(second.plugins.into_iter().collect::<Vec<_>>(), vec!["a".to_string()]);
        assert_eq!(d.next_due(), Some(t0 + Duration::from_secs(40)));
    }
}
