<#
.SYNOPSIS
    Save the Power Platform, Power Automate and Graph answers that the
    Plumbline plugin `power-automate-flows` reads in offline mode.

.DESCRIPTION
    Writes, under -OutDir (the folder the Plumbline agent is granted):

        environments.json            Power Platform admin: every environment
        users.json                   Graph getByIds: {"ids": [asked], "value": [answered]}
        <environment>\flows.json     Power Automate admin v2/flows, all pages merged
        <environment>\permissions.json   {"<flow name>": <permissions answer>, ...}
        <environment>\definitions.json   {"<flow name>": <flow with its definition>, ...}
                                     (flows with a Teams webhook or HTTP trigger, and
                                     flows whose summary lists no trigger at all)

    It needs a Power Platform administrator (or Dynamics 365 administrator)
    for the admin flow APIs, and Graph User.Read.All (or Directory.Read.All)
    for the owners' accounts. Tokens come from -FlowToken / -BapToken /
    -GraphToken when given, else from the Az.Accounts session
    (Connect-AzAccount) with Get-AzAccessToken.

    Works in Windows PowerShell 5.1 and PowerShell 7. Nothing here changes
    the tenant: every call is a GET, except Graph getByIds, which is a read
    that takes its ids in a POST body.

.PARAMETER OutDir
    Where to write the files (created if missing).

.PARAMETER Environment
    Only these environment names (Default-<tenant id>, GUIDs). Default: all.

.PARAMETER SkipUsers
    Do not look up the owners in Graph (the plugin then cannot tell orphaned flows).

.EXAMPLE
    Connect-AzAccount -TenantId 5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa
    .\export-flows.ps1 -OutDir C:\ProgramData\Plumbline\exports\flows

.EXAMPLE
    # Tokens from elsewhere (MSAL.PS, an app registration, ...):
    .\export-flows.ps1 -OutDir .\flows -FlowToken $flow -BapToken $bap -GraphToken $graph

.NOTES
    The Power Platform admin PowerShell module gives the same data: the raw
    API objects are in the .Internal property of Get-AdminPowerAppEnvironment,
    Get-AdminFlow and Get-AdminFlowOwnerRole results, e.g.
        Get-AdminFlow -EnvironmentName $env | ForEach-Object { $_.Internal }
    and can be saved in the layout above with ConvertTo-Json -Depth 50.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)] [string] $OutDir,
    [string[]] $Environment,
    [string] $FlowToken,
    [string] $BapToken,
    [string] $GraphToken,
    [switch] $SkipUsers
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2

$Bap = 'https://api.bap.microsoft.com'
$Flow = 'https://api.flow.microsoft.com'
$Graph = 'https://graph.microsoft.com'

function Get-Token([string] $Resource, [string] $Given) {
    if ($Given) { return $Given }
    if (-not (Get-Command Get-AzAccessToken -ErrorAction SilentlyContinue)) {
        throw "No token for $Resource : pass it as a parameter, or install Az.Accounts and run Connect-AzAccount."
    }
    $token = (Get-AzAccessToken -ResourceUrl $Resource).Token
    if ($token -is [System.Security.SecureString]) {
        # Az.Accounts 5 and later hand out a SecureString.
        $token = [System.Net.NetworkCredential]::new('', $token).Password
    }
    return $token
}

# One call, retried when throttled (429) or briefly unavailable (503).
# Returns $null for a 404 when -AllowNotFound is set.
function Invoke-Api([string] $Uri, [string] $Token, [string] $Method = 'GET', $Body, [switch] $AllowNotFound) {
    $headers = @{ Authorization = "Bearer $Token"; Accept = 'application/json' }
    for ($attempt = 1; ; $attempt++) {
        try {
            if ($null -ne $Body) {
                $json = $Body | ConvertTo-Json -Depth 5 -Compress
                return Invoke-RestMethod -Method $Method -Uri $Uri -Headers $headers -Body $json -ContentType 'application/json'
            }
            return Invoke-RestMethod -Method $Method -Uri $Uri -Headers $headers
        } catch {
            $response = $_.Exception.Response
            $status = if ($response) { [int] $response.StatusCode } else { 0 }
            if ($status -eq 404 -and $AllowNotFound) { return $null }
            if (($status -eq 429 -or $status -eq 503) -and $attempt -le 5) {
                $wait = 5 * $attempt
                try { $wait = [int] $response.Headers['Retry-After'] } catch { }
                if ($wait -le 0) { $wait = 5 * $attempt }
                Write-Warning "Throttled ($status) on $($Uri.Split('?')[0]); waiting $wait s"
                Start-Sleep -Seconds $wait
                continue
            }
            throw
        }
    }
}

# Every item of a list, following nextLink (Power Platform) or @odata.nextLink (Graph).
function Get-All([string] $Uri, [string] $Token) {
    $items = New-Object System.Collections.Generic.List[object]
    while ($Uri) {
        $page = Invoke-Api -Uri $Uri -Token $Token
        foreach ($item in @($page.value)) { if ($null -ne $item) { $items.Add($item) } }
        $next = $null
        foreach ($name in 'nextLink', '@odata.nextLink') {
            if ($page.PSObject.Properties[$name] -and $page.$name) { $next = $page.$name }
        }
        $Uri = $next
    }
    return , $items
}

function Save-Json($Object, [string] $Path) {
    # -Depth 50: flow definitions nest deeply (the default depth, 2, would cut them).
    $Object | ConvertTo-Json -Depth 50 | Out-File -FilePath $Path -Encoding utf8
}

# Whether only the flow's definition can tell who may call it, as the
# plugin decides: the admin list often answers "triggers": [], which says
# nothing (every flow has a trigger), so such flows need it too.
function Test-NeedsDefinition($FlowObject) {
    $summary = $FlowObject.properties.PSObject.Properties['definitionSummary']
    if (-not $summary -or $null -eq $summary.Value) { return $true }
    $triggersProperty = $summary.Value.PSObject.Properties['triggers']
    $triggers = if ($triggersProperty) { @($triggersProperty.Value | Where-Object { $null -ne $_ }) } else { @() }
    if ($triggers.Count -eq 0) { return $true }
    foreach ($t in $triggers) {
        $op = if ($t.PSObject.Properties['swaggerOperationId']) { $t.swaggerOperationId } else { '' }
        $kind = if ($t.PSObject.Properties['kind']) { $t.kind } else { '' }
        $type = if ($t.PSObject.Properties['type']) { $t.type } else { '' }
        if ($op -eq 'TeamsIncomingWebhookTrigger' -or $kind -eq 'TeamsWebhook') { return $true }
        if ($type -eq 'Request' -and ($kind -eq '' -or $kind -eq 'Http')) { return $true }
    }
    return $false
}

New-Item -ItemType Directory -Force -Path $OutDir | Out-Null
$bapToken = Get-Token "$Bap/" $BapToken
$flowToken = Get-Token 'https://service.flow.microsoft.com/' $FlowToken

$environments = Get-All "$Bap/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2023-06-01" $bapToken
if ($Environment) {
    $environments = @($environments | Where-Object { $Environment -contains $_.name })
}
Save-Json @{ value = @($environments) } (Join-Path $OutDir 'environments.json')

$owners = New-Object System.Collections.Generic.HashSet[string]
foreach ($env in $environments) {
    $name = $env.name
    $dir = Join-Path $OutDir $name
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
    Write-Host "Environment $name ($($env.properties.displayName))"

    $flows = Get-All "$Flow/providers/Microsoft.ProcessSimple/scopes/admin/environments/$name/v2/flows?api-version=2016-11-01&`$top=250" $flowToken
    Save-Json @{ value = @($flows) } (Join-Path $dir 'flows.json')

    $permissions = [ordered]@{}
    $definitions = [ordered]@{}
    $i = 0
    foreach ($f in $flows) {
        $i++
        Write-Progress -Activity "Flows of $name" -Status $f.properties.displayName -PercentComplete (100 * $i / [math]::Max(1, $flows.Count))
        $base = "$Flow/providers/Microsoft.ProcessSimple/scopes/admin/environments/$name/flows/$($f.name)"
        $perm = Invoke-Api -Uri "$base/permissions?api-version=2016-11-01" -Token $flowToken -AllowNotFound
        if ($null -eq $perm) { continue }  # deleted while we listed
        $permissions[$f.name] = @{ value = @($perm.value) }
        foreach ($p in @($perm.value)) {
            if ($null -ne $p -and $p.properties.principal.type -eq 'User' -and
                ($p.properties.roleName -eq 'Owner' -or $p.properties.roleName -eq 'CanEdit')) {
                [void] $owners.Add($p.properties.principal.id)
            }
        }
        if (Test-NeedsDefinition $f) {
            $def = Invoke-Api -Uri "$base`?api-version=2016-11-01&`$expand=properties.definition" -Token $flowToken -AllowNotFound
            if ($null -ne $def) { $definitions[$f.name] = $def }
        }
    }
    Write-Progress -Activity "Flows of $name" -Completed
    Save-Json $permissions (Join-Path $dir 'permissions.json')
    Save-Json $definitions (Join-Path $dir 'definitions.json')
}

if (-not $SkipUsers -and $owners.Count -gt 0) {
    $graphToken = Get-Token "$Graph/" $GraphToken
    $ids = @($owners)
    $found = New-Object System.Collections.Generic.List[object]
    # getByIds takes up to 1000 ids; $select because v1.0 leaves accountEnabled out by default.
    for ($start = 0; $start -lt $ids.Count; $start += 1000) {
        $chunk = $ids[$start..([math]::Min($start + 999, $ids.Count - 1))]
        $answer = Invoke-Api -Method POST -Uri "$Graph/v1.0/directoryObjects/getByIds?`$select=id,accountEnabled,displayName,userPrincipalName" `
            -Token $graphToken -Body @{ ids = @($chunk); types = @('user') }
        foreach ($u in @($answer.value)) { if ($null -ne $u) { $found.Add($u) } }
    }
    # Ids asked for and not answered are deleted users: the plugin reads them so.
    Save-Json @{ ids = $ids; value = @($found) } (Join-Path $OutDir 'users.json')
}

Write-Host "Saved to $OutDir. Grant that folder to the power-automate-flows plugin (mode = offline, export_dir)."
