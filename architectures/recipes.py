"""A recipe (`architectures.spec.Recipe`) as Keras objects: its optimizer and a compiled model.

Claim: this is the one definition of "the recipe's optimizer", used both by training
(`compile_for_training`) and by the timed training step (`bench.measure.timing.train_step`), so
the step that is timed is the step that is trained. It lives here, under both, so that
measurement does not import training (`tests/test_layers.py`). `tests/test_measurement.py`
checks the optimizer's class and settings for an Adam and an SGD recipe;
`tests/test_training.py` trains through `compile_for_training`.
"""

from __future__ import annotations

import keras

from architectures.spec import Recipe


def make_optimizer(recipe: Recipe) -> keras.optimizers.Optimizer:
    """The recipe's optimizer; `None` settings keep Keras' defaults."""
    kwargs = {} if recipe.learning_rate is None else {"learning_rate": recipe.learning_rate}
    if recipe.weight_decay:
        kwargs["weight_decay"] = recipe.weight_decay
    if recipe.optimizer == "sgd":
        return keras.optimizers.SGD(momentum=recipe.momentum or 0.0, **kwargs)
    return keras.optimizers.Adam(**kwargs)


def compile_for_training(model: keras.Model, recipe: Recipe, *, jit_compile: bool) -> None:
    """Compile `model` for `fit` with the recipe's optimizer, cross-entropy and top-1 accuracy.

    Args:
        model: the freshly built model.
        recipe: whose optimizer to use.
        jit_compile: compile the training step with XLA.
    """
    model.compile(
        optimizer=make_optimizer(recipe),
        loss="sparse_categorical_crossentropy",  # integer labels, softmax outputs
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
