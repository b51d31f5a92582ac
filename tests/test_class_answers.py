"""The answers to a class's polls: each computed by vae_core.analysis.class_answers from a model's numbers, and
checked here against the same numbers computed independently (loops over the images, the family's JSON file
and each member's own metrics); a deck's [scene.activity] parsed with clear errors."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from services.scenes import SceneError, parse_deck
from vae_core.analysis.class_answers import (ANSWERS, Answer, AnswerError, closest_class_to_origin,
                                             farthest_class_from_origin, kl_trend_with_beta, match_choice,
                                             widest_class_posterior)
from vae_core.store.checkpoints import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
CK = REPO / "checkpoints"


def _encodings(name: str):
    ck = load_checkpoint(CK / name)
    s = ck.sample
    x = torch.from_numpy(s.images.astype(np.float32) / 255.0).reshape(len(s.images), *ck.config.image_shape)
    with torch.no_grad():
        mu, logvar = ck.model.encode(x, None)
    return mu.numpy(), logvar.numpy(), s.labels, ck.class_names or [str(c) for c in range(ck.config.num_classes)]


@pytest.mark.parametrize("name", ["digits-2d", "mnist5k-2d"])
def test_the_closest_and_farthest_class_are_those_of_the_means_norms(name):
    mu, logvar, labels, names = _encodings(name)
    norms = {}
    for c in set(int(v) for v in labels):  # one class at a time, in plain Python
        rows = [mu[i] for i in range(len(labels)) if int(labels[i]) == c]
        mean = [sum(r[d] for r in rows) / len(rows) for d in range(mu.shape[1])]
        norms[names[c]] = math.sqrt(sum(v * v for v in mean))
    assert closest_class_to_origin(mu, logvar, labels, names).value == min(norms, key=norms.get)
    assert farthest_class_from_origin(mu, logvar, labels, names).value == max(norms, key=norms.get)
    assert f"{min(norms.values()):.2f}" in closest_class_to_origin(mu, logvar, labels, names).note


def test_the_widest_posterior_class_is_the_one_of_largest_mean_sigma():
    mu, logvar, labels, names = _encodings("digits-2d")
    means = {}
    for c in set(int(v) for v in labels):
        sig = [math.exp(0.5 * float(v)) for i in range(len(labels)) if int(labels[i]) == c for v in logvar[i]]
        means[names[c]] = sum(sig) / len(sig)
    assert widest_class_posterior(mu, logvar, labels, names).value == max(means, key=means.get)


def test_the_kl_trend_reads_the_family_members_own_metrics():
    spec = json.loads((CK / "families.json").read_text())
    members = next(f for f in spec["families"] if f["name"] == "digits-2d-beta")["members"]
    rates = {}
    for m in members:
        meta = json.loads((CK / m / "meta.json").read_text())
        beta = (meta.get("train_config") or {}).get("beta", 1.0) if m != "digits-2d-autoencoder" else 0.0
        rates[float(beta)] = float(meta["metrics"]["test_kl"])
    expected = "up" if rates[4.0] > rates[1.0] else "down"
    answer = kl_trend_with_beta(list(rates.items()))
    assert answer.value == expected == "down"
    assert f"{rates[1.0]:.2f}" in answer.note
    assert kl_trend_with_beta([(1.0, 2.0), (4.0, 3.0)]).value == "up"
    assert kl_trend_with_beta([(0.5, 3.0), (2.0, 1.0)]).value == "down"  # no 1 or 4: the ends of the family
    with pytest.raises(AnswerError, match="fewer than two"):
        kl_trend_with_beta([(1.0, 2.0)])


def test_a_choice_says_the_answer_by_its_first_words_and_exactly_one_must():
    assert match_choice(["Up", "Down: it shrinks"], Answer("down", "")) == 1
    assert match_choice(["1", "3", "7"], Answer("3", "")) == 1
    with pytest.raises(AnswerError, match="none of the poll's choices"):
        match_choice(["1", "7"], Answer("3", ""))
    with pytest.raises(AnswerError, match="more than one"):
        match_choice(["Up", "up, a lot"], Answer("up", ""))


def test_a_models_without_labels_cannot_answer_a_class_question():
    with pytest.raises(AnswerError, match="no labelled"):
        closest_class_to_origin(np.zeros((3, 2)), np.zeros((3, 2)), np.array([5, 6, 7]), ["0", "1"])


DECK = """
title = "t"
[[scene]]
title = "one"
page = "latent_map"
model = "digits-2d"
[scene.activity]
{activity}
"""


def _deck(activity: str, model: bool = True):
    text = DECK.format(activity=activity)
    if not model:
        text = text.replace('model = "digits-2d"\n', "")
    return parse_deck(text, "toml", "t.toml", ["latent_map"])


def test_a_scene_declares_its_activity():
    deck = _deck('kind = "poll"\nquestion = "Which?"\nchoices = ["1", "3"]\nanswer = "closest_class_to_origin"')
    act = deck.scenes[0].activity
    assert (act.kind, act.question, act.choices, act.answer) == ("poll", "Which?", ("1", "3"), "closest_class_to_origin")
    assert _deck('kind = "draw"\nprompt = "Draw a 7"').scenes[0].activity.prompt == "Draw a 7"
    assert _deck('kind = "place"\ntarget = "3"').scenes[0].activity.target == "3"


@pytest.mark.parametrize("activity, model, message", [
    ('kind = "sing"', True, "kind='sing' must be one of draw, place, poll"),
    ('kind = "draw"\nquestion = "?"', True, "does not take: question"),
    ('kind = "draw"', False, "needs the scene's model"),
    ('kind = "poll"\nchoices = ["a", "b"]', True, "question must be a non-empty text"),
    ('kind = "poll"\nquestion = "?"\nchoices = ["a"]', True, "2 to 8 texts"),
    ('kind = "poll"\nquestion = "?"\nchoices = ["a", "a"]', True, "must all be different"),
    ('kind = "poll"\nquestion = "?"\nchoices = ["a", "b"]\nanswer = "magic"', True, "answer='magic' is not one of"),
    ('kind = "poll"\nquestion = "?"\nchoices = ["Up", "Sideways"]\nanswer = "kl_trend_with_beta"', True,
     "exactly one choice must start with 'down'"),
    ('kind = "poll"\nquestion = "?"\nchoices = ["1", "2"]\nanswer = "closest_class_to_origin"', False,
     "give the scene a model"),
])
def test_a_bad_activity_is_refused_with_what_to_do(activity, model, message):
    with pytest.raises(SceneError, match="scene 1 \\('one'\\): activity") as e:
        _deck(activity, model)
    assert message in str(e.value)


def test_every_answer_rule_is_documented_for_deck_authors():
    doc = (REPO / "vae_core" / "analysis" / "class_answers.py").read_text()
    assert all(f"``{name}``" in doc for name in ANSWERS)
