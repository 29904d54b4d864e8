#!/usr/bin/env bash
# Installs what mlmon needs on a fresh machine, and is a quick no-op when all
# of it is there. Both README commands (npm start, npm test) run it first.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }

have node || { echo "error: Node.js 20+ is required" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  { echo "error: Node.js 20+ is required, found $(node --version)" >&2; exit 1; }
have java || bash scripts/ensure-debs.sh openjdk-17-jre-headless
have mvn || bash scripts/ensure-debs.sh maven
# nginx from Debian fronts the replicas.
have nginx || [ -x /usr/sbin/nginx ] || bash scripts/ensure-debs.sh nginx
# Debian's Chromium runs the live dashboard's browser tests (driven by playwright-core).
[ -x /usr/bin/chromium ] || bash scripts/ensure-debs.sh chromium
# Prometheus Alertmanager receives every rule's notification (Debian's package, or its Go module).
bash scripts/ensure-alertmanager.sh

# npm install scripts are denied in package.json (allowScripts); onnxruntime-node's
# would also try to download binaries, which its CPU build already ships.
# `npm ci` installs exactly the committed lockfile. The registry these machines
# reach lacks some platforms' builds of the newest rollup (vitest's bundler), and
# npm leaves a package it cannot resolve out of the lockfile, which `npm ci` then
# refuses as out of sync: package.json pins rollup (overrides) to the newest
# version that every platform has.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: installing npm packages (npm ci)"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
fi

# Services run compiled (node <package>/dist/main.js); tsc -b rebuilds only what changed.
npm run --silent build

# The tests retrain a model and compare the analyzer's judgments with NannyML: the Python environment the retrain
# job would make on its first use (model/.venv from the pinned model/requirements.txt, made here once, by the same
# code), plus NannyML's minimal pinned list on top (model/requirements-nannyml.txt, --no-deps: it is complete, and
# leaves requirements.txt's pins alone). Both go from PyPI in the background while the Elasticsearch distribution
# is fetched; a copy of the list in the venv records what is installed.
python_env() {
  if [ ! -x model/.venv/bin/python ]; then
    echo "bootstrap: creating model/.venv (PyPI; first run only)"
    node --input-type=module -e "const { trainingPython } = await import('@mlmon/remediator'); await trainingPython({ configured: undefined, modelDir: 'model', progress: (m) => console.log('bootstrap: ' + m) });"
  fi
  if ! cmp -s model/requirements-nannyml.txt model/.venv/requirements-nannyml.txt; then
    echo "bootstrap: installing NannyML into model/.venv (PyPI; first run only)"
    model/.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r model/requirements-nannyml.txt
    cp model/requirements-nannyml.txt model/.venv/requirements-nannyml.txt
    echo 'bootstrap: NannyML installed'
  fi
}
if [ "${1:-}" = "--test" ]; then
  python_log=$(mktemp)
  # errexit holds in the background job: a failed step fails it, and its log is shown below.
  python_env >"$python_log" 2>&1 &
  python_job=$!
fi

npm run --silent es:fetch

if [ -n "${python_job:-}" ]; then
  if ! wait "$python_job"; then
    cat "$python_log" >&2
    rm -f "$python_log"
    echo "error: the model's Python environment could not be made (above)" >&2
    exit 1
  fi
  cat "$python_log"
  rm -f "$python_log"
fi
