"""The analysis wing: what is computed of a trained model.

Holds: evaluate (the negative ELBO over a set, KL per dimension, active units, IWAE), explain (one image's
path through the VAE, for How it works), posterior (q(z|x)'s samples), latent (prior samples, grids,
interpolations, traversals, decoding in batches), sliders (slider units), aggregate_posterior (q(z) and its
holes), amortization (the amortization gap), typicality (how typical an image is), disentanglement (MIG,
DCI and each dimension's mutual information with the factors that made the data), class_answers (the
answers to a class's polls, computed from the model's numbers).

May import: vae_core.model.
"""
