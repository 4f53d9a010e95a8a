//! Purview audit records for channel connectors: `ConnectorAdded`,
//! `ConnectorUpdated` and `ConnectorRemoved` (Microsoft Teams schema,
//! record type 25), from what an MSP saves:
//!
//! - `Search-UnifiedAuditLog ... | Export-Csv` (columns `CreationDate`,
//!   `UserIds`, `Operations`, `AuditData`, where `AuditData` is the record's
//!   JSON in a quoted CSV field, its quotes doubled);
//! - the Purview portal's CSV export (`Operation`, `UserId` instead);
//! - `Search-UnifiedAuditLog ... | ConvertTo-Json` (objects whose `AuditData`
//!   is a JSON string) or a JSON array of the AuditData objects themselves.
//!
//! Rows that cannot be read are skipped and counted, not fatal: one bad row
//! in a large export must not hide the rest.

use crate::json::{field, kind, short, text, Object};
use plumbline_plugin_sdk::{time, ScanError};
use serde_json::Value;

/// Operations this plugin reads; other rows are ignored.
pub const OPERATIONS: [&str; 3] = ["ConnectorAdded", "ConnectorUpdated", "ConnectorRemoved"];

/// Which connector event a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// A connector was added to a channel.
    Added,
    /// A connector was changed.
    Updated,
    /// A connector was removed.
    Removed,
}

impl Operation {
    fn parse(s: &str) -> Option<Operation> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("ConnectorAdded") {
            Some(Operation::Added)
        } else if s.eq_ignore_ascii_case("ConnectorUpdated") {
            Some(Operation::Updated)
        } else if s.eq_ignore_ascii_case("ConnectorRemoved") {
            Some(Operation::Removed)
        } else {
            None
        }
    }

    /// As the audit log writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Added => "ConnectorAdded",
            Operation::Updated => "ConnectorUpdated",
            Operation::Removed => "ConnectorRemoved",
        }
    }
}

/// One connector audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// `Id` of the record (for de-duplication).
    pub id: Option<String>,
    /// What happened.
    pub operation: Operation,
    /// When (`CreationTime`, UTC), ms since the epoch.
    pub at_ms: Option<i64>,
    /// Who (`UserId`).
    pub user: Option<String>,
    /// `AADGroupId`: the team's group id, as Graph knows it.
    pub group_id: Option<String>,
    /// `TeamGuid`: the team's thread id (`19:...@thread.tacv2`).
    pub team_guid: Option<String>,
    /// `TeamName`.
    pub team_name: Option<String>,
    /// `ChannelGuid`.
    pub channel_guid: Option<String>,
    /// `ChannelName`.
    pub channel_name: Option<String>,
    /// `ChannelType` (Standard, Private, Shared).
    pub channel_type: Option<String>,
    /// `AddOnGuid`: the connector's id.
    pub addon_guid: Option<String>,
    /// `AddOnName`: the connector's name, e.g. `Incoming Webhook`.
    pub addon_name: Option<String>,
}

impl AuditRecord {
    /// Read one AuditData object; `None` when it is not a connector event.
    pub fn from_audit_data(o: &Object, fallback_time: Option<&str>, fallback_user: Option<&str>) -> Option<AuditRecord> {
        let operation = Operation::parse(&text(o, "Operation")?)?;
        let at_ms = text(o, "CreationTime")
            .as_deref()
            .and_then(time::parse_ms)
            .or_else(|| fallback_time.and_then(time::parse_ms));
        Some(AuditRecord {
            id: text(o, "Id"),
            operation,
            at_ms,
            user: text(o, "UserId").or_else(|| fallback_user.map(str::to_string)),
            group_id: text(o, "AADGroupId").map(|s| s.to_ascii_lowercase()),
            team_guid: text(o, "TeamGuid"),
            team_name: text(o, "TeamName"),
            channel_guid: text(o, "ChannelGuid"),
            channel_name: text(o, "ChannelName"),
            channel_type: text(o, "ChannelType"),
            addon_guid: text(o, "AddOnGuid").map(|s| s.to_ascii_lowercase()),
            addon_name: text(o, "AddOnName"),
        })
    }

    /// The connector's name for people.
    pub fn connector_name(&self) -> &str {
        self.addon_name
            .as_deref()
            .or(self.addon_guid.as_deref())
            .unwrap_or("(unnamed connector)")
    }
}

/// What one audit file gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditParse {
    /// Connector records.
    pub records: Vec<AuditRecord>,
    /// Rows about other operations.
    pub ignored: usize,
    /// Rows that could not be read.
    pub skipped: usize,
    /// Why the first skipped row was skipped.
    pub first_problem: Option<String>,
}

impl AuditParse {
    fn skip(&mut self, why: String) {
        self.skipped += 1;
        if self.first_problem.is_none() {
            self.first_problem = Some(why);
        }
    }
}

/// Parse one saved audit export, CSV or JSON (told apart by its first
/// character). `source` names the file in messages.
pub fn parse_audit(input: &str, source: &str) -> Result<AuditParse, ScanError> {
    let input = input.trim_start_matches('\u{feff}');
    let first = input.trim_start().chars().next();
    match first {
        None => Ok(AuditParse::default()),
        Some('[') | Some('{') => parse_json(input, source),
        Some(_) => parse_csv_export(input, source),
    }
}

fn parse_json(input: &str, source: &str) -> Result<AuditParse, ScanError> {
    let value: Value = serde_json::from_str(input)
        .map_err(|e| ScanError::Malformed(format!("{source}: not valid JSON: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut o) if matches!(o.get("value"), Some(Value::Array(_))) => {
            match o.remove("value") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            }
        }
        v @ Value::Object(_) => vec![v],
        other => {
            return Err(ScanError::Malformed(format!(
                "{source}: the JSON is {}; expected audit records",
                kind(&other)
            )))
        }
    };
    let mut out = AuditParse::default();
    for (i, item) in items.iter().enumerate() {
        let Some(o) = item.as_object() else {
            out.skip(format!("item {i} is {}", kind(item)));
            continue;
        };
        // Search-UnifiedAuditLog objects carry AuditData (a JSON string, or an
        // object after a round trip); Management API / portal JSON is the
        // AuditData itself.
        let row = Row {
            creation_date: text(o, "CreationDate"),
            user: text(o, "UserIds").or_else(|| text(o, "UserId")),
            operation: text(o, "Operations").or_else(|| text(o, "Operation")),
        };
        match field(o, "AuditData") {
            Some(Value::String(s)) => row.read(&mut out, s, &format!("item {i}")),
            Some(Value::Object(data)) => row.read_object(&mut out, data),
            _ => row.read_object(&mut out, o),
        }
    }
    Ok(out)
}

/// The columns of one export row besides AuditData.
struct Row {
    creation_date: Option<String>,
    user: Option<String>,
    operation: Option<String>,
}

impl Row {
    fn read(&self, out: &mut AuditParse, audit_data: &str, where_: &str) {
        match serde_json::from_str::<Value>(audit_data) {
            Ok(Value::Object(o)) => self.read_object(out, &o),
            Ok(other) => out.skip(format!("{where_}: AuditData is {}", kind(&other))),
            Err(e) => out.skip(format!("{where_}: AuditData is not JSON ({e}): {}", short(audit_data, 60))),
        }
    }

    fn read_object(&self, out: &mut AuditParse, o: &Object) {
        let op = text(o, "Operation").or_else(|| self.operation.clone());
        if op.as_deref().is_none_or(|op| Operation::parse(op).is_none()) {
            out.ignored += 1;
            return;
        }
        let mut o = o.clone();
        if text(&o, "Operation").is_none() {
            if let Some(op) = op {
                o.insert("Operation".into(), Value::String(op));
            }
        }
        match AuditRecord::from_audit_data(&o, self.creation_date.as_deref(), self.user.as_deref()) {
            Some(r) => out.records.push(r),
            None => out.ignored += 1,
        }
    }
}

fn parse_csv_export(input: &str, source: &str) -> Result<AuditParse, ScanError> {
    let rows = parse_csv(input).map_err(|e| ScanError::Malformed(format!("{source}: {e}")))?;
    let mut rows = rows.into_iter();
    // Windows PowerShell 5.1's Export-Csv starts with `#TYPE ...` unless
    // told -NoTypeInformation.
    let header = loop {
        match rows.next() {
            None => return Ok(AuditParse::default()),
            Some((_, r)) if r.len() == 1 && r[0].trim().is_empty() => continue,
            Some((_, r)) if r.len() == 1 && r[0].starts_with('#') => continue,
            Some((_, r)) => break r,
        }
    };
    let col = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let Some(audit_col) = col(&["AuditData"]) else {
        return Err(ScanError::Malformed(format!(
            "{source}: no AuditData column (columns: {}); export Search-UnifiedAuditLog results with Export-Csv",
            short(&header.join(", "), 200)
        )));
    };
    let date_col = col(&["CreationDate", "CreationTime"]);
    let user_col = col(&["UserIds", "UserId"]);
    let op_col = col(&["Operations", "Operation"]);
    let mut out = AuditParse::default();
    for (line, r) in rows {
        if r.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let get = |i: Option<usize>| {
            i.and_then(|i| r.get(i))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let row = Row {
            creation_date: get(date_col),
            user: get(user_col),
            operation: get(op_col),
        };
        if let Some(op) = &row.operation {
            if Operation::parse(op).is_none() {
                out.ignored += 1;
                continue;
            }
        }
        match r.get(audit_col) {
            Some(data) if !data.trim().is_empty() => row.read(&mut out, data, &format!("line {line}")),
            _ => out.skip(format!("line {line}: no AuditData")),
        }
    }
    Ok(out)
}

/// Parse CSV (RFC 4180, as Export-Csv writes it): fields separated by
/// commas, quoted fields may hold commas, line breaks and doubled quotes;
/// CRLF or LF. Returns each record with the line it starts on.
pub fn parse_csv(input: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut in_quotes = false;
    let mut quoted_cell = false;
    let mut line = 1;
    let mut row_line = 1;
    let mut quote_line = 1;
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    cell.push(c);
                }
                _ => cell.push(c),
            }
            continue;
        }
        match c {
            '"' if cell.is_empty() && !quoted_cell => {
                in_quotes = true;
                quoted_cell = true;
                quote_line = line;
            }
            ',' => {
                row.push(std::mem::take(&mut cell));
                quoted_cell = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                row.push(std::mem::take(&mut cell));
                quoted_cell = false;
                rows.push((row_line, std::mem::take(&mut row)));
                line += 1;
                row_line = line;
            }
            // A stray quote inside an unquoted field (or after a quoted
            // one) is kept as text, as Excel does.
            _ => cell.push(c),
        }
    }
    if in_quotes {
        return Err(format!(
            "a quoted field opened on line {quote_line} never closes (truncated file?)"
        ));
    }
    if !cell.is_empty() || !row.is_empty() || quoted_cell {
        row.push(cell);
        rows.push((row_line, row));
    }
    Ok(rows)
}

/// Drop duplicate records (same `Id`): Search-UnifiedAuditLog sessions and
/// overlapping exports repeat records.
pub fn dedupe(records: &mut Vec<AuditRecord>) {
    let mut seen = std::collections::HashSet::new();
    records.retain(|r| match &r.id {
        Some(id) => seen.insert(id.to_ascii_lowercase()),
        None => true,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Export-Csv -NoTypeInformation writes for one Search-UnifiedAuditLog row.
    fn csv_row(date: &str, user: &str, op: &str, data: &str) -> String {
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        [q(date), q(user), q(op), q(data)].join(",")
    }

    const ADDED: &str = r#"{"CreationTime":"2026-03-10T14:22:05","Id":"aa11","Operation":"ConnectorAdded","OrganizationId":"t","RecordType":25,"UserId":"it@northwind.example","Workload":"MicrosoftTeams","AADGroupId":"1A7C3E52-0000-4000-8000-000000000001","TeamGuid":"19:abc@thread.tacv2","TeamName":"Front Desk","ChannelGuid":"19:chan@thread.tacv2","ChannelName":"Alerts, urgent","ChannelType":"Standard","AddOnType":2,"AddOnName":"Incoming Webhook","AddOnGuid":"D9A1E2F3-1111-4222-8333-944445555666"}"#;

    #[test]
    fn csv_with_embedded_json_commas_quotes_and_line_breaks() {
        let updated = ADDED
            .replace("ConnectorAdded", "ConnectorUpdated")
            .replace("aa11", "aa12")
            .replace("14:22:05", "15:00:00")
            .replace("Alerts, urgent", "Alerts \\\"urgent\\\"\\nline two");
        let text = format!(
            "\u{feff}\"CreationDate\",\"UserIds\",\"Operations\",\"AuditData\"\r\n{}\r\n{}\r\n{}\r\n",
            csv_row("2026-03-10T14:22:05.0000000Z", "it@northwind.example", "ConnectorAdded", ADDED),
            csv_row("2026-03-10T15:00:00Z", "it@northwind.example", "ConnectorUpdated", &updated),
            csv_row("2026-03-10T15:00:00Z", "x@y", "TeamCreated", "{}"),
        );
        let p = parse_audit(&text, "audit.csv").unwrap();
        assert_eq!(p.records.len(), 2, "{p:?}");
        assert_eq!(p.ignored, 1);
        assert_eq!(p.skipped, 0);
        let r = &p.records[0];
        assert_eq!(r.operation, Operation::Added);
        assert_eq!(r.at_ms, Some(1_773_152_525_000), "CreationTime without a zone is UTC");
        assert_eq!(r.group_id.as_deref(), Some("1a7c3e52-0000-4000-8000-000000000001"));
        assert_eq!(r.channel_name.as_deref(), Some("Alerts, urgent"));
        assert_eq!(r.connector_name(), "Incoming Webhook");
        assert_eq!(r.addon_guid.as_deref(), Some("d9a1e2f3-1111-4222-8333-944445555666"));
        assert_eq!(p.records[1].channel_name.as_deref(), Some("Alerts \"urgent\"\nline two"));
    }

    #[test]
    fn a_quoted_field_may_span_lines() {
        let rows = parse_csv("a,b\r\n\"x\r\ny\",\"z\"\"\"\r\nlast,\r\n").unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1], (2, vec!["x\r\ny".to_string(), "z\"".to_string()]));
        assert_eq!(rows[2], (4, vec!["last".to_string(), String::new()]));
        let e = parse_csv("a,b\n\"open,\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("never closes"), "{e}");
    }

    #[test]
    fn powershell_51_type_line_portal_columns_and_bad_rows() {
        let text = format!(
            "#TYPE Deserialized.Microsoft.Exchange.Management.SystemConfigurationTasks.AuditRecord\n\
             \"RecordId\",\"CreationDate\",\"RecordType\",\"Operation\",\"UserId\",\"AuditData\"\n\
             \"1\",\"3/10/2026 2:22:05 PM\",\"MicrosoftTeams\",\"ConnectorAdded\",\"it@northwind.example\",\"{}\"\n\
             \"2\",\"3/10/2026 2:22:05 PM\",\"MicrosoftTeams\",\"ConnectorAdded\",\"it@northwind.example\",\"{{not json\"\n",
            ADDED.replace('"', "\"\"")
        );
        let p = parse_audit(&text, "portal.csv").unwrap();
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.skipped, 1);
        assert!(p.first_problem.as_deref().unwrap().starts_with("line 4: AuditData is not JSON"), "{p:?}");
        // The US-format CreationDate is not used: the record's own UTC time is.
        assert_eq!(p.records[0].at_ms, Some(1_773_152_525_000));
    }

    #[test]
    fn no_audit_column_is_malformed() {
        let e = parse_audit("a,b\n1,2\n", "x.csv").unwrap_err();
        assert!(matches!(&e, ScanError::Malformed(m) if m.contains("no AuditData column")), "{e:?}");
        let e = parse_audit("\"AuditData\"\n\"{\n", "x.csv").unwrap_err();
        assert!(matches!(&e, ScanError::Malformed(m) if m.contains("never closes")), "{e:?}");
    }

    #[test]
    fn json_exports_both_shapes_and_dedupe() {
        let ps = format!(
            "[{{\"CreationDate\":\"/Date(1773152525000)/\",\"UserIds\":\"it@northwind.example\",\"Operations\":\"ConnectorAdded\",\"AuditData\":{}}}]",
            serde_json::to_string(ADDED).unwrap()
        );
        let p = parse_audit(&ps, "a.json").unwrap();
        assert_eq!(p.records.len(), 1);
        let api = format!("[{ADDED},{ADDED},{{\"Operation\":\"TabAdded\"}}]");
        let mut p = parse_audit(&api, "b.json").unwrap();
        assert_eq!((p.records.len(), p.ignored), (2, 1));
        dedupe(&mut p.records);
        assert_eq!(p.records.len(), 1);
        assert!(parse_audit("", "empty.csv").unwrap().records.is_empty());
    }

    #[test]
    fn never_panics_on_junk() {
        for junk in ["\"", ",,,\n\"", "\r", "\"a\"b,c", "[", "{\"AuditData\":1}", "AuditData\n\"\"\"\""] {
            let _ = parse_audit(junk, "junk");
        }
    }
}
