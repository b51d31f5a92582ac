"""The Trainer, with real training on the real 8x8 digits."""
from __future__ import annotations

import math

import pytest
import torch

from vae_core.store.checkpoints import load_checkpoint
from vae_core.analysis.evaluate import evaluate_neg_elbo
from vae_core.training.trainer import Callback, Trainer, TrainingDiverged, make_sample

from conftest import TRAINED_EPOCHS, file_hashes, tiny_model_config, tiny_train_config


def _snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_short_run_lowers_the_test_negative_elbo(trained, digits):
    h = trained.history
    # the same model before its first step (the encoder centred and the decoder at the mean image)
    untrained = Trainer(trained.model_cfg, trained.train_cfg, digits).model
    start, _, _ = evaluate_neg_elbo(untrained, digits.test.images, digits.test.labels)
    assert [s.epoch for s in h] == list(range(1, TRAINED_EPOCHS + 1))
    for s in h:
        assert all(math.isfinite(v) for v in (s.train_loss, s.test_neg_elbo, s.test_recon, s.test_kl))
        assert s.test_neg_elbo == pytest.approx(s.test_recon + s.test_kl, rel=1e-6)
        assert s.kl_weight == 1.0 and s.seconds > 0
    assert h[-1].test_neg_elbo < start - 1.0, (start, [s.test_neg_elbo for s in h])
    assert h[-1].test_neg_elbo < h[0].test_neg_elbo, [s.test_neg_elbo for s in h]
    assert h[-1].train_loss < h[0].train_loss


def test_reported_test_elbo_is_what_the_saved_model_scores(trained, digits):
    ckpt = load_checkpoint(trained.path)
    neg_elbo, recon, kl = evaluate_neg_elbo(ckpt.model, digits.test.images, digits.test.labels, seed=0)
    assert neg_elbo == pytest.approx(trained.history[-1].test_neg_elbo, rel=1e-5)
    assert ckpt.meta["metrics"]["test_neg_elbo"] == trained.history[-1].test_neg_elbo
    assert ckpt.meta["n_train"] == len(digits.train) and ckpt.meta["n_test"] == len(digits.test)


def test_one_training_step_changes_the_weights(digits):
    class OneStep(Callback):
        def on_train_start(self, trainer):
            self.before = _snapshot(trainer.model)

        def on_batch_end(self, trainer, epoch, batch, n_batches, loss):
            self.after = _snapshot(trainer.model)
            self.loss = loss
            trainer.stop()

    cb = OneStep()
    trainer = Trainer(tiny_model_config(), tiny_train_config(epochs=1), digits, callbacks=[cb])
    trainer.fit()
    changed = [k for k in cb.before if not torch.equal(cb.before[k], cb.after[k])]
    learned = {k for k, _ in trainer.model.named_parameters()}  # not the pixel_mean buffer: data, not learned
    assert set(changed) == learned, f"unchanged after one step: {learned - set(changed)}"
    torch.testing.assert_close(cb.after["pixel_mean"], digits.train.images.mean(0))
    assert all(torch.isfinite(v).all() for v in cb.after.values())
    assert math.isfinite(cb.loss) and cb.loss > 0


class _InjectNaN(Callback):
    """At epoch 2 (0-based 1), after the first batch, poison a weight; before that, fingerprint the checkpoint."""

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.hashes_after_epoch_1 = None

    def on_epoch_end(self, trainer, stats):
        if stats.epoch == 1:
            self.hashes_after_epoch_1 = file_hashes(self.out_dir)

    def on_batch_end(self, trainer, epoch, batch, n_batches, loss):
        if epoch == 1 and batch == 0:
            with torch.no_grad():
                trainer.model.encoder.fc_mu.weight.fill_(float("nan"))


def test_nan_raises_training_diverged_and_keeps_the_last_good_checkpoint(digits, tmp_path):
    out = tmp_path / "ck"
    cb = _InjectNaN(out)
    trainer = Trainer(tiny_model_config(), tiny_train_config(epochs=4), digits, out_dir=out, callbacks=[cb])
    with pytest.raises(TrainingDiverged) as e:
        trainer.fit()
    msg = str(e.value)
    assert "nan" in msg.lower() and "epoch 2" in msg and "batch 2" in msg
    assert str(out) in msg and "epoch 1" in msg and "kept" in msg
    assert "lr=" in msg  # says what to change
    assert len(trainer.history) == 1
    # the checkpoint on disk is the epoch-1 one, byte for byte, and loads
    assert cb.hashes_after_epoch_1 is not None
    assert file_hashes(out) == cb.hashes_after_epoch_1
    ckpt = load_checkpoint(out)
    assert ckpt.meta["epochs"] == 1
    assert all(torch.isfinite(v).all() for v in ckpt.model.state_dict().values())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]  # no half-written folders


def test_absurd_learning_rate_diverges_before_any_checkpoint(digits, tmp_path):
    out = tmp_path / "ck"
    trainer = Trainer(tiny_model_config(), tiny_train_config(epochs=3, lr=10.0, batch_size=64), digits, out_dir=out)
    with pytest.raises(TrainingDiverged) as e:
        trainer.fit()
    msg = str(e.value)
    assert "diverged" in msg and "lr=10.0" in msg and "No checkpoint had been saved" in msg
    assert trainer.history == []
    assert not out.exists()


def test_divergence_right_after_resume_says_the_resumed_checkpoint_was_kept(trained, digits, tmp_path):
    """The out folder holds the resumed checkpoint: the message must not claim no checkpoint was saved."""
    import shutil

    out = tmp_path / "ck"
    shutil.copytree(trained.path, out)
    before = file_hashes(out)

    class Poison(Callback):
        def on_batch_end(self, trainer, epoch, batch, n_batches, loss):
            with torch.no_grad():
                trainer.model.encoder.fc_mu.weight.fill_(float("nan"))

    trainer = Trainer(trained.model_cfg, tiny_train_config(epochs=TRAINED_EPOCHS + 2), digits, out_dir=out,
                      resume_from=out, callbacks=[Poison()], command="pytest fixture")
    with pytest.raises(TrainingDiverged) as e:
        trainer.fit()
    assert file_hashes(out) == before
    assert "No checkpoint had been saved yet" not in str(e.value)
    assert f"epoch {TRAINED_EPOCHS})" in str(e.value) and "kept" in str(e.value)


def test_resume_gives_the_same_weights_as_a_straight_run(digits, tmp_path):
    mcfg = tiny_model_config()
    straight = Trainer(mcfg, tiny_train_config(epochs=4), digits)
    straight_history = straight.fit()

    out = tmp_path / "ck"
    Trainer(mcfg, tiny_train_config(epochs=2), digits, out_dir=out).fit()
    assert load_checkpoint(out).meta["epochs"] == 2
    resumed = Trainer(mcfg, tiny_train_config(epochs=4), digits, out_dir=out, resume_from=out)
    assert resumed.start_epoch == 2
    resumed_history = resumed.fit()

    assert [s.epoch for s in resumed_history] == [1, 2, 3, 4]
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume (max diff {(a[k] - b[k]).abs().max():.3g})"
    for s1, s2 in zip(straight_history, resumed_history):
        assert s1.test_neg_elbo == s2.test_neg_elbo and s1.train_loss == s2.train_loss
    assert load_checkpoint(out).meta["epochs"] == 4


def test_resume_with_a_different_model_config_is_refused(trained, digits):
    with pytest.raises(ValueError, match="model config differs"):
        Trainer(tiny_model_config(latent_dim=3), tiny_train_config(epochs=9), digits, resume_from=trained.path)


def test_resume_when_all_epochs_are_done_trains_nothing(trained, digits):
    trainer = Trainer(trained.model_cfg, tiny_train_config(epochs=TRAINED_EPOCHS), digits, resume_from=trained.path)
    before = _snapshot(trainer.model)
    history = trainer.fit()
    assert len(history) == TRAINED_EPOCHS
    assert all(torch.equal(before[k], v) for k, v in trainer.model.state_dict().items())


def test_stop_ends_fit_early_and_keeps_finished_epochs(digits, tmp_path):
    class StopSoon(Callback):
        def __init__(self):
            self.batches = []
            self.ended = False

        def on_batch_end(self, trainer, epoch, batch, n_batches, loss):
            self.batches.append((epoch, batch))
            if epoch == 1 and batch == 2:
                trainer.stop()

        def on_train_end(self, trainer):
            self.ended = True

    out = tmp_path / "ck"
    cb = StopSoon()
    trainer = Trainer(tiny_model_config(), tiny_train_config(epochs=50), digits, out_dir=out, callbacks=[cb])
    history = trainer.fit()
    n_batches = math.ceil(len(digits.train) / 128)
    assert trainer.stopped and cb.ended
    assert len(history) == 1  # epoch 2 was cut short and is not counted
    assert cb.batches == [(0, b) for b in range(n_batches)] + [(1, 0), (1, 1), (1, 2)]
    assert load_checkpoint(out).meta["epochs"] == 1


def test_stop_from_another_thread(digits):
    import threading

    class Slow(Callback):
        def __init__(self):
            self.count = 0
            self.started = threading.Event()

        def on_batch_end(self, trainer, epoch, batch, n_batches, loss):
            self.count += 1
            self.started.set()

    cb = Slow()
    trainer = Trainer(tiny_model_config(), tiny_train_config(epochs=100_000), digits, callbacks=[cb])
    t = threading.Thread(target=trainer.fit, daemon=True)
    t.start()
    assert cb.started.wait(30)
    trainer.stop()
    t.join(30)
    assert not t.is_alive(), "fit() did not stop within 30 s of stop()"
    assert trainer.stopped
    count = cb.count
    assert count >= 1 and len(trainer.history) < 100_000


def test_kl_warmup_is_applied_per_epoch(digits):
    trainer = Trainer(tiny_model_config(), tiny_train_config(epochs=4, beta=2.0, warmup_epochs=2), digits)
    history = trainer.fit()
    weights = [s.kl_weight for s in history]
    assert weights == pytest.approx([2 / 3, 4 / 3, 2.0, 2.0])
    # the training loss uses the weight, the test negative ELBO does not
    first = history[0]
    assert first.train_loss == pytest.approx(first.train_recon + first.kl_weight * first.train_kl, rel=1e-4)


@pytest.mark.parametrize("kw", [dict(kind="cvae"), dict(kind="ae"), dict(arch="conv", hidden=(8, 16)),
                                dict(likelihood="gaussian", gaussian_variance="learned")])
def test_every_variant_trains_and_saves(digits, tmp_path, kw):
    out = tmp_path / "ck"
    trainer = Trainer(tiny_model_config(**kw), tiny_train_config(epochs=2), digits, out_dir=out, sample_size=10)
    history = trainer.fit()
    assert len(history) == 2 and all(math.isfinite(s.test_neg_elbo) for s in history)
    if kw.get("kind") == "ae":
        assert history[-1].test_kl == 0.0
    ckpt = load_checkpoint(out)
    assert ckpt.config == trainer.model_cfg
    assert len(ckpt.sample.labels) == 10


def test_same_seed_same_weights_different_seed_different_weights(digits):
    a = Trainer(tiny_model_config(), tiny_train_config(epochs=1, seed=3), digits)
    b = Trainer(tiny_model_config(), tiny_train_config(epochs=1, seed=3), digits)
    c = Trainer(tiny_model_config(), tiny_train_config(epochs=1, seed=4), digits)
    for t in (a, b, c):
        t.fit()
    w = "decoder.net.2.weight"
    assert torch.equal(a.model.state_dict()[w], b.model.state_dict()[w])
    assert not torch.equal(a.model.state_dict()[w], c.model.state_dict()[w])


def test_make_sample_is_seeded_uint8_with_labels(digits):
    s1 = make_sample(digits.test.images, digits.test.labels, digits.test.class_names, 20, seed=1)
    s2 = make_sample(digits.test.images, digits.test.labels, digits.test.class_names, 20, seed=1)
    assert s1.images.shape == (20, 8, 8) and s1.images.dtype.name == "uint8"
    assert (s1.images == s2.images).all() and (s1.labels == s2.labels).all()
    # every stored image is one of the test images, with its label
    x = s1.as_tensor()
    for img, label in zip(x, s1.labels):
        d = (digits.test.images - img).abs().flatten(1).max(1).values
        j = int(d.argmin())
        assert d[j] <= 0.5 / 255 + 1e-6 and int(digits.test.labels[j]) == int(label)
    big = make_sample(digits.test.images, digits.test.labels, digits.test.class_names, 10_000)
    assert len(big.labels) == len(digits.test)
