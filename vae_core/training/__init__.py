"""The training wing: how a model is trained, from the command line, torchrun or the app.

Holds: trainer (one Trainer for every kind of model), run_spec (the one description of a run, with its
command-line flags), distributed (data-parallel training under torchrun), progress (progress bars on a
terminal).

May import: vae_core.model, vae_core.data, vae_core.store, vae_core.analysis.
"""
