"""``musickit render FILE.mid --run RUN -o out.wav``: any MIDI file to audio through a trained mel-diffusion run.

The run is a ``recipes/mel_unet.py`` run folder. Long pieces are rendered
window by window (windows overlap by a quarter and are cross-faded), a
batch of windows at a time, with a progress bar; Griffin-Lim then turns the
joined log-mel into the WAV. ``--skip-neural-render`` renders the same MIDI
with FluidSynth instead (the plain synth where FluidSynth or a soundfont is
missing) and needs no run. Everything is checked before Keras is imported:
a missing file, a run of another family, an output that is not ``.wav``
are one line each.

Example::

    musickit render song.mid --run runs/mel_unet -o song.wav --ddim-steps 50 --guidance 2
    musickit render song.mid --skip-neural-render -o song_fluidsynth.wav
"""

import os

from musickit.errors import UsageError
from musickit.runs.folder import RunFolder

NAME = "render"
HELP = "Render a MIDI file to a WAV with a trained mel_diffusion run (or FluidSynth: --skip-neural-render)."

MODEL_NAME = "mel_diffusion"  # musickit.families.mel_diffusion.MODEL_NAME, spelled here to keep --help light
SAMPLERS = ("ddim", "ddpm")


def add_arguments(parser):
    parser.add_argument("midi", metavar="FILE.mid", help="the MIDI file to render")
    parser.add_argument("--run", default=None, help="a mel_diffusion run folder (recipes/mel_unet.py --output-dir)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.wav", help="the WAV file to write")
    parser.add_argument("--sampler", choices=SAMPLERS, default=None, help="ddim or ddpm (default: the run's)")
    parser.add_argument("--ddim-steps", type=int, default=None, help="DDIM denoising steps (default: the run's)")
    parser.add_argument("--guidance", type=float, default=None, help="classifier-free guidance (default: the run's)")
    parser.add_argument(
        "--griffin-lim-iterations", type=int, default=None, help="vocoder iterations (default: the run's)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the starting noise (default: %(default)s)")
    parser.add_argument(
        "--windows-per-batch", type=int, default=8, help="windows sampled at once (default: %(default)s)"
    )
    parser.add_argument(
        "--skip-neural-render",
        action="store_true",
        help="render with FluidSynth (the plain synth without it) instead of the model; no --run needed",
    )
    parser.add_argument("--soundfont", default=None, help="a .sf2 soundfont for FluidSynth (or MUSICKIT_SOUNDFONT)")


def check(args):
    """The one-line errors that need no Keras: the MIDI file, the output name, the run's family."""
    if not os.path.isfile(args.midi):
        raise UsageError(f"{args.midi} is not a file; give a MIDI file to render")
    if not args.output.lower().endswith(".wav"):
        raise UsageError(f"-o {args.output}: the output is a WAV file; name it OUT.wav")
    if args.run is None:
        if not args.skip_neural_render:
            raise UsageError("--run RUN names the mel_diffusion run that renders (or pass --skip-neural-render)")
        return
    model = RunFolder(args.run).read_info().get("model")
    if model != MODEL_NAME:
        raise UsageError(
            f"{args.run} is a {model} run, not a {MODEL_NAME} run; render with a recipes/mel_unet.py run folder"
        )


def run(args):
    check(args)
    from musickit.families.mel_diffusion.rendering import render_midi_file

    result = render_midi_file(
        args.run,
        args.midi,
        args.output,
        sampler=args.sampler,
        ddim_steps=args.ddim_steps,
        guidance=args.guidance,
        griffin_lim_iterations=args.griffin_lim_iterations,
        seed=args.seed,
        windows_per_batch=args.windows_per_batch,
        skip_neural=args.skip_neural_render,
        soundfont=args.soundfont,
    )
    how = f"{result['windows']} windows, neural" if result["method"] == "neural" else result["method"]
    print(f"{result['output']}  ({result['seconds']:.1f} s of audio, {how})")
    return 0
