"""A poll's answer, computed from the model the scene names when the lecturer reveals it
(vae_core.analysis.class_answers holds the computations; this gathers the model's numbers for them)."""
from __future__ import annotations

from services.scenes import Scene
from vae_core.analysis.class_answers import Answer, AnswerError, match_choice, rule
from vae_core.store.families import family_of, load_families

from .room import model_by_name


def scene_answer(scene: Scene) -> tuple[int, Answer]:
    """(the index of the right choice, the answer with its numbers) for a poll scene that names an answer;
    AnswerError says why it cannot be computed."""
    act = scene.activity
    if act is None or act.kind != "poll" or not act.answer:
        raise AnswerError("this scene's poll names no answer to compute (answer = ... in its [scene.activity])")
    how = rule(act.answer)
    if how.needs == "family":
        family_name = scene.params.get("family")
        families = load_families()
        family = next((f for f in families if f.name == family_name), None) or family_of(scene.model or "", families)
        if family is None or family.knob != "beta":
            raise AnswerError(f"the model {scene.model!r} belongs to no family of models that differ in beta")
        answer = how.compute([(m.order, m.rate) for m in family.members])
    else:
        loaded = model_by_name(scene.model)
        if loaded is None:
            raise AnswerError(f"the scene's model {scene.model!r} is not on this server")
        ckpt = loaded.checkpoint
        if ckpt.sample is None or len(ckpt.sample.labels) == 0:
            raise AnswerError(f"{ckpt.name} stores no test images to compute the answer from")
        mu, logvar = loaded.encodings()
        names = ckpt.class_names or [str(c) for c in range(ckpt.config.num_classes)]
        answer = how.compute(mu, logvar, ckpt.sample.labels, names)
    return match_choice(act.choices, answer), answer
