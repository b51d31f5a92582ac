"""The store wing: where models are kept, on disk, safely across processes.

Holds: files (a checkpoint folder's file names, CheckpointError, a stored sample of images), checkpoints
(save, load and check a folder; zip export and import), test_splits (a dataset's test split shared by its
bundled models), history (a training's snapshots), families (the bundled families along beta or sigma),
paths (the app's home and names that cannot escape it), locks (file locks across processes).

May import: vae_core.model (a checkpoint is rebuilt from its config and held to its architecture) and
vae_core.render (a history's decodes as uint8).
"""
