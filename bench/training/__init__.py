"""Training: one module per concern, imported by name (this file imports nothing).

- `profiles`: how much of a recipe to run (no framework import, for option tables).
- `datasets`: loading and splitting the datasets (`images`: a folder of the user's images;
  `splits`: the `Dataset` type, `DatasetError`, the stratified draw); `pipeline`: the `tf.data`
  input pipeline. A recipe's optimizer and compile step: `architectures.recipes`.
- `cache`: the cache key, the training state and one cache entry's files.
- `fit`: `train_variant`, resume, early stopping and evaluation.
- `weights`: loading a user's trained `.keras` file for a registry entry.
"""
