"""The data wing: datasets as uint8-backed image arrays with labels and class names.

Holds: datasets (the registry of built-in sets, IDX / .npz / image-folder readers and their checks), download
(MNIST-style IDX files from public mirrors, checked by MD5), errors (DatasetError), names (the built-in datasets by name, without torch), preprocess (a drawing or a
picture framed like a dataset's images), sprites (dSprites-style shapes drawn from five known factors).

May import: nothing of the project outside this wing.
"""
