"""Tiny untrained run folders for the demo's and the commands' tests: what ``generate_from_run`` reads.

Written in a second or two instead of a recipe's ``--smoke`` training (minutes on two busy cores); the page
and ``musickit generate`` treat them as any run. The metrics.json numbers are made up: the page only
copies them beside the piece's own.
"""

import json

import numpy as np
from conftest import make_score

#: The held-out means the piano-roll run's metrics.json claims (the page shows them beside the piece's).
HELD_OUT = {"note_density": 2.5, "polyphony": 3.0, "in_scale_ratio": 0.9, "pieces": 2}


def write_piano_roll_run(folder):
    """A piano-roll LSTM run folder (the smoke preset's model, untrained) at ``folder``; its path."""
    import keras

    from musickit.families.piano_roll_lstm.config import PianoRollLSTMConfig
    from musickit.families.piano_roll_lstm.pipeline import build_model
    from musickit.music.midi_io import write_midi
    from musickit.representations.piano_roll import PianoRoll
    from musickit.runs.folder import RunFolder

    folder.mkdir(parents=True)
    keras.utils.set_random_seed(3)
    config = PianoRollLSTMConfig.preset("smoke")
    model = build_model(config, compile=False)
    frames = np.zeros((1, 1, 88 * config.frame_channels), "float32")
    model({"frames": frames, "next_frames": frames})
    model.save(folder / "model.keras")
    PianoRoll(steps_per_quarter=config.steps_per_quarter, onset_channel=config.onsets).save(
        folder / "representation.json"
    )
    info = {"model": "piano_roll_lstm", "data": "bach", "default_primer_path": "primer.mid"}
    (folder / "run.json").write_text(json.dumps(info))
    (folder / "metrics.json").write_text(json.dumps({"samples": {"held_out": HELD_OUT}}))
    config.sampling.save(RunFolder(str(folder)))
    chord = [(60, 80, 0.0, 1.0), (64, 80, 0.0, 1.0), (67, 80, 1.0, 2.0), (72, 80, 2.0, 4.0)]
    write_midi(make_score(chord), folder / "primer.mid")
    return str(folder)


def write_transformer_run(folder):
    """A Music Transformer run folder (a tiny model, untrained, one style) at ``folder``; its path."""
    import keras

    from musickit.families.music_transformer.config import MusicTransformerConfig
    from musickit.families.music_transformer.pipeline import make_tokenizer
    from musickit.generation.prompts import build_prompt
    from musickit.models.music_transformer import MusicTransformer
    from musickit.runs.folder import RunFolder

    folder.mkdir(parents=True)
    keras.utils.set_random_seed(4)
    config = MusicTransformerConfig.preset("smoke")
    tokenizer = make_tokenizer(config)
    model = MusicTransformer.from_preset(
        "tiny",
        vocabulary_size=tokenizer.vocabulary_size,
        max_sequence_length=48,
        condition_sizes={"style": 1},
        padding_id=tokenizer.pad_id,
        end_id=tokenizer.eos_id,
    )
    model.build()
    model.save(folder / "model.keras")
    tokenizer.save(folder / "representation.json")
    opening = tokenizer.encode(make_score([(60, 80, 0.0, 1.0), (62, 80, 1.0, 2.0), (64, 80, 2.0, 4.0)]))
    info = {
        "model": "music_transformer",
        "styles": ["bach"],
        "default_style": "bach",
        "form": "A",
        "snippet_length": 8,
        "default_prompt": build_prompt([("A", opening)], tokenizer, 8),
        "new_tokens": config.sampling.new_tokens,
    }
    (folder / "run.json").write_text(json.dumps(info))
    config.sampling.save(RunFolder(str(folder)))
    return str(folder)


def write_hierarchical_run(folder, snippet_length=8):
    """A hierarchical transformer run folder (a tiny model, untrained, one style, form AB) at ``folder``."""
    from musickit.models.hierarchical import HierarchicalTransformer
    from musickit.representations.conditions import EMOTION_CLASSES, TEMPO_CLASSES
    from musickit.representations.remi import REMITokenizer

    folder.mkdir(parents=True)
    tokenizer = REMITokenizer()
    model = HierarchicalTransformer.from_preset(
        "tiny",
        vocabulary_size=tokenizer.vocabulary_size,
        snippet_length=snippet_length,
        max_sequence_length=32,
        end_id=tokenizer.eos_id,
        condition_sizes={"style": 1, "emotion": len(EMOTION_CLASSES), "tempo": len(TEMPO_CLASSES)},
    )
    model.build()
    model.save(folder / "model.keras")
    tokenizer.save(folder / "representation.json")
    info = {"model": "hierarchical_transformer", "styles": ["bach"], "flags": {"form": "AB", "tokens_per_section": 8}}
    (folder / "run.json").write_text(json.dumps(info))
    snippet = [int(i) for i in tokenizer.encode(make_score([(60, 80, 0.0, 0.5), (64, 80, 0.5, 1.0)]))]
    saved = {"A": snippet[:snippet_length], "B": snippet[:snippet_length]}
    (folder / "snippets.json").write_text(json.dumps({"bach": {"form": "AB", "snippets": saved}}))
    return str(folder)


def write_mel_run(folder, held_out=None):
    """A mel_diffusion run folder (a tiny U-Net, untrained: windows of 32 frames of 16 mels) at ``folder``.

    ``held_out``, an optional Score or list of Scores, is saved as its held-out pieces (``piece``, or
    ``piece_1``, ``piece_2``, ...: what ``generate_from_run`` and the benchmark render).
    """
    import keras

    from musickit.audio.mel import MelSettings
    from musickit.families.mel_diffusion.config import MelDiffusionConfig
    from musickit.models.mel_unet import MelUNet
    from musickit.music.midi_io import write_midi

    folder.mkdir(parents=True)
    keras.utils.set_random_seed(2)
    window = {"num_mels": 16, "frames": 32, "frames_per_token": 4, "context_tokens": 1, "model_preset": "tiny"}
    config = MelDiffusionConfig.preset("smoke", renderer="synth", guidance=1.0, **window)
    layout = {name: window[name] for name in ("num_mels", "frames", "frames_per_token", "context_tokens")}
    model = MelUNet.from_preset("tiny", tokens=config.tokens, widths=(4, 8), groups=2, **layout)
    model.save(folder / "model.keras")  # built as it is made (a functional model): no call, nothing compiled
    info = {"model": "mel_diffusion", "config": config.to_dict(), "mel_settings": MelSettings(num_mels=16).to_dict()}
    if held_out is not None:
        pieces = held_out if isinstance(held_out, list) else [held_out]
        info["held_out"] = ["piece"] if len(pieces) == 1 else [f"piece_{n}" for n in range(1, len(pieces) + 1)]
        (folder / "held_out").mkdir()
        for name, score in zip(info["held_out"], pieces):
            write_midi(score, folder / "held_out" / f"{name}.mid")
    (folder / "run.json").write_text(json.dumps(info))
    return str(folder)
