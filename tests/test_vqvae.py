"""The VQ-VAE (vae_core/model/variants/vq.py and codebook.py, van den Oord et al. 2017): a map of codes, the
straight-through gradient, the commitment term, the codebook's moving averages and dead-code restarts held to
vector-quantize-pytorch's Codebook, its usage (perplexity, dead codes) recorded over training, what the app needs
to show a discrete latent, and the bundled model. (tests/test_variants.py runs it with every kind too.)"""
from __future__ import annotations

import json
import math
import shlex
import subprocess
import sys

import numpy as np
import pytest
import torch

from vae_core.__main__ import build_parser
from vae_core.analysis.evaluate import evaluate_model
from vae_core.model import numpy_model
from vae_core.model.architecture import state_shapes
from vae_core.model.config import ConfigError, ModelConfig
from vae_core.model.torch_model import VAE
from vae_core.model.variants import codebook as cb
from vae_core.model.variants import variant
from vae_core.model.variants.vq import UniformCodes, grid, perplexity, usage
from vae_core.store.checkpoints import load_checkpoint, save_checkpoint
from vae_core.store.history import History, load_history
from vae_core.training.run_spec import RunSpec
from vae_core.training.trainer import Trainer

from conftest import REPO_ROOT, tiny_train_config

BUNDLED = REPO_ROOT / "checkpoints" / "mnist5k-vq"
VQ = variant("vq")


def _config(**options) -> ModelConfig:
    """A VQ-VAE for the 8x8 digits: two conv blocks to a 2x2 map of 4-dim codes, 16 codes."""
    return ModelConfig(image_shape=(1, 8, 8), latent_dim=4, arch="conv", hidden=(8, 16), kind="vq",
                       options={"codebook_size": 16, **options})


def _model(seed: int = 0, **options) -> VAE:
    torch.manual_seed(seed)
    model = VAE(_config(**options))
    with torch.no_grad():
        model.codebook.normal_()
        model.codebook_sum.copy_(model.codebook)  # count 1: sum = codebook x count, as the moving averages keep it
    return model


def _digits(n: int = 64) -> torch.Tensor:
    from vae_core.data.datasets import load_dataset

    return load_dataset("digits").train.images[:n]


def test_a_config_needs_a_conv_encoder_and_valid_codebook_settings():
    with pytest.raises(ConfigError, match="--arch conv"):
        ModelConfig(image_shape=(1, 8, 8), latent_dim=4, kind="vq")
    for bad in ({"codebook_size": 1}, {"commitment": 0}, {"codebook_decay": 1.0}, {"dead_code_threshold": 0}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            _config(**bad)


def test_z_is_a_map_of_code_vectors_and_the_checkpoint_shapes_are_the_modules():
    model = _model()
    assert model.architecture.latent_shape == (4, 2, 2) and model.latent_dim == 16 and grid(model.cfg) == (2, 2)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == state_shapes(model.cfg)
    assert state_shapes(model.cfg)["codebook"] == (16, 4)


def test_each_position_is_replaced_by_its_nearest_code():
    model = _model().eval()
    x = _digits(5)
    with torch.no_grad():
        out = model(x)
        vectors = out.mu.reshape(5, 4, 4).transpose(1, 2).reshape(-1, 4)  # (B*h*w, D): position-major
        brute = torch.cdist(vectors, model.codebook).argmin(1)
    np.testing.assert_array_equal(VQ.codes(model, x).reshape(-1).numpy(), brute.numpy())
    torch.testing.assert_close(out.z.reshape(5, 4, 4).transpose(1, 2).reshape(-1, 4), model.codebook[brute])


def test_the_gradient_of_the_reconstruction_reaches_the_encoder_straight_through():
    """The lookup has no gradient; the straight-through estimator hands the decoder's gradient at z_q to z_e as it
    is. Without it the reconstruction would not train the encoder at all."""
    model = _model().train()
    x = _digits(8)
    out = model(x)
    (grad_at_z_e,) = torch.autograd.grad(out.recon.sum(), out.mu, retain_graph=True)
    z_q = out.z.detach().clone().requires_grad_(True)
    (grad_at_z_q,) = torch.autograd.grad(model.reconstruction_nll(model.run_decoder(z_q), x).sum(), z_q)
    torch.testing.assert_close(grad_at_z_e, grad_at_z_q)
    out.recon.sum().backward()
    assert model.encoder.fc_mu.weight.grad.abs().sum() > 0 and model.encoder.body[0].weight.grad.abs().sum() > 0


def test_the_commitment_term_pulls_the_encoder_only_and_is_beta_times_the_squared_distance():
    model = _model(commitment=0.5).train()
    x = _digits(8)
    out = model(x)
    torch.testing.assert_close(out.terms["commitment"], 0.5 * (out.mu - out.z).pow(2).sum(1), rtol=1e-5, atol=1e-5)
    assert out.kl_names == () and out.aux_names == ("commitment",)
    torch.testing.assert_close(out.neg_elbo, out.recon)  # no KL; the commitment is not part of the ELBO
    torch.testing.assert_close(out.per_image(), out.recon + out.terms["commitment"])
    model.zero_grad()
    out.terms["commitment"].sum().backward()
    assert model.encoder.fc_mu.weight.grad.abs().sum() > 0
    assert all(p.grad is None or p.grad.abs().sum() == 0 for n, p in model.named_parameters() if n.startswith("decoder"))


def _reference(dim: int, k: int, decay: float, threshold: float):
    from vector_quantize_pytorch.vector_quantize_pytorch import Codebook

    return Codebook(dim=dim, codebook_size=k, decay=decay, threshold_ema_dead_code=threshold).train()


def test_the_moving_averages_match_vector_quantize_pytorch():
    """The EMA codebook of van den Oord et al. (A.1), as vector-quantize-pytorch 1.32.0 runs it: the same codes
    chosen and the same codebook, counts and sums after several batches (restarts off)."""
    torch.manual_seed(0)
    ref = _reference(dim=3, k=8, decay=0.9, threshold=0)
    codebook, count, total = ref.embed[0].clone(), ref.cluster_size[0].clone(), ref.embed_avg[0].clone()
    for step in range(5):
        x = torch.randn(200, 3) * (1 + step) + step
        _, ref_index, _ = ref(x[None])
        index = cb.nearest(x, codebook)
        np.testing.assert_array_equal(index.numpy(), ref_index[0].numpy())
        cb.ema_update_(codebook, count, total, x, index, decay=0.9)
        torch.testing.assert_close(count, ref.cluster_size[0], rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(total, ref.embed_avg[0], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(codebook, ref.embed[0], rtol=1e-5, atol=1e-5)


def test_dead_codes_restart_at_vectors_of_the_batch_as_vector_quantize_pytorch_restarts_them():
    torch.manual_seed(1)
    ref = _reference(dim=3, k=8, decay=0.9, threshold=2.0)
    codebook, count, total = ref.embed[0].clone(), ref.cluster_size[0].clone(), ref.embed_avg[0].clone()
    x = torch.randn(50, 3)
    torch.manual_seed(2)
    ref(x[None])
    torch.manual_seed(2)
    index = cb.nearest(x, codebook)
    cb.ema_update_(codebook, count, total, x, index, decay=0.9)
    dead = count < 2.0
    assert dead.any()  # every count starts at 1: below the threshold, whatever the batch gave it
    restarted = cb.restart_dead_(codebook, count, total, x, threshold=2.0)
    assert restarted == int(dead.sum())
    torch.testing.assert_close(codebook, ref.embed[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(count, ref.cluster_size[0])
    rows = {tuple(np.round(r, 6)) for r in x.numpy()}
    assert all(tuple(np.round(c, 6)) in rows for c in codebook[dead].numpy())  # each a vector of the batch
    assert len({tuple(c) for c in codebook[dead].numpy()}) == int(dead.sum())  # no two the same
    assert (count[dead] == 2.0).all() and (count[~dead] >= 2.0).all()


def test_fewer_vectors_than_dead_codes_restart_as_many_codes_as_vectors():
    codebook, count, total = torch.zeros(10, 2), torch.zeros(10), torch.zeros(10, 2)
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert cb.restart_dead_(codebook, count, total, x, threshold=1.0) == 3
    assert (count == 1.0).sum() == 3 and sorted(map(tuple, codebook[count == 1.0].tolist())) == sorted(map(tuple, x.tolist()))


def test_a_code_no_encoding_chooses_restarts_in_training_and_not_in_evaluation():
    model = _model(dead_code_threshold=1.0).eval()
    x = _digits(32)
    with torch.no_grad():
        model.codebook[5] = 1e4  # far from every encoding: never chosen
        model.codebook_count[5] = 0.5
        model.codebook_count[torch.arange(16) != 5] = 1e3  # the others alive
        before = model.codebook.clone()
        model(x)  # evaluation mode: the codebook stays
        assert torch.equal(model.codebook, before)
        model.train()(x)
    assert model.codebook[5].abs().max() < 1e3 and model.codebook_count[5] == 1.0


def test_perplexity_of_uniform_usage_is_k_and_of_one_code_is_one():
    k = 12
    found = usage(np.repeat(np.arange(k), 7).reshape(-1, 2, 3), k)
    assert found["perplexity"] == pytest.approx(k) and found["dead_codes"] == 0
    one = usage(np.full((4, 2, 2), 3), k)
    assert one["perplexity"] == pytest.approx(1.0) and one["dead_codes"] == k - 1
    p = np.array([5.0, 1.0, 0.0, 2.0])
    assert perplexity(p) == pytest.approx(math.exp(-sum(q * math.log(q) for q in p[p > 0] / p.sum())))


def test_one_training_step_changes_every_weight_and_the_codebook():
    model = _model().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(_digits(64)).loss().backward()
    opt.step()
    after = model.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k, _ in model.named_parameters())
    assert not torch.equal(before["codebook"], after["codebook"])  # the moving averages' step, without gradients


def test_a_short_run_lowers_the_loss_and_records_codebook_usage(digits, tmp_path):
    trainer = Trainer(_config(), tiny_train_config(epochs=4, lr=5e-3), digits, out_dir=tmp_path / "vq",
                      sample_size=100)
    history = trainer.fit()
    assert history[-1].test_recon < history[0].test_recon and history[-1].train_loss < history[0].train_loss
    assert history[-1].test_kl == 0 and set(history[-1].test_terms) == {"commitment"}
    saved = load_history(tmp_path / "vq")
    assert set(saved.series) == {"commitment", "perplexity", "dead_codes", "mse"}
    assert saved.series["perplexity"].shape == (len(saved),)
    assert 1 <= saved.series["perplexity"][-1] <= 16 and 0 <= saved.series["dead_codes"][-1] < 16
    assert saved.series["perplexity"][0] == pytest.approx(1.0)  # before any step every code is 0: one code in use
    meta = load_checkpoint(tmp_path / "vq", lazy=True).meta
    assert meta["metrics"]["test_commitment"] == pytest.approx(history[-1].test_terms["commitment"])


def test_a_history_without_series_still_loads_and_one_with_them_reads_in_full(tmp_path):
    old = load_history(REPO_ROOT / "checkpoints" / "mnist5k-2d")  # written before series existed
    assert old is not None and old.series == {}
    arrays = old.arrays()
    arrays["series.perplexity"] = np.arange(len(old), dtype=np.float32)
    again = History.from_arrays(arrays)
    np.testing.assert_array_equal(again.series["perplexity"], np.arange(len(old)))
    arrays["series.perplexity"] = np.zeros(len(old) + 1, np.float32)
    with pytest.raises(ValueError, match="mismatched"):
        History.from_arrays(arrays)


def test_save_and_load_give_every_tensor_back(tmp_path):
    model = _model()
    model.train()(_digits(32))  # moving averages away from their start
    ckpt = load_checkpoint(save_checkpoint(tmp_path / "vq", model.eval(), {}))
    assert ckpt.config == model.cfg
    for k, v in model.state_dict().items():
        assert torch.equal(v, ckpt.model.state_dict()[k]), k


def test_numpy_encodes_as_torch_does_and_finds_the_same_codes():
    model = _model().eval()
    arrays = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    x = _digits(20)
    with torch.inference_mode():
        mu, logvar = model.encode(x)
    np_mu, np_logvar = numpy_model.encode(model.cfg, arrays, x.numpy())
    np.testing.assert_allclose(np_mu, mu.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(np_logvar, logvar.numpy())
    np.testing.assert_array_equal(VQ.codes_of(model.cfg, arrays, np_mu), VQ.codes(model, x).numpy())
    np.testing.assert_array_equal(VQ.codebook_vectors(arrays), arrays["codebook"])


def test_a_kind_numpy_cannot_run_is_encoded_by_torch_instead(monkeypatch):
    """numpy_encoder = False: numpy_model.encode builds the torch model and gives its numbers (the app's first
    screen calls numpy_model.encode whatever the kind)."""
    model = _model().eval()
    arrays = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    monkeypatch.setattr(VQ, "numpy_encoder", False)

    def no_numpy(*args, **kwargs):
        raise AssertionError("the NumPy operations ran for a kind that says NumPy cannot run its encoder")

    monkeypatch.setattr(numpy_model.numpy_ops, "run", no_numpy)
    x = _digits(6)
    with torch.inference_mode():
        mu, _ = model.encode(x)
    np.testing.assert_allclose(numpy_model.encode(model.cfg, arrays, x.numpy())[0], mu.numpy(), rtol=1e-5, atol=1e-6)


def test_decoding_a_grid_of_codes_and_changing_one_code_changes_only_its_region():
    """An image is its grid of codes; decoding the grid gives its reconstruction, and one code changed changes
    only the pixels its position reaches (two transposed 4x4 convolutions: a 10x10 window), nothing else."""
    torch.manual_seed(0)
    model = VAE(ModelConfig(image_shape=(1, 28, 28), latent_dim=4, arch="conv", hidden=(8, 16), kind="vq",
                            options={"codebook_size": 8})).eval()
    with torch.no_grad():
        model.codebook.normal_()
    x = torch.rand(2, 1, 28, 28)
    codes = VQ.codes(model, x)
    assert codes.shape == (2, 7, 7)
    with torch.inference_mode():
        torch.testing.assert_close(VQ.decode_codes(model, codes), model.decode(model.encode(x)[0]))
        changed = codes.clone()
        changed[0, 0, 0] = (codes[0, 0, 0] + 1) % 8
        before, after = VQ.decode_codes(model, codes), VQ.decode_codes(model, changed)
    moved = (before[0, 0] != after[0, 0]).nonzero()
    assert len(moved) > 0 and moved.max() < 10  # only the top-left corner's window
    assert torch.equal(before[1], after[1])
    with pytest.raises(ValueError, match="between 0 and 7"):
        VQ.decode_codes(model, torch.full((1, 7, 7), 8))
    with pytest.raises(ValueError, match=r"\(7, 7\)"):
        VQ.decode_codes(model, torch.zeros(1, 6, 6))


def test_the_stand_in_prior_is_uniform_codes_at_every_position():
    model = _model().eval()
    prior = model.prior()
    assert isinstance(prior, UniformCodes) and prior.latent_dim == 16
    z = prior.sample(500, seed=0)
    np.testing.assert_array_equal(z, prior.sample(500, seed=0))
    vectors = z.reshape(500, 4, 4).transpose(0, 2, 1).reshape(-1, 4)
    found = cb.nearest(torch.from_numpy(vectors), model.codebook)
    torch.testing.assert_close(torch.from_numpy(vectors), model.codebook[found])  # every position is a code
    assert usage(found.numpy(), 16)["perplexity"] > 15  # all K about equally often
    np.testing.assert_allclose(prior.log_density(z), -4 * math.log(16))
    same_place = prior.marginal((0, 4))  # channels 0 and 1 of position 0: the K codes' two coordinates
    assert len(same_place.points) == 16
    assert len(prior.marginal((0, 1)).points) == 16 * 16  # two positions: every pair of codes
    assert prior.contours() == []


def test_the_command_line_takes_the_codebook_settings():
    args = build_parser().parse_args(["train", "--kind", "vq", "--arch", "conv", "--codebook-size", "32",
                                      "--commitment", "0.5", "--out", "o"])
    spec = RunSpec.from_args(args)
    options = spec.model_config((1, 28, 28), 10).options
    assert options.codebook_size == 32 and options.commitment == 0.5 and options.codebook_decay == 0.99
    assert "--kind vq" in spec.command("o") and "--codebook-size 32 --commitment 0.5" in spec.command("o")
    assert RunSpec.from_args(build_parser().parse_args(shlex.split(spec.command("o"))[3:])) == spec


def test_evaluate_reports_the_reconstruction_and_the_codebook_usage(digits):
    trainer = Trainer(_config(), tiny_train_config(epochs=2), digits)
    trainer.fit()
    r = evaluate_model(trainer.model, digits.test.images, digits.test.labels)
    assert r["iwae_neg_log_likelihood"] is None and "VQ-VAE" in r["note"] and "commitment" in r["note"]
    assert r["kl"] == 0 and r["neg_elbo"] == pytest.approx(r["recon"]) and set(r["terms"]) == {"commitment"}
    codes = VQ.codes(trainer.model, digits.test.images)
    assert r["measures"]["perplexity"] == pytest.approx(usage(codes.numpy(), 16)["perplexity"])
    with torch.inference_mode():
        mse = float((VQ.decode_codes(trainer.model, codes) - digits.test.images).pow(2).mean())
    assert r["measures"]["mse"] == pytest.approx(mse, rel=1e-5)


# ---------------------------------------------------------------------------------------------- the bundled model

def test_the_bundled_model_gives_its_recorded_numbers():
    ck = load_checkpoint(BUNDLED)
    assert ck.config.kind == "vq" and "--kind vq" in ck.meta["command"]
    r = evaluate_model(ck.model, ck.sample.as_tensor(), torch.from_numpy(ck.sample.labels))
    m = ck.meta["metrics"]
    assert r["recon"] == pytest.approx(m["test_recon"], abs=0.1)  # its stored images are its test set, as uint8
    assert r["measures"]["perplexity"] > 0.3 * ck.config.options.codebook_size
    history = ck.history
    assert history is not None and {"perplexity", "dead_codes"} <= set(history.series)
    assert history.series["perplexity"][-1] > history.series["perplexity"][0]


def test_the_first_screen_encodes_the_bundled_model_without_torch():
    """ui.loaded_model encodes the stored images with numpy_model when torch is not imported: a VQ-VAE's map of
    codes there is the same as torch's."""
    probe = ("import json, sys\n"
             "from ui.loaded_model import LoadedModel\n"
             f"m = LoadedModel({str(BUNDLED)!r}, 'stamp')\n"
             "mu, logvar = m.encodings()\n"
             "print(json.dumps({'torch': 'torch' in sys.modules, 'shape': mu.shape, 'sum': float(mu.sum()),"
             " 'first': mu[0, :5].tolist()}))\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["torch"] is False
    ck = load_checkpoint(BUNDLED)
    with torch.inference_mode():
        mu, _ = ck.model.encode(ck.sample.as_tensor())
    assert tuple(got["shape"]) == tuple(mu.shape)
    np.testing.assert_allclose(got["first"], mu[0, :5].numpy(), rtol=1e-4, atol=1e-4)


def test_the_train_page_trains_a_vq_vae_with_its_codebook_settings(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from conftest import clean_home, run_until, texts

    home = clean_home(tmp_path, monkeypatch)
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    at.radio(key="train_kind").set_value("vq").run()
    at.radio(key="train_arch").set_value("conv").run()
    at.number_input(key="train_vq_codebook_size").set_value(12)
    at.number_input(key="train_epochs").set_value(1)
    at.text_input(key="train_hidden").set_value("8,16")
    at.text_input(key="train_name").set_value("vq-run")
    at.button(key="train_start").click()
    at.run()
    run_until(at, lambda a: "Finished" in texts(a.success))
    ck = load_checkpoint(next((home / "sessions").glob("*/runs/vq-run")))
    assert ck.config.kind == "vq" and ck.config.options.codebook_size == 12
    assert ck.arrays["codebook"].shape == (12, ck.config.latent_dim)
    assert "commitment" in ck.meta["history"][-1]["test_terms"]
