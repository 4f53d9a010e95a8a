//! What a tenant id is on both sides: the client's Entra tenant id, a GUID
//! kept in lower case, so that the agent's `tenant_id` and the collector's
//! tenant are one string.

/// Whether `id` has an Entra tenant id's shape: 8-4-4-4-12 hex digits.
pub fn is_entra_tenant_id(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5 && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `id` as both sides keep it: trimmed and, when it is an Entra tenant id,
/// in lower case (the Entra admin center shows it either way).
pub fn normalise(id: &str) -> String {
    let id = id.trim();
    if is_entra_tenant_id(id) {
        id.to_ascii_lowercase()
    } else {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_guid_is_lowered() {
        assert_eq!(super::normalise(" 5F0C1A8E-2B6D-4C1E-9A77-3D2F8B41C0AA"), "5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa");
        assert_eq!(super::normalise("Contoso"), "Contoso");
        assert!(!super::is_entra_tenant_id("5f0c1a8e2b6d4c1e9a773d2f8b41c0aa"));
        assert!(!super::is_entra_tenant_id("5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0ag"));
    }
}
