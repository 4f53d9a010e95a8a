#!/usr/bin/env python3
"""Write the Northwind Dental Teams demo export in the layout export-teams.ps1 writes.

Fictional data. The JSON files are Graph v1.0 answers as Invoke-MgGraphRequest
returns them (pages merged into one `value` array); the audit CSV is what
`Search-UnifiedAuditLog ... | Export-Csv -NoTypeInformation -Encoding UTF8` writes
in Windows PowerShell 5.1: UTF-8 with a BOM, CRLF, every field quoted, the
AuditData JSON inside one field with its quotes doubled.

Run from anywhere: python3 demo/teams/generate.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
TENANT = "5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa"
DOMAIN = "northwinddental.com"
IW = "203a1e2c-26cc-47ca-83ae-be98f960b6b2"
RSS = "6a1e0c5f-8b3d-4e2a-9f71-2c4d6e8a0b1c"  # made up: the RSS connector app
PLANNER = "com.microsoft.teamspace.tab.planner"
WIKI = "com.microsoft.teamspace.tab.wiki"
FORMS = "81fef3a6-72aa-4648-a763-de824aeafb7d"

FRONT = "3f2a9c41-6b7d-4e1a-9c3b-1d5e7f9a2b01"
ITOPS = "8c4e1b7a-2d9f-4a63-b5e0-7f1c3a9d4e02"
CLINIC = "5b7d3e9f-8a1c-4f26-9d4b-0e2a6c8f1a03"
BILLING = "9e1f5a2c-4b8d-4c7e-a1f3-6d9b2e5c8a04"
MANAGERS = "2d6a8e4c-1f3b-4d95-8e7a-3c5f9b1d6a05"

DEFINITIONS = {
    IW: ("Incoming Webhook", "3.2", "Send data from a service to your Office 365 group in real time."),
    RSS: ("RSS", "1.4", "Get RSS feeds for your group."),
    PLANNER: ("Planner", "0.0.19", "Create plans, organize and assign tasks, share files, chat about what you're working on."),
    WIKI: ("Wiki", "1.0.5", "Write and share notes in a tab."),
    FORMS: ("Forms", "1.2.11", "Easily create surveys, quizzes, and polls."),
}


def user(uid, name, upn, enabled=True):
    return {
        "@odata.type": "#microsoft.graph.user",
        "id": uid,
        "displayName": name,
        "userPrincipalName": f"{upn}@{DOMAIN}",
        "accountEnabled": enabled,
    }


MARIA = user("a1b2c3d4-0001-4a00-8000-00000000a001", "Maria Lopez", "maria.lopez")
TOM = user("a1b2c3d4-0002-4a00-8000-00000000a002", "Tom Nguyen", "tom.nguyen")
ITADMIN = user("a1b2c3d4-0003-4a00-8000-00000000a003", "Northwind IT Admin", "it-admin")
CHEN = user("a1b2c3d4-0004-4a00-8000-00000000a004", "Dr. Lily Chen", "lily.chen")
NURSE = user("a1b2c3d4-0005-4a00-8000-00000000a005", "Ana Ruiz", "ana.ruiz")
JANE = user("a1b2c3d4-0006-4a00-8000-00000000a006", "Jane Okafor", "jane.okafor")
SAM = user("a1b2c3d4-0007-4a00-8000-00000000a007", "Sam Patel", "sam.patel")
RACHEL = user("a1b2c3d4-0008-4a00-8000-00000000a008", "Rachel Kim", "rachel.kim", enabled=False)

# (id, name, visibility, created, apps or an HTTP error, owners)
TEAMS = [
    (FRONT, "Front Desk", "Private", "2023-02-14T16:03:11Z", [IW, PLANNER, WIKI], [MARIA]),
    (ITOPS, "IT Operations", "Private", "2022-09-01T08:12:45Z", [IW, PLANNER], [TOM, ITADMIN]),
    (CLINIC, "Clinical Staff", "Public", "2022-09-01T08:40:02Z", [PLANNER, FORMS, WIKI], [CHEN, NURSE, MARIA]),
    (BILLING, "Billing", "Private", "2024-01-08T10:15:37Z", 403, [JANE]),
    (MANAGERS, "Practice Managers", "Private", "2023-06-19T13:27:50Z", [RSS, PLANNER], [SAM, RACHEL]),
]

THREAD = {
    FRONT: "19:7c1f0e2a9b3d4c5e8f6a1b2c3d4e5f60@thread.tacv2",
    ITOPS: "19:0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c51@thread.tacv2",
    MANAGERS: "19:5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c02@thread.tacv2",
}

# Channel connector events: (record id, when (UTC), operation, who, team, channel id, channel, connector guid, connector name)
AUDIT = [
    ("6b1c0a3e-1111-4e2f-9a01-5c7d9e1f2a01", "2024-10-07T09:14:52", "ConnectorAdded", TOM, ITOPS,
     "19:c3b2a1f0e9d8c7b6a5f4e3d2c1b0a903@thread.tacv2", "Alerts", "0f6e1c8a-55d2-4b7e-9c31-8a2d4f6b0e11", "Incoming Webhook"),
    ("6b1c0a3e-1111-4e2f-9a01-5c7d9e1f2a02", "2025-03-10T14:22:05", "ConnectorAdded", ITADMIN, FRONT,
     "19:e5d4c3b2a1f0e9d8c7b6a5f4e3d2c104@thread.tacv2", "Appointments", "4a8d2e6f-3b1c-4f9e-8d72-1e5a9c3b7f22", "Incoming Webhook"),
    ("6b1c0a3e-1111-4e2f-9a01-5c7d9e1f2a03", "2025-06-12T11:05:40", "ConnectorAdded", TOM, ITOPS,
     "19:a7f6e5d4c3b2a1f0e9d8c7b6a5f4e305@thread.tacv2", "Backups", "9c3e7a1f-2d8b-4e6c-a5f0-3b9d1e7c5a33", "Incoming Webhook"),
    ("6b1c0a3e-1111-4e2f-9a01-5c7d9e1f2a04", "2025-09-01T15:48:19", "ConnectorAdded", SAM, MANAGERS,
     "19:b9a8f7e6d5c4b3a2f1e0d9c8b7a6f506@thread.tacv2", "Industry News", "d2b6f0a4-7e3c-4a19-b8d5-6f2e0a4c8b44", "RSS"),
    ("6b1c0a3e-1111-4e2f-9a01-5c7d9e1f2a05", "2026-02-02T08:31:27", "ConnectorUpdated", ITADMIN, FRONT,
     "19:e5d4c3b2a1f0e9d8c7b6a5f4e3d2c104@thread.tacv2", "Appointments", "4a8d2e6f-3b1c-4f9e-8d72-1e5a9c3b7f22", "Incoming Webhook"),
    ("6b1c0a3e-1111-4e2f-9a01-5c7d9e1f2a06", "2026-06-03T17:02:44", "ConnectorRemoved", TOM, ITOPS,
     "19:a7f6e5d4c3b2a1f0e9d8c7b6a5f4e305@thread.tacv2", "Backups", "9c3e7a1f-2d8b-4e6c-a5f0-3b9d1e7c5a33", "Incoming Webhook"),
]


def b64ish(*parts):
    import base64
    return base64.b64encode("##".join(parts).encode()).decode()


def write_json(rel, obj):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Windows PowerShell 5.1 `Set-Content -Encoding UTF8`: a BOM, CRLF.
    text = json.dumps(obj, indent=4, ensure_ascii=False).replace("\n", "\r\n") + "\r\n"
    with open(path, "wb") as f:
        f.write(b"\xef\xbb\xbf" + text.encode("utf-8"))


def app_installation(team_id, app_id):
    name, version, short = DEFINITIONS[app_id]
    return {
        "id": b64ish(team_id, app_id),
        "teamsAppDefinition": {
            "id": b64ish(app_id, version),
            "teamsAppId": app_id,
            "displayName": name,
            "version": version,
            "publishingState": "published",
            "shortDescription": short,
            "description": short,
            "lastModifiedDateTime": None,
            "createdBy": None,
        },
    }


def main():
    write_json("teams.json", {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups(id,displayName,visibility,createdDateTime)",
        "value": [
            {"id": tid, "displayName": name, "visibility": vis, "createdDateTime": created}
            for tid, name, vis, created, _, _ in TEAMS
        ],
    })
    for tid, _, _, _, apps, owners in TEAMS:
        if apps == 403:
            write_json(f"installedApps/{tid}.json", {
                "status": 403,
                "error": {
                    "code": "Forbidden",
                    "message": "Missing role permissions on the request. API requires one of 'TeamsAppInstallation.ReadForTeam.All, TeamsAppInstallation.ReadWriteForTeam.All'.",
                },
            })
        else:
            write_json(f"installedApps/{tid}.json", {
                "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#teams('{tid}')/installedApps(teamsAppDefinition())",
                "value": [app_installation(tid, a) for a in apps],
            })
        write_json(f"owners/{tid}.json", {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects(id,displayName,userPrincipalName,accountEnabled)",
            "value": owners,
        })

    team_name = {t[0]: t[1] for t in TEAMS}
    rows = ['"CreationDate","UserIds","Operations","AuditData"']
    records = AUDIT + [AUDIT[1]]  # ReturnLargeSet pages can repeat a record
    for rid, when, op, who, tid, chan_id, chan, addon_guid, addon in records:
        data = {
            "CreationTime": when,
            "Id": rid,
            "Operation": op,
            "OrganizationId": TENANT,
            "RecordType": 25,
            "UserKey": who["id"],
            "UserType": 0,
            "Version": 1,
            "Workload": "MicrosoftTeams",
            "ClientIP": "203.0.113.24",
            "UserId": who["userPrincipalName"],
            "AADGroupId": tid,
            "ChannelGuid": chan_id,
            "ChannelName": chan,
            "ChannelType": "Standard",
            "TeamGuid": THREAD[tid],
            "TeamName": team_name[tid],
            "AddOnGuid": addon_guid,
            "AddOnName": addon,
            "AddOnType": 2,
        }
        fields = [when + ".0000000Z", who["userPrincipalName"], op, json.dumps(data, separators=(",", ":"))]
        rows.append(",".join('"' + f.replace('"', '""') + '"' for f in fields))
    path = os.path.join(HERE, "audit", "ConnectorAudit.csv")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"\xef\xbb\xbf" + ("\r\n".join(rows) + "\r\n").encode("utf-8"))


if __name__ == "__main__":
    main()
