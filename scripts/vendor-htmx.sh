#!/usr/bin/env bash
# Refresh the console's vendored htmx from the npm registry (pinned; 0BSD licence).
# Usage: scripts/vendor-htmx.sh [version]   — then commit the file and note the version in README.
set -euo pipefail
version="${1:-2.0.11}"
dest="$(cd "$(dirname "$0")/.." && pwd)/services/api/vibecode_api/console/static/htmx.min.js"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "htmx.org@${version}" >/dev/null && tar xzf htmx.org-*.tgz)
cp "$work/package/dist/htmx.min.js" "$dest"
echo "htmx ${version} → ${dest} ($(wc -c <"$dest") bytes)"
