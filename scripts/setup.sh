#!/usr/bin/env bash
# Installs what the tests and the demo need, idempotently: Debian packages
# (only when one is missing, so a ready machine does no network work), then
# the npm dependencies exactly as locked.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests and demo use. Keep in sync with docs/development.md.
APT_PACKAGES=(
  openssl   # `openssl verify` in the PKI tests
  mosquitto # the real MQTT broker of the integration tests
  faketime  # wall-clock jumps under a running agent (libfaketime)
  # The simulated cameras' live RTSP streams (GStreamer through /usr/bin/python3's gi),
  # and ffmpeg/ffprobe, which read them as the agent will.
  python3-gi
  gir1.2-gst-rtsp-server-1.0
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly # x264enc
  gstreamer1.0-plugins-bad  # x265enc: the H.265-only camera
  gstreamer1.0-x            # textoverlay, clockoverlay: name and time in the picture
  gstreamer1.0-tools        # gst-inspect-1.0: the tests check for elements
  ffmpeg
  # The live viewer's end-to-end tests (headless, through playwright-core) and the
  # relay's proof that it writes no media (strace of its write/openat calls).
  chromium
  strace
  # Test-only: pdftotext and pdfinfo read back the register's PDF exports
  # (test/central/register-read-exports.test.ts skips that check without them).
  poppler-utils
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages present"
fi

# The Debian mosquitto package may start a system broker on :1883; our tests
# start their own on free loopback ports and never rely on it.

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" != "20" ]; then
  echo "setup: Node 20 is required (found $(node -v))" >&2
  exit 1
fi

# npm ci is idempotent but slow; skip it when the lockfile has not changed.
stamp=node_modules/.vigie-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup: node_modules up to date"
else
  npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
fi
