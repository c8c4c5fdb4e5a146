"""DPO training of a token language model on (prompt, chosen, rejected) rows, through plain ``fit()``.

:class:`PreferenceModel` wraps a policy (a
:class:`~musickit.models.music_transformer.MusicTransformer` or any model
that maps ``{"token_ids", conditions...}`` to next-token logits) and trains it
with the DPO loss (:mod:`musickit.losses.preference`) against log-probabilities
of a frozen reference, computed once before training
(:func:`add_reference_log_probabilities`): the reference model is then not
needed in memory during ``fit``. The wrapper overrides only ``call`` (the
policy's summed continuation log-probabilities) and ``compute_loss``, so
Keras' own train step, progress bars, callbacks and
``BackupAndRestore`` work unchanged on TensorFlow, JAX and PyTorch.

An optional NLL term (``nll_weight``) adds the chosen continuation's
cross-entropy per token: DPO alone may lower the chosen log-probabilities
too (only their gap to the rejected ones is asked for); the NLL term keeps
them up.

The policy runs with dropout off (``training=False``) in both passes, as the
reference did: at the first step the policy equals the reference and the loss
is exactly log 2.

Example:

>>> import numpy as np
>>> from musickit.models.music_transformer import MusicTransformer
>>> policy = MusicTransformer.from_preset("tiny", vocabulary_size=12, max_sequence_length=16)
>>> examples = preference_examples([([1, 2], [3, 4], [5, 6])], padding_id=0)
>>> examples = add_reference_log_probabilities(policy, examples)
>>> model = PreferenceModel(policy, beta=0.1)
>>> model.compile(optimizer="adam")
>>> round(float(model.evaluate(examples, verbose=0, return_dict=True)["loss"]), 4)  # log 2
0.6931
"""

import keras
import numpy as np
from keras import ops

from musickit.errors import UsageError
from musickit.losses.preference import DEFAULT_BETA, dpo_loss, implicit_reward, sequence_log_probabilities

#: The arrays one preference example holds (besides its conditions): inputs, next-token targets and weights
#: (1 on the continuation's tokens) of the chosen and the rejected row, and the reference's summed log-probabilities.
ROW_KEYS = ("ids", "targets", "weights")


def preference_examples(triples, padding_id, length=None, conditions=None):
    """Arrays for :class:`PreferenceModel` from ``[(prompt, chosen, rejected), ...]`` token lists.

    Each row is ``prompt + continuation``, right-padded with ``padding_id`` to
    ``length + 1`` tokens (default: the longest row), split into inputs
    (``chosen_ids``) and next-token targets (``chosen_targets``), with weight 1
    on the targets inside the continuation (``chosen_weights``); likewise
    ``rejected_*``. ``conditions`` maps a condition name (``"style"``) to one
    class id per triple.

    >>> examples = preference_examples([([7, 8], [1, 2], [3])], padding_id=0)
    >>> examples["chosen_ids"].tolist(), examples["chosen_targets"].tolist(), examples["chosen_weights"].tolist()
    ([[7, 8, 1]], [[8, 1, 2]], [[0.0, 1.0, 1.0]])
    >>> examples["rejected_targets"].tolist(), examples["rejected_weights"].tolist()
    ([[8, 3, 0]], [[0.0, 1.0, 0.0]])
    """
    triples = [(list(map(int, p)), list(map(int, c)), list(map(int, r))) for p, c, r in triples]
    if not triples:
        raise UsageError("no preference pairs to train on")
    longest = max(len(prompt) + max(len(chosen), len(rejected)) for prompt, chosen, rejected in triples)
    span = (length + 1) if length else longest
    if longest > span:
        raise UsageError(f"a prompt and continuation of {longest} tokens exceed the model's {span - 1}")
    examples = {}
    for side, index in (("chosen", 1), ("rejected", 2)):
        rows = np.full((len(triples), span), int(padding_id), "int32")
        weights = np.zeros((len(triples), span), "float32")
        for number, triple in enumerate(triples):
            prompt, continuation = triple[0], triple[index]
            rows[number, : len(prompt) + len(continuation)] = prompt + continuation
            weights[number, len(prompt) : len(prompt) + len(continuation)] = 1.0
        examples[f"{side}_ids"], examples[f"{side}_targets"] = rows[:, :-1], rows[:, 1:]
        examples[f"{side}_weights"] = weights[:, 1:]
    for name, values in (conditions or {}).items():
        examples[name] = np.asarray(values, "int32").reshape(len(triples))
    return examples


def condition_names(examples):
    """The condition arrays of ``examples`` (every key that is not a row or a reference value)."""
    return sorted(
        name
        for name in examples
        if not any(name == f"{side}_{key}" for side in ("chosen", "rejected") for key in ROW_KEYS)
        and not name.startswith("reference_")
    )


def _policy_inputs(inputs, side, conditions):
    token_ids = inputs[f"{side}_ids"]
    if not conditions:
        return token_ids
    return {"token_ids": token_ids, **{name: inputs[name] for name in conditions}}


def continuation_log_probabilities(model, examples, side, batch_size=16):
    """``(count,)`` summed log-probabilities of the ``side`` (``"chosen"`` or ``"rejected"``) continuations.

    One forward pass a batch, compiled once for the backend
    (:func:`~musickit.generation.compiling.compile_for_backend`); the last
    batch is padded to ``batch_size`` rows so every call has one shape.
    """
    from musickit.generation.compiling import compile_for_backend

    conditions = condition_names(examples)
    count = len(examples[f"{side}_ids"])
    batch_size = max(1, min(batch_size, count))

    def summed(inputs, targets, weights):
        return sequence_log_probabilities(model(inputs, training=False), targets, weights)

    if not model.built:
        model.build()  # weights made inside a compiled function would leak out of it (JAX)
    forward = compile_for_backend(summed, weights=model)
    values = []
    for start in range(0, count, batch_size):
        rows = np.arange(start, start + batch_size) % count  # the last batch wraps round to a full one
        batch = {name: array[rows] for name, array in examples.items()}
        result = forward(_policy_inputs(batch, side, conditions), batch[f"{side}_targets"], batch[f"{side}_weights"])
        values.append(ops.convert_to_numpy(result)[: min(batch_size, count - start)])
    return np.concatenate(values).astype("float32")


def add_reference_log_probabilities(reference, examples, batch_size=16):
    """``examples`` plus ``reference_chosen`` and ``reference_rejected``: the frozen reference's summed
    continuation log-probabilities, computed once, before training."""
    return {
        **examples,
        "reference_chosen": continuation_log_probabilities(reference, examples, "chosen", batch_size),
        "reference_rejected": continuation_log_probabilities(reference, examples, "rejected", batch_size),
    }


@keras.saving.register_keras_serializable(package="musickit")
class PreferenceModel(keras.Model):
    """A policy trained with DPO by ``fit()`` on :func:`preference_examples` arrays with reference values.

    Args:
        policy: the language model to align (its weights are trained in place).
        beta: float, DPO's strength of the pull towards the reference (0.1).
        nll_weight: float, weight of the chosen continuation's NLL per token
            added to the loss (0: plain DPO).
        conditions: names of the condition arrays the policy reads besides
            ``token_ids`` (``("style",)`` for a style-conditioned Music
            Transformer); ``None`` takes them from the first batch's keys.
        **kwargs: passed to ``keras.Model``.

    Call arguments:
        inputs: a dict of :func:`preference_examples` arrays (the reference
            values may be absent in ``call``).

    Returns:
        ``(batch, 2)`` float32: the policy's summed log-probabilities of the
        chosen and the rejected continuation.

    Metrics (besides ``loss``): ``reward_accuracy`` (share of pairs whose
    chosen continuation has the higher implicit reward), ``reward_margin``,
    ``chosen_reward``, ``rejected_reward`` and ``chosen_nll`` (per token).

    References:
        - [Rafailov et al., 2023, Direct Preference Optimization](https://arxiv.org/abs/2305.18290)
    """

    def __init__(self, policy, beta=DEFAULT_BETA, nll_weight=0.0, conditions=None, **kwargs):
        super().__init__(**kwargs)
        if not beta > 0:
            raise UsageError(f"--beta must be > 0, got {beta}")
        if not nll_weight >= 0:
            raise UsageError(f"--nll-weight must be >= 0, got {nll_weight}")
        self.policy = policy
        self.beta = float(beta)
        self.nll_weight = float(nll_weight)
        self.conditions = None if conditions is None else tuple(conditions)
        # One Mean per reported value, as attributes (Keras tracks them; compute_loss updates them).
        self.reward_accuracy_tracker = keras.metrics.Mean(name="reward_accuracy")
        self.reward_margin_tracker = keras.metrics.Mean(name="reward_margin")
        self.chosen_reward_tracker = keras.metrics.Mean(name="chosen_reward")
        self.rejected_reward_tracker = keras.metrics.Mean(name="rejected_reward")
        self.chosen_nll_tracker = keras.metrics.Mean(name="chosen_nll")

    def build(self, input_shape=None):
        if not self.policy.built:
            self.policy.build()
        self.built = True

    def call(self, inputs, training=None):
        conditions = self.conditions
        if conditions is None:
            conditions = condition_names(inputs)
        # One policy pass over chosen and rejected rows together; dropout off (see the module docstring).
        token_ids = ops.concatenate([inputs["chosen_ids"], inputs["rejected_ids"]], axis=0)
        policy_inputs = token_ids
        if conditions:
            policy_inputs = {
                "token_ids": token_ids,
                **{name: ops.concatenate([inputs[name], inputs[name]], axis=0) for name in conditions},
            }
        logits = self.policy(policy_inputs, training=False)
        targets = ops.concatenate([inputs["chosen_targets"], inputs["rejected_targets"]], axis=0)
        weights = ops.concatenate([inputs["chosen_weights"], inputs["rejected_weights"]], axis=0)
        summed = ops.reshape(sequence_log_probabilities(logits, targets, weights), (2, -1))
        return ops.transpose(summed)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        policy_chosen, policy_rejected = y_pred[:, 0], y_pred[:, 1]
        chosen_reward = implicit_reward(policy_chosen, x["reference_chosen"], self.beta)
        rejected_reward = implicit_reward(policy_rejected, x["reference_rejected"], self.beta)
        loss = ops.mean(
            dpo_loss(policy_chosen, policy_rejected, x["reference_chosen"], x["reference_rejected"], self.beta)
        )
        chosen_tokens = ops.maximum(ops.sum(ops.cast(x["chosen_weights"], "float32"), axis=-1), 1.0)
        chosen_nll = ops.mean(-policy_chosen / chosen_tokens)
        if self.nll_weight:
            loss = loss + self.nll_weight * chosen_nll
        margin = chosen_reward - rejected_reward
        self.reward_accuracy_tracker.update_state(ops.cast(margin > 0, "float32"))
        self.reward_margin_tracker.update_state(margin)
        self.chosen_reward_tracker.update_state(chosen_reward)
        self.rejected_reward_tracker.update_state(rejected_reward)
        self.chosen_nll_tracker.update_state(chosen_nll)
        return loss

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "policy": keras.saving.serialize_keras_object(self.policy),
                "beta": self.beta,
                "nll_weight": self.nll_weight,
                "conditions": self.conditions,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["policy"] = keras.saving.deserialize_keras_object(config["policy"])
        return cls(**config)


def preference_callbacks(run, resume=False, tensorboard=True):
    """Backup and restore (``--resume``), a CSV history and (``tensorboard``) TensorBoard logs in ``run`` (a RunFolder).

    No best-epoch checkpoint and no early stopping: an alignment runs a few
    epochs and keeps the last (the benchmark measures how far it moved).
    """
    from musickit.runs.callbacks import AtomicBackupAndRestore

    return [
        AtomicBackupAndRestore(run.backup_dir, delete_checkpoint=True),
        keras.callbacks.CSVLogger(run.history_path, append=resume),
        *([keras.callbacks.TensorBoard(run.logs_dir, write_graph=False)] if tensorboard else []),
    ]


def fit_preferences(
    model, train_examples, valid_examples=None, epochs=2, batch_size=8, learning_rate=1e-4, callbacks=(), verbose=0
):
    """Compile ``model`` (a :class:`PreferenceModel`) with Adam and ``fit`` it; return the history.

    Adam without weight decay: AdamW's decay would pull every weight towards
    zero, away from the reference, whatever the preferences say.
    """
    if not model.built:
        model.build()  # BackupAndRestore restores into a built model
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0))
    return model.fit(
        train_examples,
        validation_data=(valid_examples,) if valid_examples else None,
        epochs=epochs,
        batch_size=batch_size,
        callbacks=list(callbacks),
        shuffle=True,
        verbose=verbose,
    )
