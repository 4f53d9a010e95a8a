#!/usr/bin/env python3
"""Write the Northwind Dental demo exports in the formats real tenants produce.

Fictional data. Get-InboundConnector.json and Get-OrganizationConfig.json
mimic Windows PowerShell 5.1 (`ConvertTo-Json | Out-File`: UTF-16LE with a
BOM, CRLF, `"\\/Date(ms)\\/"` dates, `<`/`>`/`&`/`'` escaped as `\\u003c`...,
5.1's odd indentation). Get-OutboundConnector.json and Get-TransportConfig.json
mimic PowerShell 7 (UTF-8 without BOM, LF, ISO dates).

Run from anywhere: python3 demo/exchange/generate.py
"""
import datetime as dt
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
TENANT = "5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa"
ORG = "northwinddental.onmicrosoft.com"
ORG_ID = (
    "NAMPR12A003.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/"
    f"{ORG} - NAMPR12A003.PROD.OUTLOOK.COM/ConfigurationUnits/{ORG}/Configuration"
)
OU_ROOT = f"NAMPR12A003.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/{ORG}"
DN_TAIL = f"CN=Transport Settings,CN=Configuration,CN={ORG},CN=ConfigurationUnits,DC=NAMPR12A003,DC=PROD,DC=OUTLOOK,DC=COM"


class PsDate:
    """A UTC instant, written per PowerShell version."""

    def __init__(self, text):
        self.when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))

    def ms(self):
        return int(self.when.timestamp() * 1000)

    def iso_utc(self):
        return self.when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")

    def iso_local(self):
        # The exporting admin's clock: US Pacific (PDT roughly April-October).
        hours = -7 if 4 <= self.when.month <= 10 else -8
        tz = dt.timezone(dt.timedelta(hours=hours))
        local = self.when.astimezone(tz)
        return local.strftime("%Y-%m-%dT%H:%M:%S.0000000") + f"{hours:+03d}:00"


# ---------------------------------------------------------------- PS 5.1 --

def ps51_string(s):
    out = json.dumps(s, ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        out = out.replace(ch, esc)
    return out


def ps51(value, indent=0):
    """ConvertTo-Json as Windows PowerShell 5.1 lays it out."""
    pad = " " * indent
    if isinstance(value, PsDate):
        return f'"\\/Date({value.ms()})\\/"'
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return ps51_string(value)
    if isinstance(value, list):
        if not value:
            return "[\r\n\r\n" + pad + "]"
        inner = " " * (indent + 4)
        items = [inner + ps51(v, indent + 4) for v in value]
        return "[\r\n" + ",\r\n".join(items) + "\r\n" + pad + "]"
    if isinstance(value, dict):
        inner = " " * (indent + 4)
        lines = []
        for k, v in value.items():
            head = f'{inner}"{k}":  '
            lines.append(head + ps51(v, len(head)))
        return "{\r\n" + ",\r\n".join(lines) + "\r\n" + pad + "}"
    raise TypeError(value)


def write_ps51(name, value):
    text = ps51(value) + "\r\n"
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(b"\xff\xfe" + text.encode("utf-16-le"))


# ------------------------------------------------------------------ PS 7 --

def ps7_default(value):
    if isinstance(value, PsDate):
        return value.iso_utc()
    raise TypeError(value)


def write_ps7(name, value):
    text = json.dumps(value, indent=2, ensure_ascii=False, default=ps7_default) + "\n"
    with open(os.path.join(HERE, name), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


# -------------------------------------------------------------- the data --

def inbound(name, guid, object_id, created, changed, **fields):
    c, ch = PsDate(created), PsDate(changed)
    base = {
        "RunspaceId": "9d3c6f0e-51a2-4b7e-8f43-0c1d2e3f4a5b",
        "Enabled": True,
        "ConnectorType": "Partner",
        "ConnectorSource": "Default",
        "Comment": "",
        "SenderIPAddresses": [],
        "SenderDomains": [],
        "TrustedOrganizations": [],
        "AssociatedAcceptedDomains": [],
        "ClientHostNames": [],
        "RequireTls": False,
        "RestrictDomainsToIPAddresses": False,
        "RestrictDomainsToCertificate": False,
        "CloudServicesMailEnabled": False,
        "TreatMessagesAsInternal": False,
        "TlsSenderCertificateName": None,
        "EFTestMode": False,
        "ScanAndDropRecipients": [],
        "EFSkipLastIP": False,
        "EFSkipIPs": [],
        "EFSkipMailGateway": [],
        "EFUsers": [],
        "AdminDisplayName": "",
        "ExchangeVersion": "0.1 (8.14.0.0)",
        "Name": name,
        "DistinguishedName": f"CN={name},{DN_TAIL}",
        "Identity": name,
        "ObjectCategory": "NAMPR12A003.PROD.OUTLOOK.COM/Configuration/Schema/ms-Exch-SMTP-Inbound-Connector",
        "ObjectClass": ["top", "msExchSMTPInboundConnector"],
        "WhenChanged": ch,
        "WhenCreated": c,
        "WhenChangedUTC": ch,
        "WhenCreatedUTC": c,
        "ExchangeObjectId": object_id,
        "OrganizationalUnitRoot": OU_ROOT,
        "OrganizationId": ORG_ID,
        "Id": name,
        "Guid": guid,
        "OriginatingServer": "BN8PR12A003DC01.NAMPR12A003.PROD.OUTLOOK.COM",
        "IsValid": True,
        "ObjectState": "Unchanged",
    }
    base.update(fields)
    return base


INBOUND = [
    # Healthy: a dental lab partner, tied to its certificate and TLS.
    inbound(
        "Pacific Dental Lab - TLS",
        "3b9e2a61-7c4d-4f0a-b1e2-6d8c5a9f0e13",
        "3b9e2a61-7c4d-4f0a-b1e2-6d8c5a9f0e13",
        "2024-03-12T17:04:51Z",
        "2025-06-02T15:22:08Z",
        Comment="Case files and invoices from Pacific Dental Lab; TLS with their certificate (ticket NW-1182)",
        SenderDomains=["smtp:pacificdentallab.example;1"],
        RequireTls=True,
        RestrictDomainsToCertificate=True,
        TlsSenderCertificateName="mail.pacificdentallab.example",
        ConnectorSource="AdminUI",
    ),
    # OnPremises relay for the imaging server and copier: no TLS, no certificate.
    inbound(
        "Northwind on-prem relay (NWD-SRV01)",
        "8f1d4c27-0b6e-4a95-9c3f-2e7a1b5d6c48",
        "8f1d4c27-0b6e-4a95-9c3f-2e7a1b5d6c48",
        "2023-09-18T21:37:12Z",
        "2023-09-18T21:37:12Z",
        ConnectorType="OnPremises",
        Comment="Scan-to-email from the front-desk copier and the Dexis imaging server",
        SenderIPAddresses=["198.51.100.24"],
        SenderDomains=["smtp:northwinddental.com;1"],
        RestrictDomainsToIPAddresses=True,
        RequireTls=False,
    ),
    # Created a week before the demo date, from PowerShell, any sender, no restriction.
    inbound(
        "eFax Relay Service",
        "c6a0e8f4-93b1-4d27-a5e6-0f4b7d2c9a81",
        "c6a0e8f4-93b1-4d27-a5e6-0f4b7d2c9a81",
        "2026-11-19T03:42:17Z",
        "2026-11-19T03:42:17Z",
        SenderDomains=["smtp:*;1"],
    ),
    # Disabled: the old supply vendor, replaced in 2024.
    inbound(
        "Contoso Dental Supply (retired)",
        "5e2f7b90-16ad-4c3b-8e04-d9a6c1f37b25",
        "5e2f7b90-16ad-4c3b-8e04-d9a6c1f37b25",
        "2021-04-27T14:10:33Z",
        "2024-08-05T19:48:56Z",
        Enabled=False,
        Comment="Order confirmations from Contoso Dental Supply - vendor replaced Aug 2024 <do not delete until audit>",
        SenderIPAddresses=["192.0.2.10", "192.0.2.11"],
        SenderDomains=["smtp:orders.contosodentalsupply.example;1"],
        RequireTls=True,
        RestrictDomainsToIPAddresses=True,
        ConnectorSource="AdminUI",
    ),
]


def outbound(name, guid, created, changed, **fields):
    c, ch = PsDate(created), PsDate(changed)
    base = {
        "Enabled": True,
        "UseMXRecord": False,
        "Comment": "",
        "ConnectorType": "Partner",
        "ConnectorSource": "AdminUI",
        "RecipientDomains": [],
        "SmartHosts": [],
        "TlsDomain": None,
        "TlsSettings": None,
        "IsTransportRuleScoped": False,
        "RouteAllMessagesViaOnPremises": False,
        "CloudServicesMailEnabled": False,
        "AllAcceptedDomains": False,
        "SenderRewritingEnabled": False,
        "TestMode": False,
        "LinkForModifiedConnector": "00000000-0000-0000-0000-000000000000",
        "ValidationRecipients": [],
        "IsValidated": True,
        "LastValidationTimestamp": ch.iso_utc(),
        "MtaStsMode": "None",
        "SmtpDaneMode": "None",
        "AdminDisplayName": "",
        "ExchangeVersion": "0.1 (8.14.0.0)",
        "Name": name,
        "DistinguishedName": f"CN={name},{DN_TAIL}",
        "Identity": name,
        "ObjectCategory": "NAMPR12A003.PROD.OUTLOOK.COM/Configuration/Schema/ms-Exch-SMTP-Outbound-Connector",
        "ObjectClass": ["top", "msExchSMTPOutboundConnector"],
        "WhenChanged": ch.iso_local(),
        "WhenCreated": c.iso_local(),
        "WhenChangedUTC": ch.iso_utc(),
        "WhenCreatedUTC": c.iso_utc(),
        "ExchangeObjectId": guid,
        "OrganizationalUnitRoot": OU_ROOT,
        "OrganizationId": ORG_ID,
        "Id": name,
        "Guid": guid,
        "OriginatingServer": "BN8PR12A003DC01.NAMPR12A003.PROD.OUTLOOK.COM",
        "IsValid": True,
        "ObjectState": "Unchanged",
    }
    base.update(fields)
    return base


OUTBOUND = [
    # Smart host with no TLS requirement.
    outbound(
        "To imaging archive (smart host)",
        "a4d7f1c2-5e83-49b0-9f6a-1c2b3d4e5f60",
        "2022-11-08T18:15:40Z",
        "2025-02-14T16:03:29Z",
        Comment="X-ray exports to the offsite imaging archive",
        RecipientDomains=["imagingarchive.example"],
        SmartHosts=["relay.imagingarchive.example"],
    ),
    # Healthy: insurer claims portal, certificate validated.
    outbound(
        "Claims to Delta Benefits (TLS)",
        "e1b2c3d4-a5f6-4789-8abc-def012345678",
        "2024-01-22T20:41:02Z",
        "2024-01-22T20:41:02Z",
        Comment="Insurance claims; insurer requires validated TLS",
        RecipientDomains=["claims.deltabenefits.example"],
        SmartHosts=["smtp-in.deltabenefits.example"],
        TlsSettings="CertificateValidation",
    ),
]

ORGANIZATION = {
    "RunspaceId": "9d3c6f0e-51a2-4b7e-8f43-0c1d2e3f4a5b",
    "DisplayName": "Northwind Dental",
    "DefaultPublicFolderAgeLimit": None,
    "ActivityBasedAuthenticationTimeoutEnabled": True,
    "ActivityBasedAuthenticationTimeoutInterval": "06:00:00",
    "AuditDisabled": False,
    "AutoExpandingArchiveEnabled": False,
    "ConnectorsEnabled": True,
    "ConnectorsEnabledForOutlook": True,
    "ConnectorsEnabledForSharepoint": True,
    "ConnectorsEnabledForTeams": True,
    "ConnectorsActionableMessagesEnabled": True,
    "SmtpActionableMessagesEnabled": True,
    "CustomerLockboxEnabled": False,
    "DefaultAuthenticationPolicy": None,
    "DirectReportsGroupAutoCreationEnabled": False,
    "ElcProcessingDisabled": False,
    "FocusedInboxOn": True,
    "IsDehydrated": False,
    "MailTipsExternalRecipientsTipsEnabled": False,
    "OAuth2ClientProfileEnabled": True,
    "OutlookMobileGCCRestrictionsEnabled": False,
    "PublicFoldersEnabled": "Local",
    "RejectDirectSend": False,
    "SendFromAliasEnabled": False,
    "UnifiedAuditLogIngestionEnabled": True,
    "AdminDisplayName": "",
    "ExchangeVersion": "0.20 (15.0.0.0)",
    "Name": ORG,
    "DistinguishedName": f"CN={ORG},CN=ConfigurationUnits,DC=NAMPR12A003,DC=PROD,DC=OUTLOOK,DC=COM",
    "Identity": ORG,
    "ObjectCategory": "NAMPR12A003.PROD.OUTLOOK.COM/Configuration/Schema/ms-Exch-Configuration-Unit-Container",
    "ObjectClass": ["top", "container", "msExchConfigurationUnitContainer"],
    "WhenChanged": PsDate("2026-10-02T11:19:45Z"),
    "WhenCreated": PsDate("2019-05-14T16:52:08Z"),
    "WhenChangedUTC": PsDate("2026-10-02T11:19:45Z"),
    "WhenCreatedUTC": PsDate("2019-05-14T16:52:08Z"),
    "OrganizationalUnitRoot": OU_ROOT,
    "OrganizationId": ORG_ID,
    "Id": ORG,
    "Guid": "0d7e9b3a-62f1-4c85-a4d0-b3e1f5a7c926",
    "OriginatingServer": "BN8PR12A003DC01.NAMPR12A003.PROD.OUTLOOK.COM",
    "IsValid": True,
    "ObjectState": "Unchanged",
}

TRANSPORT = {
    "AddressBookPolicyRoutingEnabled": False,
    "AllowLegacyTLSClients": False,
    "ClearCategories": True,
    "ConvertDisclaimerWrapperToEml": False,
    "DSNConversionMode": "UseExchangeDSNs",
    "ExternalDelayDsnEnabled": True,
    "ExternalDsnReportsEnabled": True,
    "ExternalPostmasterAddress": None,
    "HeaderPromotionModeSetting": "NoCreate",
    "InternalDsnReportsEnabled": True,
    "JournalingReportNdrTo": "<>",
    "MaxRecipientEnvelopeLimit": "Unlimited",
    "MaxReceiveSize": "36 MB (37,748,736 bytes)",
    "MaxSendSize": "35 MB (36,700,160 bytes)",
    "MessageExpiration": "1.00:00:00",
    "ReplyAllStormProtectionEnabled": True,
    "Rfc2231EncodingEnabled": False,
    "SmtpClientAuthenticationDisabled": False,
    "TLSReceiveDomainSecureList": [],
    "TLSSendDomainSecureList": [],
    "VoicemailJournalingEnabled": True,
    "AdminDisplayName": "",
    "ExchangeVersion": "0.10 (14.0.100.0)",
    "Name": "Transport Settings",
    "DistinguishedName": DN_TAIL,
    "Identity": "Transport Settings",
    "WhenChanged": PsDate("2025-11-03T10:05:11Z").iso_local(),
    "WhenCreated": PsDate("2019-05-14T16:52:31Z").iso_local(),
    "WhenChangedUTC": PsDate("2025-11-03T10:05:11Z"),
    "WhenCreatedUTC": PsDate("2019-05-14T16:52:31Z"),
    "OrganizationalUnitRoot": OU_ROOT,
    "OrganizationId": ORG_ID,
    "Id": "Transport Settings",
    "Guid": "7c2a5e18-d94b-4f36-81e0-a6b9c3d2f145",
    "IsValid": True,
    "ObjectState": "Unchanged",
}

if __name__ == "__main__":
    write_ps51("Get-InboundConnector.json", INBOUND)
    write_ps7("Get-OutboundConnector.json", OUTBOUND)
    write_ps51("Get-OrganizationConfig.json", ORGANIZATION)
    write_ps7("Get-TransportConfig.json", TRANSPORT)
    print(f"wrote the Northwind Dental exports (tenant {TENANT}) to {HERE}")
