#!/usr/bin/env bash
# Install code-server (pinned) from the npm registry into a prefix, for the local provisioner.
#
# Known to work on Node 20 (code-server 4.99.4; newer releases need Node 22). Its nested
# @vscode/ripgrep postinstall would download ripgrep from outside the registries, so Debian's rg
# is packed into the cache file that postinstall looks for first.
set -euo pipefail
VERSION="${CODE_SERVER_VERSION:-4.99.4}"
PREFIX="$(realpath -m "${1:-.tools/code-server}")"
BIN="$PREFIX/node_modules/.bin/code-server"

if [ -x "$BIN" ] && grep -q "\"version\": \"$VERSION\"" "$PREFIX/node_modules/code-server/package.json"; then
  exit 0
fi
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "code-server needs $tool (Node 20): apt-get install nodejs npm" >&2; exit 1; }
done
if ! command -v rg >/dev/null || ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libkrb5-dev ripgrep) >/dev/null
  else
    echo "code-server needs Debian's libkrb5-dev and ripgrep: sudo apt-get install libkrb5-dev ripgrep" >&2
    exit 1
  fi
fi

echo "installing code-server $VERSION into $PREFIX (about a minute)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export npm_config_yes=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
# 1. Learn which @vscode/ripgrep this release pins, without running any install script.
npm install --silent --ignore-scripts --prefix "$work/probe" "code-server@$VERSION" >/dev/null
rg_version="$(node -e 'const s=require(process.argv[1]);console.log(s.packages["node_modules/@vscode/ripgrep"].version)' \
  "$work/probe/node_modules/code-server/lib/vscode/npm-shrinkwrap.json")"
# 2. Put Debian's rg where that postinstall looks before downloading.
export TMPDIR="$work/tmp"
cache="$TMPDIR/vscode-ripgrep-cache-$rg_version"
mkdir -p "$cache" "$work/rg"
cp "$(command -v rg)" "$work/rg/rg"
for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  tar -czf "$cache/ripgrep-v13.0.0-10-$target.tar.gz" -C "$work/rg" rg
done
# 3. The real install, scripts included.
rm -rf "$PREFIX"
mkdir -p "$PREFIX"
npm install --silent --unsafe-perm --prefix "$PREFIX" "code-server@$VERSION" >/dev/null
"$BIN" --version | head -1
