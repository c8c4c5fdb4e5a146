"""The hierarchical transformer's hypermodel: its defaults, tuned values reaching the model, and stage epochs
numbered on for the tuner's callbacks."""

import json
import os

import keras
import keras_tuner
import pytest

from musickit.data.dataset import EncodedSplit
from musickit.data.labels import EMOTION_CLASSES, TEMPO_CLASSES
from musickit.errors import UsageError
from musickit.representations.remi import REMITokenizer
from musickit.tuning.hierarchical_hypermodel import ContinuedEpochs, HierarchicalTransformerHyperModel
from musickit.tuning.studies import get_study
from musickit.tuning.tuners import EpochLog, read_epoch_log


def hyperparameters(**fixed):
    hp = keras_tuner.HyperParameters()
    for name, value in fixed.items():
        hp.Fixed(name, value)
    return hp


@pytest.fixture(scope="module")
def hypermodel():
    return HierarchicalTransformerHyperModel(REMITokenizer(), styles=["bach", "essen"])


def test_defaults_are_the_small_presets_and_the_recipes_settings(hypermodel):
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    # DECODER_PRESETS["small"] and ENCODER_PRESETS["small"]; snippet length, memories and adapters as in the recipe.
    assert (model.num_layers, model.num_heads, model.hidden_dim, model.intermediate_dim) == (4, 4, 128, 512)
    encoder = model.encoder
    assert (encoder.num_layers, encoder.num_heads, encoder.hidden_dim, encoder.intermediate_dim) == (2, 4, 128, 256)
    assert (encoder.snippet_length, encoder.num_memory_vectors, model.adapter_dim) == (64, 4, 32)
    assert model.condition_sizes == {"style": 2, "emotion": len(EMOTION_CLASSES), "tempo": len(TEMPO_CLASSES)}
    assert model.padding_id == REMITokenizer().pad_id and model.end_id == REMITokenizer().eos_id
    assert hp.values["training"] == "staged"
    assert hp.values["contrastive_pretraining"] is True and hp.values["temperature"] == pytest.approx(0.1)
    assert hp.values["learning_rate"] == pytest.approx(1e-3)


def test_tuned_values_reach_the_model(hypermodel):
    hp = hyperparameters(
        encoder_layers=3, encoder_heads=8, encoder_dim=100, snippet_length=32, contrastive_pretraining=False
    )
    model = hypermodel.build(hp)
    assert (model.encoder.num_layers, model.encoder.num_heads, model.encoder.snippet_length) == (3, 8, 32)
    assert model.encoder.hidden_dim == 96  # 100 rounded down to a multiple of the 8 heads
    assert "temperature" not in hp.values  # only declared with contrastive pre-training


def test_a_study_space_drives_the_hypermodel(hypermodel):
    for value in (True, False):
        hp = get_study("contrastive").hyperparameters()
        hp.values["contrastive_pretraining"] = value
        hypermodel.build(hp)
        assert hp.get("contrastive_pretraining") is value  # a boolean, not Choice's 1/0
    hp = get_study("encoder_size").hyperparameters(smoke=True)
    assert hypermodel.build(hp).encoder.num_layers == 1 and hp.get("encoder_heads") == 2


def test_fit_refuses_to_run_without_held_out_pieces(hypermodel):
    hp = keras_tuner.HyperParameters()
    with pytest.raises(UsageError, match="needs validation_data"):
        hypermodel.fit(hp, hypermodel.build(hp), EncodedSplit(), validation_data=EncodedSplit())


def test_sequence_longer_than_the_preset_is_a_usage_error():
    with pytest.raises(UsageError, match="longer than the tiny decoder's 256 positions"):
        HierarchicalTransformerHyperModel(REMITokenizer(), styles=["bach"], preset="tiny", sequence_length=512)


def test_stage_epochs_reach_the_tuners_callbacks_numbered_on(tmp_path):
    # Three stages of one epoch each, every fit counting from 0: the epoch log must see 0, 1, 2.
    path = str(tmp_path / "epochs.jsonl")
    continued = ContinuedEpochs([EpochLog(path)])
    for loss in (3.0, 2.5, 2.0):
        continued.on_train_begin()
        continued.on_epoch_end(0, {"loss": loss, "val_loss": loss + 1})
        continued.on_train_end()
    assert read_epoch_log(path).history == {"loss": [3.0, 2.5, 2.0], "val_loss": [4.0, 3.5, 3.0]}
    assert [json.loads(line)["epoch"] for line in open(path)] == [0, 1, 2]
    assert continued.history.epoch == [0, 1, 2] and continued.history.history["val_loss"] == [4.0, 3.5, 3.0]


class StopAfterEpoch(keras.callbacks.Callback):
    """Interrupts training at the end of a (continued) epoch, as a kill would."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt(f"stopped after epoch {epoch}")


@pytest.mark.usefixtures("eager_fits")
def test_an_interrupted_trial_continues_from_its_last_finished_stage(tmp_path):
    from musickit.data.form_corpus import build_form_corpus

    tokenizer = REMITokenizer()
    corpus = build_form_corpus("bach", tokenizer, max_files=8, forms=("AB",), pieces_per_form=1)
    hypermodel = HierarchicalTransformerHyperModel(
        tokenizer,
        corpus.styles,
        preset="tiny",
        sequence_length=64,
        batch_size=4,
        language_model_epochs=1,
        steps_per_epoch=1,
        validation_steps=1,
        jit_compile=False,
        defaults={"num_layers": 1, "snippet_length": 16},
    )
    hp = hyperparameters(contrastive_pretraining=False)
    execution = tmp_path / "execution_0"
    backup = keras.callbacks.BackupAndRestore(str(execution / "backup"))
    log = str(execution / "epochs.jsonl")
    execution.mkdir()
    # Killed at the end of stage B1's epoch (1): stage A (epoch 0) is saved, B1 is not.
    with pytest.raises(KeyboardInterrupt):
        hypermodel.fit(
            hp,
            hypermodel.build(hp),
            corpus.train,
            validation_data=corpus.valid,
            verbose=0,
            callbacks=[backup, EpochLog(log), StopAfterEpoch(1)],
        )
    stages = execution / "hierarchical" / "stages"
    assert json.loads((stages / "stages.json").read_text()) == {"finished": ["A"]}
    os.remove(log)  # as the tuner does when it finds no Keras backup to resume from
    history = hypermodel.fit(
        hp,
        hypermodel.build(hp),
        corpus.train,
        validation_data=corpus.valid,
        verbose=0,
        callbacks=[backup, EpochLog(log)],
    )
    assert history.epoch == [1, 2]  # B1 and C, numbered where the schedule stands
    assert read_epoch_log(log).epoch == [1, 2]
    assert not (execution / "hierarchical").exists() and not (execution / "backup").exists()
