"""A training loop for multi-worker tf.distribute clusters.

Keras 3.15's ``model.fit`` fails under ``MultiWorkerMirroredStrategy`` (its
symbolic build and its log reduction call ``strategy.reduce`` on values the
collective ops reject; keras-team/keras#20585). This loop does what ``fit``
does for FER Lens -- one synchronous step per global batch, loss averaged over
the global batch, accuracy summed over all workers -- and drives the same
callbacks, so checkpoints, history and resume behave as on one machine.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _train_step(model: keras.Model, strategy: tf.distribute.Strategy, global_batch: int):
    loss_fn = keras.losses.SparseCategoricalCrossentropy(reduction=None)

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            probabilities = model(x, training=True)
            per_example = tf.cast(loss_fn(y, probabilities), tf.float32)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
        gradients = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return _sums(per_example, probabilities, y)

    @tf.function
    def step(batch):
        return _reduce(strategy, strategy.run(replica_step, args=batch))

    return step


def _eval_step(model: keras.Model, strategy: tf.distribute.Strategy):
    loss_fn = keras.losses.SparseCategoricalCrossentropy(reduction=None)

    def replica_step(x, y):
        probabilities = model(x, training=False)
        return _sums(tf.cast(loss_fn(y, probabilities), tf.float32), probabilities, y)

    @tf.function
    def step(batch):
        return _reduce(strategy, strategy.run(replica_step, args=batch))

    return step


def _sums(per_example, probabilities, labels):
    """(sum of losses, number correct, number of examples) on one replica, float32."""
    correct = tf.equal(tf.argmax(probabilities, axis=-1), tf.cast(labels, tf.int64))
    return tf.reduce_sum(per_example), tf.reduce_sum(tf.cast(correct, tf.float32)), tf.cast(tf.size(labels), tf.float32)


def _reduce(strategy, values):
    return [strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for v in values]


def _run_epoch(step, dataset) -> dict[str, float]:
    loss = correct = count = 0.0
    for batch in dataset:
        batch_loss, batch_correct, batch_count = (float(v) for v in step(batch))
        loss, correct, count = loss + batch_loss, correct + batch_correct, count + batch_count
    return {"loss": loss / max(count, 1.0), "accuracy": correct / max(count, 1.0)}


def fit_distributed(
    model: keras.Model,
    strategy: tf.distribute.Strategy,
    train: tf.data.Dataset,
    validation: tf.data.Dataset,
    *,
    global_batch: int,
    epochs: int,
    initial_epoch: int,
    callbacks: list[keras.callbacks.Callback],
) -> None:
    """Train ``model`` (built and compiled under ``strategy.scope()``) from ``initial_epoch`` to ``epochs``.

    ``train`` and ``validation`` yield global batches ``(float32 (B, 48, 48, 1), int (B,))``;
    the strategy shards them across workers. Callbacks get ``on_epoch_begin`` and
    ``on_epoch_end`` with ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``.
    """
    train_step = _train_step(model, strategy, global_batch)
    eval_step = _eval_step(model, strategy)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train_batches = strategy.experimental_distribute_dataset(train.with_options(options))
    val_batches = strategy.experimental_distribute_dataset(validation.with_options(options))
    for callback in callbacks:
        callback.set_model(model)
    for epoch in range(initial_epoch, epochs):
        for callback in callbacks:
            callback.on_epoch_begin(epoch)
        logs = _run_epoch(train_step, train_batches)
        logs.update({f"val_{k}": v for k, v in _run_epoch(eval_step, val_batches).items()})
        print(f"Epoch {epoch + 1}/{epochs} - " + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()), flush=True)
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs)
        if getattr(model, "stop_training", False):  # a callback stopped the run (a NaN loss)
            break
