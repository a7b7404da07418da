#!/usr/bin/env bash
# Run a command in a private network namespace that has only loopback (as root), so nothing a
# test starts (browsers, native SDKs, bots dialling a room) can send a packet off this machine.
# Without root or unshare, the command runs as it is, with a warning.
set -euo pipefail
if [ "$(id -u)" = "0" ] && command -v unshare >/dev/null && command -v ip >/dev/null \
   && unshare -n true 2>/dev/null; then
  exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
fi
echo "isolated.sh: no network namespace (needs root and unshare); running without isolation" >&2
exec "$@"
