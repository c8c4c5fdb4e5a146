"""Hypermodels: empty HyperParameters give the models' own defaults; each tuned choice reaches the model."""

import keras
import keras_tuner
import numpy as np
import pytest

from musickit.families.music_transformer.config import MusicTransformerConfig
from musickit.losses.sequence import SequenceCrossEntropy, SequenceFocalLoss
from musickit.models.music_transformer import PRESETS
from musickit.models.piano_roll_lstm import PianoRollLSTM
from musickit.tuning.hypermodels import MusicTransformerHyperModel, PianoRollLSTMHyperModel

TINY_LSTM = {"lstm_units": 8, "num_layers": 1, "dense_units": 8, "head_hidden_units": 8}


def hyperparameters(**fixed):
    hp = keras_tuner.HyperParameters()
    for name, value in fixed.items():
        hp.Fixed(name, value)
    return hp


def test_piano_roll_defaults_are_the_models_own():
    hp = keras_tuner.HyperParameters()
    model = PianoRollLSTMHyperModel().build(hp)
    expected = PianoRollLSTM().get_config()
    assert {key: value for key, value in model.get_config().items() if key != "name"} == {
        key: value for key, value in expected.items() if key != "name"
    }
    assert hp.values["learning_rate"] == pytest.approx(1e-3)  # compile_model's default
    assert hp.values["positive_weight"] == 1.0  # the exact NLL, compile_model's default
    assert "head_hidden_units" not in hp.values  # only declared for the autoregressive head
    assert isinstance(model.loss, keras.losses.Loss) and model.optimizer.learning_rate.numpy() == pytest.approx(1e-3)


def test_piano_roll_autoregressive_head_gets_its_own_hyperparameters():
    hp = hyperparameters(head="autoregressive")
    model = PianoRollLSTMHyperModel(defaults=TINY_LSTM).build(hp)
    assert (model.head, model.head_hidden_units, model.lstm_units) == ("autoregressive", 8, 8)
    assert "positive_weight" not in hp.values and hp.values["head_hidden_units"] == 8


def test_piano_roll_fit_batches_with_the_tuned_batch_size():
    rng = np.random.default_rng(0)
    rolls = [(rng.random((40, 88)) < 0.05).astype("float32") for _ in range(3)]
    hypermodel = PianoRollLSTMHyperModel(
        window_length=8, transpose=0, steps_per_epoch=2, validation_steps=1, defaults=TINY_LSTM
    )
    hp = hyperparameters(batch_size=3)
    model = hypermodel.build(hp)
    history = hypermodel.fit(hp, model, rolls, validation_data=rolls[:1], epochs=1, verbose=0)
    assert np.isfinite(history.history["val_nll"][0])
    assert hp.values["batch_size"] == 3


def transformer_hypermodel(**options):
    return MusicTransformerHyperModel(
        vocabulary_size=40,
        preset="tiny",
        condition_sizes={"style": 3},
        end_id=2,
        epochs=4,
        train_size=80,
        batch_size=8,
        **options,
    )


def test_transformer_defaults_are_the_preset_and_the_library_defaults():
    hp = keras_tuner.HyperParameters()
    model = transformer_hypermodel().build(hp)
    for name in ("num_layers", "num_heads", "hidden_dim", "intermediate_dim", "max_sequence_length"):
        assert getattr(model, name) == PRESETS["tiny"][name]
    assert (model.position_encoding, model.dropout) == ("relative", 0.1)
    assert isinstance(model.loss, SequenceCrossEntropy) and model.loss.label_smoothing == 0.0
    assert isinstance(model.optimizer._learning_rate, keras.optimizers.schedules.CosineDecay)
    assert hp.values["lr_schedule"] == "warmup_cosine" and hp.values["warmup_fraction"] == 0.05


@pytest.mark.parametrize(
    "loss, kind, attribute, value",
    [("label_smoothing", SequenceCrossEntropy, "label_smoothing", 0.1), ("focal", SequenceFocalLoss, "gamma", 2.0)],
)
def test_transformer_loss_variants(loss, kind, attribute, value):
    model = transformer_hypermodel().build(hyperparameters(loss=loss))
    assert isinstance(model.loss, kind) and getattr(model.loss, attribute) == value


def test_transformer_step_schedule_drops_tenfold_at_half_and_three_quarters():
    # 80 examples / batch 8 = 10 steps per epoch, 4 epochs: 40 steps, drops after steps 20 and 30.
    model = transformer_hypermodel().build(hyperparameters(lr_schedule="step"))
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.PiecewiseConstantDecay)
    assert [float(schedule(step)) for step in (0, 20, 21, 30, 31)] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4, 1e-5])


def test_transformer_constant_schedule():
    # Training itself is covered by the `loss` smoke study in tests/recipes.
    model = transformer_hypermodel().build(hyperparameters(lr_schedule="constant"))
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)


def test_a_searched_schedule_drives_the_libraries_optimizer():
    # musickit.training.optimizers.build_optimizer: the family's AdamW, weight decay and clipping, any schedule.
    optimizer = transformer_hypermodel().build(hyperparameters(lr_schedule="step")).optimizer
    family = MusicTransformerConfig()
    assert isinstance(optimizer, keras.optimizers.AdamW)
    assert optimizer.weight_decay == pytest.approx(family.weight_decay) and optimizer.clipnorm == family.clipnorm
