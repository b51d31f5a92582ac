"""The answers to a class's polls, computed from the loaded model's own numbers (never typed into a deck).

A deck's poll names one of ``ANSWERS`` (``answer = "closest_class_to_origin"``); when the lecturer reveals
it, the app computes the value from the model and finds the poll's choice that says it (``match_choice``).

- ``closest_class_to_origin`` / ``farthest_class_from_origin``: the class whose mean encoder mean, the
  average of mu(x) over its test images, has the smallest / largest Euclidean norm.
- ``widest_class_posterior``: the class whose test images have the largest mean posterior sigma (the mean
  over images and dimensions of exp(logvar / 2)): the class the encoder is least sure of.
- ``kl_trend_with_beta``: along a family of models that differ only in beta, whether the KL term (the
  rate, test nats per image) goes "up" or "down" from beta = 1 to beta = 4 (the family's smallest and
  largest beta when either is missing).

Each function takes plain arrays and returns an ``Answer``: the value a choice must say, and a note with
the numbers behind it. May import: nothing of the project (NumPy only).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


class AnswerError(ValueError):
    """An answer cannot be computed from what the model has, or no choice of the poll says it."""


@dataclass(frozen=True)
class Answer:
    value: str  # what the right choice says: a class name, "up" or "down"
    note: str  # the numbers behind it, one sentence for the projector


@dataclass(frozen=True)
class AnswerRule:
    name: str
    title: str  # what it computes, for a deck's author
    needs: str  # "encodings" (mu, logvar, labels, class names) or "family" ((beta, rate) of each member)
    compute: Callable[..., Answer]
    values: tuple[str, ...] = ()  # the values it can give when they are fixed ("up", "down"), else ()


def _class_means(values: np.ndarray, labels: np.ndarray, class_names: Sequence[str]) -> dict[int, np.ndarray]:
    labels = np.asarray(labels).astype(np.int64)
    present = [int(c) for c in np.unique(labels) if 0 <= int(c) < len(class_names)]
    if not present:
        raise AnswerError("the model stores no labelled test images, so no class can be compared")
    values = np.asarray(values, np.float64)
    return {c: values[labels == c].mean(axis=0) for c in present}


def class_mean_norms(mu: np.ndarray, labels: np.ndarray, class_names: Sequence[str]) -> dict[str, float]:
    """Each class's || mean of mu(x) over its images ||, by class name."""
    return {class_names[c]: float(np.linalg.norm(m)) for c, m in _class_means(mu, labels, class_names).items()}


def _extreme_norm(mu, labels, class_names, smallest: bool) -> Answer:
    norms = class_mean_norms(mu, labels, class_names)
    ordered = sorted(norms.items(), key=lambda kv: kv[1], reverse=not smallest)
    best, runner = ordered[0], ordered[1] if len(ordered) > 1 else None
    word = "closest to" if smallest else "farthest from"
    note = f"Class {best[0]}'s mean mu is {word} the origin: ||mean mu|| = {best[1]:.2f}"
    if runner is not None:
        note += f" (next: {runner[0]}, {runner[1]:.2f})"
    return Answer(best[0], note + ".")


def closest_class_to_origin(mu, logvar, labels, class_names) -> Answer:
    return _extreme_norm(mu, labels, class_names, smallest=True)


def farthest_class_from_origin(mu, logvar, labels, class_names) -> Answer:
    return _extreme_norm(mu, labels, class_names, smallest=False)


def widest_class_posterior(mu, logvar, labels, class_names) -> Answer:
    sigma = np.exp(0.5 * np.asarray(logvar, np.float64)).mean(axis=1)  # (N,) mean sigma per image
    means = {class_names[c]: float(v) for c, v in _class_means(sigma, labels, class_names).items()}
    ordered = sorted(means.items(), key=lambda kv: kv[1], reverse=True)
    best = ordered[0]
    return Answer(best[0], f"Class {best[0]}'s images have the widest posteriors: mean sigma = {best[1]:.3f} "
                           f"(narrowest: {ordered[-1][0]}, {ordered[-1][1]:.3f}).")


def kl_trend_with_beta(members: Sequence[tuple[float, float]], low: float = 1.0, high: float = 4.0) -> Answer:
    """``members``: (beta, rate) of each model of one beta family."""
    finite = sorted((float(b), float(r)) for b, r in members if np.isfinite(b))
    if len(finite) < 2:
        raise AnswerError("the model's family has fewer than two values of beta, so no trend can be read")
    by_beta = dict(finite)
    b0 = low if low in by_beta else finite[0][0]
    b1 = high if high in by_beta else finite[-1][0]
    r0, r1 = by_beta[b0], by_beta[b1]
    if r1 == r0:
        raise AnswerError(f"the KL is the same at beta = {b0:g} and {b1:g} ({r0:.2f} nats): no trend")
    value = "up" if r1 > r0 else "down"
    return Answer(value, f"KL at beta = {b0:g}: {r0:.2f} nats; at beta = {b1:g}: {r1:.2f} nats: it goes {value}.")


ANSWERS: dict[str, AnswerRule] = {r.name: r for r in (
    AnswerRule("closest_class_to_origin", "the class whose mean mu has the smallest norm", "encodings",
               closest_class_to_origin),
    AnswerRule("farthest_class_from_origin", "the class whose mean mu has the largest norm", "encodings",
               farthest_class_from_origin),
    AnswerRule("widest_class_posterior", "the class with the largest mean posterior sigma", "encodings",
               widest_class_posterior),
    AnswerRule("kl_trend_with_beta", "whether the KL goes up or down from beta = 1 to beta = 4", "family",
               kl_trend_with_beta, values=("up", "down")),
)}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def says(choice: str, value: str) -> bool:
    """Whether a poll's choice says ``value``: the same words, or the value's words first ("Up: it grows")."""
    c, v = _words(choice), _words(value)
    return bool(v) and c[:len(v)] == v


def match_choice(choices: Sequence[str], answer: Answer) -> int:
    """The index of the one choice that says the answer's value."""
    found = [i for i, c in enumerate(choices) if says(c, answer.value)]
    if len(found) != 1:
        listed = "; ".join(repr(c) for c in choices)
        what = "none" if not found else "more than one"
        raise AnswerError(f"the model's answer is {answer.value!r}, and {what} of the poll's choices ({listed}) "
                          f"says it: make exactly one choice start with {answer.value!r}")
    return found[0]


def rule(name: str) -> AnswerRule:
    if name not in ANSWERS:
        raise AnswerError(f"answer={name!r} is not one of {', '.join(ANSWERS)}")
    return ANSWERS[name]
