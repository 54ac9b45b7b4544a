#!/usr/bin/env bash
# Installs webrecorder's warcio (pinned) into DIR for the crawl_app.warc test, unless it is
# there already: the test then runs offline. Called by the test fixture and by scripts/setup.sh.
#   tests/apps/crawl/install_warcio.sh DIR
set -euo pipefail
version=2.4.11
dir="${1:?usage: install_warcio.sh DIR}"
if [[ -f "$dir/node_modules/warcio/package.json" ]] &&
  grep -q "\"version\": \"$version\"" "$dir/node_modules/warcio/package.json"; then
  exit 0
fi
command -v npm >/dev/null || {
  echo "install_warcio.sh: npm is missing (Debian 12: apt-get install nodejs npm; scripts/setup.sh does)" >&2
  exit 1
}
mkdir -p "$dir"
# A package.json of its own: npm installs into DIR, not into an enclosing project.
[[ -f "$dir/package.json" ]] || echo '{"name": "rankpool-warcio-reader", "private": true}' >"$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "warcio@$version"
