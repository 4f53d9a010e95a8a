# Datto RMM monitor component for the Plumbline agent (see datto-rmm.md).
# Prints `plumbline.exe status --rmm datto` as it is (the result between
# <-Start Result-> and <-End Result->, then the diagnostics) and exits with
# its code: 0 healthy, 1 alert. With the component variable UDF set to 1-30,
# the STATUS line (at most 255 characters) also goes into that user-defined
# field.
$exe = Join-Path $(if ($env:ProgramW6432) { $env:ProgramW6432 } else { $env:ProgramFiles }) 'Plumbline\plumbline.exe'
if (-not (Test-Path $exe)) {
    Write-Output '<-Start Result->'
    Write-Output "STATUS=ALERT not_installed: $exe is missing; run the install component"
    Write-Output '<-End Result->'
    exit 1
}
$lines = & $exe status --rmm datto
$code = $LASTEXITCODE
$lines | ForEach-Object { Write-Output $_ }
if ($env:UDF -match '^([1-9]|[12][0-9]|30)$') {
    $status = $lines | Where-Object { $_ -like 'STATUS=*' } | Select-Object -First 1
    # Datto's agent reads UDFs from these registry values.
    New-ItemProperty -Path 'HKLM:\SOFTWARE\CentraStage' -Name "Custom$($env:UDF)" -Value $status -PropertyType String -Force | Out-Null
}
exit $(if ($code -eq 0) { 0 } else { 1 })
