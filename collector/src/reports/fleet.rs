//! The MSP's own report over its fleet: one summary row per tenant, then
//! each tenant's review section on its own page, counted exactly as that
//! tenant's QBR counts it, so the two never disagree.

use super::brand::Brand;
use super::qbr::{Period, Section};
use askama::Template;

/// One tenant's summary row.
pub struct SummaryRow {
    /// Anchor of its section.
    pub anchor: String,
    /// Display name.
    pub name: String,
    /// Its groups, comma-separated.
    pub groups: String,
    /// Present connectors.
    pub connectors: u64,
    /// Open critical findings (accepted risks not counted).
    pub critical: usize,
    /// Open high findings.
    pub high: usize,
    /// The section's headline figures, in the same order as `columns`.
    pub figures: Vec<String>,
    /// Changes waiting for a review decision.
    pub awaiting: u64,
    /// Agents silent for longer than their schedule.
    pub silent_agents: usize,
}

/// The fleet report's model.
#[derive(Template)]
#[template(path = "fleet_report.html")]
pub struct FleetReport {
    /// Branding.
    pub brand: Brand,
    /// When made.
    pub generated: String,
    /// The period.
    pub period: Period,
    /// The tenant group it is limited to, or empty for every tenant.
    pub group: String,
    /// Headings of the figures columns.
    pub columns: Vec<&'static str>,
    /// One row per tenant, by name.
    pub rows: Vec<SummaryRow>,
    /// The totals row, formatted like a row's figures.
    pub totals: SummaryRow,
    /// One section per tenant, in the rows' order.
    pub sections: Vec<Section>,
}

/// What one tenant adds besides its section: from the fleet's counts.
pub struct TenantFacts {
    /// Groups, comma-separated.
    pub groups: String,
    /// Present connectors.
    pub connectors: u64,
    /// Changes waiting for a review decision.
    pub awaiting: u64,
    /// Agents silent for longer than their schedule.
    pub silent_agents: usize,
}

/// Short headings for the figures, in `Section::figures` order.
const COLUMNS: [&str; 6] = ["reviewed", "migrated", "owner + co-owner", "Exchange reviewed", "removed", "client decisions"];

fn figure_text(value: usize, of: Option<usize>) -> String {
    match of {
        Some(of) => format!("{value} / {of}"),
        None => value.to_string(),
    }
}

/// Assemble the report from each tenant's section, sorted by name.
pub fn build(mut tenants: Vec<(Section, TenantFacts)>, period: &Period, group: &str, brand: &Brand, today: &str) -> FleetReport {
    tenants.sort_by(|a, b| a.0.tenant_name.to_lowercase().cmp(&b.0.tenant_name.to_lowercase()).then(a.0.tenant_id.cmp(&b.0.tenant_id)));
    let n = COLUMNS.len();
    let (mut sum, mut sum_of) = (vec![0usize; n], vec![None::<usize>; n]);
    let mut totals = SummaryRow {
        anchor: String::new(),
        name: plumbline_protocol::wording::count(tenants.len(), "tenant"),
        groups: String::new(),
        connectors: 0,
        critical: 0,
        high: 0,
        figures: Vec::new(),
        awaiting: 0,
        silent_agents: 0,
    };
    let mut rows = Vec::with_capacity(tenants.len());
    let mut sections = Vec::with_capacity(tenants.len());
    for (section, facts) in tenants {
        for (i, f) in section.figures.iter().take(n).enumerate() {
            sum[i] += f.value;
            if let Some(of) = f.of {
                sum_of[i] = Some(sum_of[i].unwrap_or(0) + of);
            }
        }
        totals.connectors += facts.connectors;
        totals.critical += section.open_critical;
        totals.high += section.open_high;
        totals.awaiting += facts.awaiting;
        totals.silent_agents += facts.silent_agents;
        rows.push(SummaryRow {
            anchor: format!("tenant-{}", section.tenant_id),
            name: section.tenant_name.clone(),
            groups: facts.groups,
            connectors: facts.connectors,
            critical: section.open_critical,
            high: section.open_high,
            figures: section.figures.iter().take(n).map(|f| figure_text(f.value, f.of)).collect(),
            awaiting: facts.awaiting,
            silent_agents: facts.silent_agents,
        });
        sections.push(section);
    }
    totals.figures = (0..n).map(|i| figure_text(sum[i], sum_of[i])).collect();
    FleetReport {
        brand: brand.clone(),
        generated: today.to_string(),
        period: period.clone(),
        group: group.to_string(),
        columns: COLUMNS.to_vec(),
        rows,
        totals,
        sections,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::qbr::Figure;

    fn section(id: &str, name: &str, migrated: (usize, usize), critical: usize) -> Section {
        let words = "w";
        let mut figures: Vec<Figure> = (0..6).map(|_| Figure { value: 1, of: None, words }).collect();
        figures[1] = Figure { value: migrated.0, of: Some(migrated.1), words };
        Section {
            tenant_id: id.into(),
            tenant_name: name.into(),
            period: Period::new("2026-10-01", "2026-12-31").unwrap(),
            figures,
            new: vec![],
            fixed: vec![],
            still_open: vec![],
            accepted: vec![],
            decisions: vec![],
            risks: vec![],
            open_critical: critical,
            open_high: 0,
        }
    }

    fn facts(connectors: u64) -> TenantFacts {
        TenantFacts { groups: String::new(), connectors, awaiting: 1, silent_agents: 0 }
    }

    #[test]
    fn rows_by_name_and_totals_add_up() {
        let period = Period::new("2026-10-01", "2026-12-31").unwrap();
        let tenants = vec![(section("t2", "zeta", (1, 4), 2), facts(10)), (section("t1", "Alpha", (0, 2), 1), facts(5))];
        let r = build(tenants, &period, "", &Brand::default(), "2026-12-01");
        assert_eq!(r.rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["Alpha", "zeta"]);
        assert_eq!(r.rows[0].figures[1], "0 / 2");
        assert_eq!((r.totals.figures[1].as_str(), r.totals.figures[0].as_str()), ("1 / 6", "2"));
        assert_eq!((r.totals.connectors, r.totals.critical, r.totals.awaiting), (15, 3, 2));
        assert_eq!(r.sections[0].tenant_id, "t1", "sections follow the rows");
    }
}
