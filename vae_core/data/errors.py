"""The error of a dataset a user can fix, shared by vae_core.data.datasets (reading datasets) and vae_core.data.download
(fetching their files), which it keeps from importing each other."""
from __future__ import annotations


class DatasetError(ValueError):
    """A data problem the user can fix; the message says what and how."""
