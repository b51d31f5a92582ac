"""The Trade-offs page, run through app.py with AppTest, on the bundled models: every number it shows comes from
the models and agrees with an independent computation."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from ui.loaded_model import LoadedModel

from vae_core.analysis import aggregate_posterior as agg
from vae_core.__main__ import main as cli
from vae_core.store.families import load_families

REPO = Path(__file__).resolve().parents[1]
CK = REPO / "checkpoints"
PAGE = "pages/tradeoffs.py"
FAMILIES = {f.name: f for f in load_families()}
DIGITS = FAMILIES["digits-2d-beta"]

pytestmark = pytest.mark.skipif(len(DIGITS.members) < 3, reason="the digits family is not built (rebuild.sh)")


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(tmp_path / "home"))


def open_page(query: dict | None = None, model: str = "digits-2d") -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
    at.query_params.update(query or {})
    at.session_state["model_path"] = str(CK / model)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def values(v) -> list[float]:
    """A Plotly trace's numbers, plain or as Plotly's typed array ({"dtype", "bdata"})."""
    if isinstance(v, dict) and "bdata" in v:
        import base64

        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).astype(float).tolist()
    return [float(x) for x in v]


def metric(at, label: str) -> float:
    return float(next(m.value for m in at.metric if m.label == label).split()[0])


def test_rate_and_distortion_are_the_evaluators(capsys):
    """Each member's point is its test KL and reconstruction, as `python -m vae_core evaluate` computes them."""
    at = open_page()
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "customdata" in c.proto.spec)
    trace = next(t for t in spec["data"] if t.get("customdata"))
    plotted = {Path(c[0]).name: (x, y) for c, x, y in zip(trace["customdata"], values(trace["x"]), values(trace["y"]))}
    assert set(plotted) == {m.name for m in DIGITS.members}
    for name in ("digits-2d", "digits-2d-beta2", "digits-2d-autoencoder"):
        # the distortion as precise as 0.1 nats: with more draws of z where one per image is noisier
        precise = LoadedModel(str(CK / name), "test").precise_loss()
        draws = ["--samples", str(precise.samples), "--on-sample"] if precise is not None else []
        buf = io.StringIO()
        with redirect_stdout(buf):
            assert cli(["evaluate", str(CK / name), "--json", "--iwae-k", "1", *draws]) == 0
        got = json.loads(buf.getvalue())
        rate = got["kl"] if got["kl"] is not None else 0.0
        if precise is not None:
            assert got["std_errors"]["recon"] <= 0.1
            rate = next(m.rate for m in DIGITS.members if m.name == name)  # the recorded rate: exact
        assert plotted[name] == pytest.approx((rate, got["recon"]), abs=1e-4), name
    assert metric(at, "rate (KL)") == pytest.approx(plotted["digits-2d"][0], abs=0.006)
    assert metric(at, "-ELBO") == pytest.approx(sum(plotted["digits-2d"]), abs=0.006)
    # larger beta: smaller rate, larger distortion
    betas = sorted((m.order, plotted[m.name]) for m in DIGITS.members if m.order > 0)
    assert [r for _, (r, _) in betas] == sorted((r for _, (r, _) in betas), reverse=True)


def test_a_click_on_a_member_loads_it_on_every_page():
    at = open_page()
    el = next(c for c in at.get("plotly_chart") if "customdata" in c.proto.spec)
    states = at._tree.get_widget_states()
    ws = WidgetState(id=el.proto.id)
    target = str(CK / "digits-2d-beta2")
    point = {"curve_number": 6, "point_number": 4, "point_index": 4, "x": 1.0, "y": 24.0, "customdata": [target]}
    ws.string_value = json.dumps({"selection": {"points": [point], "point_indices": [4], "box": [], "lasso": []}})
    states.widgets.append(ws)
    at._run(states)
    assert not at.exception, at.exception
    assert at.session_state["model_path"] == target
    assert any(m.value.startswith("**digits-2d-beta2**") for m in at.markdown)
    at.switch_page("pages/sliders.py").run()
    assert at.session_state["model_path"] == target and at.query_params["model"] == "digits-2d-beta2"


def test_prior_holes_show_the_aggregate_posteriors_kl_for_an_autoencoder_and_a_vae():
    at = open_page({"tab": "holes"})
    lines = [m.value for m in at.markdown if m.value.startswith("KL(q(z) || p(z)) on (z1, z2)")]
    assert len(lines) == 2
    kl_ae, kl_vae = (float(v.split("**")[1].split()[0]) for v in lines)
    assert kl_ae > 5 * kl_vae  # the autoencoder's codes leave the prior's mass uncovered
    # the VAE's number against a Monte-Carlo estimate of the same KL
    from ui.loaded_model import loaded_model

    mu, logvar = loaded_model(CK / "digits-2d").encodings()
    mc, se = agg.kl_to_prior(mu, logvar, n_samples=40_000, seed=1)
    assert kl_vae == pytest.approx(mc, abs=max(4 * se, 0.01))
    assert at.query_params["a"] == "digits-2d-autoencoder" and at.query_params["b"] == "digits-2d"


def test_odd_inputs_digits_score_higher_than_clothing_under_a_fashion_model():
    if not (CK / "fashion-mnist-20d").is_dir():
        pytest.skip("fashion-mnist-20d is not built")
    at = open_page({"tab": "odd"})
    own, digits = metric(at, "mean log p(x), clothing"), metric(at, "mean log p(x), digits")
    assert digits > own  # Nalisnick et al. (2019)
    assert any("get the **higher** likelihood" in m.value for m in at.markdown)


def test_the_amortization_gap_of_a_vae_and_its_means():
    at = open_page({"tab": "gap", "point": "3"})
    assert at.number_input(key="amort_img_index").value == 3
    amortization, approximation = metric(at, "amortization gap"), metric(at, "approximation gap")
    total = metric(at, "log p(x) - amortized ELBO")
    assert amortization > -0.05 and total == pytest.approx(amortization + approximation, abs=0.02)
    assert any(m.value.startswith("**Over the first 64 stored images**") for m in at.markdown)
    at = open_page({"tab": "gap"}, model="digits-2d-autoencoder")
    assert any("has no ELBO to optimise" in i.value for i in at.info)


def test_a_tab_link_with_an_unknown_name_says_so():
    at = open_page({"tab": "bananas"})
    assert any(t.value.startswith("The link's tab='bananas' is not one of rate, holes, odd, gap") for t in at.toast)



def test_a_noisy_distortion_is_estimated_again_and_says_how():
    """digits-2d-sigma0.1's recorded distortion comes from one z per image, with a standard error of about 0.27
    nats: the page estimates it again with enough draws for 0.1 nats and says how many, and the new value
    agrees with a 256-draw reference within three of its standard errors."""
    import torch

    from vae_core.analysis.evaluate import loss_estimate
    from vae_core.store.checkpoints import load_checkpoint

    name = "digits-2d-sigma0.1"
    sigma = FAMILIES["digits-2d-sigma"]
    at = open_page({"family": sigma.name}, model=name)
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "customdata" in c.proto.spec)
    trace = next(t for t in spec["data"] if t.get("customdata"))
    plotted = {Path(c[0]).name: y for c, y in zip(trace["customdata"], values(trace["y"]))}
    recorded = next(m.distortion for m in sigma.members if m.name == name)
    precise = LoadedModel(str(CK / name), "test").precise_loss()
    assert precise is not None and precise.samples >= 4 and precise.std_errors["recon"] <= 0.1
    assert plotted[name] == pytest.approx(precise.terms["recon"], abs=1e-6) != pytest.approx(recorded, abs=0.1)
    ck = load_checkpoint(CK / name)
    ref = loss_estimate(ck.model, ck.sample.as_tensor(), torch.from_numpy(ck.sample.labels), samples=256, seed=1)
    assert abs(plotted[name] - ref.terms["recon"]) < 3 * precise.std_errors["recon"] + 3 * ref.std_errors["recon"]
    text = " ".join(c.value for c in at.caption)
    assert f"{precise.samples} draws per image" in text and f"standard error {precise.std_errors['recon']:.2f}" in text


def test_every_line_of_equal_elbo_is_labelled_away_from_the_points():
    at = open_page()
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "customdata" in c.proto.spec)
    lines = [t for t in spec["data"] if t.get("mode") == "lines" and t.get("hoverinfo") == "skip"]
    labels = [a for a in spec["layout"]["annotations"] if a["text"].startswith("-ELBO")]
    assert len(lines) >= 3 and len(labels) == len(lines)
    (r0, r1), (d0, d1) = spec["layout"]["xaxis"]["range"], spec["layout"]["yaxis"]["range"]
    trace = next(t for t in spec["data"] if t.get("customdata"))
    for a in labels:
        c = float(a["text"].split()[-1])
        assert a["x"] + a["y"] == pytest.approx(c, abs=1e-6)  # on its own line
        assert r0 < a["x"] < r1 and d0 < a["y"] < d1  # inside the plot
        for x, y in zip(values(trace["x"]), values(trace["y"])):
            gap = np.hypot((a["x"] - x) / (r1 - r0), (a["y"] - y) / (d1 - d0))
            assert gap > 0.06, f"{a['text']} sits on a member's point"
