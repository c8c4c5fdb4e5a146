"""DPO through fit(): the loss starts at log 2, the policy learns to prefer the chosen rows, and resumes."""

import csv
import math

import keras
import numpy as np
import pytest

from musickit.models.music_transformer import MusicTransformer
from musickit.runs.folder import RunFolder
from musickit.training.preference import (
    PreferenceModel,
    add_reference_log_probabilities,
    fit_preferences,
    preference_callbacks,
    preference_examples,
)

pytestmark = pytest.mark.xdist_group("preference_training")  # one reference pass for the module, on one worker

# Prompts 1 2 / 1 3; the chosen continuation climbs, the rejected one repeats a token.
TRIPLES = [([1, 2], [4, 5, 6], [7, 7, 7]), ([1, 3], [5, 6, 4], [8, 8, 8])] * 4


def _policy(seed=0):
    keras.utils.set_random_seed(seed)
    model = MusicTransformer.from_preset(
        "tiny", vocabulary_size=10, max_sequence_length=16, condition_sizes={"style": 1}, dropout=0.0
    )
    model.build()
    return model


@pytest.fixture(scope="module")
def examples():
    """The rows with the untrained policy's log-probabilities as the reference (``_policy()`` rebuilds it)."""
    rows = preference_examples(TRIPLES, padding_id=0, conditions={"style": [0] * len(TRIPLES)})
    return add_reference_log_probabilities(_policy(), rows, batch_size=8)


def test_nll_term_adds_the_chosen_cross_entropy_per_token(examples):
    model = PreferenceModel(_policy(), beta=0.1, nll_weight=0.5)
    model.compile(optimizer="adam")
    results = model.evaluate(examples, batch_size=8, verbose=0, return_dict=True)
    chosen_nll = float(np.mean(-examples["reference_chosen"] / 3))  # 3 continuation tokens a row
    assert results["chosen_nll"] == pytest.approx(chosen_nll, rel=1e-4)
    assert results["loss"] == pytest.approx(math.log(2) + 0.5 * chosen_nll, rel=1e-4)  # the policy is the reference
    assert results["reward_margin"] == pytest.approx(0.0, abs=1e-4)  # no pair is ranked yet


@pytest.mark.usefixtures("eager_fits")
def test_interrupted_alignment_resumes_and_learns_the_preference(tmp_path, examples):
    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                raise KeyboardInterrupt

    run = RunFolder(str(tmp_path / "run"))
    run.start({"model": "music_transformer"})
    first = PreferenceModel(_policy(), beta=0.5)
    with pytest.raises(KeyboardInterrupt):
        fit_preferences(
            first,
            examples,
            epochs=6,
            learning_rate=3e-3,
            callbacks=[*preference_callbacks(run, False, False), Interrupt()],
        )
    policy = _policy(seed=1)  # other weights: the backup must bring back the interrupted run's
    resumed = PreferenceModel(policy, beta=0.5)
    callbacks = preference_callbacks(run, resume=True, tensorboard=False)
    history = fit_preferences(resumed, examples, epochs=6, learning_rate=3e-3, callbacks=callbacks)
    assert len(history.history["loss"]) == 5  # epochs 2-6: epoch 1 came back from the backup
    with open(run.history_path) as handle:
        first_loss = float(next(csv.DictReader(handle))["loss"])
    assert first_loss == pytest.approx(math.log(2), abs=1e-3)  # epoch 1 began at the reference
    assert history.history["loss"][-1] < math.log(2) - 0.05
    assert history.history["reward_accuracy"][-1] == 1.0


def test_held_out_pair_accuracy_reads_the_reference_on_the_same_tokens_with_the_right_sign(examples):
    from musickit.families.music_transformer.alignment import held_out_pair_accuracy

    policy = _policy()  # the reference itself: every margin is 0, no pair is ranked (ties are not wins)
    assert held_out_pair_accuracy(policy, examples, beta=0.1) == 0.0
    # A reference 1 nat less sure of the chosen rows: the policy's implicit reward favours them, whatever beta.
    lowered = {**examples, "reference_chosen": examples["reference_chosen"] - 1.0}
    assert held_out_pair_accuracy(policy, lowered, beta=0.3) == 1.0
    lowered = {**examples, "reference_rejected": examples["reference_rejected"] - 1.0}
    assert held_out_pair_accuracy(policy, lowered, beta=0.3) == 0.0


def test_bad_settings_are_one_line_errors():
    from musickit.errors import UsageError

    with pytest.raises(UsageError, match="--beta"):
        PreferenceModel(_policy(), beta=0)
    with pytest.raises(UsageError, match="no preference pairs"):
        preference_examples([], padding_id=0)
