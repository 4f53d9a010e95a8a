//! The answers the plugin reads, typed: environments, flows, definitions, permissions, users.
//!
//! Absent is unknown, never false: every field is an `Option` (or an enum
//! with an explicit "not known" case), so a field an answer did not carry
//! can neither fire a check nor silence one.

mod connectors;
mod definition;
mod environment;
mod flow;
mod owners;
mod trigger;

pub use connectors::Connectors;
pub use definition::Definition;
pub use environment::Environment;
pub use flow::{Flow, FlowState};
pub use owners::{is_user_object, permissions_from_values, AccountStatus, Permission, PrincipalType, Role, User};
pub use trigger::{any_http, AuthKnowledge, Trigger, TriggerAuth, TEAMS_WEBHOOK_OPERATION};
