//! Tests of the URL finder: every form, near misses, escapes, and that
//! nothing secret is kept.

use super::*;
use plumbline_plugin_sdk::redact;

const GROUP: &str = "11111111-2222-3333-4444-555555555555";
const TENANT: &str = "5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa";
const WF: &str = "0123456789ABCDEF0123456789abcdef";
const SIG: &str = "DEMOsig_n0t-real_AAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn legacy() -> String {
    format!(
        "https://outlook.office.com/webhook/{GROUP}@{TENANT}/IncomingWebhook/\
         aaaabbbbccccddddeeeeffff00001111/99999999-8888-7777-6666-555555555555"
    )
}

fn b2() -> String {
    format!(
        "https://northwinddental.webhook.office.com/webhookb2/{GROUP}@{TENANT}/IncomingWebhook/\
         fedcba9876543210fedcba9876543210/99999999-8888-7777-6666-555555555555/V2FAKEfakeFAKE"
    )
}

fn logic() -> String {
    format!(
        "https://prod-27.westeurope.logic.azure.com:443/workflows/{WF}/triggers/manual/paths/invoke\
         ?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
    )
}

fn power_platform(sig: bool) -> String {
    let mut u = format!(
        "https://0a1b2c3d4e5f40718293a4b5c6d7e8f9.05.environment.api.powerplatform.com:443/\
         powerautomate/automations/direct/workflows/{WF}/triggers/manual/paths/invoke?api-version=1"
    );
    if sig {
        u.push_str(&format!("&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"));
    }
    u
}

fn one(text: &str) -> Found {
    let found = find_webhook_urls(text);
    assert_eq!(found.len(), 1, "expected one URL in {text:?}, got {found:?}");
    found.into_iter().next().unwrap()
}

fn none(text: &str) {
    let found = find_webhook_urls(text);
    assert!(found.is_empty(), "expected no URL in {text:?}, got {found:?}");
}

fn json_escape(url: &str) -> String {
    url.replace('/', "\\/")
}

fn url_encode(url: &str) -> String {
    url.bytes()
        .map(|c| {
            if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
                char::from(c).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

#[test]
fn every_format_is_recognised_with_its_parts() {
    let f = one(&format!("$uri = '{}'", legacy()));
    assert_eq!(f.kind, Kind::LegacyConnector);
    assert_eq!(f.host, "outlook.office.com");
    assert_eq!((f.workflow_id.clone(), f.has_sig), (None, false));
    assert_eq!(f.fingerprint, redact::fingerprint(&legacy()));

    let f = one(&legacy().replace("outlook.office.com", "outlook.office365.com"));
    assert_eq!((f.kind, f.host.as_str()), (Kind::LegacyConnector, "outlook.office365.com"));

    let f = one(&format!("url: \"{}\"", b2()));
    assert_eq!(f.kind, Kind::IncomingWebhookB2);
    assert_eq!(f.host, "northwinddental.webhook.office.com");
    assert_eq!(f.fingerprint, redact::fingerprint(&b2()));

    let f = one(&format!("curl -H 'Content-Type: application/json' -d @msg.json \"{}\"", logic()));
    assert_eq!(f.kind, Kind::WorkflowLogicApps);
    assert_eq!(f.host, "prod-27.westeurope.logic.azure.com");
    assert_eq!(f.workflow_id.as_deref(), Some(WF.to_ascii_lowercase().as_str()));
    assert!(f.has_sig);
    assert_eq!(f.fingerprint, redact::fingerprint(&logic()));

    let f = one(&power_platform(false));
    assert_eq!(f.kind, Kind::WorkflowPowerPlatform);
    assert_eq!(f.host, "0a1b2c3d4e5f40718293a4b5c6d7e8f9.05.environment.api.powerplatform.com");
    assert!(!f.has_sig, "tenant-restricted trigger: no sig");
    let f = one(&power_platform(true));
    assert!(f.has_sig);
    assert_eq!(f.encoding, Encoding::Plain);
}

#[test]
fn near_misses_do_not_match() {
    for text in [
        // Placeholders in documentation and comments.
        "https://outlook.office.com/webhook/...".to_string(),
        "https://outlook.office.com/webhook/<group>@<tenant>/IncomingWebhook/<id>/<guid>".to_string(),
        "https://{tenant}.webhook.office.com/webhookb2/{group}@{tenant}/IncomingWebhook/...".to_string(),
        "https://prod-00.westus.logic.azure.com:443/workflows/{workflowId}/triggers/manual/paths/invoke".to_string(),
        // Other paths on the same hosts.
        "https://outlook.office.com/mail/inbox".to_string(),
        "https://outlook.office365.com/adminapi/beta/x@y/InvokeCommand/a/b".to_string(),
        format!("https://outlook.office.com/webhooks/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
        format!("https://outlook.office.com/webhook/{GROUP}/IncomingWebhook/a/b"),
        format!("https://contoso.webhook.office.com/webhook/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
        format!("https://prod-27.westeurope.logic.azure.com/workflows/{WF}"),
        format!("https://prod-27.westeurope.logic.azure.com/workflows/{}/triggers/manual/paths/invoke", &WF[..31]),
        "https://prod-27.westeurope.logic.azure.com/workflows/0123456789abcdef0123456789abcdeg/triggers/manual/paths/invoke".to_string(),
        format!("https://x.05.environment.api.powerplatform.com/powerautomate/flows/{WF}/triggers/manual"),
        // Look-alike hosts.
        format!("https://outlook.office.com.evil.example/webhook/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
        format!("https://outlook.office.com@evil.example/webhook/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
        format!("https://evilwebhook.office.com/webhookb2/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
        format!("https://webhook.office.com/webhookb2/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
        format!("https://prod-1.logic.azure.com.evil.example/workflows/{WF}/triggers/manual/paths/invoke"),
        format!("https://logic.azure.com/workflows/{WF}/triggers/manual/paths/invoke"),
        format!("https://management.azure.com/subscriptions/x/workflows/{WF}/triggers/manual"),
        format!("https://prod-1.logic.azure.com:abc/workflows/{WF}/triggers/manual/paths/invoke"),
        // Not a URL.
        format!("outlook.office.com/webhook/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
        format!("ftp://outlook.office.com/webhook/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
        "httphttphttp https:// http".to_string(),
    ] {
        none(&text);
    }
}

#[test]
fn escaped_forms_give_the_same_fingerprint() {
    let plain = redact::fingerprint(&logic());
    let cases = [
        (json_escape(&logic()), Encoding::JsonEscaped),
        // Windows PowerShell 5.1 ConvertTo-Json escapes & as \u0026.
        (json_escape(&logic()).replace('&', "\\u0026"), Encoding::JsonEscaped),
        // JSON inside a JSON string.
        (logic().replace('/', "\\\\\\/"), Encoding::JsonEscaped),
        // XML / HTML.
        (logic().replace('&', "&amp;"), Encoding::HtmlEscaped),
        (logic().replace('&', "&#38;"), Encoding::HtmlEscaped),
        // A query parameter value.
        (url_encode(&logic()), Encoding::UrlEncoded),
        // Lower-case hex digits.
        (url_encode(&logic()).to_ascii_lowercase(), Encoding::UrlEncoded),
    ];
    for (i, (written, encoding)) in cases.iter().enumerate() {
        let f = one(&format!("{{\"url\":\"{written}\",\"n\":{i}}}"));
        assert_eq!(f.encoding, *encoding, "{written}");
        assert_eq!(f.kind, Kind::WorkflowLogicApps, "{written}");
        assert!(f.has_sig, "{written}");
        if i != 6 {
            assert_eq!(f.fingerprint, plain, "{written}");
        }
    }
    let f = one(&format!("https://safelinks.protection.outlook.com/?url={}&data=05", url_encode(&b2())));
    assert_eq!((f.kind, f.encoding), (Kind::IncomingWebhookB2, Encoding::UrlEncoded));
    assert_eq!(f.fingerprint, redact::fingerprint(&b2()));
}

#[test]
fn quotes_brackets_and_prose_end_the_url() {
    let want = redact::fingerprint(&legacy());
    for text in [
        format!("\"{}\"", legacy()),
        format!("'{}'", legacy()),
        format!("<{}>", legacy()),
        format!("({})", legacy()),
        format!("[alert]({})", legacy()),
        format!("`{}`", legacy()),
        format!("Post to {}. Then stop.", legacy()),
        format!("url={};next", legacy()),
        format!("url={},next", legacy()),
        format!("<url>{}</url>", legacy()),
        format!("value=\"{}&quot;", legacy()),
        format!("{{\"u\":\"{}\\\"}}", legacy()),
        format!("{}\r", legacy()),
        format!("{}#comment", legacy()),
    ] {
        assert_eq!(one(&text).fingerprint, want, "{text}");
    }
}

#[test]
fn sig_must_have_a_value() {
    // A template filled in at run time is not the credential.
    let template = logic().replace(SIG, "$sig");
    let f = one(&template);
    assert!(!f.has_sig);
    let f = one(&logic().replace(SIG, "${env:FLOW_SIG}"));
    assert!(!f.has_sig);
    assert!(one(&logic().replace("&sig=", "&SIG=")).has_sig);
    assert!(!one(&logic().replace("&sig=", "&signature=")).has_sig);
}

#[test]
fn lines_and_several_urls_per_line() {
    let text = format!(
        "# alerts\r\n$a = '{}'; $b = \"{}\"\r\n\r\n{}\n",
        legacy(),
        b2(),
        power_platform(true)
    );
    let found = find_webhook_urls(&text);
    let got: Vec<(Kind, u32)> = found.iter().map(|f| (f.kind, f.line)).collect();
    assert_eq!(
        got,
        vec![
            (Kind::LegacyConnector, 2),
            (Kind::IncomingWebhookB2, 2),
            (Kind::WorkflowPowerPlatform, 4)
        ]
    );
    // Glued together they are still two.
    let glued = find_webhook_urls(&format!("{} {}", logic(), logic()));
    assert_eq!(glued.len(), 2);
}

#[test]
fn case_of_scheme_host_and_path_does_not_matter() {
    let upper = legacy().replace("https://outlook.office.com/webhook", "HTTPS://Outlook.Office.com/WEBHOOK");
    let f = one(&upper);
    assert_eq!((f.kind, f.host.as_str()), (Kind::LegacyConnector, "outlook.office.com"));
    let http = logic().replacen("https", "http", 1);
    assert_eq!(one(&http).kind, Kind::WorkflowLogicApps);
}

#[test]
fn never_panics_and_stays_linear_on_junk() {
    for junk in [
        "h", "http", "https:", "https://", "https:\\", "https:\\u00", "https%3", "https%3A%2F%2",
        "https://outlook.office.com", "https://outlook.office.com/", "&amp", "https://a&#",
        "http\u{0}s://", "https://outlook.office.com:/webhook/a@b/c/d", "ünïcode https://ö.webhook.office.com/",
    ] {
        let _ = find_webhook_urls(junk);
    }
    let long = format!("https://prod-1.logic.azure.com/{}", "a".repeat(1_000_000));
    assert!(find_webhook_urls(&long).is_empty());
    let many = "http".repeat(200_000);
    assert!(find_webhook_urls(&many).is_empty());
}

#[test]
fn found_holds_no_part_of_the_secret() {
    for url in [legacy(), b2(), logic(), power_platform(true)] {
        let f = one(&url);
        let shown = format!("{f:?}");
        assert!(!shown.contains(SIG) && !shown.contains(GROUP) && !shown.contains(TENANT), "{shown}");
        for secret in ["aaaabbbbccccdddd", "fedcba9876543210", "99999999-8888", "/", "sig="] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}

/// The hosts of every cloud, as Microsoft lists them for the "When an HTTP
/// request is received" trigger (MicrosoftDocs/power-automate-docs,
/// articles/ip-address-configuration.md) and for Exchange Online in GCC
/// High (outlook.office365.us); see `grammar.rs`.
#[test]
fn government_and_national_cloud_forms() {
    let path = |wf: &str| format!("/workflows/{wf}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}");
    for host in [
        "prod-41.usgovtexas.logic.azure.us",
        "prod-05.usgovvirginia.logic.azure.us",
        "prod-12.chinaeast2.logic.azure.cn",
    ] {
        let f = one(&format!("$u = 'https://{host}:443{}'", path(WF)));
        assert_eq!((f.kind, f.host.as_str(), f.has_sig), (Kind::WorkflowLogicApps, host, true), "{host}");
    }
    for host in [
        "0a1b2c3d4e5f40718293a4b5c6d7e8f9.05.environment.api.gov.powerplatform.microsoft.us",
        "0a1b2c3d4e5f40718293a4b5c6d7e8f9.05.environment.api.high.powerplatform.microsoft.us",
        "0a1b2c3d4e5f40718293a4b5c6d7e8f9.05.environment.api.appsplatform.us",
        "0a1b2c3d4e5f40718293a4b5c6d7e8f9.05.environment.api.powerplatform.partner.microsoftonline.cn",
    ] {
        let url = power_platform(false).replace(
            "0a1b2c3d4e5f40718293a4b5c6d7e8f9.05.environment.api.powerplatform.com",
            host,
        );
        let f = one(&url);
        assert_eq!((f.kind, f.host.as_str()), (Kind::WorkflowPowerPlatform, host), "{url}");
        assert_eq!(f.workflow_id.as_deref(), Some(WF.to_ascii_lowercase().as_str()));
    }
    // GCC High connector URLs: the legacy host and the tenant-named one.
    let f = one(&legacy().replace("outlook.office.com", "outlook.office365.us"));
    assert_eq!((f.kind, f.host.as_str()), (Kind::LegacyConnector, "outlook.office365.us"));
    let f = one(&b2().replace("northwinddental.webhook.office.com", "contoso.webhook.office365.us"));
    assert_eq!((f.kind, f.host.as_str()), (Kind::IncomingWebhookB2, "contoso.webhook.office365.us"));
    // Look-alikes in those clouds stay unmatched.
    for text in [
        format!("https://prod-1.logic.azure.us.evil.example{}", path(WF)),
        format!("https://logic.azure.cn{}", path(WF)),
        format!("https://prod-1.logic.azure.de{}", path(WF)),
        format!("https://outlook.office365.us.evil.example/webhook/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
        format!("https://webhook.office365.us/webhookb2/{GROUP}@{TENANT}/IncomingWebhook/a/b"),
        // The API host itself, not an environment below it.
        power_platform(false).replace(
            "0a1b2c3d4e5f40718293a4b5c6d7e8f9.05.environment.api.powerplatform.com",
            "api.gov.powerplatform.microsoft.us",
        ),
    ] {
        none(&text);
    }
}

#[test]
fn webhookb2_on_the_outlook_hosts_and_any_connector_name() {
    for host in ["outlook.office.com", "outlook.office365.com", "outlook.office365.us"] {
        for connector in ["IncomingWebhook", "JenkinsCI", "GitHub", "AzureDevOps"] {
            let url = format!(
                "https://{host}/webhookb2/{GROUP}@{TENANT}/{connector}/\
                 fedcba9876543210fedcba9876543210/99999999-8888-7777-6666-555555555555"
            );
            let f = one(&format!("url: '{url}'"));
            assert_eq!((f.kind, f.host.as_str()), (Kind::IncomingWebhookB2, host), "{url}");
            assert_eq!(f.fingerprint, redact::fingerprint(&url));
            let legacy = url.replace("/webhookb2/", "/webhook/");
            assert_eq!(one(&legacy).kind, Kind::LegacyConnector, "{legacy}");
        }
    }
    // Still a tenant-qualified group and an id after the connector name.
    none(&format!("https://outlook.office.com/webhookb2/{GROUP}/JenkinsCI/a/b"));
    none(&format!("https://outlook.office.com/webhookb2/{GROUP}@{TENANT}/JenkinsCI"));
}
