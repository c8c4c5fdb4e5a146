"""``musickit song --prompt TEXT -o songs/first``: a song from a prompt, as MIDI, WAV, piano-roll PNG and JSON.

The prompt is read into conditions by :func:`musickit.representations.prompt.read_prompt` (its docstring is
the vocabulary); words it does not know are listed in one line on stderr. Each condition comes from a flag,
else from a prompt word, else from the run (its first style, its snippets' emotion and tempo, its form and
bars per section, its saved sampling key); a flag always wins over a prompt word, and the JSON says which
it was and what the prompt said. A hierarchical transformer run (``--run``) writes the piece in the form
through its family's ``generate_from_run``; ``--tempo 90`` is both the tempo class the model is conditioned
on (``moderate``: see :func:`musickit.data.labels.tempo_class`) and the MIDI's tempo. The WAV is rendered
by a mel-diffusion run (``--render-run``, as ``musickit render`` does) or, with ``--skip-neural-render``,
by FluidSynth (the plain synth without a soundfont). Every check that needs no Keras (an empty prompt, an
unknown style, a missing run) is one line and exit code 2 before the model loads.

Files, for ``-o songs/first``: ``songs/first.mid`` (section markers A, B, ...), ``.wav``, ``.png`` and
``.json``; with ``--num-samples N`` above 1, ``songs/first_1.*`` ... ``songs/first_N.*``. The JSON holds
``asked`` (the prompt and the flags given), ``prompt`` (what the reader found, and the unknown words),
``used`` (``{condition: {"value", "from", "prompt_said"?}}``), ``sampling_changes`` and ``sampling`` (the
run's ``sampling.json`` with them), the runs, the files, the audio's method and length, the MIDI's tempo,
its note count and its section markers.

Example::

    musickit song --prompt "calm chorale in G major" --style bach --emotion calm --tempo 90 \\
        --form ABA --bars-per-section 8 -o songs/first
    musickit song --prompt "sad folk tune, 70 bpm" --skip-neural-render -o songs/second
"""

import json
import os
import sys
import time

from musickit.errors import UsageError
from musickit.families.request import GenerationRequest
from musickit.representations.conditions import EMOTION_CLASSES, TEMPO_CLASSES, emotion_name
from musickit.representations.prompt import INSTRUMENT_PROGRAMS, MAX_QPM, MIN_QPM, read_prompt
from musickit.runs.flags import LIMITS, add_sampling_flags, check_flags
from musickit.runs.folder import RunFolder
from musickit.runs.sampling_flags import sampling_changes_from_flags

NAME = "song"
HELP = "Write a song from a text prompt: MIDI (section markers), WAV, piano-roll PNG and a JSON of its conditions."

MODEL_NAME = "hierarchical_transformer"  # musickit.families.hierarchical_transformer.MODEL_NAME, kept light
RENDER_MODEL_NAME = "mel_diffusion"
DEFAULT_RUN = "runs/hierarchical_transformer"  # recipes/hierarchical_transformer.py's default --output-dir
DEFAULT_RENDER_RUN = "runs/mel_unet"  # recipes/mel_unet.py's default --output-dir
#: Sampling flags that keep the run's saved value unless given.
UNSET_SAMPLING_FLAGS = ("temperature", "top_k", "top_p", "repetition_penalty", "max_polyphony")
OUTPUT_SUFFIXES = (".mid", ".midi", ".wav", ".png", ".json")


def add_arguments(parser):
    parser.add_argument("--prompt", required=True, help='what to write, e.g. "calm chorale in G major, 90 bpm"')
    parser.add_argument("-o", "--output", required=True, metavar="PATH", help="files PATH.mid/.wav/.png/.json")
    conditions = parser.add_argument_group("conditions (each wins over the prompt's word)")
    conditions.add_argument("--style", default=None, help="a style of the run, e.g. bach (default: the run's first)")
    conditions.add_argument("--emotion", default=None, help=f"{', '.join(EMOTION_CLASSES)} (default: the run's)")
    conditions.add_argument(
        "--tempo", default=None, help=f"quarter notes per minute, e.g. 90, or a class: {', '.join(TEMPO_CLASSES)}"
    )
    conditions.add_argument("--form", default=None, help="sections, e.g. ABA or AABA (default: the run's)")
    conditions.add_argument("--bars-per-section", type=int, default=None, help="bars of each section")
    conditions.add_argument(
        "--instrument", default=None, help=f"plays every note: {', '.join(INSTRUMENT_PROGRAMS)} or a GM program 0-127"
    )
    runs = parser.add_argument_group("runs and audio")
    runs.add_argument("--run", default=DEFAULT_RUN, help="a hierarchical_transformer run (default: %(default)s)")
    runs.add_argument(
        "--render-run", default=DEFAULT_RENDER_RUN, help="a mel_diffusion run that renders (default: %(default)s)"
    )
    runs.add_argument("--skip-neural-render", action="store_true", help="render with FluidSynth, no --render-run")
    runs.add_argument("--ddim-steps", type=int, default=None, help="denoising steps of the render (default: the run's)")
    runs.add_argument(
        "--griffin-lim-iterations", type=int, default=None, help="vocoder iterations (default: the render run's)"
    )
    runs.add_argument("--soundfont", default=None, help="a .sf2 soundfont for FluidSynth (or MUSICKIT_SOUNDFONT)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same song")
    parser.add_argument("--max-polyphony", type=int, default=None, help="most keys at once (default: the run's)")
    add_sampling_flags(parser)
    parser.set_defaults(num_samples=1, **{name: None for name in UNSET_SAMPLING_FLAGS})


def tempo_from_flag(text):
    """``(tempo class or None, qpm or None)`` of ``--tempo``: a number or a class name; one line otherwise.

    >>> tempo_from_flag("fast"), tempo_from_flag("90")[1]
    (('fast', None), 90.0)
    """
    name = str(text).strip().lower()
    if name in TEMPO_CLASSES:
        return name, None
    try:
        qpm = float(name)
    except ValueError:
        qpm = None
    if qpm is None or not MIN_QPM <= qpm <= MAX_QPM:
        raise UsageError(
            f"--tempo {text}: give quarter notes per minute from {MIN_QPM:g} to {MAX_QPM:g}, "
            f"or one of {', '.join(TEMPO_CLASSES)}"
        )
    return None, qpm


def tempo_class_of(qpm):
    """The tempo class of ``qpm`` quarter notes per minute, by the corpus labels' boundaries."""
    from musickit.data.labels import tempo_class
    from musickit.music.score import Score, TempoChange

    return tempo_class(Score(tempos=[TempoChange(0.0, float(qpm))]))


def program_from_flag(text):
    """The General MIDI program of ``--instrument``: a word of the prompt vocabulary or a number 0-127."""
    name = str(text).strip().lower()
    if name in INSTRUMENT_PROGRAMS:
        return INSTRUMENT_PROGRAMS[name]
    if name.isdigit() and 0 <= int(name) <= 127:
        return int(name)
    raise UsageError(f"--instrument {text}: use one of {', '.join(INSTRUMENT_PROGRAMS)} or a GM program 0-127")


def choose(field, flag, flag_value, reading, default, default_from, prompt_value=None, prompt_word=None):
    """``{"value", "from", ...}``: the flag's value, else the prompt's, else the default, and where it came from.

    ``prompt_value``/``prompt_word`` default to ``reading``'s for ``field``. A flag that overrides a different
    prompt value keeps it under ``"prompt_said"``.

    >>> from musickit.representations.prompt import read_prompt
    >>> choose("style", "--style", "essen", read_prompt("chorale"), "bach", "the run's first style")
    {'value': 'essen', 'from': 'flag --style', 'prompt_said': 'bach (chorale)'}
    """
    if prompt_word is None and field in reading.values:
        prompt_value, prompt_word = reading.values[field], reading.words[field]
    if flag_value is not None:
        chosen = {"value": flag_value, "from": f"flag {flag}"}
        if prompt_word is not None and prompt_value != flag_value:
            chosen["prompt_said"] = f"{prompt_value} ({prompt_word})"
        return chosen
    if prompt_word is not None:
        return {"value": prompt_value, "from": f"prompt word {prompt_word!r}"}
    return {"value": default, "from": f"default: {default_from}"}


def run_styles(run_dir, info):
    """The run's styles (run.json, else the keys of its snippets.json) and its saved snippets' labels."""
    path = os.path.join(run_dir, "snippets.json")
    if not os.path.isfile(path):  # the family needs it too: say so before the model loads
        raise UsageError(
            f"--run {run_dir} has no snippets.json (it predates it); train it again with "
            "`python recipes/hierarchical_transformer.py`"
        )
    with open(path) as handle:
        saved = json.load(handle)
    return list(info.get("styles") or sorted(saved)), saved


def check_runs(args):
    """The hierarchical run's ``run.json`` after checking both runs: a missing or wrong run is one line."""
    if not os.path.isdir(args.run):
        raise UsageError(
            f"--run {args.run}: no such run folder; train one with `python recipes/hierarchical_transformer.py` "
            "or pass --run RUN (a hierarchical_transformer run)"
        )
    info = RunFolder(args.run).read_info()
    if info.get("model") != MODEL_NAME:
        raise UsageError(f"--run {args.run} is a {info.get('model')} run; musickit song needs a {MODEL_NAME} run")
    if not args.skip_neural_render:
        if not os.path.isdir(args.render_run):
            raise UsageError(
                f"--render-run {args.render_run}: no mel_diffusion run there to render the song; train one with "
                "`python recipes/mel_unet.py` (or pass --render-run RUN), or pass --skip-neural-render for FluidSynth"
            )
        model = RunFolder(args.render_run).read_info().get("model")
        if model != RENDER_MODEL_NAME:
            raise UsageError(
                f"--render-run {args.render_run} is a {model} run, not a {RENDER_MODEL_NAME} run; "
                "pass a recipes/mel_unet.py run folder or --skip-neural-render"
            )
    return info


def plan_song(args, reading, info, styles, saved):
    """``{condition: {"value", "from", ...}}`` for style, emotion, tempo, qpm, key, form, bars_per_section and
    instrument; a value the run cannot take is one line."""
    from musickit.data.form_synthesis import form_letters
    from musickit.families.hierarchical_transformer.config import HierarchicalConfig

    flag_tempo, flag_qpm = tempo_from_flag(args.tempo) if args.tempo is not None else (None, None)
    flag_emotion = None
    if args.emotion is not None:
        flag_emotion = emotion_name(args.emotion)
        if flag_emotion not in EMOTION_CLASSES:
            raise UsageError(f"--emotion {args.emotion}: use one of {', '.join(EMOTION_CLASSES)}")
    plan = {}
    plan["style"] = choose("style", "--style", args.style, reading, styles[0], "the run's first style")
    style = plan["style"]["value"]
    if style not in styles:
        said = plan["style"]["from"]
        raise UsageError(f"style {style!r} ({said}) is not among the run's styles: {', '.join(styles)}")
    piece = saved.get(style) or {}
    plan["emotion"] = choose("emotion", "--emotion", flag_emotion, reading, piece.get("emotion"), "the run's snippets")
    qpm_word = reading.words.get("qpm")
    if flag_qpm is not None:
        flag_tempo = tempo_class_of(flag_qpm)
    prompt_tempo, tempo_word = reading.values.get("tempo"), reading.words.get("tempo")
    if tempo_word is None and qpm_word is not None:
        prompt_tempo, tempo_word = tempo_class_of(reading.values["qpm"]), qpm_word
    plan["tempo"] = choose(
        "tempo", "--tempo", flag_tempo, reading, piece.get("tempo"), "the run's snippets", prompt_tempo, tempo_word
    )
    plan["qpm"] = choose("qpm", "--tempo", flag_qpm, reading, None, "the model's own tempo")
    if args.tempo is not None and flag_qpm is None:  # --tempo slow: a class wins over the prompt's number too
        plan["qpm"] = {"value": None, "from": "flag --tempo (a class: the model's own tempo)"}
        if qpm_word is not None:
            plan["qpm"]["prompt_said"] = f"{reading.values['qpm']:g} ({qpm_word})"
    plan["key"] = choose("key", "--key", args.key, reading, saved_key(args.run), "the run's sampling key")
    flags = info.get("flags") if isinstance(info.get("flags"), dict) else {}
    run_form, whose = (flags["form"], "the run's") if flags.get("form") else (HierarchicalConfig.form, "the family's")
    given_form = str(args.form).strip().upper() if args.form is not None else None
    plan["form"] = choose("form", "--form", given_form, reading, run_form, f"{whose} form")
    form_letters(plan["form"]["value"])  # a bad form: one line
    run_bars = int(info.get("bars_per_section") or HierarchicalConfig.bars_per_section)
    whose = "the run's" if info.get("bars_per_section") else "the family's"
    if args.bars_per_section is not None and args.bars_per_section < 1:
        raise UsageError(f"--bars-per-section must be at least 1, got {args.bars_per_section}")
    plan["bars_per_section"] = choose(
        "bars_per_section", "--bars-per-section", args.bars_per_section, reading, run_bars, whose
    )
    bars = plan["bars_per_section"]["value"] * len(plan["form"]["value"])
    if bars > LIMITS["bars"]:
        raise UsageError(f"{bars} bars in all is more than {LIMITS['bars']:,}; is there a typo in the number?")
    if args.instrument is not None:
        program_from_flag(args.instrument)
    instrument = str(args.instrument).strip().lower() if args.instrument is not None else None
    plan["instrument"] = choose("instrument", "--instrument", instrument, reading, None, "the model's programs")
    return plan


def saved_sampling(run_dir):
    """The run's ``sampling.json`` as a dict (``{}`` for a run from before it)."""
    path = os.path.join(run_dir, "sampling.json")
    if not os.path.isfile(path):
        return {}
    with open(path) as handle:
        return json.load(handle)


def saved_key(run_dir):
    """The ``key`` of the run's ``sampling.json`` (``"auto"``: the snippets' key), or ``None``."""
    return saved_sampling(run_dir).get("key")


def output_stem(path):
    """``-o``'s path without a file suffix; an existing folder is one line."""
    stem, suffix = os.path.splitext(str(path))
    stem = stem if suffix.lower() in OUTPUT_SUFFIXES else str(path)
    if not os.path.basename(stem) or os.path.isdir(stem):
        raise UsageError(f"-o {path} is a folder; name the song's files, e.g. -o {os.path.join(path, 'song')}")
    return stem


def with_tempo(score, qpm):
    """``score`` played at ``qpm`` quarter notes per minute throughout (the same beats, new seconds).

    >>> from musickit.music.score import Note, Score
    >>> slower = with_tempo(Score(notes=[Note(60, 90, 1.0, 2.0)]), 60)  # 120 qpm -> 60 qpm: twice as long
    >>> slower.notes[0].start, slower.notes[0].end, slower.tempos[0].qpm
    (2.0, 4.0, 60)
    """
    import dataclasses

    from musickit.music.score import TempoChange

    quarters = score.seconds_to_quarters_function()

    def seconds(time):
        return quarters(time) * 60.0 / qpm

    changed = score.copy()
    changed.notes = [dataclasses.replace(n, start=seconds(n.start), end=seconds(n.end)) for n in score.notes]
    changed.tempos = [TempoChange(0.0, qpm)]
    changed.time_signatures = [dataclasses.replace(s, time=seconds(s.time)) for s in score.time_signatures]
    changed.key_signatures = [dataclasses.replace(k, time=seconds(k.time)) for k in score.key_signatures]
    changed.markers = [dataclasses.replace(m, time=seconds(m.time)) for m in score.markers]
    return changed


def describe(plan):
    """One line of what the song uses, e.g. ``style bach (prompt word 'chorale'), emotion calm (flag --emotion)``."""
    parts = []
    for field, chosen in plan.items():
        if chosen["value"] is not None:
            parts.append(f"{field.replace('_', ' ')} {chosen['value']} ({chosen['from']})")
    return ", ".join(parts)


def run(args):
    check_flags(args)  # --seed -1, an empty --style or --key, a missing --soundfont: one line each
    GenerationRequest(primer=args.primer).check_family(MODEL_NAME)  # --primer: this family reads none
    reading = read_prompt(args.prompt)
    stem = output_stem(args.output)
    info = check_runs(args)
    styles, saved = run_styles(args.run, info)
    plan = plan_song(args, reading, info, styles, saved)
    if reading.unknown:
        print(f"musickit song: prompt words not known (not used): {', '.join(reading.unknown)}", file=sys.stderr)
    for word, field, kept in reading.conflicts:
        print(f"musickit song: prompt word {word!r} not used: the {field} is already {kept}", file=sys.stderr)
    print(f"musickit song: {describe(plan)}", file=sys.stderr)
    return write_songs(args, reading, plan, stem)


def write_songs(args, reading, plan, stem):
    """Generate with the run's family, then write each song's MIDI, PNG, WAV and JSON; print their paths."""
    import tempfile

    from musickit.families import get_family

    form, bars = plan["form"]["value"], plan["bars_per_section"]["value"]
    changes = sampling_changes_from_flags(args)
    if plan["key"]["value"] is not None and plan["key"]["from"].startswith("prompt"):
        changes["key"] = plan["key"]["value"]
    request = GenerationRequest(
        sampling_changes=changes,
        primer=args.primer,
        num_samples=args.num_samples,
        seed=args.seed,
        bars=bars * len(form),
        style=plan["style"]["value"],
        form=form,
        emotion=plan["emotion"]["value"],
        tempo=plan["tempo"]["value"],
        soundfont=args.soundfont,
    )
    request.check_family(MODEL_NAME)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        written = get_family(MODEL_NAME).generate_from_run(args.run, scratch, request)
    generation_seconds = time.perf_counter() - started
    asked = {"prompt": args.prompt, "flags": given_flags(args)}
    for number, sample in enumerate(written):
        name = stem if len(written) == 1 else f"{stem}_{number + 1}"
        files = write_song(args, sample["score"], plan, name)
        record = {
            "asked": asked,
            "prompt": {"values": reading.values, "words": reading.words, "unknown": list(reading.unknown)},
            "used": {field: chosen for field, chosen in plan.items()},
            "sampling_changes": changes,
            "sampling": {**saved_sampling(args.run), **changes},  # before the family fits it to the snippets
            "seed": args.seed + number,
            "run": args.run,
            "render_run": None if args.skip_neural_render else args.render_run,
            "generation_seconds": round(generation_seconds, 2),
            **files,
        }
        with open(f"{name}.json", "w") as handle:
            json.dump(record, handle, indent=2, default=str)
            handle.write("\n")
        print(
            f"{files['midi']}  {files['wav']} ({files['audio']}, {files['audio_seconds']:.1f} s)  {files['png']}  "
            f"{name}.json"
        )
    return 0


def given_flags(args):
    """``{flag: value}`` of the condition and sampling flags the user set (not left at their defaults)."""
    names = ("style", "emotion", "tempo", "form", "bars_per_section", "instrument", "key", "scale")
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    given.update(sampling_changes_from_flags(args))
    return given


def write_song(args, score, plan, name):
    """Write ``name``.mid/.png/.wav for one generated ``score``; return their paths and the audio's facts."""
    from musickit.families.mel_diffusion.rendering import render_midi_file
    from musickit.music.midi_io import write_midi
    from musickit.runs.samples import Sample
    from musickit.viz.piano_roll import plot_piano_roll

    qpm = plan["qpm"]["value"]
    if qpm is not None:
        score = with_tempo(score, qpm)
    instrument = plan["instrument"]["value"]
    if instrument is not None:
        program = program_from_flag(instrument)
        for note in score.notes:
            note.program, note.is_drum = program, False
    folder = os.path.dirname(os.path.abspath(name))
    os.makedirs(folder, exist_ok=True)
    midi, png, wav = f"{name}.mid", f"{name}.png", f"{name}.wav"
    write_midi(score, midi)
    sample = Sample.from_score(score, steps_per_quarter=4)
    shown = [str(plan.get(field, {}).get("value") or "") for field in ("form", "style", "emotion", "key")]
    shown = [value for value in shown if value != "auto"]  # key auto: the snippets' own
    shown.append(f"{score.initial_qpm:.0f} qpm")
    title = f"{os.path.basename(name)}: {', '.join(value for value in shown if value)}"
    plot_piano_roll(
        sample.roll,
        png,
        steps_per_quarter=4,
        bar_starts=sample.bar_starts,
        lowest_pitch=sample.lowest_pitch,
        title=title,
    )
    result = render_midi_file(
        None if args.skip_neural_render else args.render_run,
        midi,
        wav,
        ddim_steps=args.ddim_steps,
        griffin_lim_iterations=args.griffin_lim_iterations,
        seed=args.seed,
        skip_neural=args.skip_neural_render,
        soundfont=args.soundfont,
    )
    return {
        "midi": midi,
        "wav": wav,
        "png": png,
        "audio": result["method"],
        "audio_seconds": round(result["seconds"], 2),
        "midi_qpm": score.initial_qpm,
        "notes": len(score.notes),
        "sections": [marker.text for marker in score.markers],
    }
