"""The piano-roll family's steps, end to end on a tiny folder of MIDI files and a tiny configuration."""

import os

import numpy as np
from conftest import make_score

from musickit.families import get_family
from musickit.families.piano_roll_lstm import pipeline
from musickit.families.piano_roll_lstm.config import PianoRollLSTMConfig
from musickit.families.request import GenerationRequest
from musickit.music.midi_io import write_midi
from musickit.runs import RunFolder


def write_pieces(folder, count=10, quarters=24):
    """``count`` different little pieces (no two are transpositions of each other), one note a quarter."""
    os.makedirs(folder, exist_ok=True)
    for index in range(count):
        pitches = [60 + (step * (index + 1)) % 12 for step in range(quarters)]
        notes = [(pitch, 80, float(step), step + 1.0) for step, pitch in enumerate(pitches)]
        write_midi(make_score(notes), os.path.join(folder, f"piece_{index}.mid"))
    return folder


def test_data_model_train_generate_and_generate_again(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICKIT_CACHE_DIR", str(tmp_path / "cache"))
    source = write_pieces(str(tmp_path / "midi"))
    # The independent head and one epoch sample keep it quick (the recipe's smoke test covers the other head).
    config = PianoRollLSTMConfig.preset(
        "smoke", max_files=None, lstm_units=4, dense_units=0, head="independent", epochs=1, sample_every=1, batch_size=2
    )
    data = pipeline.load_data(config, source, seed=0)
    assert data.primer.shape == (config.primer_bars * 16, 88, 2)  # two 4/4 bars on the 16th grid, with onsets
    assert config.sampling.voice_floor == 4  # the family's chorale default, until the run sees its corpus
    config = pipeline.fit_sampling_to_corpus(config, data)
    assert (config.sampling.voice_floor, config.sampling.max_polyphony) == (1, 1)  # these pieces are melodies
    model = pipeline.build_model(config)
    run = RunFolder(str(tmp_path / "run"))
    assert pipeline.start_run(run, model, data, config, source=source, seed=0) is False
    fingerprint = run.read_info()["data_fingerprint"]  # what --resume compares
    assert {name: split["pieces"] for name, split in fingerprint["splits"].items()} == {
        name: len(data.dataset.split(name)) for name in ("train", "valid", "test")
    }
    pipeline.train(model, data, config, run, verbose=0)
    likelihood = pipeline.evaluate(model, data, config)
    assert set(likelihood) >= {"valid_nll", "markov_valid_nll"} and likelihood["valid_nll"] > 0
    samples, rolls = pipeline.write_run_samples(model, data, config, run, seed=0)
    assert len(samples) == config.num_samples and rolls.shape[1] == len(data.primer) + config.bars * 16
    metrics = pipeline.sample_metrics(rolls, data, config)
    assert set(metrics) == {"samples", "music_quality"}
    for name in ("model.keras", "run.json", "sampling.json", "primer.mid", "training_samples/epoch_001.mid"):
        assert os.path.isfile(run.file(*name.split("/"))), name
    # What `musickit generate` does: the registry's family, the run's sampling with one change on top.
    request = GenerationRequest(sampling_changes={"max_polyphony": 1}, num_samples=1, bars=1, seed=3)
    written = get_family("piano_roll_lstm").generate_from_run(run.path, str(tmp_path / "more"), request)
    assert [os.path.basename(sample["midi"]) for sample in written] == ["sample_1.mid"]
    notes = written[0]["score"].notes
    starts = np.array([note.start for note in notes])
    assert all((starts == start).sum() <= 1 for start in starts)  # max_polyphony 1 from the request
