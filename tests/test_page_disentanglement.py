"""Disentanglement in the app, on the bundled sprites beta family (images made from five known factors): the
Trade-offs page's MIG and DCI of each member equal vae_core.analysis.disentanglement's on the member's own codes,
Generate's traversal names each dimension by the factor it tells most of (the largest share of mutual information,
computed here from the definition), and the latent map can be coloured by any factor. A model whose images carry
no factors shows none of it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from test_page_latent_map import map_elements
from test_page_vq_hvae import Page, values
from ui.component_data import unpack
from ui.factor_colours import CUTS, factor_labels
from vae_core.analysis.disentanglement import dci, discretize, factor_entropy, mig
from vae_core.analysis.evaluate import encode_dataset
from vae_core.model.activity import INACTIVE_KL
from vae_core.data.sprites import CATEGORICAL_FACTORS, FACTORS
from vae_core.store.checkpoints import load_checkpoint
from vae_core.store.families import load_families

REPO = Path(__file__).resolve().parents[1]
CK = REPO / "checkpoints"
BETA8 = CK / "sprites-10d-beta8"

pytestmark = pytest.mark.usefixtures("_home_env")


def codes_and_factors(path: Path):
    ck = load_checkpoint(path)
    with torch.inference_mode():
        mu, _ = encode_dataset(ck.model, ck.sample.as_tensor())
    return ck, mu, ck.sample.factors


def test_trade_offs_give_each_members_mig_and_dci_as_vae_core_computes_them():
    page = Page(BETA8, "tradeoffs", {"tab": "factors"})
    family = next(f for f in load_families() if f.name == "sprites-10d-beta")
    table = page.at.get("dataframe")[0].value.set_index("model")
    assert list(table.index) == [m.name for m in family.members]
    chart = next(s for s in page.plotly() if any(t.get("name") == "MIG" for t in s["data"]))
    shown_mig = values(next(t for t in chart["data"] if t["name"] == "MIG")["y"])
    for i, m in enumerate(family.members):
        ck, mu, factors = codes_and_factors(m.path)
        categorical = [n in CATEGORICAL_FACTORS for n in ck.sample.factor_names]
        want_mig, want = mig(mu, factors), dci(mu, factors, categorical)
        assert table.loc[m.name, "MIG"] == pytest.approx(round(want_mig.score, 3), abs=1e-9)
        assert shown_mig[i] == pytest.approx(want_mig.score, abs=1e-9)
        assert (table.loc[m.name, "D"], table.loc[m.name, "C"], table.loc[m.name, "I"]) == pytest.approx(
            (round(want.disentanglement, 3), round(want.completeness, 3), round(want.informativeness, 3)), abs=1e-9)
    heat = next(s for s in page.plotly() if any(t.get("type") == "heatmap" for t in s["data"]))["data"][0]
    _, mu, factors = codes_and_factors(BETA8)  # the loaded member's, below the chart
    share = mig(mu, factors).normalized
    np.testing.assert_allclose(values(heat["z"]).reshape(share.shape), share, atol=1e-9)


def test_traversal_rows_are_named_by_the_factor_each_dimension_tells_most_of():
    ck, mu, factors = codes_and_factors(BETA8)
    # the share of each factor each dimension tells, from the definition: I(z_j; v_k) / H(v_k) on binned codes
    z = discretize(mu)
    mi = np.zeros((mu.shape[1], factors.shape[1]))
    for j in range(mu.shape[1]):
        for k in range(factors.shape[1]):
            joint = np.zeros((z[:, j].max() + 1, factors[:, k].max() + 1))
            np.add.at(joint, (z[:, j], factors[:, k]), 1.0)
            p = joint / joint.sum()
            outer = p.sum(1, keepdims=True) * p.sum(0, keepdims=True)
            nz = p > 0
            mi[j, k] = float((p[nz] * np.log(p[nz] / outer[nz])).sum())
    share = mi / factor_entropy(factors)[None, :]
    names = list(ck.sample.factor_names)
    page = Page(BETA8, "generate", {"tab": "traversal"})
    rows = [m.value for m in page.at.markdown if m.value.startswith("**z")]
    assert len(rows) == 10
    kl = ck.config.variant.activity(mu, encode_dataset(ck.model, ck.sample.as_tensor())[1])
    for j, row in enumerate(rows):
        best = int(share[j].argmax())
        told = f"{names[best]} ({share[j, best]:.2f})"
        assert row.startswith(f"**z{j + 1}** · " + (told if kl[j] >= INACTIVE_KL else f"unused ({names[best]}"))
    # beta 8 keeps three dimensions, each alone with a factor: the screen names them so
    used = Page(BETA8, "generate", {"tab": "traversal", "used": "1"})
    assert [m.value.split("  \n")[0] for m in used.at.markdown if m.value.startswith("**z")] == [
        f"**z{j + 1}** · {names[int(share[j].argmax())]} ({share[j].max():.2f})" for j in np.flatnonzero(kl >= INACTIVE_KL)]


def test_the_latent_map_can_be_coloured_by_any_factor():
    ck = load_checkpoint(BETA8)
    page = Page(BETA8, "latent_map", {"colour": "x position"})
    assert page.at.selectbox(key="latent_map_colour").value == "x position"
    assert page.at.selectbox(key="latent_map_colour").options == ["Class", *[f.capitalize() for f in
                                                                             ck.sample.factor_names]]
    header, parts = unpack(map_elements(page.at)[0].proto.bytes)
    x = ck.sample.factors[:, list(ck.sample.factor_names).index("x position")]
    edges = np.linspace(0, 32, CUTS + 1).round()
    want = np.searchsorted(edges, x, side="right") - 1
    np.testing.assert_array_equal(parts["labels"], want)
    values_x = FACTORS[3].values
    assert [c["name"] for c in header["classes"]][:2] == [f"x position {values_x[0]:.2g} to {values_x[3]:.2g}",
                                                         f"x position {values_x[4]:.2g} to {values_x[7]:.2g}"]
    assert page.at.query_params["colour"] == "x position"
    # a factor of few values keeps one label each; the class is the map's own colouring
    labels, names = factor_labels(ck.sample.factors[:, 0], "shape")
    np.testing.assert_array_equal(labels, ck.sample.factors[:, 0])
    assert names == [f"shape {n}" for n in FACTORS[0].values]
    page.at.selectbox(key="latent_map_colour").set_value("class")
    page.run()
    header, parts = unpack(map_elements(page.at)[0].proto.bytes)
    np.testing.assert_array_equal(parts["labels"], ck.sample.labels)
    assert "colour" not in page.at.query_params


def test_a_model_whose_images_carry_no_factors_shows_none_of_it():
    page = Page(CK / "mnist5k-2d", "latent_map")
    assert not [s for s in page.at.selectbox if s.key == "latent_map_colour"]
    traversal = Page(CK / "digits-8d", "generate", {"tab": "traversal"})
    assert all(" · " not in m.value.split("  \n")[0] for m in traversal.at.markdown if m.value.startswith("**z"))
