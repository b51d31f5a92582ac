#!/usr/bin/env bash
# Rebuilds ui/vendor/map_libs.js (the latent map's browser libraries, pinned in package.json and
# package-lock.json) and ui/vendor/map_libs.LICENSES.txt (the licence of every package in the bundle).
# Needs node 20 and npm; node_modules/ stays out of git.
#   bash ui/vendor/build/build.sh
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
./node_modules/.bin/esbuild entry.js --bundle --minify --format=iife --target=es2020 \
  --legal-comments=eof --metafile=meta.json --outfile=../map_libs.js
node licences.mjs meta.json > ../map_libs.LICENSES.txt
rm -f meta.json
ls -l ../map_libs.js ../map_libs.LICENSES.txt
