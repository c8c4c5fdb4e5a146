"""Mel-diffusion rendering quality beside floors and a ceiling, and the U-Net's training step per backend.

Quality (``--run RUN``, a finished ``recipes/mel_unet.py`` folder): on held-out
chorales (the run's own, their first ``--seconds``), against the reference
rendering's log-mel (FluidSynth where the run used it), mel L1, log-spectral
distance, chroma cosine and onset F1 (spectral-flux onsets against the MIDI
onsets, 50 ms) for

* the diffusion render: DDIM-50 at guidance 1 and 2, DDPM-1000 at guidance 1
  (each through Griffin-Lim and back to a log-mel, as the WAV sounds, at the
  level Griffin-Lim gives it: see ``musickit.audio.mel.vocoder_round_trip``);
* floors: the piece's own mean log-mel frame repeated, the reference mel plus
  Gaussian noise (sigma 0.1), the reference of a different held-out piece;
* the ceiling: the reference mel -> Griffin-Lim -> log-mel.

Speed (``--time-steps N``): seconds per training step of the run's (or
``--preset``'s) U-Net at batch 8 on 64 x 128 windows, on this process'
backend; run once per ``KERAS_BACKEND`` and compare side by side.

    KERAS_BACKEND=jax python benchmarks/mel_diffusion.py --run runs/mel_unet --json
    for b in jax torch tensorflow; do KERAS_BACKEND=$b python benchmarks/mel_diffusion.py --time-steps 5; done
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from musickit.data.mel_windows import TOKEN_FEATURES
from musickit.errors import UsageError
from musickit.runs.entry import run_main


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a finished recipes/mel_unet.py run folder (quality)")
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds of each held-out piece (default: 4)")
    parser.add_argument("--pieces", type=int, default=2, help="held-out pieces (default: 2)")
    parser.add_argument("--skip-ddpm", action="store_true", help="leave out DDPM-1000 (slow on a CPU)")
    parser.add_argument("--time-steps", type=int, default=0, help="time this many training steps (speed)")
    parser.add_argument("--preset", default="small", help="U-Net preset to time without --run (default: small)")
    parser.add_argument("--json", action="store_true", help="end with one JSON object of the results")
    return parser.parse_args(argv)


def time_training_steps(model, steps, batch_size=8):
    """Seconds per ``train_on_batch`` after one warm-up (compile) step, on random windows."""
    import keras

    generator = np.random.default_rng(0)
    inputs = {
        "noisy_mel": generator.standard_normal((batch_size, model.num_mels, model.frames, 1)).astype("float32"),
        "noise_level": generator.uniform(size=(batch_size, 1)).astype("float32"),
        "note_tokens": generator.integers(0, 2, (batch_size, model.tokens, TOKEN_FEATURES)).astype("float32"),
    }
    target = generator.standard_normal((batch_size, model.num_mels, model.frames, 1)).astype("float32")
    model.compile(optimizer=keras.optimizers.Adam(1e-3, use_ema=True), loss="mse")
    started = time.perf_counter()
    model.train_on_batch(inputs, target)
    compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(inputs, target)
    return {"seconds_per_step": (time.perf_counter() - started) / steps, "first_step_seconds": compile_seconds}


def quality(run_dir, seconds, count, skip_ddpm):
    """Per-variant means over the held-out pieces (see the module docstring)."""
    from musickit.audio.mel import vocoder_round_trip
    from musickit.audio.quality import compare_log_mels
    from musickit.data.mel_windows import mel_piece, truncate_score
    from musickit.families.mel_diffusion.generation import file_stem, load_run_model, render_score_mel
    from musickit.music.midi_io import read_midi
    from musickit.runs import RunFolder

    run = RunFolder(run_dir)
    info, config, settings, model = load_run_model(run)
    names = info["held_out"][:count]
    if len(names) < 2:
        raise UsageError("the run holds fewer than 2 held-out pieces; train with --held-out-pieces 2 or more")
    scores = [truncate_score(read_midi(run.inside(f"held_out/{file_stem(name)}.mid")), seconds) for name in names]
    references = [mel_piece(name, score, settings, config.renderer).log_mel for name, score in zip(names, scores)]

    def through_vocoder(log_mel):
        return vocoder_round_trip(log_mel, settings, config.griffin_lim_iterations)

    variants = {
        "DDIM-50, guidance 1": lambda i: render_score_mel(model, scores[i], settings, config, "ddim", 1.0, seed=i),
        "DDIM-50, guidance 2": lambda i: render_score_mel(model, scores[i], settings, config, "ddim", 2.0, seed=i),
    }
    if not skip_ddpm:
        variants["DDPM-1000, guidance 1"] = lambda i: render_score_mel(
            model, scores[i], settings, config, "ddpm", 1.0, seed=i
        )
    rows, timings = {}, {}
    generator = np.random.default_rng(0)
    for label, make in variants.items():
        started = time.perf_counter()
        rows[label] = [through_vocoder(make(i)) for i in range(len(names))]
        timings[label] = (time.perf_counter() - started) / len(names)
    rows["floor: mean log-mel frame"] = [
        np.repeat(mel.mean(axis=1, keepdims=True), mel.shape[1], 1) for mel in references
    ]
    rows["floor: reference + noise 0.1"] = [
        np.clip(mel + generator.normal(0, 0.1, mel.shape), 0, 1) for mel in references
    ]
    rows["floor: a different piece"] = [references[(i + 1) % len(references)] for i in range(len(references))]
    rows["ceiling: reference -> Griffin-Lim"] = [through_vocoder(mel) for mel in references]
    table = {}
    for label, mels in rows.items():
        per_piece = [
            compare_log_mels(mel, reference, settings, [n.start for n in score.notes])
            for mel, reference, score in zip(mels, references, scores)
        ]
        table[label] = {key: float(np.nanmean([item[key] for item in per_piece])) for key in per_piece[0]}
    return table, timings, info


def main(argv=None):
    args = parse_arguments(argv)
    if not args.run and not args.time_steps:
        raise UsageError("pass --run RUN (quality) and/or --time-steps N (speed)")
    import keras

    result = {"backend": keras.backend.backend()}
    if args.time_steps:
        from musickit.families.mel_diffusion.config import MelDiffusionConfig
        from musickit.families.mel_diffusion.pipeline import build_model

        # the recipe's window and token layout, at the preset's size
        model = build_model(MelDiffusionConfig.preset("cpu", model_preset=args.preset), compile=False)
        result["training_step"] = {"preset": args.preset, "parameters": model.count_params()}
        result["training_step"].update(time_training_steps(model, args.time_steps))
        print(
            f"{result['backend']}: {result['training_step']['seconds_per_step']:.3f} s per training step "
            f"({args.preset}, {model.count_params():,} parameters, batch 8 of 64 x 128)"
        )
    if args.run:
        table, timings, info = quality(args.run, args.seconds, args.pieces, args.skip_ddpm)
        print(f"\nheld-out pieces {info['held_out'][: args.pieces]}, first {args.seconds} s, vs {info['renderer']}\n")
        print("| rendering | mel L1 | log-spectral distance (dB) | chroma cosine | onset F1 |")
        print("|---|---|---|---|---|")
        for label, values in table.items():
            print(
                f"| {label} | {values['mel_l1']:.3f} | {values['log_spectral_distance']:.1f} | "
                f"{values['chroma_cosine']:.3f} | {values['onset_f1']:.3f} |"
            )
        ddim, ddim2 = table["DDIM-50, guidance 1"], table["DDIM-50, guidance 2"]
        ddpm = table.get("DDPM-1000, guidance 1")
        # The headline numbers are the run's own rendering: DDIM-50 at its configured guidance (1 or 2).
        guidance = info["config"].get("guidance", 2.0)
        default = ddim if guidance == 1.0 else ddim2
        result.update(
            {
                "guidance": 1.0 if guidance == 1.0 else 2.0,
                "mel_l1": default["mel_l1"],
                "chroma_cosine": default["chroma_cosine"],
                "onset_f1": default["onset_f1"],
                "guidance_2_vs_1_mel_l1_ratio": ddim2["mel_l1"] / ddim["mel_l1"],
                "ddim_vs_ddpm_l1_ratio": ddim["mel_l1"] / ddpm["mel_l1"] if ddpm else None,
                "mean_frame_mel_l1": table["floor: mean log-mel frame"]["mel_l1"],
                "griffin_lim_ceiling_mel_l1": table["ceiling: reference -> Griffin-Lim"]["mel_l1"],
                "seconds_per_piece": timings,
                "table": table,
            }
        )
    if args.json:
        print(json.dumps(result, default=float))
    return result


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    sys.exit(run_main(main))
