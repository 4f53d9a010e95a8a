<#
    Nightly backup check for Northwind Dental (NW-FS01).
    Deployed by the RMM as a scheduled task at 06:30; posts the result to the
    "IT alerts" channel in Teams.
    DEMO FILE: every id and key below is fake.
#>
param(
    [string]$JobName = 'NW-FS01 nightly',
    [int]$MaxAgeHours = 26
)

$SuccessUri = 'https://outlook.office.com/webhook/00000000-feed-face-0000-000000000001@5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa/IncomingWebhook/0000000000000000000000000000dead/00000000-feed-face-0000-0000000000a1'
$FailureUri = 'https://outlook.office.com/webhook/00000000-feed-face-0000-000000000001@5f0c1a8e-2b6d-4c1e-9a77-3d2f8b41c0aa/IncomingWebhook/0000000000000000000000000000dead/00000000-feed-face-0000-0000000000a1'

$last = Get-WBSummary | Select-Object -ExpandProperty LastSuccessfulBackupTime
$age = (New-TimeSpan -Start $last -End (Get-Date)).TotalHours

$card = @{
    '@type'    = 'MessageCard'
    '@context' = 'https://schema.org/extensions'
    summary    = "Backup $JobName"
    themeColor = if ($age -le $MaxAgeHours) { '2DC72D' } else { 'D70000' }
    title      = "Backup $JobName"
    text       = "Last successful backup: $last ($([math]::Round($age, 1)) h ago)"
}

$uri = if ($age -le $MaxAgeHours) { $SuccessUri } else { $FailureUri }
Invoke-RestMethod -Method Post -Uri $uri -ContentType 'application/json' -Body ($card | ConvertTo-Json)
