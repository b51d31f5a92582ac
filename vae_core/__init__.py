"""VAE Latent Explorer's core: data, models, losses, training, checkpoints and evaluation.

Nothing in this package imports Streamlit; the app imports it.
"""
__version__ = "0.1.0"
