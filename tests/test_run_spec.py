"""One description of a training run (vae_core.training.run_spec): the command line, torchrun and the app's Train page
read and write the same fields, and the command a run records trains that run again."""
from __future__ import annotations

import argparse
import dataclasses
import shlex

import pytest

from vae_core.training import distributed
from vae_core.__main__ import build_parser
from vae_core.model.config import ConfigError, parse_hidden
from services.jobs import JobSpec
from vae_core.training.run_spec import RunSpec, add_arguments

EVERY_VALUE_CHANGED = RunSpec(
    dataset="fashion-mnist", data_dir="/data", download=False, test_fraction=0.3, kind="cvae", latent_dim=7,
    arch="conv", hidden=(8, 16), likelihood="gaussian", gaussian_variance="learned", gaussian_sigma=0.25, beta=2.5,
    warmup_epochs=3, epochs=11, batch_size=64, lr=0.002, lr_schedule="constant", adam_beta2=0.999, data_init=False,
    seed=5, device="cpu", threads=2, time_limit=60.0, sample_size=123, save_optimizer=False)


def _train_args(words: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(["train", *words])


def test_every_field_differs_in_the_example_run():
    """(so the round trips below check every field)"""
    defaults = RunSpec()
    same = [f.name for f in dataclasses.fields(RunSpec)
            if f.name != "options" and getattr(defaults, f.name) == getattr(EVERY_VALUE_CHANGED, f.name)]
    assert same == []


def test_the_recorded_command_trains_the_same_run_again():
    words = shlex.split(EVERY_VALUE_CHANGED.command("runs/x"))
    assert words[:4] == ["python", "-m", "vae_core", "train"] and words[-2:] == ["--out", "runs/x"]
    assert RunSpec.from_args(_train_args(words[4:])) == EVERY_VALUE_CHANGED
    assert RunSpec().command("o") == "python -m vae_core train --out o"  # the defaults need no flag


def test_the_command_line_and_torchrun_take_the_same_flags():
    def flags(parser: argparse.ArgumentParser) -> set[str]:
        return {s for a in parser._actions for s in a.option_strings} - {"-h", "--help"}

    train = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]
    assert flags(train) == flags(distributed.build_parser())
    assert {"--lr-schedule", "--adam-beta2", "--no-data-init", "--gaussian-sigma", "--kind"} <= flags(train)
    args = distributed.build_parser().parse_args(shlex.split(EVERY_VALUE_CHANGED.command("o"))[4:])
    assert RunSpec.from_args(args) == EVERY_VALUE_CHANGED


def test_the_kinds_old_flags_are_the_kind_and_two_kinds_are_refused():
    assert RunSpec.from_args(_train_args(["--out", "o", "--autoencoder"])).kind == "ae"
    assert RunSpec.from_args(_train_args(["--out", "o", "--conditional"])).kind == "cvae"
    with pytest.raises(SystemExit):
        _train_args(["--out", "o", "--autoencoder", "--conditional"])


def test_hidden_sizes_are_read_once_with_one_limit():
    assert parse_hidden(" 512, 256 ") == (512, 256) and parse_hidden("") is None
    for bad in ("0", "4097", "1,2,3,4,5,6,7", "a,b"):
        with pytest.raises(ConfigError, match="hidden sizes"):
            parse_hidden(bad)
        with pytest.raises(SystemExit):  # the command line says the same (argparse prints it)
            _train_args(["--out", "o", "--hidden", bad])
    with pytest.raises(ConfigError, match="hidden"):
        RunSpec(hidden=(5000,)).validate()


def test_a_job_is_a_run_with_the_train_pages_defaults_and_records_its_command():
    job = JobSpec(name="x", lr_schedule="constant", adam_beta2=0.999, data_init=False, gaussian_sigma=0.2,
                  likelihood="gaussian")
    assert isinstance(job, RunSpec)
    tc = job.train_config()
    assert (tc.lr_schedule, tc.adam_beta2, tc.data_init, tc.device) == ("constant", 0.999, False, "cpu")
    assert job.model_config((1, 8, 8), 10).gaussian_sigma == 0.2
    words = shlex.split(job.command("out"))
    again = RunSpec.from_args(_train_args(words[4:]))
    assert again == RunSpec(**{f.name: getattr(job, f.name) for f in dataclasses.fields(RunSpec)})


def test_a_kinds_own_setting_for_another_kind_is_refused(monkeypatch):
    @dataclasses.dataclass(frozen=True)
    class Options:
        width: int = dataclasses.field(default=3, metadata={"help": "a setting"})

    from vae_core.model import variants
    class Other(variants.Variant):
        kind = "other"

    other = Other()
    other.Options = Options
    monkeypatch.setitem(variants.VARIANTS, "other", other)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--out", "o", "--width", "5"])
    with pytest.raises(ConfigError, match="--width is a setting of --kind other"):
        RunSpec.from_args(args)
