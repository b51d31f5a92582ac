"""VAE Latent Explorer's core: the model, its data, its training, where it is kept, and what is computed of it.

Nothing in this package imports Streamlit; the app (pages/, ui/, services/) imports it. The package is a
house of wings, each a folder whose ``__init__`` says what it holds and what it may import. Every import
runs down this list, never up, and no two modules import each other (tests/test_house.py holds it):

    __main__, bundle   the command line: python -m vae_core train | evaluate | info | sample, and the
                       bundled checkpoints' test splits and maps (python -m vae_core.bundle)
    training/          the Trainer, the one description of a run (RunSpec), torchrun, terminal progress
    projection/        2-D maps of the encodings: a registry of methods, the disk cache, the shipped maps
    analysis/          what is computed of a trained model: the ELBO, IWAE, q(z), gaps, latent walks
    store/             where models are kept: checkpoint folders, shared test splits, histories, families,
                       the app's home and its file locks
    model/  data/  render/
                       the bottom floor, importing nothing of the project: the model itself (described
                       once, torch and NumPy), the datasets, and images out of arrays

A new kind of model is a module in model/variants/ and its line in the registry there; a new projection is
a module in projection/ and its line in its registry; a new analysis is a module in analysis/.
"""
__version__ = "0.1.0"
