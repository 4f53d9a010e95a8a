# NinjaOne: the Plumbline agent's health into custom fields (see ninjaone.md).
# Runs `plumbline.exe status --rmm ninja` and copies each plumbline_NAME=value
# line into the text custom field plumblineName (camelCase), where one exists.
# Exit code: the agent's (0 healthy, 1 needs attention, 2 the agent could not
# tell: see the output).
$exe = Join-Path $(if ($env:ProgramW6432) { $env:ProgramW6432 } else { $env:ProgramFiles }) 'Plumbline\plumbline.exe'
if (-not (Test-Path $exe)) {
    Write-Output "plumbline is not installed ($exe is missing); run the install script first"
    exit 2
}
$lines = & $exe status --rmm ninja
$code = $LASTEXITCODE
foreach ($line in $lines) {
    Write-Output $line
    if ($line -match '^plumbline_([a-z_]+)=(.*)$') {
        $field = 'plumbline' + (($Matches[1] -split '_' | ForEach-Object { $_.Substring(0, 1).ToUpper() + $_.Substring(1) }) -join '')
        try { Ninja-Property-Set $field $Matches[2] } catch { Write-Output "(no custom field $field: skipped)" }
    }
}
exit $code
