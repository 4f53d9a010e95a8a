//! Webhook URLs as they appear in public files (excerpts, sources named
//! beside each). The secret parts of the URLs (group, tenant, connector id
//! and `sig`) are replaced by values of the same shape: the form is the
//! published one, the credential is not ours to copy.

use webhook_finder::detect::{find_webhook_urls, Kind};

/// A Jenkinsfile posting a MessageCard with curl. Source:
/// github.com/valdeploy/postman, Jenkinsfile.
const JENKINSFILE: &str = r#"            script {
            def url = 'https://contosodental.webhook.office.com/webhookb2/11111111-2222-4333-8444-555555555555@66666666-7777-4888-9999-aaaaaaaaaaaa/IncomingWebhook/0123456789abcdef0123456789abcdef/bbbbbbbb-cccc-4ddd-8eee-ffffffffffff'
            def job = "$BUILD_URLallure/".replace('%','%%')
            bat "curl -X POST \"${url}\" -H 'Content-Type:application/json' -d ${d}"
"#;

/// The Power Platform form from a Go Teams client's tests. Source:
/// github.com/atc0005/go-teams-notify, send_test.go ("valid values using
/// power automate URL").
const GO_TEST_POWER_PLATFORM: &str = r#"reqURL:     "https://default1234567890abcdefghijklmnopqust.01.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/1234567890abcdef0123456789abcdef/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers","#;

/// A GCC High site's settings: the connector URL on Exchange Online's GCC
/// High host, as a deployment guide writes it (an Azure Function's app
/// settings, `teamsWebhookUrl=https://outlook.office365.us/webhook/...`),
/// completed to a full URL of that form. The host is Microsoft's GCC High
/// Exchange Online endpoint.
const GCC_HIGH_SETTING: &str = "               teamsWebhookUrl=https://outlook.office365.us/webhook/11111111-2222-4333-8444-555555555555@66666666-7777-4888-9999-aaaaaaaaaaaa/IncomingWebhook/0123456789abcdef0123456789abcdef/bbbbbbbb-cccc-4ddd-8eee-ffffffffffff `";

#[test]
fn public_samples_are_found_with_their_non_secret_parts() {
    let f = find_webhook_urls(JENKINSFILE);
    assert_eq!(f.len(), 1, "the literal, and nothing in the interpolation: {f:?}");
    assert_eq!((f[0].kind, f[0].line), (Kind::IncomingWebhookB2, 2));
    assert_eq!(f[0].host, "contosodental.webhook.office.com");

    let f = find_webhook_urls(GO_TEST_POWER_PLATFORM);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].kind, Kind::WorkflowPowerPlatform);
    assert_eq!(f[0].workflow_id.as_deref(), Some("1234567890abcdef0123456789abcdef"));
    assert!(!f[0].has_sig, "no sig in this one: callers need a token");

    let f = find_webhook_urls(GCC_HIGH_SETTING);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].kind, f[0].host.as_str()), (Kind::LegacyConnector, "outlook.office365.us"));
    let shown = format!("{f:?}");
    assert!(!shown.contains("0123456789abcdef0123") && !shown.contains("11111111-2222"), "{shown}");
}
