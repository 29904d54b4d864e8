#!/usr/bin/env bash
# ensure-alertmanager.sh: Prometheus Alertmanager and amtool for `mlmon up` and the tests.
# Debian's prometheus-alertmanager when apt has it, with its own service masked first: mlmon starts its
# Alertmanager itself (127.0.0.1:9093, the committed alertmanager/alertmanager.yml), and the package's
# service would take :9093 (and :9094 for clustering) on every interface. Where apt has no such package,
# the same release built from its Go module into .cache/alertmanager/bin (Go module proxy only).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.25.0
have() { command -v "$1" >/dev/null 2>&1; }

if have prometheus-alertmanager && have amtool; then exit 0; fi
[ -x .cache/alertmanager/bin/alertmanager ] && [ -x .cache/alertmanager/bin/amtool ] && exit 0

if have apt-cache && apt-cache show prometheus-alertmanager >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    # What `systemctl mask` writes, done by hand so it also works where systemd is not running (containers):
    # the postinst's deb-systemd-invoke then leaves the unit alone.
    mkdir -p /etc/systemd/system
    ln -sf /dev/null /etc/systemd/system/prometheus-alertmanager.service
  fi
  bash scripts/ensure-debs.sh prometheus-alertmanager
  # A SysV host without a policy-rc.d lets the init script start it: stop that one, it is not ours.
  if [ -f /run/prometheus/prometheus-alertmanager.pid ] && [ -x /etc/init.d/prometheus-alertmanager ]; then
    /etc/init.d/prometheus-alertmanager stop || true
  fi
  exit 0
fi

have go || { echo "error: no prometheus-alertmanager package in apt and no Go toolchain to build it; install one of them" >&2; exit 1; }
echo "bootstrap: building Alertmanager $VERSION from its Go module (first run only, a few minutes)"
mkdir -p .cache/alertmanager/bin
for cmd in alertmanager amtool; do
  GOBIN="$PWD/.cache/alertmanager/bin" go install \
    -ldflags "-X github.com/prometheus/common/version.Version=$VERSION" \
    "github.com/prometheus/alertmanager/cmd/$cmd@v$VERSION"
done
