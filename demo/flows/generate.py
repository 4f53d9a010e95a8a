#!/usr/bin/env python3
"""Write the Northwind Dental Power Automate demo answers in demo/flows/.

The files are what demo/flows/export-flows.ps1 saves for the
power-automate-flows plugin's offline mode: the Power Platform, Power
Automate and Graph answers, as Windows PowerShell 5.1 (UTF-16LE with BOM,
CRLF, `"name":  value` spacing) or PowerShell 7 (UTF-8, two-space indent)
would write them. Edit the data here and re-run rather than editing the
UTF-16 files by hand:

    python3 demo/flows/generate.py
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
TENANT = "5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa"
DOMAIN = "northwinddental.onmicrosoft.com"
DEFAULT_ENV = f"Default-{TENANT}"
OPS_ENV = "b6a1d3f5-7c9e-4b2d-8f4a-6c8e0a2b4d6f"

PRIYA = "2c4e6a8b-0d1f-4a3c-9e5b-7d9f1b3c5e70"
TOM = "4e6a8c0d-2f3b-4c5e-8a7d-9f1b3d5e7a91"
IT = "6a8c0e2f-4b5d-4e7a-9c9f-1b3d5f7a9cb2"
SARA = "8c0e2a4b-6d7f-4a9c-8e1b-3d5f7b9c1ed3"
MARK = "0e2a4c6d-8f9b-4cae-9a3d-5f7b9d1e3af4"  # deleted: not in users.json
MANAGERS_GROUP = "a1c3e5f7-9b2d-4f6a-8c0e-2a4c6e8a0c15"

USERS = [
    (PRIYA, "Priya Raman", "priya", True),
    (TOM, "Tom Becker", "tom", True),
    (IT, "NWD IT (Contoso MSP)", "it-admin", True),
    (SARA, "Sara Lind", "sara", False),
]


def api(name):
    return {"name": name, "id": f"/providers/Microsoft.PowerApps/apis/{name}",
            "type": "/providers/Microsoft.PowerApps/apis"}


def trigger(kind, auth=None, api_name=None, op=None):
    """(definitionSummary trigger, definition trigger name, definition trigger)."""
    if kind == "teams":
        params = {} if auth is None else {"triggerAuthenticationType": auth}
        return (
            {"type": "OpenApiConnectionWebhook", "swaggerOperationId": "TeamsIncomingWebhookTrigger", "api": api("shared_teams")},
            "When_a_Teams_webhook_request_is_received",
            {"type": "OpenApiConnectionWebhook",
             "inputs": {"host": {"connectionName": "shared_teams", "operationId": "TeamsIncomingWebhookTrigger",
                                 "apiId": "/providers/Microsoft.PowerApps/apis/shared_teams"},
                        "parameters": params, "authentication": "@parameters('$authentication')"}},
        )
    if kind == "http":
        inputs = {"schema": {"type": "object", "properties": {"id": {"type": "string"}}}}
        if auth is not None:
            inputs["triggerAuthenticationType"] = auth
        return ({"type": "Request", "kind": "Http"}, "manual", {"type": "Request", "kind": "Http", "inputs": inputs})
    if kind == "button":
        return ({"type": "Request", "kind": "Button"}, "manual",
                {"type": "Request", "kind": "Button", "inputs": {"schema": {"type": "object", "properties": {}}}})
    if kind == "recurrence":
        return ({"type": "Recurrence"}, "Recurrence",
                {"type": "Recurrence", "recurrence": {"frequency": "Day", "interval": 1, "timeZone": "W. Europe Standard Time"}})
    return ({"type": "OpenApiConnectionWebhook" if op.endswith("Webhook") else "OpenApiConnection",
             "swaggerOperationId": op, "api": api(api_name)},
            "When_a_new_item_arrives",
            {"type": "OpenApiConnection",
             "inputs": {"host": {"connectionName": api_name, "operationId": op,
                                 "apiId": f"/providers/Microsoft.PowerApps/apis/{api_name}"}}})


FLOWS = [
    # env, name, display, state, suspension, created, modified, trigger, actions, description, owner, co-owners
    (DEFAULT_ENV, "3f5b7d9e-1a2c-4e4f-8b6d-8f0a2c4e6b17", "RMM alerts to #it-alerts", "Started", "None",
     "2025-04-07T08:12:55.4590149Z", "2026-10-21T16:03:12.1164508Z", trigger("teams", "Anyone"),
     [("shared_teams", "PostCardToConversation")], "Posts the MSP's RMM alerts into the IT alerts channel",
     PRIYA, [(TOM, "CanEdit", "User")]),
    (DEFAULT_ENV, "5b7d9f1a-3c4e-4a6b-9d8f-0a2c4e6a8d28", "Appointment reminders (HTTP)", "Started", "None",
     "2024-10-14T07:30:00.0000000Z", "2026-02-03T12:00:00.0000000Z", trigger("http"),
     [("shared_office365", "SendEmailV2"), ("shared_twilio", "SendMessage")],
     "The practice management system posts tomorrow's appointments here",
     IT, [(MANAGERS_GROUP, "CanEdit", "Group")]),
    (DEFAULT_ENV, "7d9f1b3c-5e6a-4c8d-8f0b-2c4e6a8c0f39", "Imaging archive backup report", "Started", "None",
     "2023-05-02T18:45:10.0000000Z", "2023-11-20T09:00:00.0000000Z", trigger("recurrence"),
     [("shared_sharepointonline", "GetFileItems"), ("shared_office365", "SendEmailV2")], None,
     MARK, []),
    (DEFAULT_ENV, "9f1b3d5e-7a8c-4eaf-9b2d-4e6a8c0e2b4a", "New patient forms to SharePoint", "Started", "None",
     "2024-03-18T10:20:30.0000000Z", "2025-06-30T14:10:00.0000000Z",
     trigger("connector", api_name="shared_microsoftforms", op="CreateFormWebhook"),
     [("shared_microsoftforms", "GetFormResponseById"), ("shared_sharepointonline", "PostItem")], None,
     SARA, [(TOM, "CanView", "User")]),
    (DEFAULT_ENV, "b1d3f5a7-9c0e-4b2d-8f4a-6c8e0a2c4e5b", "Supplier invoice approvals", "Suspended", "CompanyDlpViolation",
     "2024-08-09T09:00:00.0000000Z", "2026-11-10T07:45:00.0000000Z",
     trigger("connector", api_name="shared_office365", op="OnNewEmailV3"),
     [("shared_approvals", "StartAndWaitForAnApproval"), ("shared_dropbox", "CreateFile")], None,
     TOM, [(PRIYA, "CanEdit", "User")]),
    (DEFAULT_ENV, "d3f5b7c9-1e2a-4d4f-9a6c-8e0a2c4e6a7c", "Daily schedule email", "Started", "None",
     "2025-09-01T06:00:00.0000000Z", "2025-09-01T06:00:00.0000000Z", trigger("recurrence"),
     [("shared_office365", "SendEmailV2")], None,
     PRIYA, []),
    (OPS_ENV, "e5a7c9d1-3f4b-4e6a-8c8e-0a2c4e6a8c9d", "Lab results intake", "Started", "None",
     "2025-02-20T11:11:11.0000000Z", "2026-07-15T08:30:00.0000000Z", trigger("http", "Tenant"),
     [("shared_sharepointonline", "CreateFile")], "Dental lab posts results (signed-in callers only)",
     IT, [(TOM, "CanEdit", "User")]),
    (OPS_ENV, "f7c9e1a3-5b6d-4a8c-9e0a-2c4e6a8c0eae", "Backup status to Teams", "Started", "None",
     "2025-12-01T09:00:00.0000000Z", "2026-09-09T09:00:00.0000000Z", trigger("teams", "Any user in my tenant"),
     [("shared_teams", "PostCardToConversation")], None,
     IT, [(PRIYA, "CanEdit", "User")]),
    (OPS_ENV, "a9e1c3b5-7d8f-4cae-8b2c-4e6a8c0e2abf", "Front desk printer restart", "Started", "None",
     "2024-09-09T09:09:09.0000000Z", "2024-09-09T09:09:09.0000000Z", trigger("button"),
     [("shared_azureautomation", "CreateJob")], None,
     TOM, [(IT, "CanEdit", "User")]),
    (OPS_ENV, "c1a3e5d7-9f0b-4ec2-9d4e-6a8c0e2a4cc0", "Staff onboarding checklist", "Started", "None",
     "2023-01-16T08:00:00.0000000Z", "2025-05-05T15:00:00.0000000Z",
     trigger("connector", api_name="shared_sharepointonline", op="GetOnNewItems"),
     [("shared_planner", "CreateTask_V3")], None,
     SARA, [(IT, "CanEdit", "User")]),
]


def environment(name, display, sku, is_default, created):
    return {
        "id": f"/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/{name}",
        "type": "Microsoft.BusinessAppPlatform/scopes/environments",
        "location": "europe",
        "name": name,
        "properties": {
            "tenantId": TENANT,
            "azureRegionHint": "westeurope",
            "displayName": display,
            "createdTime": created,
            "createdBy": {"id": "SYSTEM", "displayName": "SYSTEM", "type": "NotSpecified"},
            "provisioningState": "Succeeded",
            "creationType": "DefaultTenant" if is_default else "User",
            "environmentSku": sku,
            "isDefault": is_default,
            "states": {"management": {"id": "NotSpecified"}, "runtime": {"id": "Enabled"}},
        },
    }


def flow_object(f):
    env, name, display, state, suspension, created, modified, trig, actions, description, owner, _ = f
    summary = {"triggers": [trig[0]],
               "actions": [{"type": "OpenApiConnection", "swaggerOperationId": op, "api": api(a)} for a, op in actions]}
    if description:
        summary["description"] = description
    env_id = f"/providers/Microsoft.ProcessSimple/environments/{env}"
    props = {
        "apiId": "/providers/Microsoft.PowerApps/apis/shared_logicflows",
        "displayName": display,
        "userType": "Owner",
        "state": state,
        "createdTime": created,
        "lastModifiedTime": modified,
        "flowSuspensionReason": suspension,
        "environment": {"name": env, "type": "Microsoft.ProcessSimple/environments", "id": env_id},
        "definitionSummary": summary,
        "creator": {"tenantId": TENANT, "objectId": owner, "userId": owner, "userType": "ActiveDirectory"},
        "provisioningMethod": "FromDefinition",
        "flowFailureAlertSubscribed": True,
        "isManaged": False,
    }
    return {"name": name, "id": f"{env_id}/flows/{name}", "type": "Microsoft.ProcessSimple/environments/flows",
            "properties": props}


def permissions(f):
    env, name, owner, co = f[0], f[1], f[10], f[11]
    out = []
    for pid, role, kind in [(owner, "Owner", "User")] + co:
        out.append({"name": pid,
                    "id": f"/providers/Microsoft.ProcessSimple/environments/{env}/flows/{name}/permissions/{pid}",
                    "type": "/providers/Microsoft.ProcessSimple/environments/flows/permissions",
                    "properties": {"roleName": role, "permissionType": "Principal",
                                   "principal": {"id": pid, "type": kind}}})
    return {"value": out}


def needs_definition(f):
    t = f[7][0]
    return t.get("swaggerOperationId") == "TeamsIncomingWebhookTrigger" or (
        t["type"] == "Request" and t.get("kind", "Http") == "Http")


def definition_answer(f):
    obj = flow_object(f)
    _, trig_name, trig_def = f[7]
    obj["properties"]["definition"] = {
        "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"$connections": {"defaultValue": {}, "type": "Object"},
                       "$authentication": {"defaultValue": {}, "type": "SecureObject"}},
        "triggers": {trig_name: trig_def},
        "actions": {},
    }
    return obj


def user(uid, display, alias, enabled):
    return {"@odata.type": "#microsoft.graph.user", "id": uid, "accountEnabled": enabled,
            "displayName": display, "userPrincipalName": f"{alias}@{DOMAIN}"}


def ps7(obj):
    """PowerShell 7: UTF-8 without BOM, two-space indent, LF."""
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def ps51(obj):
    """Windows PowerShell 5.1 `ConvertTo-Json | Out-File`: UTF-16LE with BOM, CRLF,
    `"name":  value`, and <>&' escaped as \\u003c and friends."""
    text = json.dumps(obj, indent=4, separators=(",", ":  "), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(ch, esc)
    text = text.replace("\n", "\r\n") + "\r\n"
    return b"\xff\xfe" + text.encode("utf-16-le")


def write(rel, data):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)


def main():
    envs = [environment(DEFAULT_ENV, "Northwind Dental (default)", "Default", True, "2019-03-11T08:00:00.0000000Z"),
            environment(OPS_ENV, "Northwind Clinics Ops", "Production", False, "2023-01-09T10:00:00.0000000Z")]
    write("environments.json", ps7({"value": envs}))
    for env, fmt in ((DEFAULT_ENV, ps7), (OPS_ENV, ps51)):
        flows = [f for f in FLOWS if f[0] == env]
        write(f"{env}/flows.json", fmt({"value": [flow_object(f) for f in flows]}))
        write(f"{env}/permissions.json", fmt({f[1]: permissions(f) for f in flows}))
        write(f"{env}/definitions.json", fmt({f[1]: definition_answer(f) for f in flows if needs_definition(f)}))
    ids = sorted({p for f in FLOWS for p, role, kind in [(f[10], "Owner", "User")] + f[11]
                  if kind == "User" and role in ("Owner", "CanEdit")})
    write("users.json", ps51({"ids": ids, "value": [user(*u) for u in USERS if u[0] in ids]}))


if __name__ == "__main__":
    main()
