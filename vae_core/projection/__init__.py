"""The projection wing: 2-D maps of the encoded means mu(x).

Holds: methods (the native plane, PCA, t-SNE, UMAP, with scikit-learn's estimator shape), cache (fitted maps
kept on disk per model), shipped (a bundled model's own maps), fitted (a model's map by the cheapest way:
shipped, cached or fitted).

May import: vae_core.store (file names, the app's cache folder).
"""
