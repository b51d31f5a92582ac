"""The Train page's parts: the settings form (a JobSpec when Start is pressed), a run's progress, its loss
curves, the latent map forming, its images, and the result of a finished run."""
from __future__ import annotations

import dataclasses
import functools
import hashlib

import streamlit as st

from services.jobs import JobSnapshot, JobSpec
from vae_core.data.datasets import DATASETS, IDX_CLASS_NAMES, DatasetError, cache_dir, extract_image_archive, find_idx_files
from vae_core.model.config import DEFAULT_HIDDEN, MAX_LATENT_DIM, ConfigError, ModelConfig, parse_hidden
from vae_core.model.variants import VARIANTS, variant
from vae_core.store.checkpoints import max_upload_bytes, megabytes
from vae_core.store.paths import UnsafeNameError, safe_name, share_trained, uploads_dir

from .frozen_figure import kept
from .images import show_grid
from .latent_words import scored_by_elbo
from .inputs import number_in_range
from .model_choices import session_id
from .state import train as state
from .training_jobs import forming_map_figure, job_registry, loss_figure, save_uploaded_npz

UPLOAD = "upload"
KIND_HELP = "  \n".join(f"**{v.title}**: {v.help}" for v in VARIANTS.values())
LIKELIHOODS = {"bernoulli": "Bernoulli (binary cross-entropy)", "gaussian-fixed": "Gaussian, fixed sigma",
               "gaussian-learned": "Gaussian, learned sigma per pixel"}
SCHEDULES = {"cosine": "cosine (2% warm-up)", "constant": "constant"}
LRS = [1e-4, 3e-4, 1e-3, 3e-3, 5e-3, 1e-2]
BATCHES = [32, 64, 128, 256, 512]

ARCHITECTURES = {"mlp": "MLP (fully connected)", "conv": "Convolutional"}


@functools.lru_cache(maxsize=None)
def architectures_for(kind: str) -> list[str]:
    """The architectures a kind of model can be built with: its config asked with each (at its defaults), so a
    kind that needs one (a map of codes needs the convolutional encoder's last map) gets only that one."""
    allowed = []
    for arch in ARCHITECTURES:
        try:
            ModelConfig(image_shape=(1, 28, 28), latent_dim=16, arch=arch, hidden=DEFAULT_HIDDEN[arch], kind=kind)
        except ConfigError:
            continue
        allowed.append(arch)
    return allowed or list(ARCHITECTURES)


def architecture_note(kind: str, allowed: list[str]) -> str:
    """Why the Architecture choice is narrowed, in the page's words."""
    variant = VARIANTS[kind]
    names = " or ".join(ARCHITECTURES[a] for a in allowed)
    why = (" its z is a map of codes, one per position of the convolutional encoder's last map" if variant.latent_map
           else "")
    return f"A {variant.title} is built with the {names} architecture only{':' if why else '.'}{why}{'.' if why else ''}"


def dataset_status(name: str) -> str:
    """Whether the MNIST-style files are already on disk (those datasets only)."""
    if name not in IDX_CLASS_NAMES:
        return ""
    found = find_idx_files(name)
    if found:
        return f"On disk in {next(iter(found.values())).parent}."
    return ("Not on disk yet: it is downloaded when training starts (if allowed below). Offline, put its "
            f"four IDX files in {cache_dir(name)}/ first.")


def uploaded_dataset(upload) -> str:
    """The uploaded file stored in this session's folder: an .npz file, or a .zip unpacked into a
    folder of class subfolders. Raises DatasetError with what to do."""
    data = upload.getvalue()
    limit = max_upload_bytes()
    if len(data) > limit:
        raise DatasetError(f"the file is {megabytes(len(data))}; this server accepts at most "
                           f"{megabytes(limit)} (set by VAE_MAX_UPLOAD_MB)")
    if not upload.name.lower().endswith(".zip"):
        return str(save_uploaded_npz(data, upload.name, session_id()))
    try:
        stem = safe_name(upload.name.rsplit(".", 1)[0], max_len=40)
    except UnsafeNameError:
        stem = "images"
    folder = uploads_dir(session_id()) / "datasets" / f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}"
    if not folder.is_dir():
        extract_image_archive(data, folder, max_bytes=4 * limit)
    return str(folder)


def free_run_name(name: str) -> str:
    """The name a run would be saved under: the name itself, or name-2, -3, ... when this browser (or, with
    shared runs, the server) has a model of that name already."""
    from vae_core.store.paths import trained_dir, unique_child

    try:
        return unique_child(trained_dir(session_id()), name).name
    except UnsafeNameError:
        return name


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def settings_ui(disabled: bool) -> JobSpec | None:
    """The settings widgets; returns the JobSpec when Start is pressed and the settings are valid."""
    c1, c2, c3 = st.columns(3)
    with c1:
        st.markdown("#### Data")
        names = [*DATASETS, UPLOAD]
        dataset = st.selectbox("Dataset", names, key="train_dataset",
                               format_func=lambda n: "Your own files (.npz or .zip of images)" if n == UPLOAD else n)
        upload = None
        if dataset == UPLOAD:
            upload = st.file_uploader("Images as .npz, or a .zip of image folders", type=["npz", "zip"],
                                      key="train_npz",
                                      help="numpy.savez('data.npz', images=uint8 (N, H, W) or (N, H, W, 3), "
                                           "labels=int (N,)); optional: class_names, test_images, test_labels. "
                                           "Or a .zip of one folder per class (cats/*.png, dogs/*.png), all "
                                           f"images the same size, at most 256x256 (grey). At most "
                                           f"{megabytes(max_upload_bytes())}.")
            st.caption("Only this browser sees the uploaded file.")
        else:
            st.caption(DATASETS[dataset] + " " + dataset_status(dataset))
        download = st.checkbox("Download if missing", value=True, key="train_download",
                               help="MNIST, Fashion-MNIST and KMNIST: their four IDX files come from public mirrors, "
                                    "checked by MD5, when they are not on this machine yet.")
    with c2:
        st.markdown("#### Model")
        kind = st.radio("Kind", list(VARIANTS), format_func=lambda k: VARIANTS[k].title, key="train_kind",
                        horizontal=True, help=KIND_HELP)
        allowed = architectures_for(kind)
        if st.session_state.get("train_arch") not in allowed:  # this kind cannot be built with the one chosen
            st.session_state["train_arch"] = allowed[0]
        arch = st.radio("Architecture", allowed, key="train_arch", horizontal=True, format_func=ARCHITECTURES.get)
        if len(allowed) < len(ARCHITECTURES):
            st.caption(architecture_note(kind, allowed))
        hidden_text = st.text_input("Hidden sizes", key="train_hidden",
                                    placeholder=",".join(map(str, DEFAULT_HIDDEN[arch])) + " (default)",
                                    help="MLP: widths of the hidden layers, e.g. 400 or 512,256. "
                                         "Conv: channels of each stride-2 block, e.g. 32,64.")
        latent_dim = st.slider("Size of each code vector (z is a map of them)" if VARIANTS[kind].latent_map else
                               "Latent dimension (size of z)", 1, MAX_LATENT_DIM, 2, key="train_latent")
        likelihood = st.selectbox("Likelihood p(x|z)", list(LIKELIHOODS), format_func=LIKELIHOODS.get,
                                  key="train_likelihood")
        sigma = st.number_input("Gaussian sigma", 0.001, 10.0, JobSpec.gaussian_sigma, 0.01, format="%.3f",
                                key="train_sigma", disabled=likelihood == "bernoulli",
                                help="A Gaussian p(x|z)'s sigma: fixed, or the value a learned one starts at.")
        options = {f.name: st.number_input(_sentence(f.metadata.get("help", f.name)), value=f.default,
                                           key=f"train_{kind}_{f.name}")
                   for f in dataclasses.fields(VARIANTS[kind].Options)}  # this kind's own settings
    with c3:
        st.markdown("#### Training")
        no_kl = not VARIANTS[kind].has_prior  # no KL term: nothing for beta to weight
        beta = number_in_range("beta (weight of the KL term)", 0.0, 100.0, 1.0, step=0.5, integer=False,
                               key="train_beta", disabled=no_kl,
                               help="1 is the ELBO; beta > 1 is a beta-VAE (smoother, blurrier).")
        a, b = st.columns(2)
        epochs = number_in_range("Epochs", 1, 500, 20, key="train_epochs", where=a)
        warmup = number_in_range("KL warm-up epochs", 0, 500, 0, key="train_warmup", where=b, disabled=no_kl,
                                 help="The KL weight rises linearly from 0 to beta over these epochs.")
        lr = a.select_slider("Learning rate", LRS, value=JobSpec.lr, key="train_lr", format_func=lambda v: f"{v:g}",
                             help="Adam's peak rate: it warms up over the first 2% of the run, then decays to 0 "
                                  "along a cosine.")
        batch_size = b.selectbox("Batch size", BATCHES, index=BATCHES.index(JobSpec.batch_size), key="train_batch")
        seed = number_in_range("Seed", 0, 2**31 - 1, 0, key="train_seed", where=a)
        suffix = VARIANTS[kind].run_name_suffix
        suffix += "" if beta == 1 or no_kl else f"-beta{beta:g}"
        auto_name = free_run_name(f"my-{'npz' if dataset == UPLOAD else dataset}-{latent_dim}d{suffix}")
        run_name = b.text_input("Run name", key="train_name", placeholder=auto_name,
                                help="The folder name of the saved model; a number is added if it exists.")
        schedule = a.selectbox("Learning-rate schedule", list(SCHEDULES), format_func=SCHEDULES.get,
                               key="train_schedule", help="cosine: the rate rises over the first 2% of the steps, "
                               "then decays to 0 along a cosine. constant: the PyTorch example's.")
        adam_beta2 = b.number_input("Adam's beta2", 0.9, 0.9999, JobSpec.adam_beta2, 0.001, format="%.4f",
                                    key="train_beta2", help="Adam's second-moment decay (PyTorch's default: 0.999).")
        data_init = st.checkbox("Start from the data", value=JobSpec.data_init, key="train_data_init",
                                help="Centre the encoder's input on the mean training image and start the decoder "
                                     "at that image (the PyTorch example does neither).")

    start = st.button("Start training", type="primary", icon=":material/play_arrow:", disabled=disabled,
                      key="train_start")
    if not start:
        return None
    try:
        name = safe_name(run_name or auto_name)
        hidden = parse_hidden(hidden_text)
    except (UnsafeNameError, ConfigError) as e:
        st.error(f"Not started: {e}.")
        return None
    if dataset == UPLOAD:
        if upload is None:
            st.error("Not started: choose an .npz file to upload first.")
            return None
        try:
            dataset = uploaded_dataset(upload)
        except (DatasetError, OSError) as e:
            st.error(f"Not started: {e}", icon=":material/error:")
            return None
    lik, _, variance = likelihood.partition("-")
    return JobSpec(name=name, dataset=dataset, arch=arch, hidden=hidden, latent_dim=int(latent_dim),
                   likelihood=lik, gaussian_variance=variance or "fixed", beta=0.0 if no_kl else float(beta),
                   warmup_epochs=0 if no_kl else int(warmup), epochs=int(epochs), lr=float(lr),
                   batch_size=int(batch_size), seed=int(seed), kind=kind, options=options, download=download,
                   gaussian_sigma=float(sigma), lr_schedule=schedule, adam_beta2=float(adam_beta2),
                   data_init=bool(data_init))


def progress_ui(s: JobSnapshot) -> None:
    if s.active:
        st.progress(s.progress, text=s.message)
    if s.data_info:
        st.caption(s.data_info)
    last = s.history[-1] if s.history else None
    m = st.columns(5)
    m[0].metric("Epoch", f"{s.epoch} / {s.spec.epochs}")
    kind = VARIANTS.get(s.spec.kind, variant("vae"))
    elbo = scored_by_elbo(kind)  # else no prior: the score is the reconstruction, and the kind's own terms
    m[1].metric("Test -ELBO" if elbo else "Test loss", f"{last.test_neg_elbo:.2f}" if last else "-",
                delta=f"{last.test_neg_elbo - s.history[-2].test_neg_elbo:.2f}" if len(s.history) > 1 else None,
                delta_color="inverse", help=None if elbo else "the reconstruction (no prior: no KL term, no ELBO)")
    m[2].metric("Reconstruction", f"{last.test_recon:.2f}" if last else "-")
    if elbo or not kind.aux_terms:
        m[3].metric("KL", f"{last.test_kl:.2f}" if last else "-")
    else:
        name = kind.aux_terms[0]
        m[3].metric(name.capitalize(), f"{(last.test_terms or {}).get(name, float('nan')):.2f}" if last else "-")
    m[4].metric("Time", f"{s.elapsed:.0f} s")


def curves_ui(s: JobSnapshot) -> None:
    if not s.history:
        st.info("The curves appear when the first epoch ends.")
        return
    weighted = s.spec.beta != 1 or s.spec.warmup_epochs > 0
    # built again only when an epoch has ended (the panel redraws every second)
    st.plotly_chart(kept(("train curves", s.id, len(s.history), s.spec.epochs, weighted),
                         lambda: loss_figure(s.history, s.spec.epochs, weighted)), key=f"train_curves_{s.id}")
    st.caption("Nats per image (mean over images). Solid: training set, dashed: test set. The test "
               "negative ELBO is the model's score: lower is better." +
               (" Dotted: the loss actually minimised, recon + beta_t * KL with this run's beta and warm-up."
                if weighted else ""))


def forming_map_ui(s: JobSnapshot) -> None:
    """The stored test images' means as the model learns: the latest snapshot of its history (many early, when the
    map changes fast, few late)."""
    if s.latent is None:
        st.info("The latent map appears with the training's first snapshot.")
        return
    st.plotly_chart(kept(("train map", s.id, s.latent.index),  # built again with each new snapshot
                         lambda: forming_map_figure(s.latent, variant(s.spec.kind).has_prior)), key=f"train_map_{s.id}")
    n, d = s.latent.mu.shape
    st.caption(f"The latent map forming: mu(x) of {n:,} test images at snapshot {s.latent.index + 1}"
               + (f", on the two dimensions of {d} that spread most now" if d > 2 else "")
               + ". Snapshots are log-spaced over the steps: many early, when the map changes fast. After the "
               "training, the Latent map page replays them (Watch it learn).")


def curves_and_map_ui(s: JobSnapshot) -> None:
    left, right = st.columns([3, 2], gap="medium")
    with left:
        curves_ui(s)
    with right:
        forming_map_ui(s)


def images_ui(s: JobSnapshot, epoch: int | None = None) -> None:
    """Prior samples and reconstructions after `epoch` (default: the last finished one)."""
    if not s.recons:
        return
    i = (epoch or len(s.recons)) - 1
    n = len(s.recons[i])
    cols = st.columns(3 if s.samples else 2)
    with cols[0]:
        show_grid(s.originals, ncols=4, caption=f"{n} test images x",
                  alt=f"{n} test images from the training's data, in rows of 4")
    with cols[1]:
        show_grid(s.recons[i], ncols=4, caption=f"Reconstructions: decode(mu(x)) after epoch {i + 1}",
                  alt=f"the same {n} test images as reconstructed by {s.spec.name} after epoch {i + 1}, in the same "
                      "order")
    if s.samples:
        with cols[2]:
            show_grid(s.samples[i], ncols=4, caption=f"Samples: the same z ~ N(0, I) decoded after epoch {i + 1}",
                      alt=f"{len(s.samples[i])} images {s.spec.name} decodes from fixed draws of z from its prior, "
                          f"after epoch {i + 1}")
    elif not variant(s.spec.kind).has_prior:
        st.caption("An autoencoder has no prior to sample from, so only reconstructions are shown.")


@st.fragment(run_every=1.0)
def live_panel(job_id: str) -> None:
    """Redrawn every second from a snapshot of the background job; ends with one full rerun."""
    j = job_registry().get(job_id)
    if j is None:
        return
    s = j.snapshot()
    if not s.active:
        st.rerun()  # the whole page: the sidebar then lists the new model
    progress_ui(s)
    st.button("Stop training", icon=":material/stop:", on_click=j.stop, key="train_stop",
              help="Stops after the current batch and keeps the model of the last finished epoch.")
    curves_and_map_ui(s)
    images_ui(s)


def as_markdown(text: str) -> str:
    """Keep a message's own line breaks and '  - ' lists when shown as Markdown."""
    return text.replace("\n  - ", "  \n• ").replace("\n", "  \n")


def result_panel(s: JobSnapshot) -> None:
    if s.state == "failed":
        st.error(as_markdown(s.message), icon=":material/error:")
    elif s.state == "stopped":
        st.warning(s.message)
    else:
        st.success(s.message)
    if s.published:
        row = st.container(horizontal=True)
        row.button("Load this model", type="primary", icon=":material/open_in_browser:", key="train_load",
                   on_click=state.load_model, args=(str(s.out_dir),),
                   disabled=st.session_state.get("model_path") == str(s.out_dir))
        row.button("Train another", icon=":material/refresh:", key="train_again", on_click=state.clear)
        if share_trained():
            st.caption(f"Saved in {s.out_dir}. Every visitor of this server can now pick "
                       f"'{s.out_dir.name} (saved)' in the sidebar; download it on the Models page.")
        else:
            st.caption(f"Saved in {s.out_dir}. Only this browser lists it (also after a reload), as "
                       f"'{s.out_dir.name} (trained)' in the sidebar, for a limited time: the Models page says how "
                       "long, and downloads it to keep.")
    if not s.history:
        return
    progress_ui(s)
    curves_and_map_ui(s)
    epoch = None
    if len(s.recons) > 1:
        epoch = st.slider("Show the images after epoch", 1, len(s.recons), len(s.recons), key=f"train_epoch_{s.id}")
    images_ui(s, epoch)


def start_ui(spec: JobSpec) -> None:
    """Start the run: its card is on screen at once, saying what it waits for, then the job starts in the
    background and the page follows it (or the card says why it could not start)."""
    card = st.empty()
    with card.container():
        st.subheader(f"Run: {spec.name}")
        data = spec.dataset if spec.dataset in DATASETS else "your file"
        st.progress(0.0, text=f"Starting: reading the data ({data})...")
    try:
        job = job_registry().start(spec, owner=session_id())
    except (ConfigError, ValueError) as e:
        card.error(f"Not started: {e}.")
    except RuntimeError as e:  # TooManyTrainings: the server's cap on concurrent trainings
        card.error(str(e))
    else:
        state.follow(job.id)
        st.rerun()


def run_ui(s: JobSnapshot) -> None:
    """The followed run: live while it trains, its result once it ended."""
    st.subheader(f"Run: {s.out_dir.name}")
    if s.active:
        live_panel(s.id)
    else:
        result_panel(s)
