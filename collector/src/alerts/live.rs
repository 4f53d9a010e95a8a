//! The rules in force, shared by ingest, the dispatcher and the console:
//! the config file's rules, then those an msp-admin added in the console
//! (kept in the store). Adding or removing one in the console checks it
//! against the config's destinations and the tenants exactly as the file is
//! checked, and takes effect at the next batch, without a restart.

use super::config::{resolve, resolve_with, AlertConfigError, AlertsFile, Environment, RuleFile};
use super::RuleSet;
use crate::store::alerts::ConsoleRule;
use crate::store::{Store, StoreError};
use std::collections::HashSet;
use std::sync::{Arc, RwLock};

/// Why a console rule was not kept.
#[derive(Debug, thiserror::Error)]
pub enum RuleChangeError {
    /// The rule does not check out; the message says what works.
    #[error("{0}")]
    Invalid(#[from] AlertConfigError),
    /// The collector was started without a config file: there are no destinations to send to.
    #[error("this collector runs without a config file, so it has no destinations; start it with serve --config FILE")]
    NoConfig,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The rules in force; cheap to clone, one set shared by all clones.
#[derive(Clone)]
pub struct LiveRules {
    current: Arc<RwLock<RuleSet>>,
    base: Option<Arc<AlertsFile>>,
    env: Arc<dyn Environment + Send + Sync>,
}

impl std::fmt::Debug for LiveRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveRules").field("current", &self.current()).finish_non_exhaustive()
    }
}

impl Default for LiveRules {
    fn default() -> Self {
        LiveRules::fixed(RuleSet::default())
    }
}

impl LiveRules {
    /// Exactly these rules; the console cannot add any (no config file).
    pub fn fixed(set: RuleSet) -> LiveRules {
        LiveRules { current: Arc::new(RwLock::new(set)), base: None, env: Arc::new(super::config::ProcessEnvironment) }
    }

    /// The config file's rules and the console's from `store`. The file's
    /// must check out; a console rule that no longer does (its tenant was
    /// removed, its destination left the file) is skipped with a warning,
    /// so that it cannot stop the collector from starting.
    pub async fn load(
        file: AlertsFile,
        env: Arc<dyn Environment + Send + Sync>,
        store: &dyn Store,
    ) -> Result<LiveRules, RuleChangeError> {
        let tenants = tenant_ids(store).await?;
        let known = |t: &str| tenants.contains(t);
        let mut set = resolve(&file, env.as_ref(), &known)?;
        let mut kept: Vec<RuleFile> = Vec::new();
        for stored in store.console_rules().await? {
            let Ok(rule) = serde_json::from_str::<RuleFile>(&stored.rule) else {
                tracing::warn!(rule = %stored.name, "alerts: a console rule could not be read; it is skipped");
                continue;
            };
            let mut trial = kept.clone();
            trial.push(rule.clone());
            match resolve_with(&file, &trial, env.as_ref(), &known) {
                Ok(s) => {
                    set = s;
                    kept.push(rule);
                }
                Err(e) => tracing::warn!(rule = %stored.name, "alerts: the console rule no longer checks out and is skipped: {e}"),
            }
        }
        Ok(LiveRules { current: Arc::new(RwLock::new(set)), base: Some(Arc::new(file)), env })
    }

    /// The rules now.
    pub fn current(&self) -> RuleSet {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Check `rule` with every rule in force, keep it, and put it in force.
    pub async fn add(&self, store: &dyn Store, rule: RuleFile, by: &str, at: &str) -> Result<(), RuleChangeError> {
        let file = self.base.as_ref().ok_or(RuleChangeError::NoConfig)?;
        let mut added = self.console_rules(store).await?;
        added.push(rule.clone());
        let tenants = tenant_ids(store).await?;
        let set = resolve_with(file, &added, self.env.as_ref(), &|t| tenants.contains(t))?;
        let stored = ConsoleRule {
            name: rule.name.clone(),
            rule: serde_json::to_string(&rule).expect("a rule serialises"),
            created_by: by.to_string(),
            created_at: at.to_string(),
        };
        if !store.add_console_rule(&stored).await? {
            return Err(AlertConfigError(format!("rule {:?}: two rules have this name", rule.name)).into());
        }
        self.put(set);
        Ok(())
    }

    /// Remove the console rule `name` and put the rest in force; `false`
    /// when there was none (a config-file rule is removed in the file).
    pub async fn remove(&self, store: &dyn Store, name: &str) -> Result<bool, RuleChangeError> {
        let file = self.base.as_ref().ok_or(RuleChangeError::NoConfig)?;
        if !store.delete_console_rule(name).await? {
            return Ok(false);
        }
        let added = self.console_rules(store).await?;
        let tenants = tenant_ids(store).await?;
        let set = resolve_with(file, &added, self.env.as_ref(), &|t| tenants.contains(t))?;
        self.put(set);
        Ok(true)
    }

    async fn console_rules(&self, store: &dyn Store) -> Result<Vec<RuleFile>, StoreError> {
        let current: HashSet<String> = self.current().rules.iter().map(|r| r.name.clone()).collect();
        // Only the ones in force: one skipped at start stays out until fixed.
        Ok(store
            .console_rules()
            .await?
            .into_iter()
            .filter(|r| current.contains(&r.name))
            .filter_map(|r| serde_json::from_str(&r.rule).ok())
            .collect())
    }

    fn put(&self, mut set: RuleSet) {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        set.gather = current.gather;
        *current = set;
    }
}

async fn tenant_ids(store: &dyn Store) -> Result<HashSet<String>, StoreError> {
    Ok(store.tenants().await?.into_iter().map(|t| t.id).collect())
}
