"""Scenes files: parsing and validation, the shipped example, and stepping through scenes in the app."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from vae_core.analysis.latent import SLIDER_LIMIT
from services.scenes import Scene, SceneError, list_decks, load_deck, parse_deck, step

REPO = Path(__file__).resolve().parents[1]
PAGES = {"latent_map", "sliders", "generate", "draw", "compare", "how_it_works", "tradeoffs", "train", "models"}
EXAMPLE = REPO / "scenes" / "intro-lecture.toml"


def test_the_shipped_example_is_valid_and_names_real_pages_and_models():
    deck = load_deck(EXAMPLE, PAGES)
    assert len(deck) == 20 and deck.title
    bundled = {p.name for p in (REPO / "checkpoints").iterdir() if (p / "config.json").is_file()}
    for scene in deck.scenes:
        assert scene.page in PAGES and (REPO / "pages" / f"{scene.page}.py").is_file()
        assert scene.model is None or scene.model in bundled
    assert deck.scenes[1].query() == {"projection": "latent", "point": "12", "model": "digits-2d"}
    assert deck.scenes[3].query() == {"sliders_z1": "1.5", "sliders_z2": "-0.5", "model": "mnist5k-2d"}
    assert deck.scenes[8].query() == {"watch": "1", "projection": "latent", "model": "digits-2d"}
    assert {s.page for s in deck.scenes[9:13]} == {"tradeoffs"}
    assert [s.params["tab"] for s in deck.scenes[9:13]] == ["rate", "holes", "odd", "gap"]
    # the class takes part: a drawing, a point z and two polls whose answers the app computes
    assert [s.activity.kind for s in deck.scenes[13:17]] == ["draw", "place", "poll", "poll"]
    assert [s.activity.answer for s in deck.scenes[15:17]] == ["closest_class_to_origin", "kl_trend_with_beta"]
    assert all(s.activity is None for s in deck.scenes[:13] + deck.scenes[17:])
    # beyond the Gaussian latent: a grid of codes, and two levels
    assert [(s.page, s.model) for s in deck.scenes[17:19]] == [("sliders", "mnist5k-vq"), ("generate", "mnist5k-hvae")]
    assert deck.scenes[17].query()["point"] == "3" and deck.scenes[18].query()["hold"] == "top"
    # ... and a disentangled one: the traversal of the sprites' beta 8, its rows named by factor
    assert deck.scenes[19].page == "generate" and deck.scenes[19].model == "sprites-10d-beta8"
    assert deck.scenes[19].query()["tab"] == "traversal" and deck.scenes[19].query()["used"] == "1"
    assert all(len(s.notes) > 100 for s in deck.scenes[8:])  # notes a lecturer can talk from
    assert "intro-lecture" in list_decks(REPO / "scenes")


def test_json_and_toml_give_the_same_deck():
    toml = 'title = "T"\n[[scene]]\ntitle = "A"\npage = "sliders"\nmodel = "digits-2d"\nz = [0.5, -9]\nnotes = "n"\n'
    doc = {"title": "T", "scenes": [{"title": "A", "page": "sliders", "model": "digits-2d", "z": [0.5, -9],
                                     "notes": "n"}]}
    a = parse_deck(toml, "toml", "a.toml", PAGES)
    b = parse_deck(json.dumps(doc).encode(), "json", "a.json", PAGES)
    assert a.scenes == b.scenes
    assert a.scenes[0] == Scene("A", "sliders", "digits-2d", {"sliders_z1": "0.5", "sliders_z2": f"{-SLIDER_LIMIT:g}"}, "n")


@pytest.mark.parametrize("scene, message", [
    ({"page": "sliders"}, "title"),
    ({"title": "x", "page": "nowhere"}, "not one of"),
    ({"title": "x", "page": "sliders", "model": "../../etc/passwd"}, "not a path"),
    ({"title": "x", "page": "sliders", "model": "/abs/path"}, "not a path"),
    ({"title": "x", "page": "latent_map", "projection": "lda"}, "projection"),
    ({"title": "x", "page": "latent_map", "point": -1}, "point"),
    ({"title": "x", "page": "latent_map", "point": 2.5}, "point"),
    ({"title": "x", "page": "latent_map", "point": True}, "point"),
    ({"title": "x", "page": "sliders", "z": "1,2"}, "list"),
    ({"title": "x", "page": "sliders", "z": []}, "list"),
    ({"title": "x", "page": "sliders", "z": [1, "a"]}, "finite number"),
    ({"title": "x", "page": "sliders", "z": [float("nan")]}, "finite number"),
    ({"title": "x", "page": "sliders", "z": [float("inf")]}, "finite number"),
    ({"title": "x", "page": "sliders", "colour": "red"}, "unknown field"),
    ({"title": "x", "page": "sliders", "params": {"a/b": 1}}, "params name"),
    ({"title": "x", "page": "sliders", "notes": "n" * 5000}, "at most"),
    ("just text", "table"),
])
def test_bad_scenes_are_refused_naming_the_scene_and_field(scene, message):
    with pytest.raises(SceneError, match=message) as e:
        parse_deck(json.dumps({"scenes": [scene]}), "json", "bad.json", PAGES)
    assert "scene 1" in str(e.value)


def test_bad_files_are_refused():
    with pytest.raises(SceneError, match="not valid TOML"):
        parse_deck("[[scene]\ntitle=", "toml", "x.toml", PAGES)
    with pytest.raises(SceneError, match="no scenes"):
        parse_deck("{}", "json", "x.json", PAGES)
    with pytest.raises(SceneError, match="UTF-8"):
        parse_deck(b"\xff\xfe\x00", "json", "x.json", PAGES)
    with pytest.raises(SceneError, match="KB"):
        parse_deck(b" " * 300_000, "json", "x.json", PAGES)
    with pytest.raises(SceneError, match="at most 200"):
        parse_deck(json.dumps({"scenes": [{"title": "t", "page": "sliders"}] * 201}), "json", "x.json", PAGES)
    with pytest.raises(SceneError, match=r"\.toml or \.json"):
        load_deck(REPO / "README.md", PAGES)


def test_stepping_stays_in_the_deck():
    assert step(0, -1, 5) == 0 and step(4, 1, 5) == 4 and step(2, 1, 5) == 3 and step(3, 0, 0) == 0


# -- in the app ------------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def app_home(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(tmp_path / "home"))


def _app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, at.exception
    return at


def _scene_line(at) -> str:
    return next((m.value for m in at.markdown if m.value.startswith("**Scene ")), "")


def _press(at, *keys: str) -> None:
    """What the presenter-keys component sends for shortcuts: its "nav" state, the events of this page load."""
    comp = next(e for e in at._tree.get("bidi_component") if e.proto.component_name == "vae_presenter_link")
    sent = getattr(at, "keys_sent", [])
    sent = at.keys_sent = sent + [{"id": len(sent) + i + 1, "dir": k} for i, k in enumerate(keys)]
    states = at._tree.get_widget_states()
    ws = WidgetState(id=comp.proto.id)
    ws.json_value = json.dumps({"nav": {"token": "t0", "events": sent[-10:]}})
    states.widgets.append(ws)
    at._run(states)
    assert not at.exception, at.exception


@pytest.mark.skipif(not (REPO / "checkpoints" / "digits-2d" / "model.safetensors").is_file(),
                    reason="the bundled checkpoints are not built")
def test_loading_the_example_and_stepping_through_it():
    at = _app()
    at.selectbox(key="scenes_file").set_value("intro-lecture").run()
    assert not at.exception, at.exception
    assert len([b for b in at.button if b.key.startswith("scenes_jump_")]) == 20
    assert _scene_line(at).startswith("**Scene 1 of 20**")
    next(b for b in at.button if b.key == "scenes_next").click().run()
    assert not at.exception, at.exception
    assert _scene_line(at).startswith("**Scene 2 of 20**")
    assert at.query_params["point"] == "12" and at.query_params["model"] == "digits-2d"
    assert at.query_params["deck"] == "intro-lecture" and at.query_params["scene"] == "2"
    assert any(s.value.startswith("Image #12") for s in at.subheader)  # the latent map shows image 12
    at.button(key="scenes_jump_3").click().run()  # jump to scene 4: the sliders at z = (1.5, -0.5)
    assert not at.exception, at.exception
    assert _scene_line(at).startswith("**Scene 4 of 20**")
    assert at.session_state["sliders_z1"] == 1.5 and at.session_state["sliders_z2"] == -0.5
    assert at.session_state["model_path"].endswith("mnist5k-2d")
    next(b for b in at.button if b.key == "scenes_prev").click().run()
    assert _scene_line(at).startswith("**Scene 3 of 20**")


@pytest.mark.skipif(not (REPO / "checkpoints" / "digits-2d" / "model.safetensors").is_file(),
                    reason="the bundled checkpoints are not built")
def test_a_deck_link_opens_its_scene_and_keys_step_in_presenter_mode():
    at = _app({"deck": "intro-lecture", "scene": "4", "presenter": "1"})
    assert _scene_line(at).startswith("**Scene 4 of 20**")
    assert at.query_params["sliders_z1"] == "1.5" and at.query_params["presenter"] == "1"
    _press(at, "next")
    assert _scene_line(at).startswith("**Scene 5 of 20**")
    assert at.query_params["projection"] == "pca" and at.query_params["model"] == "fashion-mnist-20d"
    _press(at, "prev", "prev")  # two presses while one run was busy: both count
    assert _scene_line(at).startswith("**Scene 3 of 20**")
    at.run()  # the same events arriving again are not applied twice
    assert _scene_line(at).startswith("**Scene 3 of 20**")
    next(b for b in at.button if b.key == "scenes_exit").click().run()
    assert at.session_state["presenter"] is False and "presenter" not in at.query_params


@pytest.mark.skipif(not (REPO / "checkpoints" / "digits-2d" / "model.safetensors").is_file(),
                    reason="the bundled checkpoints are not built")
def test_choosing_a_deck_in_the_sidebar_applies_its_scene_1_as_its_link_does():
    linked = _app({"deck": "intro-lecture", "scene": "1"})
    at = _app({"model": "fashion-mnist-20d"})  # another model and page first
    at.switch_page("pages/sliders.py").run()
    assert at.session_state["model_path"].endswith("fashion-mnist-20d")
    at.selectbox(key="scenes_file").set_value("intro-lecture").run()
    assert not at.exception, at.exception
    assert _scene_line(at).startswith("**Scene 1 of 20**")
    for at_ in (at, linked):
        assert at_.session_state["model_path"].endswith("digits-2d")
        assert at_.query_params["deck"] == "intro-lecture" and at_.query_params["scene"] == "1"
        assert at_.query_params["projection"] == "latent"
    assert dict(at.query_params) == dict(linked.query_params)
    assert [t.value for t in at.title] == [t.value for t in linked.title] == ["Latent map"]


def test_an_unknown_deck_in_a_link_is_only_a_warning():
    at = _app({"deck": "../../etc/passwd", "scene": "99999"})
    assert any("not in scenes/" in w.value for w in at.warning)
    assert _scene_line(at) == ""
    at = _app({"deck": "intro-lecture", "scene": "banana", "model": "digits-2d"})  # a bookmarked view: kept
    assert _scene_line(at).startswith("**Scene 1 of 20**")
    assert at.query_params["model"] == "digits-2d"


def test_the_readme_example_is_a_valid_scenes_file():
    import re

    blocks = re.findall(r"```toml\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    assert blocks, "README.md shows a scenes file"
    deck = parse_deck(blocks[0], "toml", "README.md", PAGES)
    assert [s.page for s in deck.scenes] == ["latent_map", "sliders"]


def test_the_trade_off_scenes_open_their_views():
    """Scenes 9-13 of the shipped deck: the training replayed on the latent map, then each view of the Trade-offs
    page with the models their notes talk about."""
    from ui.component_data import unpack

    at = _app({"deck": "intro-lecture", "scene": "9"})
    for _ in range(3):
        if any(e.proto.component_name.endswith("vae_latent_map") for e in at._tree.get("bidi_component")):
            break
        at.run()
    assert not at.exception, at.exception
    assert at.session_state["model_path"].endswith("digits-2d") and at.session_state["latent_map_watch"]
    comp = next(e for e in at._tree.get("bidi_component") if e.proto.component_name.endswith("vae_latent_map"))
    assert unpack(comp.proto.bytes)[0]["timeline"]["step"][0] == 0  # the training's snapshots, from step 0
    want = {10: ("rate", {"tradeoffs_family": "digits-2d-beta"}),
            11: ("holes", {"holes_a": "digits-2d-autoencoder", "holes_b": "digits-2d"}),
            12: ("odd", {"ood_model": "fashion-mnist-20d"}),
            13: ("gap", {"amort_img_index": 12})}
    for n, (tab, state) in want.items():
        at = _app({"deck": "intro-lecture", "scene": str(n), "presenter": "1"})  # the hall style on every chart
        at.run()
        assert not at.exception, at.exception
        assert not at.error, [e.value for e in at.error]
        assert at.query_params.get("tab", "rate") == tab, (n, dict(at.query_params))
        for key, value in state.items():
            assert at.session_state[key] == value, (n, key)
