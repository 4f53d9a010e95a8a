# N-able N-sight script check for the Plumbline agent (see n-able-n-sight.md).
# Prints `plumbline.exe status --rmm nable` and exits with its code: 0 passes;
# 1001-1007 name the most urgent problem (N-sight keeps 1-999 for itself).
param([string]$FailOn = 'high')
$exe = Join-Path $(if ($env:ProgramW6432) { $env:ProgramW6432 } else { $env:ProgramFiles }) 'Plumbline\plumbline.exe'
if (-not (Test-Path $exe)) {
    Write-Output "plumbline is not installed ($exe is missing); run the install task"
    exit 1001
}
& $exe status --rmm nable --fail-on $FailOn
exit $LASTEXITCODE
