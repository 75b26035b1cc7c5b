"""Training: one module per concern, imported by name (this file imports nothing).

- `profiles`: how much of a recipe to run (no framework import, for option tables).
- `recipes`: a recipe's optimizer and the model compiled for training.
- `datasets`: loading and splitting the datasets; `pipeline`: the `tf.data` input pipeline.
- `cache`: the cache key, the training state and one cache entry's files.
- `fit`: `train_variant`, resume, early stopping and evaluation.
- `weights`: loading a user's trained `.keras` file for a registry entry.
"""
