//! What one scan read, and the one walk that reads it from any
//! [`Source`] (live APIs or saved answers), with `max_flows` enforced.

use crate::config::Config;
use crate::model::{any_http, AuthKnowledge, Connectors, Definition, Environment, Flow, Permission, Trigger, User};
use plumbline_plugin_sdk::ScanError;
use std::collections::{BTreeMap, BTreeSet};

/// Flows whose permissions and definitions are asked for together: a few
/// rounds of `send-all` per environment, and a progress report after each.
pub const FLOWS_PER_ROUND: usize = 500;

/// Where the answers come from. Every method answers for one thing and
/// says "unknown" (`None`) rather than failing when that thing is just not
/// there; errors are for answers that cannot be used at all.
pub trait Source {
    /// Every environment.
    fn environments(&mut self) -> Result<Vec<Environment>, ScanError>;
    /// The flows of `env`, at most `limit` of them, and whether more remained;
    /// `None` when the environment's flows are not available (with a note).
    /// Flows that cannot be read are skipped with a note.
    fn flows(&mut self, env: &Environment, limit: usize, notes: &mut Vec<String>) -> Result<Option<(Vec<Flow>, bool)>, ScanError>;
    /// A flow's permissions; `None` when not available (not exported, or the
    /// flow is gone).
    fn permissions(&mut self, env: &str, flow: &str) -> Result<Option<Vec<Permission>>, ScanError>;
    /// A flow's definition; `None` when not available.
    fn definition(&mut self, env: &str, flow: &str) -> Result<Option<Definition>, ScanError>;
    /// [`Source::permissions`] of many flows, in their order; a source that
    /// can ask for them all at once (live: `send-all`) does.
    fn permissions_all(&mut self, env: &str, flows: &[&str]) -> Result<Vec<Option<Vec<Permission>>>, ScanError> {
        flows.iter().map(|f| self.permissions(env, f)).collect()
    }
    /// [`Source::definition`] of many flows, in their order.
    fn definitions_all(&mut self, env: &str, flows: &[&str]) -> Result<Vec<Option<Definition>>, ScanError> {
        flows.iter().map(|f| self.definition(env, f)).collect()
    }
    /// `done` of `total` flows examined, for the operator's progress display.
    fn progress(&mut self, _done: u64, _total: Option<u64>) {}
    /// Account status of these users (ids); users not in the answer are unknown.
    /// `None` when owner status is not available at all.
    fn users(&mut self, ids: &[String], notes: &mut Vec<String>) -> Result<Option<BTreeMap<String, User>>, ScanError>;
}

/// One flow and what was read about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFacts {
    /// The listed flow.
    pub flow: Flow,
    /// Its permissions; `None`: unknown.
    pub permissions: Option<Vec<Permission>>,
    /// Its trigger authentication, from the definition.
    pub auth: AuthKnowledge,
    /// Its definition, when it was read.
    pub definition: Option<Definition>,
}

impl FlowFacts {
    /// A flow with nothing read beyond the list.
    pub fn listed(flow: Flow) -> FlowFacts {
        FlowFacts {
            flow,
            permissions: None,
            auth: AuthKnowledge::NotRead,
            definition: None,
        }
    }

    /// The triggers: the definition's when it was read (the summary may be
    /// empty or leave out a Request trigger's kind), else the summary's.
    pub fn triggers(&self) -> Option<&[Trigger]> {
        self.definition
            .as_ref()
            .map(|d| d.triggers.as_slice())
            .filter(|ts| !ts.is_empty())
            .or(self.flow.triggers.as_deref())
    }

    /// Whether a trigger is the Teams webhook trigger.
    pub fn has_teams_webhook(&self) -> bool {
        self.triggers().into_iter().flatten().any(Trigger::is_teams_webhook)
    }

    /// Whether a trigger is an HTTP request trigger (see [`any_http`]).
    pub fn has_http_trigger(&self) -> Option<bool> {
        any_http(self.triggers()?)
    }

    /// Whether a trigger may have a URL, or the triggers are unknown: then
    /// who may call it belongs in the register, even as "unknown".
    pub fn may_have_url(&self) -> bool {
        self.triggers().is_none_or(|ts| ts.iter().any(Trigger::may_have_url))
    }

    /// The connectors, from the summary and the definition together.
    pub fn connectors(&self) -> Option<Connectors> {
        Connectors::merged(self.flow.connectors.as_ref(), self.definition.as_ref().and_then(|d| d.connectors.as_ref()))
    }
}

/// One environment and its flows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentFacts {
    /// The environment.
    pub env: Environment,
    /// Its flows that were read.
    pub flows: Vec<FlowFacts>,
    /// How much of its flow list was read.
    pub listing: Listing,
}

/// How much of an environment's flow list was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// To the end.
    Complete,
    /// Up to `max_flows`.
    Cut,
    /// Not at all: the saved answers do not have it.
    Missing,
}

impl Listing {
    /// For the register.
    pub fn as_str(self) -> &'static str {
        match self {
            Listing::Complete => "complete",
            Listing::Cut => "cut at max_flows",
            Listing::Missing => "not available",
        }
    }
}

/// Everything one scan read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Environments in the order read.
    pub environments: Vec<EnvironmentFacts>,
    /// Owners' accounts by id; `None`: owner status was not available.
    pub users: Option<BTreeMap<String, User>>,
    /// Whether `max_flows` stopped the walk.
    pub cut: bool,
    /// Things the operator should know (cut lists, unreadable items).
    pub notes: Vec<String>,
    /// Requests (or files) answered, for the log.
    pub flows_examined: usize,
}

/// Read everything `config` asks for from `source`.
pub fn collect(source: &mut impl Source, config: &Config) -> Result<Inventory, ScanError> {
    let mut inv = Inventory::default();
    let mut envs = source.environments()?;
    if !config.environments.is_empty() {
        for wanted in &config.environments {
            if !envs.iter().any(|e| e.name.eq_ignore_ascii_case(wanted)) {
                inv.notes.push(format!(
                    "environment {wanted} (setting `environments`) was not found; the environments are {}",
                    envs.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        envs.retain(|e| config.environments.iter().any(|w| w.eq_ignore_ascii_case(&e.name)));
    }
    let mut left = config.max_flows;
    for env in envs {
        if left == 0 {
            inv.cut = true;
            inv.environments.push(EnvironmentFacts { env, flows: Vec::new(), listing: Listing::Cut });
            continue;
        }
        let Some((flows, more)) = source.flows(&env, left, &mut inv.notes)? else {
            inv.environments.push(EnvironmentFacts { env, flows: Vec::new(), listing: Listing::Missing });
            continue;
        };
        left -= flows.len().min(left);
        if more {
            inv.cut = true;
        }
        let mut facts: Vec<FlowFacts> = Vec::with_capacity(flows.len());
        let mut unsummarised_without_definition = 0;
        let total = (inv.flows_examined + flows.len()) as u64;
        for chunk in flows.chunks(FLOWS_PER_ROUND) {
            let names: Vec<&str> = chunk.iter().map(|f| f.name.as_str()).collect();
            let permissions = source.permissions_all(&env.name, &names)?;
            let wanted: Vec<&str> = chunk.iter().filter(|f| f.needs_definition()).map(|f| f.name.as_str()).collect();
            let mut definitions = source.definitions_all(&env.name, &wanted)?.into_iter();
            for (flow, perms) in chunk.iter().zip(permissions) {
                let mut f = FlowFacts::listed(flow.clone());
                f.permissions = perms;
                if f.flow.needs_definition() {
                    if let Some(def) = definitions.next().flatten() {
                        f.auth = def.trigger_auth();
                        f.definition = Some(def);
                    }
                }
                if f.triggers().is_none() {
                    unsummarised_without_definition += 1;
                }
                facts.push(f);
            }
            source.progress((inv.flows_examined + facts.len()) as u64, Some(total));
        }
        if unsummarised_without_definition > 0 {
            inv.notes.push(format!(
                "environment {}: {unsummarised_without_definition} flows have an empty trigger summary and no readable \
                 definition, so whether anyone can call them by URL is unknown; in offline mode, export again with \
                 demo/flows/export-flows.ps1, which saves the definitions of such flows",
                env.name
            ));
        }
        inv.flows_examined += facts.len();
        let listing = if more { Listing::Cut } else { Listing::Complete };
        inv.environments.push(EnvironmentFacts { env, flows: facts, listing });
    }
    if inv.cut {
        let skipped: Vec<&str> = inv
            .environments
            .iter()
            .filter(|e| e.listing == Listing::Cut)
            .map(|e| e.env.name.as_str())
            .collect();
        inv.notes.push(format!(
            "stopped at {} flows (max_flows = {}): the flows of {} were not all read and are missing from \
             the register; raise `max_flows` (and the plugin's `timeout_secs`) or scan fewer environments \
             with `environments`",
            inv.flows_examined,
            config.max_flows,
            skipped.join(", ")
        ));
    }
    let owners: BTreeSet<String> = inv
        .environments
        .iter()
        .flat_map(|e| &e.flows)
        .flat_map(|f| f.permissions.iter().flatten())
        .filter(|p| p.role.manages() && p.is_user())
        .map(|p| p.principal_id.clone())
        .collect();
    let owners: Vec<String> = owners.into_iter().collect();
    inv.users = if owners.is_empty() {
        Some(BTreeMap::new())
    } else {
        source.users(&owners, &mut inv.notes)?
    };
    Ok(inv)
}
