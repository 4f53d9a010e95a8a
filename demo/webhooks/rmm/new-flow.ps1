# Post to the "Patching" channel through a Workflows flow whose trigger is
# restricted to "Any user in my tenant": the URL carries no sig, and the
# caller sends an Entra ID token instead.
# DEMO FILE: the environment and workflow ids are fake.
$FlowUri = "https://d3m000000000400a8000000000000000.03.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke?api-version=1"

$token = (Get-AzAccessToken -ResourceUrl 'https://service.flow.microsoft.com/').Token
$body = @{ title = "Patching finished on $env:COMPUTERNAME"; text = 'See the RMM for details.' } | ConvertTo-Json
Invoke-RestMethod -Method Post -Uri $FlowUri -Headers @{ Authorization = "Bearer $token" } `
    -ContentType 'application/json' -Body $body
