"""Plumbline plugin `azure-action-groups`, written in Python.

Azure Monitor action groups are where Azure alerts go. Their webhook and
Logic App receivers are connectors in the sense an MSP cares about: an action
group that still posts to a Teams Incoming Webhook URL loses every alert
since the Office 365 connectors were retired, and nobody is told.

It reads, for each subscription in `subscriptions`, the Azure Resource Manager
list `GET /subscriptions/{id}/providers/Microsoft.Insights/actionGroups`
(following `nextLink`), all subscriptions at once through `http.send-all`.
Register entries: one per webhook or Logic App receiver, keyed by the action
group's resource id and the receiver's name, and a context record per
subscription saying how much was read. The receiver's URL is a secret (a Teams
or Workflows URL works like a password): only its fingerprint and host go in.

Built with componentize-py against wit/since_v0.2.0 (see README.md). It runs
in the agent's sandbox like any plugin: the host's imports are its only way
out, and WASI is linked deny-all (no files, network, environment or stdio).
"""

import hashlib
import json
from urllib.parse import urlsplit

import wit_world
from componentize_py_types import Err
from wit_world.imports import host_info, http, log
from wit_world.imports.types import (
    Attribute, Capabilities, Category, ConnectorRecord, Finding, Permission, PluginInfo, Report,
    ScanError_Config, ScanError_Upstream, SettingKind_List, SettingKind_Text, SettingSpec, Severity,
)
from wit_world.imports.log import Level

NAME = "azure-action-groups"
ARM_HOST = "management.azure.com"
API_VERSION = "2023-01-01"
# ARM answers at most 1,000 items a page; more pages than this is a loop.
MAX_PAGES = 50

RETIRED = "azure-action-groups.retired-teams-webhook"
PLAIN_HTTP = "azure-action-groups.plain-http-webhook"
UNREADABLE = "azure-action-groups.subscription-unreadable"


def attrs(**values):
    return [Attribute(k, str(v)) for k, v in values.items() if v is not None]


def fingerprint(secret):
    # The same form as the Rust SDK's redact::fingerprint, so that the same URL
    # found by webhook-finder in a script has the same fingerprint here.
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def url_kind(url):
    """What a receiver's URL points at, from its host and path alone."""
    parts = urlsplit(url)
    host, path = (parts.hostname or "").lower(), parts.path.lower()
    if host in ("outlook.office.com", "outlook.office365.com") and path.startswith("/webhook/"):
        return "teams-connector-legacy"
    if host.endswith(".webhook.office.com") and path.startswith("/webhookb2/"):
        return "teams-incoming-webhook"
    if host.endswith(".logic.azure.com") or host.endswith(".environment.api.powerplatform.com"):
        return "workflow" if "/workflows/" in path else "logic-app"
    return "other"


def settings_of(ctx):
    given = {a.name: a.value for a in ctx.settings}
    subs = [s.strip().lower() for s in given.get("subscriptions", "").split(",") if s.strip()]
    if not subs:
        raise Err(ScanError_Config("set `subscriptions` to the Azure subscription ids whose action groups to read"))
    for s in subs:
        if len(s) != 36 or s.count("-") != 4 or any(c not in "0123456789abcdef-" for c in s):
            raise Err(ScanError_Config(f"subscription `{s[:60]}` is not a subscription id (a GUID)"))
    return subs, given.get("credential", "arm")


def request(url, credential):
    return http.Request("GET", url, [Attribute("accept", "application/json")], None, credential)


def read_all(subs, credential):
    """Every subscription's action groups: {sub: (groups, None)} or {sub: ([], why)}."""
    out = {}
    pending = {s: f"https://{ARM_HOST}/subscriptions/{s}/providers/Microsoft.Insights/actionGroups"
                  f"?api-version={API_VERSION}" for s in subs}
    pages = 0
    while pending and pages < MAX_PAGES:
        pages += 1
        order = list(pending)
        answers = http.send_all([request(pending[s], credential) for s in order])
        pending = {}
        for sub, answer in zip(order, answers):
            groups, _ = out.setdefault(sub, ([], None))
            if isinstance(answer, Err):
                out[sub] = (groups, f"the request failed: {answer.value.value}")
                continue
            resp = answer.value
            if resp.status != 200:
                out[sub] = (groups, f"HTTP {resp.status}: {arm_error(resp.body)}")
                continue
            try:
                body = json.loads(resp.body)
                groups.extend(g for g in body.get("value", []) if isinstance(g, dict))
            except (ValueError, AttributeError):
                raise Err(ScanError_Upstream(f"subscription {sub}: the action group list is not JSON"))
            next_link = body.get("nextLink")
            # A next link is guest-visible text from the network: follow it
            # only to the same service, never wherever it points.
            if isinstance(next_link, str) and urlsplit(next_link).hostname == ARM_HOST:
                pending[sub] = next_link
        host_info.progress(len(out) - len(pending), len(subs), "subscriptions")
    return out


def arm_error(body):
    try:
        err = json.loads(body).get("error", {})
        return f"{err.get('code', 'unknown')}: {str(err.get('message', ''))[:200]}"
    except (ValueError, AttributeError):
        return "no error body"


def receivers(group):
    props = group.get("properties") or {}
    for r in props.get("webhookReceivers") or []:
        yield "webhook", r, r.get("serviceUri")
    for r in props.get("logicAppReceivers") or []:
        yield "logic-app", r, r.get("callbackUrl")


def assess(sub, group, report):
    gid = str(group.get("id", "")).lower()
    gname = str(group.get("name", "?"))
    enabled = (group.get("properties") or {}).get("enabled", True) is not False
    rg = gid.split("/resourcegroups/")[1].split("/")[0] if "/resourcegroups/" in gid else None
    for kind, r, url in receivers(group):
        if not isinstance(url, str) or not url:
            continue
        rname = str(r.get("name", "?"))
        key = f"azure-action-group:{gid}:{kind}:{rname.lower()}"
        target = url_kind(url)
        parts = urlsplit(url)
        retired = target.startswith("teams-")
        report.connectors.append(ConnectorRecord(
            key, Category.WEBHOOK_REFERENCE, f"{rname} in action group {gname}", gid, None, [],
            "Azure Monitor alerts of this action group are posted here",
            "entra-token" if r.get("useAadAuth") else "url-secret",
            "legacy-retired" if retired else ("workflow" if target == "workflow" else None),
            None, None,
            attrs(subscription=sub, resource_group=rg, action_group=gname, action_group_enabled=str(enabled).lower(),
                  receiver_kind=kind, target=target, host=parts.hostname or "", scheme=parts.scheme,
                  url_fingerprint=fingerprint(url), common_alert_schema=str(bool(r.get("useCommonAlertSchema"))).lower()),
        ))
        evidence = attrs(action_group=gid, receiver=rname, host=parts.hostname or "", url_fingerprint=fingerprint(url))
        if retired:
            report.findings.append(Finding(
                RETIRED, key, Severity.HIGH if enabled else Severity.LOW,
                f"Action group {gname} posts alerts to a retired Teams webhook ({rname})",
                f"Receiver {rname} of action group {gname} posts to a Teams Incoming Webhook on {parts.hostname}. "
                "Office 365 connectors in Teams are retired (final rollout May 2026): Azure Monitor's alerts to it "
                "are no longer delivered, and nobody is told." + ("" if enabled else " The action group is disabled."),
                "In the Teams channel, add a Workflows flow from the template \"Post to a channel when a webhook "
                f"request is received\", then in the Azure portal open action group {gname}, Actions, and replace the "
                f"URL of {rname} with the flow's URL (turn on the common alert schema). Test it with \"Test action group\".",
                evidence))
        if parts.scheme == "http":
            report.findings.append(Finding(
                PLAIN_HTTP, key, Severity.MEDIUM,
                f"Action group {gname} posts alerts over plain HTTP ({rname})",
                f"Receiver {rname} posts alert payloads (resource names, alert text) to {parts.hostname} without TLS.",
                f"Give receiver {rname} of action group {gname} an https:// URL.", evidence))


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return PluginInfo(
            NAME, "0.1.0", "Azure Monitor action groups: the webhooks Azure alerts go to, with retired Teams URLs",
            [Category.WEBHOOK_REFERENCE], Capabilities([ARM_HOST], [], []),
            [SettingSpec("subscriptions", SettingKind_List(), True, None, "the Azure subscription ids to read"),
             SettingSpec("credential", SettingKind_Text(), False, "arm",
                         "the credential profile for https://management.azure.com/.default")],
            [Permission("azure-role", "Monitoring Reader",
                        "read the action groups of each subscription (an Azure role on the subscription)", None)],
            [])

    def scan(self, ctx):
        subs, credential = settings_of(ctx)
        report = Report([], [])
        for sub, (groups, why) in read_all(subs, credential).items():
            key = f"azure-action-groups:subscription:{sub}"
            report.connectors.append(ConnectorRecord(
                key, Category.WEBHOOK_REFERENCE, f"Action groups of subscription {sub}", sub, None, [],
                "How much of this subscription's action groups were read", None, None, None, None,
                attrs(**{"plumbline:record": "context"}, action_groups=len(groups), complete=str(why is None).lower())))
            if why:
                log.write(Level.WARN, f"subscription {sub}: {why}")
                report.findings.append(Finding(
                    UNREADABLE, key, Severity.INFO, f"Cannot read the action groups of subscription {sub}",
                    f"Azure Resource Manager answered: {why}",
                    f"Give the app registration behind credential `{credential}` the Monitoring Reader role on "
                    f"subscription {sub} (Access control (IAM), Add role assignment).", attrs(subscription=sub)))
            for group in groups:
                assess(sub, group, report)
        return report
