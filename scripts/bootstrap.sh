#!/usr/bin/env bash
# Install what Switchboard needs on a fresh Debian/Ubuntu machine, then sync the locked env.
#   scripts/bootstrap.sh run   -> what `make run` needs (PortAudio headers, uv, Python deps)
#   scripts/bootstrap.sh test  -> plus the test tools (espeak-ng, sox, Chromium, PulseAudio,
#                                 PostgreSQL, Redis) the end-to-end suite drives for real
set -euo pipefail
mode="${1:-run}"
cd "$(dirname "$0")/.."

packages=(portaudio19-dev)
if [ "$mode" = "test" ]; then
  packages+=(espeak-ng sox libsox-fmt-all chromium pulseaudio pulseaudio-utils postgresql procps iproute2 util-linux festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts redis-server)
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "bootstrap: missing system packages: ${missing[*]}" >&2
    echo "bootstrap: install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

if ! command -v uv >/dev/null; then
  echo "bootstrap: installing uv with pip"
  python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
  export PATH="$HOME/.local/bin:$PATH"
fi
uv sync --frozen --quiet
