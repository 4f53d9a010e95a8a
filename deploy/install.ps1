# Install the Plumbline agent in one line, as an RMM script does (run as
# SYSTEM or an administrator):
#
#   powershell -ExecutionPolicy Bypass -File install.ps1 -CollectorUrl https://collector.msp.example -EnrollToken ... [-Site ...]
#
# Each parameter defaults to the environment variable of the same name
# (COLLECTOR_URL, ENROLL_TOKEN, SITE, COLLECTOR_CA_FILE, COLLECTOR_PIN,
# PLUGIN_PUBLISHERS), which is how NinjaOne passes script
# variables; Datto's CS_PROFILE_NAME is read by the agent itself. The work
# is done by the agent (`plumbline.exe install`: enroll, write the config
# under %ProgramData%\Plumbline, copy the binary to %ProgramFiles%\Plumbline,
# install and start the service); this script only finds plumbline.exe
# beside it and passes the values on. Its exit code is the agent's.
param(
    [string]$CollectorUrl = $env:COLLECTOR_URL,
    [string]$EnrollToken = $env:ENROLL_TOKEN,
    [string]$Site = $env:SITE,
    [string]$CaFile = $env:COLLECTOR_CA_FILE,
    [string]$Pin = $env:COLLECTOR_PIN,
    [string]$PluginPublishers = $env:PLUGIN_PUBLISHERS
)
$ErrorActionPreference = 'Stop'
$exe = Join-Path $PSScriptRoot 'plumbline.exe'
if (-not (Test-Path $exe)) {
    Write-Error "install.ps1: no plumbline.exe beside this script ($PSScriptRoot)"
    exit 2
}
$arguments = @('install')
if ($CollectorUrl) { $arguments += @('--collector', $CollectorUrl) }
if ($EnrollToken) { $arguments += @('--token', $EnrollToken) }
if ($Site) { $arguments += @('--site', $Site) }
if ($CaFile) { $arguments += @('--ca-file', $CaFile) }
if ($Pin) { $arguments += @('--pin', $Pin) }
if ($PluginPublishers) { $arguments += @('--plugin-publishers', $PluginPublishers) }
& $exe @arguments
exit $LASTEXITCODE
