//! The three roles and what each may do.

/// A console user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything, users and tokens included.
    MspAdmin,
    /// All tenants, or the ones named; may annotate, review and accept risk.
    MspEngineer,
    /// Exactly one tenant, read-only: its register, history and reports.
    ClientViewer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::MspAdmin, Role::MspEngineer, Role::ClientViewer];

    /// As stored and typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::MspAdmin => "msp-admin",
            Role::MspEngineer => "msp-engineer",
            Role::ClientViewer => "client-viewer",
        }
    }

    /// May change annotations, decide reviews, accept risk.
    pub fn may_write(self) -> bool {
        self != Role::ClientViewer
    }

    /// Do these tenants fit this role?
    pub fn check_tenants(self, tenants: &[String]) -> Result<(), String> {
        match self {
            Role::ClientViewer if tenants.len() != 1 => Err(format!(
                "a client-viewer sees exactly one tenant: give one --tenant (got {})",
                tenants.len()
            )),
            Role::MspAdmin if !tenants.is_empty() => {
                Err("an msp-admin sees every tenant; leave out --tenant, or make the user an msp-engineer".into())
            }
            _ => Ok(()),
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim()).ok_or_else(|| {
            format!("unknown role {s:?}; use one of msp-admin, msp-engineer, client-viewer")
        })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_scope() {
        assert_eq!("msp-engineer".parse::<Role>().unwrap(), Role::MspEngineer);
        assert!("admin".parse::<Role>().unwrap_err().contains("msp-admin"));
        assert!(Role::ClientViewer.check_tenants(&[]).is_err());
        assert!(Role::ClientViewer.check_tenants(&["a".into(), "b".into()]).is_err());
        assert!(Role::ClientViewer.check_tenants(&["a".into()]).is_ok());
        assert!(Role::MspAdmin.check_tenants(&["a".into()]).is_err());
        assert!(Role::MspEngineer.check_tenants(&[]).is_ok());
        assert!(!Role::ClientViewer.may_write() && Role::MspEngineer.may_write());
    }
}
