#!/usr/bin/env bash
# Installs what mlmon needs on a fresh machine, and is a quick no-op when all
# of it is there. Both README commands (npm start, npm test) run it first.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }
# How long each step took: where a fresh clone's `npm test` spends its minutes.
phase_start=$SECONDS
phase() { echo "bootstrap: $1 ready ($((SECONDS - phase_start)) s)"; phase_start=$SECONDS; }

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
phase 'system packages'

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
phase 'npm packages'

# Services run compiled (node <package>/dist/main.js); tsc -b rebuilds only what changed.
npm run --silent build
phase 'the build'

# The tests retrain a model and compare the analyzer's judgments with NannyML: the Python environment the retrain
# job would make on its first use (model/.venv from the pinned model/requirements.txt, made here once, by the same
# code), plus NannyML's minimal pinned list on top (model/requirements-nannyml.txt, --no-deps: it is complete, and
# leaves requirements.txt's pins alone; --no-compile: Python compiles what a test imports, not the thousands of
# modules plotly and matplotlib ship). A copy of the list in the venv records what is installed.
python_env() {
  if [ ! -x model/.venv/bin/python ]; then
    echo "bootstrap: creating model/.venv (PyPI; first run only)"
    node --input-type=module -e "const { trainingPython } = await import('@mlmon/remediator'); await trainingPython({ configured: undefined, modelDir: 'model', progress: (m) => console.log('bootstrap: ' + m) });"
  fi
  if ! cmp -s model/requirements-nannyml.txt model/.venv/requirements-nannyml.txt; then
    echo "bootstrap: installing NannyML into model/.venv (PyPI; first run only)"
    model/.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-compile -r model/requirements-nannyml.txt
    cp model/requirements-nannyml.txt model/.venv/requirements-nannyml.txt
    echo 'bootstrap: NannyML installed'
  fi
}
if [ "${1:-}" = "--test" ]; then
  # Minutes from PyPI on a fresh clone, so it runs in the background while the type check, the linter and the
  # tests that do not need it run. The status file holds "running <pid>", then the job's exit status; the tests that
  # need the environment wait for it (bootstrappedPython in @mlmon/runtime/testing) and show this log if it failed.
  mkdir -p .cache/bootstrap
  echo running >.cache/bootstrap/python-env.status
  # errexit holds in the inner subshell only (a failed step ends it with its status), and the job holds none of
  # this script's output streams, so nothing waits for it to close them.
  (
    set +e
    # With the job's pid, so that a test can tell a job still running from one killed with the run.
    echo "running $BASHPID" >.cache/bootstrap/python-env.status
    # Below the tests: the whole-stack scenarios run in real time and need the cores more than pip does.
    renice -n 10 -p $BASHPID >/dev/null
    (set -e; python_env) >.cache/bootstrap/python-env.log 2>&1
    echo $? >.cache/bootstrap/python-env.status
  ) </dev/null >/dev/null 2>&1 &
  echo "bootstrap: making the model's Python environment in the background (log: .cache/bootstrap/python-env.log)"
fi

npm run --silent es:fetch
phase 'the Elasticsearch distribution'
