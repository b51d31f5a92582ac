"""Device choice: CUDA, then Apple's MPS, then the CPU, unless the user names one."""
from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def pick_device(preference: str = "auto") -> torch.device:
    """The device to train and decode on; raises ValueError when the named one is not present."""
    pref = (preference or "auto").lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if pref.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {preference}: no CUDA device is available here; use --device auto or cpu")
    if pref == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("--device mps: Apple's MPS is not available here; use --device auto or cpu")
    if pref != "cpu" and not pref.startswith(("cuda", "mps")):
        raise ValueError(f"--device {preference!r} is not one of {', '.join(DEVICE_CHOICES)}")
    return torch.device(pref)
