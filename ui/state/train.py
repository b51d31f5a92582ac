"""The Train page's state: which run this browser follows. A run is a background job of the server
(services.jobs); a reload (a new session of the same browser) follows the browser's latest run again."""
from __future__ import annotations

import streamlit as st

from services.jobs import TrainingJob

from ..model_choices import session_id
from ..training_jobs import job_registry

JOB = "train_job_id"
_FOLLOWED = "train_followed_latest"  # this session has looked for the browser's latest run


def job() -> TrainingJob | None:
    """The run this session follows: the one it started, else (after a reload) the browser's latest one."""
    if JOB not in st.session_state or (st.session_state[JOB] is None and not st.session_state.get(_FOLLOWED)):
        st.session_state[_FOLLOWED] = True
        latest = job_registry().latest(session_id())
        st.session_state[JOB] = latest.id if latest is not None else None
    return job_registry().get(st.session_state[JOB])


def follow(job_id: str | None) -> None:
    st.session_state[JOB] = job_id


def clear() -> None:
    """"Train another": the form again, without the finished run."""
    st.session_state[JOB] = None


def load_model(path: str) -> None:
    st.session_state.model_path = path
