<#
.SYNOPSIS
    Export what the Plumbline teams-webhooks plugin reads in offline mode.

.DESCRIPTION
    Writes, under -OutDir (the directory the Plumbline agent is granted):

      teams.json                   GET /v1.0/groups?$filter=resourceProvisioningOptions/Any(x:x eq 'Team')
      installedApps\<teamId>.json  GET /v1.0/teams/<id>/installedApps?$expand=teamsAppDefinition
      owners\<teamId>.json         GET /v1.0/groups/<id>/owners?$select=id,displayName,userPrincipalName,accountEnabled
      audit\ConnectorAudit.csv     Search-UnifiedAuditLog, operations ConnectorAdded, ConnectorUpdated,
                                   ConnectorRemoved (optional; needs Exchange Online PowerShell)
      Get-OrganizationConfig.json  ConnectorsEnabled, ConnectorsEnabledForTeams (optional; same)

    Every file is the Graph answer as Invoke-MgGraphRequest returns it, with all
    @odata.nextLink pages merged into one "value" array. A per-team call that
    Graph refuses is saved as {"status": 403, "error": {...}} so that the plugin
    can tell "could not read" from "no apps".

    Works in Windows PowerShell 5.1 and PowerShell 7. Files are UTF-8.

    Graph (Microsoft.Graph.Authentication module), app-only is best, since a
    delegated user only sees the teams they belong to:
        Connect-MgGraph -TenantId <tenant> -ClientId <app> -CertificateThumbprint <thumbprint>
      application permissions: GroupMember.Read.All, User.Read.All,
      TeamsAppInstallation.ReadForTeam.All (admin consent).
      Delegated instead:
        Connect-MgGraph -Scopes GroupMember.Read.All,User.Read.All,TeamsAppInstallation.ReadForTeam

    Audit log and tenant switch (ExchangeOnlineManagement module), with the
    View-Only Audit Logs and View-Only Configuration roles:
        Connect-ExchangeOnline

.PARAMETER OutDir
    Where to write the export. Created if missing.

.PARAMETER AuditDays
    How far back to search the audit log (1-180; Audit (Standard) keeps 180 days).

.PARAMETER SkipAudit
    Do not search the audit log (no channel-level detail).

.PARAMETER SkipOrganizationConfig
    Do not read Get-OrganizationConfig.

.EXAMPLE
    .\export-teams.ps1 -OutDir C:\ProgramData\Plumbline\exports\teams -AuditDays 180
#>
[CmdletBinding()]
param(
    [string]$OutDir = (Join-Path (Get-Location).Path 'teams'),
    [ValidateRange(1, 180)][int]$AuditDays = 180,
    [switch]$SkipAudit,
    [switch]$SkipOrganizationConfig
)

$ErrorActionPreference = 'Stop'
$graph = 'https://graph.microsoft.com/v1.0'
$utf8 = New-Object System.Text.UTF8Encoding($false)

function Save-Json {
    param($Object, [string]$Path)
    $dir = Split-Path -Parent $Path
    if (-not (Test-Path -LiteralPath $dir)) { New-Item -ItemType Directory -Path $dir -Force | Out-Null }
    # -Depth: an installed app nests teamsAppDefinition inside value; the default depth (2) flattens it.
    $json = ConvertTo-Json -InputObject $Object -Depth 20
    [System.IO.File]::WriteAllText($Path, $json, $utf8)
}

function Get-GraphPages {
    param([string]$Uri)
    $items = New-Object System.Collections.Generic.List[object]
    while ($Uri) {
        $page = Invoke-MgGraphRequest -Method GET -Uri $Uri -OutputType Hashtable
        foreach ($item in @($page['value'])) {
            if ($null -ne $item) { $items.Add($item) }
        }
        $Uri = $page['@odata.nextLink']
    }
    # The comma keeps an empty or one-item list an array.
    return , $items.ToArray()
}

function Get-HttpStatus {
    param($ErrorRecord)
    $response = $ErrorRecord.Exception.PSObject.Properties['Response']
    if ($response -and $response.Value) {
        try { return [int]$response.Value.StatusCode } catch { }
    }
    $text = "$($ErrorRecord.Exception.Message) $($ErrorRecord.ErrorDetails)"
    if ($text -match 'Forbidden|Authorization_RequestDenied') { return 403 }
    if ($text -match 'NotFound|Not Found') { return 404 }
    if ($text -match 'TooManyRequests|Too Many Requests') { return 429 }
    return $null
}

function Save-GraphCollection {
    param([string]$Uri, [string]$Path)
    try {
        $items = Get-GraphPages -Uri $Uri
        Save-Json -Object @{ value = $items } -Path $Path
        return $true
    } catch {
        $status = Get-HttpStatus $_
        Save-Json -Object @{
            status = $status
            error  = @{ code = 'ExportFailed'; message = $_.Exception.Message }
        } -Path $Path
        Write-Warning "$Uri failed (HTTP $status): $($_.Exception.Message)"
        return $false
    }
}

if (-not (Get-Command Invoke-MgGraphRequest -ErrorAction SilentlyContinue)) {
    throw 'Invoke-MgGraphRequest not found: Install-Module Microsoft.Graph.Authentication, then Connect-MgGraph.'
}
New-Item -ItemType Directory -Path $OutDir -Force | Out-Null
$OutDir = (Resolve-Path -LiteralPath $OutDir).Path

# 1. The teams. A failure here stops the export: without it nothing else means anything.
$teamsUri = "$graph/groups?`$filter=resourceProvisioningOptions/Any(x:x eq 'Team')" +
    "&`$select=id,displayName,visibility,createdDateTime&`$top=999"
$teams = Get-GraphPages -Uri $teamsUri
Save-Json -Object @{ value = $teams } -Path (Join-Path $OutDir 'teams.json')
Write-Host "teams.json: $($teams.Count) teams"

# 2. Per team: installed apps (with their definitions) and owners.
$refused = 0
$n = 0
foreach ($team in $teams) {
    $n++
    $id = [string]$team['id']
    if ($id -notmatch '^[0-9a-fA-F-]{36}$') { Write-Warning "skipping team id '$id'"; continue }
    Write-Progress -Activity 'Teams' -Status "$n of $($teams.Count)" -PercentComplete (100 * $n / [math]::Max(1, $teams.Count))
    $ok = Save-GraphCollection -Uri "$graph/teams/$id/installedApps?`$expand=teamsAppDefinition" `
        -Path (Join-Path $OutDir "installedApps\$id.json")
    if (-not $ok) { $refused++ }
    $ok = Save-GraphCollection -Uri "$graph/groups/$id/owners?`$select=id,displayName,userPrincipalName,accountEnabled" `
        -Path (Join-Path $OutDir "owners\$id.json")
    if (-not $ok) { $refused++ }
}
Write-Progress -Activity 'Teams' -Completed
Write-Host "installedApps\ and owners\: $($teams.Count) teams, $refused call(s) refused (saved as errors)"

# 3. Channel connectors from the unified audit log.
if (-not $SkipAudit) {
    if (-not (Get-Command Search-UnifiedAuditLog -ErrorAction SilentlyContinue)) {
        Write-Warning 'Search-UnifiedAuditLog not found: run Connect-ExchangeOnline first (or pass -SkipAudit). No channel-level detail exported.'
    } else {
        $end = (Get-Date).ToUniversalTime()
        $start = $end.AddDays(-$AuditDays)
        $session = [guid]::NewGuid().ToString()
        $records = New-Object System.Collections.Generic.List[object]
        do {
            $page = @(Search-UnifiedAuditLog -StartDate $start -EndDate $end -RecordType MicrosoftTeams `
                -Operations ConnectorAdded, ConnectorUpdated, ConnectorRemoved `
                -SessionId $session -SessionCommand ReturnLargeSet -ResultSize 5000)
            foreach ($r in $page) { $records.Add($r) }
            $total = 0
            if ($page.Count -gt 0) { $total = [int]$page[0].ResultCount }
        } while ($page.Count -gt 0 -and $records.Count -lt $total)
        $auditDir = Join-Path $OutDir 'audit'
        New-Item -ItemType Directory -Path $auditDir -Force | Out-Null
        $csv = Join-Path $auditDir 'ConnectorAudit.csv'
        if ($records.Count -eq 0) {
            # An empty search still says "no connector changes": keep the header.
            [System.IO.File]::WriteAllText($csv, "`"CreationDate`",`"UserIds`",`"Operations`",`"AuditData`"`r`n", $utf8)
        } else {
            $records |
                Select-Object @{ n = 'CreationDate'; e = { ([datetime]$_.CreationDate).ToUniversalTime().ToString('o') } },
                    UserIds, Operations, AuditData |
                Export-Csv -LiteralPath $csv -NoTypeInformation -Encoding UTF8
        }
        Write-Host "audit\ConnectorAudit.csv: $($records.Count) connector record(s) since $($start.ToString('yyyy-MM-dd'))"
    }
}

# 4. The tenant's connector switch.
if (-not $SkipOrganizationConfig) {
    if (-not (Get-Command Get-OrganizationConfig -ErrorAction SilentlyContinue)) {
        Write-Warning 'Get-OrganizationConfig not found: run Connect-ExchangeOnline first (or pass -SkipOrganizationConfig).'
    } else {
        $org = Get-OrganizationConfig |
            Select-Object ConnectorsEnabled, ConnectorsEnabledForTeams, ConnectorsEnabledForOutlook
        Save-Json -Object $org -Path (Join-Path $OutDir 'Get-OrganizationConfig.json')
        Write-Host "Get-OrganizationConfig.json: ConnectorsEnabled=$($org.ConnectorsEnabled) ConnectorsEnabledForTeams=$($org.ConnectorsEnabledForTeams)"
    }
}
