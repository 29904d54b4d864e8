#!/usr/bin/env bash
# Installs what mlmon needs on a fresh machine, and is a quick no-op when all
# of it is there. Both README commands (npm start, npm test) run it first.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }

apt_install() {
  if [ "$(id -u)" -ne 0 ] || ! have apt-get; then
    echo "error: missing $*; install it (Debian: apt-get install $*) and retry" >&2
    exit 1
  fi
  echo "bootstrap: installing $* with apt-get"
  if [ -z "${MLMON_APT_UPDATED:-}" ]; then apt-get update -qq; export MLMON_APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

have node || { echo "error: Node.js 20+ is required" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  { echo "error: Node.js 20+ is required, found $(node --version)" >&2; exit 1; }
have java || apt_install openjdk-17-jre-headless
have mvn || apt_install maven
# nginx from Debian fronts the replicas; as root mlmon installs it, otherwise it says how.
have nginx || [ -x /usr/sbin/nginx ] || apt_install nginx

# npm install scripts are denied in package.json (allowScripts); onnxruntime-node's
# would also try to download binaries, which its CPU build already ships.
# `npm install` rather than `npm ci`: this npm writes lockfiles without other
# platforms' optional packages and `npm ci` then calls the lockfile out of sync;
# `npm install` installs the locked versions and leaves the lockfile unchanged.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: installing npm packages"
  ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund
fi

npm run --silent es:fetch
