#!/usr/bin/env bash
# CI for the mini-program client in examples/miniprogram: installs its pinned
# npm packages, regenerates the GraphQL types from graph/*.graphqls and the
# example's operations and fails when they differ from the committed ones
# (a schema change that breaks the client), type-checks the mini-program,
# then runs its tests against a wxtodo built from this checkout: the API
# client, the live client over a real WebSocket, and the todo page in
# miniprogram-simulate. Needs Go, Node.js >= 20 and npm; run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
export CI="${CI:-true}"

step() { printf '\n=== %s\n' "$*"; }

cd examples/miniprogram

# The code generator needs Node.js 20 or later (with npm).
if ! command -v node >/dev/null || ! command -v npm >/dev/null ||
  [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "the mini-program checks need Node.js >= 20 and npm on PATH" >&2
  exit 1
fi

step "mini-program: npm ci (node $(node --version))"
npm ci --no-audit --no-fund

step "mini-program: generated types are fresh"
gen=miniprogram/api/generated
snap=$(mktemp -d "${TMPDIR:-/tmp}/wxtodo-miniprogram-ci.XXXXXX")
trap 'rm -rf "$snap"' EXIT
mkdir "$snap/committed"
if [ -d "$gen" ]; then
  cp -R "$gen/." "$snap/committed/"
fi
npm run --silent codegen
if ! diff -ru "$snap/committed" "$gen"; then
  echo "the mini-program's generated types are stale: run 'npm run codegen' in examples/miniprogram and commit $gen (or fix the operations the schema change broke)" >&2
  exit 1
fi

step "mini-program: type-check"
npm run --silent typecheck

step "mini-program: tests"
npm test
