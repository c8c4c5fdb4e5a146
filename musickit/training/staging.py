"""Staged training of the hierarchical transformer: A (cross-attention + adapters), B (progressive), C (all).

Stage A freezes the snippet encoder and the decoder and trains only what
connects them (:meth:`HierarchicalTransformer.cross_attention_layers`:
cross-attention, gates, adapters, memory projection, section and condition
embeddings). Stage B unfreezes the decoder progressively, top blocks first
(one more block per step, ``B1``, ``B2``, ...), at a reduced learning rate;
its last step also frees the token embedding and final norm. Stage C trains
everything, the encoder included. ``"E"`` (end to end) trains everything
from the start, for the ablation against the staged schedule.

Each (sub-)stage is one ``fit`` with a fresh compile (a change of trainable
weights needs one on every backend), and ends by saving
``stage_<name>.weights.h5`` and adding its name to ``stages.json``; with
``resume`` finished stages are skipped and the last one's weights loaded.

Example:

>>> from musickit.models.hierarchical import HierarchicalTransformer
>>> model = HierarchicalTransformer.from_preset("tiny", vocabulary_size=40, snippet_length=8)
>>> model.build()
>>> set_stage(model, "A"); trainable_blocks(model)
[]
>>> set_stage(model, "B", unfrozen_blocks=1); trainable_blocks(model)
[1]
>>> expand_stages("A,B,C", num_layers=2)
['A', 'B1', 'B2', 'C']
"""

import json
import os

from musickit.errors import UsageError
from musickit.losses.sequence import SequenceCrossEntropy
from musickit.training.optimizers import SCHEDULES, OptimizerSettings, build_optimizer
from musickit.utils.atomic import atomic_path

STAGES = ("A", "B", "C", "E")


def set_stage(model, stage, unfrozen_blocks=None):
    """Set the ``trainable`` flags of ``model`` for ``stage`` (``"A"``, ``"B"``, ``"C"`` or ``"E"``).

    Args:
        unfrozen_blocks: for stage B, how many decoder blocks (from the top)
            are trainable; default all of them.
    """
    stage = str(stage).upper()
    if stage not in STAGES:
        raise UsageError(f"unknown training stage {stage!r}; use A, B, C or E (end to end)")
    if not model.built:
        model.build()
    # Every group is set explicitly: Keras only cascades a trainable flag that changes.
    model.trainable = True
    for layer in (model.encoder, model.token_embedding, model.final_norm, *model.blocks):
        layer.trainable = True
    for block in model.blocks:
        block.decoder_block.trainable = True
    # The contrastive projection and the style classifier are never on the decoder's path: without this
    # every fit warns that they get no gradient.
    for head in (model.encoder.projection_head, model.encoder.style_head):
        if head is not None:
            head.trainable = False
    if stage in ("C", "E"):
        return
    count = len(model.blocks) if unfrozen_blocks is None else int(unfrozen_blocks)
    if stage == "B" and not 0 <= count <= len(model.blocks):
        raise UsageError(f"unfrozen_blocks must be in 0..{len(model.blocks)}, got {unfrozen_blocks}")
    unfrozen = set(range(len(model.blocks) - count, len(model.blocks))) if stage == "B" else set()
    model.encoder.trainable = False
    everything_unfrozen = stage == "B" and count == len(model.blocks)
    model.token_embedding.trainable = everything_unfrozen
    model.final_norm.trainable = everything_unfrozen
    for index, block in enumerate(model.blocks):
        block.trainable = True  # keeps the gate and the cross-attention trainable
        block.decoder_block.trainable = index in unfrozen
    for layer in model.cross_attention_layers():
        layer.trainable = True


def set_language_model_stage(model):
    """Train the decoder alone as a language model (pre-training): the encoder and cross-attention stay frozen.

    The batches then carry no snippets (:func:`musickit.data.pipelines.token_windows`),
    so nothing connected to the memories would get a gradient anyway.
    """
    set_stage(model, "C")
    model.encoder.trainable = False
    for layer in model.cross_attention_layers():
        layer.trainable = False
    for block in model.blocks:
        block.trainable = False  # freezes the block's own cross-attention gate ...
        block.decoder_block.trainable = True  # ... but not its self-attention and feed-forward
        for name in ("attention_modulation", "feedforward_modulation"):  # conditioning: no condition here
            modulation = getattr(block.decoder_block, name, None)
            if modulation is not None:
                modulation.trainable = False


def trainable_blocks(model):
    """Indices of decoder blocks whose self-attention/feed-forward part is trainable."""
    return [index for index, block in enumerate(model.blocks) if block.decoder_block.trainable]


def expand_stages(stages, num_layers):
    """``"A,B,C"`` -> ``["A", "B1", ..., "B<num_layers>", "C"]``: stage B becomes one step per unfrozen block."""
    names = [name.strip().upper() for name in str(stages).split(",") if name.strip()]
    if not names:
        raise UsageError("no stages given; use e.g. --stages A,B,C (or E for end to end)")
    expanded = []
    for name in names:
        if name not in STAGES:
            raise UsageError(f"unknown training stage {name!r}; use A, B, C or E (end to end)")
        expanded += [f"B{count}" for count in range(1, num_layers + 1)] if name == "B" else [name]
    return expanded


def _apply(model, step):
    if step.startswith("B"):
        set_stage(model, "B", unfrozen_blocks=int(step[1:]))
    else:
        set_stage(model, step)


class StagedTrainer:
    """Runs stages one after the other, each resumable.

    Args:
        model: a :class:`~musickit.models.hierarchical.HierarchicalTransformer`.
        checkpoint_dir: where ``stage_<name>.weights.h5`` and ``stages.json`` go.
        learning_rate: peak learning rate of stages A, C and E.
        stage_b_factor: stage B's learning rate as a share of ``learning_rate``.
        stage_c_factor: stage C's share (fine-tuning everything gently).
        schedule: ``warmup_cosine``, ``inverse_sqrt`` or ``constant``.
        loss: the token loss (default :class:`SequenceCrossEntropy`).
    """

    def __init__(
        self,
        model,
        checkpoint_dir,
        learning_rate=1e-3,
        stage_b_factor=0.3,
        stage_c_factor=0.1,
        schedule="warmup_cosine",
        loss=None,
        jit_compile="auto",
    ):
        if schedule not in SCHEDULES:
            raise UsageError(f"unknown learning-rate schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
        self.model = model
        self.checkpoint_dir = os.fspath(checkpoint_dir)
        self.learning_rate = learning_rate
        self.stage_b_factor = stage_b_factor
        self.stage_c_factor = stage_c_factor
        self.schedule = schedule
        self.loss = loss or SequenceCrossEntropy()
        self.jit_compile = jit_compile

    @property
    def state_path(self):
        return os.path.join(self.checkpoint_dir, "stages.json")

    def weights_path(self, step):
        return os.path.join(self.checkpoint_dir, f"stage_{step}.weights.h5")

    def finished(self):
        if not os.path.isfile(self.state_path):
            return []
        with open(self.state_path) as handle:
            return json.load(handle)["finished"]

    def _learning_rate(self, step):
        if step.startswith("B"):
            return self.learning_rate * self.stage_b_factor
        if step == "C":
            return self.learning_rate * self.stage_c_factor
        return self.learning_rate

    def run(
        self,
        train_data,
        stages="A,B,C",
        epochs=1,
        steps_per_epoch=None,
        validation_data=None,
        resume=False,
        callbacks=(),
        verbose="auto",
    ):
        """Train ``stages`` (e.g. ``"A,B,C"`` or ``"E"``); return ``{step: history dict}`` of the steps run."""
        os.makedirs(self.checkpoint_dir, exist_ok=True)
        steps = expand_stages(stages, len(self.model.blocks))
        finished = self.finished() if resume else []
        if not resume and os.path.isfile(self.state_path):
            os.remove(self.state_path)
        if finished:
            if not self.model.built:
                self.model.build()  # weights load into built variables only
            self.model.load_weights(self.weights_path(finished[-1]))
        histories = {}
        for step in steps:
            if step in finished:
                continue
            _apply(self.model, step)
            per_epoch = steps_per_epoch or _count_batches(train_data)
            settings = OptimizerSettings(self._learning_rate(step), self.schedule, total_steps=per_epoch * epochs)
            self.model.compile(
                optimizer=build_optimizer(settings), loss=self.loss, weighted_metrics=[], jit_compile=self.jit_compile
            )
            history = self.model.fit(
                train_data,
                epochs=epochs,
                steps_per_epoch=steps_per_epoch,
                validation_data=validation_data,
                callbacks=list(callbacks),
                verbose=verbose,
                shuffle=False,  # the tf.data pipeline shuffles; Keras warns that it ignores shuffle=True
            )
            histories[step] = history.history
            save_weights_atomically(self.model, self.weights_path(step))
            finished = finished + [step]
            with atomic_path(self.state_path) as temporary:
                with open(temporary, "w") as handle:
                    json.dump({"finished": finished}, handle)
        set_stage(self.model, "C")  # leave the model whole for saving and generation
        return histories


def save_weights_atomically(model, path):
    """``model.save_weights(path)`` through a temporary name, renamed into place when complete."""
    with atomic_path(path) as temporary:
        model.save_weights(temporary)


def _count_batches(dataset):
    cardinality = int(dataset.cardinality()) if hasattr(dataset, "cardinality") else -1
    if cardinality > 0:
        return cardinality
    return sum(1 for _ in dataset)
