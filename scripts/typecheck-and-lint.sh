#!/usr/bin/env bash
# The type check and the linter side by side: each is one single-threaded process that keeps a core
# busy for half a minute, so together they take the time of the longer one. Fails if either fails.
set -uo pipefail
cd "$(dirname "$0")/.."
npm run --silent typecheck & typecheck=$!
npm run --silent lint & lint=$!
wait "$typecheck"; t=$?
wait "$lint"; l=$?
exit $((t || l))
