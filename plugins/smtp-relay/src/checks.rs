//! The checks on one endpoint. Each fires only on what was seen: a session
//! that ended before EHLO says nothing about STARTTLS or AUTH.

use crate::probe::{Probe, Reach, StartTls};
use crate::relay::Verdict;
use plumbline_plugin_sdk::time::to_rfc3339;
use plumbline_plugin_sdk::{Finding, Severity};

/// The server relayed mail for an outside domain without authentication.
pub const OPEN_RELAY: &str = "smtp.open-relay";
/// A cleartext port without working STARTTLS.
pub const NO_STARTTLS: &str = "smtp.no-starttls";
/// PLAIN or LOGIN authentication advertised before TLS.
pub const AUTH_PLAIN_OVER_CLEARTEXT: &str = "smtp.auth-plain-over-cleartext";
/// The TLS certificate has expired.
pub const CERT_EXPIRED: &str = "smtp.cert-expired";
/// The TLS certificate is self-signed.
pub const CERT_SELF_SIGNED: &str = "smtp.cert-self-signed";
/// The TLS certificate does not chain to a public root or match the name.
pub const CERT_UNTRUSTED: &str = "smtp.cert-untrusted";
/// A named relay did not answer.
pub const UNREACHABLE: &str = "smtp.unreachable";

/// Every check id with its severity.
pub const CHECKS: [(&str, Severity); 7] = [
    (OPEN_RELAY, Severity::Critical),
    (NO_STARTTLS, Severity::High),
    (AUTH_PLAIN_OVER_CLEARTEXT, Severity::High),
    (CERT_EXPIRED, Severity::High),
    (CERT_SELF_SIGNED, Severity::Medium),
    (CERT_UNTRUSTED, Severity::Low),
    (UNREACHABLE, Severity::Info),
];

/// Every check on `p`; `now_ms` dates certificate expiry.
pub fn checks(p: &Probe, now_ms: u64, out: &mut Vec<Finding>) {
    out.extend(open_relay(p));
    out.extend(no_starttls(p));
    out.extend(auth_plain_over_cleartext(p));
    out.extend(certificate(p, now_ms));
    out.extend(unreachable(p));
}

fn base(p: &Probe, id: &str, severity: Severity, title: String) -> Finding {
    let mut f = Finding::new(id, p.endpoint.key(), severity, title).evidence("endpoint", p.endpoint.address());
    if let Some(b) = crate::probe::shown_banner(p) {
        f = f.evidence("banner", b);
    }
    f
}

fn open_relay(p: &Probe) -> Option<Finding> {
    let Verdict::Open { accepted, tried, .. } = &p.relay else { return None };
    let addr = p.endpoint.address();
    let first = accepted.first()?;
    let list: Vec<String> = accepted.iter().map(|c| format!("#{} {}", c.number, c.describe())).collect();
    Some(
        base(p, OPEN_RELAY, Severity::Critical, format!("SMTP server {addr} is an open relay"))
            .detail(format!(
                "Without any authentication, {addr} accepted a recipient in an outside domain in {} of the {tried} \
                 MAIL FROM / RCPT TO combinations of nmap's smtp-open-relay test, first {}. (No message was sent: \
                 the test never issues DATA.) Anyone who can reach this server can send mail through it in your \
                 name: spammers and phishers find open relays within hours, the site's IP lands on block lists, \
                 and mail sent with your domains as sender passes SPF if this host is in your SPF record.",
                accepted.len(),
                first.describe()
            ))
            .remediation(
                "Relay only for the devices that need it, and only for your own domains or with authentication. \
                 Postfix: `smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, \
                 reject_unauth_destination` with `mynetworks` listing just the printers' and servers' addresses \
                 (never 0.0.0.0/0), then `postfix reload`. Exchange Server: on the receive connector that relays, \
                 limit RemoteIPRanges to those devices (`Set-ReceiveConnector -RemoteIPRanges ...`) and remove the \
                 `Ms-Exch-SMTP-Accept-Any-Recipient` permission from `NT AUTHORITY\\ANONYMOUS LOGON` \
                 (`Remove-ADPermission`). IIS SMTP: Relay restrictions → \"Only the list below\". Better still, \
                 move scanners and applications to authenticated submission on port 587 with STARTTLS (Exchange \
                 Online: smtp.office365.com, or an inbound connector restricted to the site's IP). Re-scan after \
                 the change.",
            )
            .evidence("accepted", list.join("; "))
            .evidence("tests", format!("{}/{tried}", accepted.len()))
            .evidence("channel", p.relay_channel.unwrap_or("unknown")),
    )
}

fn no_starttls(p: &Probe) -> Option<Finding> {
    if p.endpoint.implicit_tls || p.caps.is_none() {
        return None;
    }
    let addr = p.endpoint.address();
    let (seen, why) = match &p.starttls {
        StartTls::NotOffered => (
            "not offered".to_string(),
            "does not offer STARTTLS, so everything sent to it — message contents, and passwords when \
             clients authenticate — crosses the network in cleartext"
                .to_string(),
        ),
        StartTls::Refused(r) => (
            format!("offered but refused: {r}"),
            format!("offers STARTTLS but refused to start it ({r}), so clients fall back to cleartext"),
        ),
        StartTls::Failed(e) => (
            format!("offered but failed: {e}"),
            format!("offers STARTTLS but the TLS handshake failed ({e}), so clients fall back to cleartext or fail"),
        ),
        StartTls::Unknown | StartTls::Implicit | StartTls::Working => return None,
    };
    Some(
        base(p, NO_STARTTLS, Severity::High, format!("SMTP server {addr} has no working STARTTLS"))
            .detail(format!("{addr} {why}."))
            .remediation(
                "Enable STARTTLS with a certificate for the name clients use. Postfix: set `smtpd_tls_cert_file`, \
                 `smtpd_tls_key_file` and `smtpd_tls_security_level = may` (use `encrypt` on the submission port \
                 587), then `postfix reload`. Exchange Server: assign a certificate to the SMTP service \
                 (`Enable-ExchangeCertificate -Thumbprint ... -Services SMTP`) and keep `Tls` in the receive \
                 connector's AuthMechanism. Printers and scanners that cannot do STARTTLS should send only to a \
                 relay on their own network segment, never across the internet or a shared network.",
            )
            .evidence("starttls", seen),
    )
}

fn auth_plain_over_cleartext(p: &Probe) -> Option<Finding> {
    if p.endpoint.implicit_tls {
        return None;
    }
    let caps = p.caps.as_ref()?;
    let mechs = caps.cleartext_password_mechanisms();
    if mechs.is_empty() {
        return None;
    }
    let addr = p.endpoint.address();
    Some(
        base(
            p,
            AUTH_PLAIN_OVER_CLEARTEXT,
            Severity::High,
            format!("SMTP server {addr} offers password authentication before TLS"),
        )
        .detail(format!(
            "Before any TLS, {addr} advertises AUTH {} — mechanisms that send the password readable (base64 only). \
             A device or script that authenticates without STARTTLS (many scan-to-email printers do) hands its \
             mailbox password to anyone on the network path.",
            mechs.join(" ")
        ))
        .remediation(
            "Advertise AUTH only inside TLS. Postfix: `smtpd_tls_auth_only = yes`. Exchange Server: on the receive \
             connector, `Set-ReceiveConnector -AuthMechanism Tls,BasicAuth,BasicAuthRequireTLS`. Configure \
             devices for authenticated submission on port 587 with STARTTLS (for Exchange Online: \
             smtp.office365.com:587, keeping in mind that basic-auth SMTP AUTH is being retired), and change any \
             password that may already have crossed the network in cleartext.",
        )
        .evidence("auth_before_tls", caps.auth.join(" "))
        .evidence("starttls", starttls_label(&p.starttls)),
    )
}

fn certificate(p: &Probe, now_ms: u64) -> Vec<Finding> {
    let Some(tls) = &p.tls else { return Vec::new() };
    if tls.not_after == 0 && tls.subject.is_empty() {
        return Vec::new(); // no certificate could be read
    }
    let addr = p.endpoint.address();
    let not_after = to_rfc3339(tls.not_after.saturating_mul(1000));
    let name = p.tls_name.clone().unwrap_or_default();
    let evidence = |f: Finding| {
        f.evidence("subject", tls.subject.clone())
            .evidence("issuer", tls.issuer.clone())
            .evidence("not_after", not_after.clone())
            .evidence("checked_name", name.clone())
    };
    let now_s = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
    let expired = tls.not_after < now_s;
    let mut out = Vec::new();
    if expired {
        out.push(evidence(
            base(p, CERT_EXPIRED, Severity::High, format!("TLS certificate of SMTP server {addr} has expired"))
                .detail(format!(
                    "The certificate {addr} presents ({}) expired on {not_after}. Senders that validate \
                     certificates — Exchange Online outbound connectors with TlsSettings CertificateValidation or \
                     DomainValidation, MTA-STS and DANE senders, modern devices — refuse to deliver, and the rest \
                     learn to ignore certificate errors.",
                    tls.subject
                ))
                .remediation(
                    "Renew the certificate and install it with its full chain. Postfix: replace the files named by \
                     `smtpd_tls_cert_file`/`smtpd_tls_key_file` and `postfix reload`. Exchange Server: \
                     `New-ExchangeCertificate` (or import the renewed one), `Enable-ExchangeCertificate -Services \
                     SMTP`, then remove the expired certificate. Automate renewal (ACME) so it does not lapse again.",
                ),
        ));
    }
    if tls.self_signed {
        out.push(evidence(
            base(p, CERT_SELF_SIGNED, Severity::Medium, format!("SMTP server {addr} uses a self-signed certificate"))
                .detail(format!(
                    "{addr} presents a self-signed certificate ({}): no client can tell it from an impostor's, so \
                     TLS to it protects only against passive eavesdropping, and senders that validate (Exchange \
                     Online connectors with certificate validation, MTA-STS) will not deliver to it.",
                    tls.subject
                ))
                .remediation(
                    "Install a certificate from a public CA (or the organisation's internal CA, distributed to every \
                     client) whose subject alternative names cover the host name clients use. Postfix: \
                     `smtpd_tls_cert_file`/`smtpd_tls_key_file`, then `postfix reload`. Exchange Server: replace the \
                     self-signed \"Microsoft Exchange\" certificate on the SMTP service with `Enable-ExchangeCertificate \
                     -Services SMTP`.",
                ),
        ));
    } else if !tls.trusted && !expired {
        out.push(evidence(
            base(p, CERT_UNTRUSTED, Severity::Low, format!("TLS certificate of SMTP server {addr} is not trusted"))
                .detail(format!(
                    "The certificate {addr} presents ({}, issued by {}) does not chain to a public root, lacks its \
                     intermediates, or does not match the name {name}. Clients that validate will refuse it.",
                    tls.subject, tls.issuer
                ))
                .remediation(
                    "Serve the full chain (certificate followed by its intermediates) and make sure the certificate's \
                     subject alternative names cover the host name clients use. If it comes from an internal CA on \
                     purpose, make sure every sending device trusts that CA.",
                ),
        ));
    }
    out
}

fn unreachable(p: &Probe) -> Option<Finding> {
    let Reach::Unreachable { error, .. } = &p.reach else { return None };
    if p.endpoint.swept {
        return None;
    }
    let addr = p.endpoint.address();
    Some(
        base(p, UNREACHABLE, Severity::Info, format!("SMTP relay {addr} did not answer"))
            .detail(format!(
                "Nothing answered at {addr} (target {}): {error}. Printers, scanners and applications still \
                 configured to send through it fail, often silently.",
                p.endpoint.target
            ))
            .remediation(
                "If the relay was retired, remove it from `targets` and point every device and application that \
                 used it at its replacement. If it should be up, check the mail service and the firewall between \
                 this agent and the relay.",
            )
            .evidence("error", error.clone()),
    )
}

/// STARTTLS in one word or phrase.
pub fn starttls_label(s: &StartTls) -> String {
    match s {
        StartTls::Unknown => "unknown".into(),
        StartTls::Implicit => "not-applicable (implicit TLS)".into(),
        StartTls::NotOffered => "not offered".into(),
        StartTls::Refused(r) => format!("refused: {r}"),
        StartTls::Failed(e) => format!("failed: {e}"),
        StartTls::Working => "working".into(),
    }
}
