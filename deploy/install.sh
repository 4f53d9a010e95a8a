#!/bin/sh
# Install the Plumbline agent in one line, as an RMM script does (run as root):
#
#   COLLECTOR_URL=https://collector.msp.example ENROLL_TOKEN=... [SITE=...] sh install.sh
#
# or with the same values as arguments (--collector URL --token TOKEN --site SITE);
# every option of `plumbline install --help` passes through. The work is
# done by the agent (`plumbline install`: enroll, write the config, put the
# binary in /usr/local/bin, install and start the systemd timer); this
# script only finds the binary: $PLUMBLINE_BIN, else ./plumbline beside this
# script, else plumbline on PATH. Exit codes are the agent's (0 ok, 2 a
# wrong value, a refused token or an unreachable collector: stderr says which).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${PLUMBLINE_BIN:-}
if [ -z "$bin" ]; then
  if [ -x "$here/plumbline" ]; then bin=$here/plumbline; else bin=$(command -v plumbline || true); fi
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "install.sh: no plumbline binary: put it beside this script, on PATH, or name it in PLUMBLINE_BIN" >&2
  exit 2
fi
exec "$bin" install "$@"
