"""The projection methods as a registry (vae_core.projection): every registered method fits the bundled digits
model's encodings and does what its capabilities say; a map rebuilt by ``from_stored`` is the fitted one; and
the app's pages ask those capabilities instead of comparing a method to its name."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

from vae_core.model import numpy_model
from vae_core.projection import (METHOD_NAMES, METHODS, Availability, Projection, ProjectionError, make_projection,
                                 projection_method)
from vae_core.store.checkpoints import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
DIGITS_8D = REPO / "checkpoints" / "digits-8d"
DIMS = (2, 5)  # a native map's axes: not the first two, so that dims are seen to be used

# Each registered method with its default options; t-SNE with each of its backends.
BACKENDS = {"tsne": ({"tsne_backend": "sklearn", "n_jobs": 1}, {"tsne_backend": "opentsne", "n_jobs": 1})}
CASES = [(name, options) for name in METHOD_NAMES for options in BACKENDS.get(name, ({},))]
CASE_IDS = [name + "".join(f"-{v}" for k, v in options.items() if k != "n_jobs") for name, options in CASES]

pytestmark = pytest.mark.skipif(not DIGITS_8D.is_dir(), reason="the bundled digits-8d checkpoint is not built")


@pytest.fixture(scope="module")
def mu() -> np.ndarray:
    ckpt = load_checkpoint(DIGITS_8D, lazy=True)
    return numpy_model.encode(ckpt.config, ckpt.arrays, ckpt.sample.as_array(), ckpt.sample.labels)[0]


_fitted: dict[str, Projection] = {}


@pytest.fixture(params=CASES, ids=CASE_IDS)
def case(request, mu) -> tuple[Projection, dict]:
    """(the method fitted on the digits encodings, the options it was made with); each fitted once."""
    name, options = request.param
    if not projection_method(name).available().ok:
        pytest.skip(f"{name}: {projection_method(name).available().reason}")
    key = repr(request.param)
    if key not in _fitted:
        _fitted[key] = make_projection(name, DIMS, **options).fit(mu)
    return _fitted[key], {**options, **({"dims": DIMS} if projection_method(name).is_native else {})}


def _scale(proj: Projection) -> float:
    return float(np.ptp(proj.embedding_, axis=0).max())


# -- the registry ------------------------------------------------------------------------------------------

def test_the_registry_holds_the_methods_in_the_apps_order_with_their_labels():
    assert METHOD_NAMES == ("latent", "pca", "tsne", "umap")
    assert {name: m.label for name, m in METHODS.items()} == {
        "latent": "Native latent", "pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
    for name, method in METHODS.items():
        assert method.name == name and issubclass(method, Projection)
        for capability in ("is_native", "has_inverse", "nonlinear", "cached_on_disk", "shipped"):
            assert isinstance(getattr(method, capability), bool), (name, capability)
        assert isinstance(method.available(), Availability)
    assert [n for n, m in METHODS.items() if m.is_native] == ["latent"]
    assert [n for n, m in METHODS.items() if m.cached_on_disk] == ["tsne", "umap"]
    assert [n for n, m in METHODS.items() if m.shipped] == ["pca", "tsne", "umap"]


@pytest.mark.parametrize("wrong", ["lda", "", None, ["pca"], "PCA"])
def test_an_unknown_method_is_a_clear_error_naming_the_known_ones(wrong):
    with pytest.raises(ProjectionError, match=r"is not one of latent, pca, tsne, umap"):
        projection_method(wrong)


def test_umap_without_umap_learn_says_why_and_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # as if not installed: find_spec finds nothing
    got = projection_method("umap").available()
    assert not got.ok and got.install == "pip install umap-learn" and "umap-learn" in got.reason
    assert all(projection_method(n).available().ok for n in METHOD_NAMES if n != "umap")


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_using_a_map_before_it_is_fitted_is_a_clear_error(name):
    proj = make_projection(name)
    for use in (proj.transform, proj.inverse_transform, proj.nearest):
        with pytest.raises(ProjectionError, match=rf"this {type(proj).__name__} is not fitted yet: call fit\(mu\)"):
            use(np.zeros((1, 2), np.float32))
    assert not any(a.endswith("_") and not a.startswith("_") for a in vars(proj))  # __init__ stores parameters only


# -- every method, fitted on the digits encodings -------------------------------------------------------------

def test_it_fits_the_digits_encodings(case, mu):
    proj, _ = case
    assert proj.embedding_.shape == (len(mu), 2) and proj.embedding_.dtype == np.float32
    assert np.isfinite(proj.embedding_).all() and np.ptp(proj.embedding_, axis=0).min() > 0
    np.testing.assert_array_equal(proj.mu_, mu)
    assert proj.backend_ in proj._backends()
    if proj.is_native:
        np.testing.assert_array_equal(proj.embedding_, mu[:, list(DIMS)])


def test_progress_is_reported_from_start_to_end(mu):
    heard = []
    make_projection("pca").fit(mu, progress=lambda frac, text: heard.append((frac, text)))
    assert heard[0] == (0.0, f"computing PCA of {len(mu):,} points") and heard[-1] == (1.0, "done")


def test_its_inverse_goes_back_to_latent_space_as_it_claims(case, mu):
    proj, _ = case
    spots = proj.embedding_[::36] + 0.01 * _scale(proj)  # 10 spots beside encoded points
    z = proj.inverse_transform(spots)
    assert z.shape == (len(spots), mu.shape[1]) and np.isfinite(z).all()
    if proj.has_inverse:  # a map back of its own: placed again, the latent point lands on the spot
        back = proj.transform(z)
        assert np.median(np.linalg.norm(back - spots, axis=1)) < 0.05 * _scale(proj)
    else:  # the mu of the encoded point nearest to each spot
        np.testing.assert_array_equal(z, mu[proj.nearest(spots)])


def test_it_places_a_new_point_as_it_claims(case, mu):
    proj, _ = case
    idx = np.arange(5, len(mu), 18)  # 20 encoded images, each moved a little in latent space
    placed = proj.transform(mu[idx] + 0.01)
    assert placed.shape == (len(idx), 2) and np.isfinite(placed).all()
    if proj.places_new_points:  # near the image's own position: among the nearest tenth of the map's points
        own = np.linalg.norm(placed - proj.embedding_[idx], axis=1)
        every = np.linalg.norm(placed[:, None] - proj.embedding_[None], axis=2)
        assert np.median((every < own[:, None]).mean(1)) < 0.1
    else:  # it cannot: the average position of the 5 nearest encoded images
        np.testing.assert_allclose(placed, proj.neighbour_average(mu[idx] + 0.01))
        assert "cannot place new points" in proj.placement_note


def test_from_stored_is_the_fitted_map(case, mu):
    proj, options = case
    restored = type(proj).from_stored(mu, proj.embedding_, backend=proj.backend_, **options)
    np.testing.assert_array_equal(restored.embedding_, proj.embedding_)
    assert restored.backend_ == proj.backend_ and restored.places_new_points == proj.places_new_points
    spots = proj.embedding_[[3, 50, 200]] + 0.02 * _scale(proj)
    np.testing.assert_allclose(restored.inverse_transform(spots), proj.inverse_transform(spots), atol=1e-4)
    new = mu[:4] + 0.05
    np.testing.assert_allclose(restored.transform(new), proj.transform(new), atol=1e-3 * _scale(proj))


def test_a_stored_pca_map_keeps_the_direction_of_its_axes(mu):
    """A principal axis may point either way: a stored map whose first axis points the other way is the one
    drawn, and its inverse agrees with it."""
    fitted = make_projection("pca").fit(mu)
    flipped = fitted.embedding_ * np.array([-1, 1], np.float32)
    restored = projection_method("pca").from_stored(mu, flipped)
    np.testing.assert_allclose(restored.transform(mu), flipped, atol=1e-4)
    spots = fitted.embedding_[[3, 50]]
    np.testing.assert_allclose(restored.inverse_transform(spots * [-1, 1]), fitted.inverse_transform(spots), atol=1e-4)


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_from_stored_refuses_an_embedding_that_is_not_one_row_per_point(name, mu):
    method = projection_method(name)
    with pytest.raises(ProjectionError, match="finite rows of 2"):
        method.from_stored(mu, np.zeros((len(mu) - 1, 2)))
    bad = np.zeros((len(mu), 2))
    bad[7, 1] = np.nan
    with pytest.raises(ProjectionError, match="finite rows of 2"):
        method.from_stored(mu, bad)
    with pytest.raises(ProjectionError, match="backend='elsewhere'"):
        method.from_stored(mu, np.zeros((len(mu), 2)), backend="elsewhere")


def test_a_native_map_on_axes_that_do_not_exist_is_refused(mu):
    with pytest.raises(ProjectionError, match=r"dims=\(3, 3\) must be two different latent dimensions in 0..7"):
        make_projection("latent", (3, 3)).fit(mu)
    with pytest.raises(ProjectionError, match=r"dims=\(0, 9\)"):
        projection_method("latent").from_stored(mu, mu[:, :2], dims=(0, 9))


# -- the app asks capabilities, never names ---------------------------------------------------------------------

NAMES = set(METHOD_NAMES)


def _is_name(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in NAMES


def _holds_name(node: ast.AST) -> bool:
    return _is_name(node) or (isinstance(node, (ast.Tuple, ast.List, ast.Set)) and any(map(_is_name, node.elts)))


def name_branches(source: str) -> list[int]:
    """Lines that branch on a projection method's name: a comparison with one (==, !=, in, not in), a dict or
    lookup keyed by one, a match case on one."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            hit = any(map(_holds_name, [node.left, *node.comparators]))
        elif isinstance(node, ast.Dict):
            hit = any(map(_is_name, node.keys))
        elif isinstance(node, ast.Subscript):
            hit = _is_name(node.slice)
        elif isinstance(node, ast.Call):
            hit = isinstance(node.func, ast.Attribute) and node.func.attr == "get" and bool(node.args) \
                and _is_name(node.args[0])
        elif isinstance(node, ast.MatchValue):
            hit = _is_name(node.value)
        else:
            continue
        if hit:
            found.append(node.lineno)
    return found


@pytest.mark.parametrize("source", [
    'if method == "tsne":\n    pass',
    'if "umap" != proj.method:\n    pass',
    'slow = method in ("tsne", "umap")',
    'NOTE = {"pca": "PCA inverse", "other": 1}',
    'label = LABELS["umap"]',
    'reason = available_methods().get("umap")',
    'match method:\n    case "latent":\n        pass',
])
def test_the_reader_finds_a_branch_on_a_name(source):
    assert name_branches(source) != []


@pytest.mark.parametrize("source", [
    'if kind.is_native and latent_dim > 2:\n    pass',
    'go = page == "latent_map"',
    'url_state.write("projection", method)',
    'default = st.session_state.get("draw_projection")',
])
def test_the_reader_lets_a_capability_question_pass(source):
    assert name_branches(source) == []


def test_no_page_ui_helper_or_service_branches_on_a_method_name():
    files = sorted(f for pkg in ("ui", "pages", "services") for f in (REPO / pkg).rglob("*.py"))
    assert REPO / "pages" / "latent_map.py" in files and REPO / "ui" / "map_choice.py" in files
    wrong = [f"{f.relative_to(REPO)}:{line}" for f in files for line in name_branches(f.read_text())]
    assert wrong == [], "branches on a projection method's name (ask its capabilities instead):\n" + "\n".join(wrong)
