"""``musickit info FILE``: what musickit reads from a MIDI file."""

from musickit.errors import UsageError
from musickit.music import estimate_key, quantize, read_midi

MAX_STEPS_PER_QUARTER = 480  # a MIDI file's usual resolution; more is a typo

NAME = "info"
HELP = "Show what musickit reads from a MIDI file (notes, tempo, meter, key)."


def add_arguments(parser):
    parser.add_argument("path", help="a .mid file")
    parser.add_argument(
        "--steps-per-quarter",
        type=int,
        default=4,
        help="grid for the step and bar counts (default: %(default)s, sixteenth notes)",
    )


def run(args):
    if not 1 <= args.steps_per_quarter <= MAX_STEPS_PER_QUARTER:
        raise UsageError(
            f"--steps-per-quarter {args.steps_per_quarter}: use 1 to {MAX_STEPS_PER_QUARTER} (4 is a "
            "sixteenth-note grid)"
        )
    score = read_midi(args.path)
    quantized = quantize(score, args.steps_per_quarter)
    signatures = ", ".join(f"{s.numerator}/{s.denominator}" for s in score.time_signatures) or "none"
    print(f"file:            {args.path}")
    print(f"notes:           {len(score.notes)} ({sum(n.is_drum for n in score.notes)} drum)")
    print(f"instruments:     {len({n.instrument for n in score.notes})}")
    print(f"length:          {score.end_time:.2f} s, {quantized.total_steps} steps, {len(quantized.bar_starts())} bars")
    print(f"tempo:           {score.initial_qpm:.1f} qpm ({len(score.tempos)} tempo events)")
    print(f"time signatures: {signatures}")
    print(f"estimated key:   {estimate_key(score)}")
    print(f"markers:         {', '.join(m.text for m in score.markers) or 'none'}")
