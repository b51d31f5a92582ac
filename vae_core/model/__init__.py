"""The model wing: the VAE itself, described once and run in torch or NumPy.

Holds: shapes (the convolution geometry, an operation and a chain of them), config (ModelConfig, TrainConfig),
architecture (the layers, torch free), variants/ (the kinds of model as a registry), priors, losses, activity
(how much each dimension is used), torch_model (the torch module), numpy_ops (the operations in NumPy),
numpy_model (the encoder without torch), decoder_program (the decoder as the browser's program), devices.

May import: nothing of the project outside this wing. Importing the wing imports no torch: torch_model and
the torch parts of the variants load it when they are used.
"""
