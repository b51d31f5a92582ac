"""Component data (ui/component_data.py): a JSON header and named float32 / uint16 / uint8 parts, some
deflated, in one bytes value; read back in Python and, by ui/js/component_data.js, in Chromium."""
from __future__ import annotations

import ast
import base64
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from ui.component_data import ALIGN, READER_JS, ComponentDataError, Deflated, component_data, deflate, unpack

REPO = Path(__file__).resolve().parents[1]


def _parts() -> dict:
    rng = np.random.default_rng(0)
    return {"xy": rng.normal(size=(5, 2)).astype(np.float32), "labels": np.array([1, 2, 3], np.uint16),
            "images": deflate(rng.integers(0, 256, (4, 3, 3), dtype=np.uint8)),
            "odd": np.arange(7, dtype=np.uint8), "weights": np.arange(3, dtype=">f4")}


@pytest.mark.parametrize("text", ["", "é", "abc", "abcd", "abcdefg"])
def test_header_and_parts_round_trip_each_part_on_an_8_byte_boundary(text):
    parts = _parts()
    data = component_data({"t": text, "n": [1, 2.5, None]}, parts)
    header, got = unpack(data)
    assert header == {"t": text, "n": [1, 2.5, None]}
    assert list(got) == list(parts)
    for name, want in parts.items():
        want = zlib.decompress(want.data) if isinstance(want, Deflated) else want
        if isinstance(want, bytes):
            want = np.frombuffer(want, np.uint8).reshape(parts[name].shape)
        np.testing.assert_array_equal(got[name], want)
        assert got[name].shape == want.shape and got[name].dtype.kind == want.dtype.kind
    (n,) = struct.unpack_from("<I", data)
    base = 4 + n + (-(4 + n) % ALIGN)
    assert base % ALIGN == 0 and data[4 + n:base] == b"\0" * (base - 4 - n)
    import json

    index = json.loads(data[4:4 + n])["parts"]
    assert all(p["offset"] % ALIGN == 0 for p in index)
    assert [p["deflate"] for p in index] == [False, False, True, False, False]
    weights = next(p for p in index if p["name"] == "weights")
    assert data[base + weights["offset"]:base + weights["offset"] + 12] == np.arange(3, dtype="<f4").tobytes()


def test_deflated_parts_are_smaller_and_keep_dtype_and_shape():
    flat = np.zeros((100, 28, 28), np.uint8)
    d = deflate(flat)
    assert d.dtype == "uint8" and d.shape == (100, 28, 28) and len(d.data) < flat.nbytes / 50
    sigma = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(unpack(component_data({}, {"s": deflate(sigma)}))[1]["s"], sigma)


def test_without_parts_and_refusals():
    assert unpack(component_data({"a": 1})) == ({"a": 1}, {})
    with pytest.raises(ComponentDataError, match="int64.*float32, uint16 or uint8"):
        component_data({}, {"bad": np.zeros(2, np.int64)})
    with pytest.raises(ComponentDataError, match="float64"):
        deflate(np.zeros(3))
    with pytest.raises(ComponentDataError, match="JSON"):
        component_data({"x": float("nan")})
    with pytest.raises(ComponentDataError, match="JSON"):
        component_data({"x": object()})


def _component_calls(tree: ast.Module) -> list[ast.Call]:
    """The calls of components made by ui.component_data.component in a module: of a name assigned one
    (``_clock = component(...)``), or of what a function returning one returns (``_hover_component()(...)``)."""
    made = lambda v: isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "component"  # noqa: E731
    names = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) and made(n.value) for t in n.targets}
    makers = {f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
              and any(isinstance(r, ast.Return) and made(r.value) for r in ast.walk(f))}
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and (
        (isinstance(n.func, ast.Name) and n.func.id in names)
        or (isinstance(n.func, ast.Call) and isinstance(n.func.func, ast.Name) and n.func.func.id in makers))]


def test_every_component_is_made_with_the_reader_and_given_component_data():
    """Only ui/component_data.py calls st.components.v2.component, so every component's code starts with the
    reader, and every component the app draws is handed component_data's bytes."""
    makers, calls, bare = [], 0, []
    for f in sorted([*(REPO / "ui").rglob("*.py"), *(REPO / "pages").glob("*.py"), REPO / "app.py"]):
        tree = ast.parse(f.read_text())
        makers += [f.relative_to(REPO).as_posix() for n in ast.walk(tree)
                   if isinstance(n, ast.Attribute) and ast.unparse(n) == "st.components.v2.component"]
        for call in _component_calls(tree):
            calls += 1
            data = next((kw.value for kw in call.keywords if kw.arg == "data"), None)
            made = isinstance(data, ast.Call) and isinstance(data.func, ast.Name) and data.func.id == "component_data"
            if not made:
                bare.append(f"{f.relative_to(REPO)}:{call.lineno}")
    assert makers == ["ui/component_data.py"]
    assert calls >= 10  # the map and its images, sliders, pointer, identity, hover, clock, canvas, link, copy link
    assert bare == [], f"a component given data not made by component_data at {bare}"


# -- the reader, in Chromium ----------------------------------------------------------------------------------

READ = """async ([b64, offset]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const buffer = new ArrayBuffer(offset + bytes.length);
  const raw = new Uint8Array(buffer, offset, bytes.length);  // as Streamlit hands it: a view at any offset
  raw.set(bytes);
  const { json, parts } = unpack(raw);
  const out = {};
  for (const [name, part] of Object.entries(parts)) {
    const deflated = part instanceof Promise;
    const arr = deflated ? await part : part;
    out[name] = { type: arr.constructor.name, values: Array.from(arr), inPlace: arr.buffer === buffer, deflated };
  }
  return { json, parts: out };
}"""


@pytest.fixture(scope="module")
def reader_page():
    from browser_support import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        page.set_content("<!doctype html><html><body></body></html>")
        page.add_script_tag(content=READER_JS)
        yield page
        browser.close()


@pytest.mark.browser
@pytest.mark.parametrize("offset", [0, 8, 1, 2, 3])
def test_the_browser_reads_what_python_wrote_in_place_when_aligned(reader_page, offset):
    parts = _parts()
    data = component_data({"key": "m", "é": [1, None]}, parts)
    got = reader_page.evaluate(READ, [base64.b64encode(data).decode(), offset])
    assert got["json"] == {"key": "m", "é": [1, None]}
    python = unpack(data)[1]
    types = {"xy": "Float32Array", "labels": "Uint16Array", "images": "Uint8Array", "odd": "Uint8Array",
             "weights": "Float32Array"}
    for name, part in got["parts"].items():
        assert part["type"] == types[name], name
        np.testing.assert_array_equal(np.array(part["values"], python[name].dtype), python[name].reshape(-1))
        assert part["deflated"] == (name == "images")
    aligned = {"xy": offset % 4 == 0, "labels": offset % 2 == 0, "odd": True, "weights": offset % 4 == 0}
    for name, in_place in aligned.items():  # a view of the data where its type allows, else one copy
        assert got["parts"][name]["inPlace"] == in_place, (name, offset)


@pytest.mark.browser
def test_the_browser_reader_refuses_what_is_not_component_data(reader_page):
    assert reader_page.evaluate("() => JSON.stringify(unpack(null))") == '{"json":{},"parts":{}}'
    message = reader_page.evaluate("() => { try { unpack({a: 1}); return ''; } catch (e) { return e.message; } }")
    assert "component_data" in message
