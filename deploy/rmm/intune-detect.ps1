# Intune Win32 app detection script for the Plumbline agent (see intune.md).
# Detected = exit 0 with something on stdout: `plumbline.exe status --rmm
# intune` prints one line and exits 0 when the agent is installed and
# working, and prints nothing on stdout (the reason on stderr) and exits 1
# otherwise.
$exe = Join-Path $(if ($env:ProgramW6432) { $env:ProgramW6432 } else { $env:ProgramFiles }) 'Plumbline\plumbline.exe'
if (-not (Test-Path $exe)) {
    exit 1
}
& $exe status --rmm intune
exit $LASTEXITCODE
