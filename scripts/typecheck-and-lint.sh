#!/usr/bin/env bash
# The type check and the linter side by side: each is one single-threaded process that keeps a core
# busy for half a minute, so together they take the time of the longer one. Fails if either fails.
set -uo pipefail
cd "$(dirname "$0")/.."
timed() {
  local start=$SECONDS
  npm run --silent "$1"
  local status=$?
  echo "$1: $((SECONDS - start)) s"
  return $status
}
timed typecheck & typecheck=$!
timed lint & lint=$!
wait "$typecheck"; t=$?
wait "$lint"; l=$?
exit $((t || l))
