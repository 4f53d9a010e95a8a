//! Example: a connector source in under 60 lines with the SDK. ServiceNow's
//! outbound REST messages (table `sys_rest_message`), each a webhook
//! reference; those that call a retired Office 365 connector URL are flagged.
//! The URL is a secret: only its origin and fingerprint are kept.

use plumbline_plugin_sdk::prelude::*;
use plumbline_plugin_sdk::{http, redact};

/// The plugin.
pub struct ServiceNowRest;

impl Plugin for ServiceNowRest {
    const NAME: &'static str = "example-servicenow-rest";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "ServiceNow outbound REST messages and the webhooks they call";

    fn categories() -> Vec<Category> {
        vec![Category::WebhookReference]
    }

    fn capabilities() -> Capabilities {
        Capabilities::none().http("*.service-now.com")
    }

    fn settings() -> Vec<SettingSpec> {
        vec![
            SettingSpec::text("instance", "The instance: NAME in NAME.service-now.com").required(),
            SettingSpec::text("credential", "Credential profile for the Table API").required(),
        ]
    }

    fn scan(ctx: &ScanContext) -> Result<Report, ScanError> {
        let settings = Settings::new(&ctx.settings);
        let url = format!(
            "https://{}.service-now.com/api/now/table/sys_rest_message?sysparm_fields=sys_id,name,rest_endpoint,sys_created_by,sys_updated_on",
            settings.require("instance")?
        );
        let req = http::json_request("GET", &url, None, Some(settings.require("credential")?), &[]);
        let rows = http::send_json(&req)?;
        let rows = rows["result"].as_array().ok_or_else(|| ScanError::Malformed("no `result` list".into()))?;
        let mut report = Report::empty();
        for row in rows {
            let field = |name: &str| row[name].as_str().map(str::to_string);
            let key = format!("rest-message:{}", field("sys_id").unwrap_or_default());
            let endpoint = field("rest_endpoint").unwrap_or_default();
            let origin = redact::url_origin(&endpoint).unwrap_or_default();
            if origin.ends_with(".webhook.office.com") || endpoint.contains("outlook.office.com/webhook") {
                let title = "Calls a retired Office 365 connector webhook";
                report.findings.push(Finding::new("servicenow.retired-webhook", key.clone(), Severity::High, title));
            }
            let name = field("name").unwrap_or_else(|| key.clone());
            let entry = ConnectorRecord::new(key, Category::WebhookReference, name).owner(field("sys_created_by"));
            let entry = entry.changed(field("sys_updated_on")).attr("endpoint_origin", origin);
            report.connectors.push(entry.attr("endpoint_fingerprint", redact::fingerprint(&endpoint)));
        }
        Ok(report.sorted())
    }
}

register_plugin!(ServiceNowRest);
