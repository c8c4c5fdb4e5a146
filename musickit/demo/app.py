"""The demo page (a Streamlit script): pick a run, set its controls, generate, listen, look, download.

Started by ``musickit demo`` (see :mod:`musickit.commands.demo`), which passes
the run folders in ``MUSICKIT_DEMO_RUNS`` (``os.pathsep``-separated); run
directly, ``streamlit run musickit/demo/app.py -- --run RUN`` works too.
Without either, the page offers the run folders under ``runs/``.

Every piece comes from :func:`musickit.demo.generation.generate`; bad input
(a corrupt upload, an impossible setting, a run of an unknown family) is one
``st.error`` line and the page keeps running.
"""

import argparse
import logging
import os
import sys
import tempfile

import streamlit as st

from musickit.demo.controls import (
    CONTROLS,
    FAMILY_LABELS,
    PRESETS,
    SCALE_CHOICES,
    apply_preset,
    controls_for,
    default_settings,
)
from musickit.demo.generation import generate
from musickit.demo.runs import RUNS_VARIABLE, find_runs, piece_bars, piece_metrics, read_run
from musickit.demo.uploads import save_midi_upload
from musickit.errors import MusickitError
from musickit.families.request import FAMILY_FIELDS

logger = logging.getLogger("musickit.demo")

UNSET = "(the run's own)"
SLIDERS = ("temperature", "top_p", "repetition_penalty")
INTEGERS = ("top_k", "max_polyphony", "bars", "max_length", "seed")
UPLOADS = ("primer", "snippets")  # file uploaders: their state cannot be set


def run_folders():
    """The run folders to offer: ``MUSICKIT_DEMO_RUNS``, else ``-- --run`` arguments, else those under ``runs/``."""
    given = [path for path in os.environ.get(RUNS_VARIABLE, "").split(os.pathsep) if path]
    if not given and os.path.basename(sys.argv[0]) == "app.py":
        parser = argparse.ArgumentParser(add_help=False)
        parser.add_argument("--run", action="append", default=[])
        given = parser.parse_known_args(sys.argv[1:])[0].run
    return given or find_runs("runs")


def short_path(path):
    """``path`` relative to the working folder when it lies inside it (the page's run choice)."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def widget_key(run_path, name):
    return f"{name}@{run_path}"


def set_controls(run_path, names, values):
    for name in names:
        if name in values and name not in UPLOADS:
            st.session_state[widget_key(run_path, name)] = values[name]


def clamp(name, value):
    control = CONTROLS[name]
    if value is None:
        value = control.default
    if control.minimum is None:
        return value
    kind = int if name in INTEGERS else float
    return kind(min(max(value, control.minimum), control.maximum))


def show_control(summary, name):
    """One control in the sidebar; returns its value (uploads as ``(filename, bytes)``)."""
    control, key = CONTROLS[name], widget_key(summary.path, name)
    if name in SLIDERS:
        return st.slider(control.label, control.minimum, control.maximum, step=control.step, key=key, help=control.help)
    if name in INTEGERS:
        return st.number_input(
            control.label,
            int(control.minimum),
            int(control.maximum),
            step=int(control.step),
            key=key,
            help=control.help,
        )
    if name in ("key", "form"):
        return st.text_input(control.label, key=key, help=control.help)
    if name == "scale":
        return st.selectbox(control.label, (UNSET, *SCALE_CHOICES), key=key, help=control.help)
    if name in ("style", "emotion", "tempo"):
        choices = summary.styles if name == "style" else condition_classes(name)
        if not choices:
            return None  # a run without styles shows no style control
        return st.selectbox(control.label, (UNSET, *choices), key=key, help=control.help)
    if name == "primer":
        label = FAMILY_LABELS.get(summary.family, {}).get(name, control.label)
        upload = st.file_uploader(label, type=["mid", "midi"], key=key, help=control.help)
        return (upload.name, upload.getvalue()) if upload else None
    if name == "snippets":
        form = st.session_state.get(widget_key(summary.path, "form")) or ""
        snippets = {}
        for letter in dict.fromkeys(form.strip().upper()):
            upload = st.file_uploader(
                f"Snippet for section {letter} (optional)", type=["mid", "midi"], key=f"{key}:{letter}"
            )
            if upload:
                snippets[letter] = (upload.name, upload.getvalue())
        return snippets
    raise ValueError(f"no widget for control {name!r}")


def condition_classes(name):
    from musickit.representations.conditions import EMOTION_CLASSES, TEMPO_CLASSES

    return EMOTION_CLASSES if name == "emotion" else TEMPO_CLASSES


def settings_from(values, folder):
    """The page's values as :func:`generate` settings: uploads saved and checked, "(the run's own)" unset."""
    settings = {}
    for name, value in values.items():
        if name == "primer":
            value = save_midi_upload(folder, *value, "Primer") if value else None
        elif name == "snippets":
            value = {letter: save_midi_upload(folder, *upload, f"Snippet {letter}") for letter, upload in value.items()}
        elif value == UNSET:
            value = None
        settings[name] = value
    return settings


def make_piece(summary, values):
    """Generate one piece and return what the page shows of it (metrics included)."""
    state = st.session_state
    number = len(state.pieces) + 1
    folder = os.path.join(state.folder, f"piece_{number}")
    progress = st.progress(0.0, text="checking the settings")
    settings = settings_from(values, folder)
    progress.progress(0.2, text=f"generating from {summary.name} (loading the model, then sampling)")
    with st.spinner("Generating..."):
        written = generate(summary.path, folder, settings, summary.sampling)
    progress.progress(0.9, text="measuring the piece")
    piece = dict(written[0])
    piece["title"] = f"#{number} from {summary.name}"
    piece["settings"] = {name: value for name, value in settings.items() if value not in (None, "", {})}
    piece["metrics"] = piece_metrics(piece["midi"], summary.corpus)
    piece["scores"] = written[0].get("scores") or {}  # a renderer's: its audio against the reference rendering
    piece["bars"] = piece_bars(piece["midi"])
    piece["corpus_source"] = summary.corpus_source
    progress.progress(1.0, text="done")
    return piece


def show_piece(piece):
    st.subheader(f"Piece {piece['title']}")
    audio = {"fluidsynth": "FluidSynth", "neural": "the model (mel diffusion, then Griffin-Lim)"}.get(
        piece["audio"], "the plain synth (no soundfont found)"
    )
    with open(piece["wav"], "rb") as handle:
        st.audio(handle.read(), format="audio/wav")
    st.caption(f"{piece['bars']} bars with notes (the whole MIDI file). Audio rendered with {audio}.")
    picture, numbers = st.columns([3, 2])
    neural = piece["audio"] == "neural"
    picture.image(piece["png"], caption="log-mels: the model's and the reference's" if neural else "piano roll")
    if piece["scores"]:
        picture.caption(
            "Against the reference rendering: "
            + ", ".join(f"{name} {value:.3f}" for name, value in piece["scores"].items() if value is not None)
        )
    rows = [
        {"metric": name, "this piece": mine, "corpus (held-out mean)": corpus}
        for name, mine, corpus in piece["metrics"]
    ]
    numbers.table(rows)
    if piece["corpus_source"]:
        numbers.caption(
            "This piece: the whole MIDI file written (primer included where the family writes it). "
            f"Corpus: the mean over the run's held-out pieces, from its metrics.json "
            f"({piece['corpus_source']}); smoke runs measure only one or two."
        )
    else:
        numbers.caption("The run's metrics.json holds no held-out metrics to compare with.")
    left, right = st.columns(2)
    with open(piece["midi"], "rb") as handle:
        left.download_button(
            "Download MIDI",
            handle.read(),
            file_name=f"{piece['name']}.mid",
            mime="audio/midi",
            key=f"midi:{piece['midi']}",
        )
    with open(piece["wav"], "rb") as handle:
        right.download_button(
            "Download WAV", handle.read(), file_name=f"{piece['name']}.wav", mime="audio/wav", key=f"wav:{piece['wav']}"
        )


def show_recent(pieces):
    """List ``pieces`` (newest first) by title and settings; they stay while the page is open."""
    if not pieces:
        return
    st.subheader("Earlier pieces")
    for piece in pieces:
        settings = ", ".join(f"{name}={value}" for name, value in piece["settings"].items() if name != "snippets")
        st.markdown(f"- **{piece['title']}**: {settings or 'the run as saved'}")


def main():
    st.set_page_config(page_title="musickit demo", layout="wide")
    st.title("musickit demo")
    state = st.session_state
    state.setdefault("pieces", [])
    if "folder" not in state:
        state.folder = tempfile.mkdtemp(prefix="musickit-demo-")
    folders = run_folders()
    if not folders:
        st.error(
            "No run folders: pass `musickit demo --run RUN`, or train one into runs/, e.g. "
            "`python recipes/piano_roll_lstm.py --smoke --output-dir runs/piano_roll_lstm`."
        )
        return
    run_path = st.sidebar.selectbox("Run", folders, key="run", format_func=short_path)
    try:
        summary = read_run(run_path)
        names = controls_for(summary.family)
    except MusickitError as error:
        st.error(str(error))
        show_recent(state.pieces)  # what was made from other runs stays listed
        return
    st.caption(
        f"{summary.path}: a {summary.family} run"
        + (f" (styles: {', '.join(summary.styles)})" if summary.styles else "")
    )
    run_settings = {
        name: clamp(name, value) if CONTROLS[name].minimum is not None else value
        for name, value in default_settings(names, summary.sampling, summary.info).items()
    }
    run_settings = {
        name: UNSET if value is None and name in ("scale", "style", "emotion", "tempo") else value
        for name, value in run_settings.items()
    }
    if not any(widget_key(run_path, name) in state for name in names):
        set_controls(run_path, names, run_settings)

    def use_preset():
        chosen = apply_preset(state[f"preset@{run_path}"], run_settings, names)
        set_controls(
            run_path,
            names,
            {
                name: clamp(name, value) if CONTROLS[name].minimum is not None else value
                for name, value in chosen.items()
            },
        )

    st.sidebar.selectbox(
        "Preset",
        tuple(PRESETS),
        key=f"preset@{run_path}",
        on_change=use_preset,
        help="settings laid over the run's own; 'faithful' is the run as its recipe sampled",
    )
    with st.sidebar:
        values = {name: show_control(summary, name) for name in names}
        if "snippets" not in names:
            readers = [family for family, fields in FAMILY_FIELDS.items() if "snippets" in fields]
            st.caption(
                f"No snippet upload: {summary.family} runs take no section snippets; "
                f"only {', '.join(readers)} runs write a form from them."
            )
    if st.button("Generate", type="primary"):
        try:
            state.pieces.insert(0, make_piece(summary, values))
        except MusickitError as error:
            st.error(str(error))
        except Exception as error:  # noqa: BLE001 - the page stays up; the console keeps the traceback
            logger.exception("generation failed")
            st.error(f"Generation failed: {type(error).__name__}: {error}")
    if state.pieces:
        show_piece(state.pieces[0])
        show_recent(state.pieces[1:])


main()
