"""The latent map's browser libraries: pinned, bundled in the repository with their licences, and nothing
fetched from elsewhere at run time."""
from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENDOR = REPO / "ui" / "vendor"


def test_every_npm_package_is_pinned_to_one_version_and_the_lock_file_agrees():
    package = json.loads((VENDOR / "build" / "package.json").read_text())
    lock = json.loads((VENDOR / "build" / "package-lock.json").read_text())
    pins = {**package["dependencies"], **package["devDependencies"]}
    assert {"regl", "d3-scale", "d3-contour", "esbuild"} <= set(pins)
    for name, version in pins.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} {version} is a range, not a version"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name


def test_the_bundle_is_built_and_every_bundled_package_has_its_licence_beside_it():
    bundle = (VENDOR / "map_libs.js").read_text()
    assert "globalThis.VaeMapLibs" in bundle and len(bundle) > 50_000
    licences = (VENDOR / "map_libs.LICENSES.txt").read_text()
    lock = json.loads((VENDOR / "build" / "package-lock.json").read_text())
    for name in ("regl", "d3-scale", "d3-contour", "d3-array", "internmap"):
        version = lock["packages"][f"node_modules/{name}"]["version"]
        assert re.search(rf"^{re.escape(name)} {re.escape(version)} \((MIT|ISC)\)$", licences, re.M), name
        assert "Permission" in licences
    assert "regl-scatterplot" not in licences  # measured against, not shipped (a devDependency)


def test_the_map_code_fetches_nothing_from_elsewhere():
    from ui.scatter_map import JS

    assert not re.search(r"""(import\s*\(|fetch\(|src=|href=)\s*["'`]https?://""", JS)
    assert not re.search(r"""["'`]https?://[^"'`]*\.(js|css|wasm)["'`]""", JS)


def test_axe_for_the_accessibility_tests_is_pinned_copied_unchanged_and_licensed():
    """tests/vendor/axe.min.js: axe-core as npm ships it (tests/vendor/build/build.sh), injected into the page by
    tests/test_accessibility_browser.py; nothing under ui/ (what the app serves) refers to it."""
    build = REPO / "tests" / "vendor" / "build"
    package = json.loads((build / "package.json").read_text())
    lock = json.loads((build / "package-lock.json").read_text())
    version = package["devDependencies"]["axe-core"]
    assert version == "4.14.1" and lock["packages"]["node_modules/axe-core"]["version"] == version
    axe = (REPO / "tests" / "vendor" / "axe.min.js").read_text()
    assert axe.startswith(f"/*! axe v{version}") and "Mozilla Public" in axe[:600]
    licences = (REPO / "tests" / "vendor" / "axe.LICENSES.txt").read_text()
    assert f"axe-core {version} (MPL-2.0)" in licences and "Mozilla Public License, version 2.0" in licences
    assert not any(re.search(r"\baxe\b|axe\.min", p.read_text()) for p in (REPO / "ui").rglob("*.py"))
