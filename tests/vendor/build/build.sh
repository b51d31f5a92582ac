#!/usr/bin/env bash
# Rebuilds tests/vendor/axe.min.js (axe-core, pinned in package.json and package-lock.json) and
# tests/vendor/axe.LICENSES.txt (its licence, MPL-2.0, and the third-party notices it ships). The accessibility
# tests inject it into the page under test; the app never serves it. Needs node 20 and npm; node_modules/
# stays out of git.
#   bash tests/vendor/build/build.sh
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
version=$(node -p 'require("./node_modules/axe-core/package.json").version')
cp node_modules/axe-core/axe.min.js ../axe.min.js
{
  echo "axe-core ${version} (MPL-2.0), copied unchanged from the npm registry by build.sh into axe.min.js."
  echo "Its source: https://github.com/dequelabs/axe-core/tree/v${version}"
  echo
  cat node_modules/axe-core/LICENSE
  echo
  cat node_modules/axe-core/LICENSE-3RD-PARTY.txt
} > ../axe.LICENSES.txt
ls -l ../axe.min.js ../axe.LICENSES.txt
