"""REMI+ tokens: bars, positions and notes on a beat grid (Huang & Yang 2020; von Rütte et al. 2022).

A piece is quantized to ``steps_per_quarter`` steps per quarter note
(:func:`musickit.music.quantize`, which follows tempo changes) and written bar
by bar::

    [STYLE_bach] [EMOTION_calm]
    [SECTION_A] Bar [TimeSignature_3/4]
        Position_0 [Tempo_96] [Program_0] Pitch_60 Velocity_22 Duration_4  Pitch_64 Velocity_22 Duration_2
        Position_4 ...
    Bar ...

* ``Bar`` opens every bar, empty ones too; a ``TimeSignature`` token follows
  it in the first bar and wherever the signature changes, and sets how many
  steps the bar has (bars follow :meth:`QuantizedScore.bar_starts`).
* ``Position_p`` is the step inside the bar; it is written once for every
  step where notes start or the tempo changes.
* ``Tempo`` follows the position of a tempo change (and of the first one),
  rounded to the nearest of ``num_tempo_bins`` values from ``min_qpm`` to
  ``max_qpm``.
* ``Program`` (with ``use_programs``) comes before the first note at a
  position and whenever the program changes among the notes there; drums use
  ``Program_drums``. Notes at one position are ordered by program, then pitch.
* A note is ``Pitch Velocity Duration``; velocity goes to one of
  ``num_velocity_bins`` bins (see :class:`VelocityBins`), duration counts
  steps, 1 .. ``max_duration_quarters * steps_per_quarter``. With
  ``num_velocity_bins=0`` a note is ``Pitch Duration``.
* Section markers ``"A"`` .. ``"D"`` in ``score.markers`` become
  ``SECTION_<X>`` just before the ``Bar`` of the bar they fall in, and decode
  to a marker at that bar's start. ``score.metadata["style"]`` and
  ``["emotion"]`` become a leading ``STYLE_`` / ``EMOTION_`` token when they
  are in the vocabulary.

A pickup (``metadata["pickup_quarters"]``, set for anacruses in the music21
corpora) is written as the end of a full first bar, so ``Position_0`` is
always a downbeat; decoding therefore starts such a piece with a rest that
fills the first bar. Notes outside ``lowest_pitch .. highest_pitch`` are
dropped, notes longer than the longest duration are shortened, and drums are
left out without ``use_programs``; :meth:`REMITokenizer.encode_with_counts`
says how often each happened. On grid-aligned input with tempos on the tempo
grid and velocities at bin centres, decoding gives back exactly the notes,
tempos, time signatures and sections (those placed at bar starts).

A time-signature change inside a bar starts a new bar there (as
:meth:`QuantizedScore.bar_starts` does). The bar it cuts short is written
with the signature of its real length (three quarters of a 4/4 bar become a
3/4 bar), so every later note keeps its place; only when no signature in the
vocabulary has that length does the bar decode at full length and shift the
rest of the piece (counted as ``short_bars_unmatched``).

Special tokens for prompting and conditioning come first in the vocabulary:
``PAD`` (id 0), ``BOS``, ``EOS``, ``MASK``, ``PROMPT_START``, ``PROMPT_END``,
``SECTION_A`` .. ``SECTION_D``, ``STYLE_<name>``, ``EMOTION_<name>``.
``encode`` never adds ``BOS``/``EOS`` itself; ``decode`` skips ``PAD``,
``BOS``, ``MASK`` and the prompt brackets and stops at ``EOS``.
"""

import bisect

import numpy as np

from musickit.errors import UsageError
from musickit.music.quantization import QuantizedNote, QuantizedScore, quantize, unquantize
from musickit.music.score import DEFAULT_QPM, Score
from musickit.representations.base import Representation
from musickit.representations.conditions import DEFAULT_STYLES, EMOTION_CLASSES, LEGACY_EMOTION_NAMES, SECTION_LETTERS
from musickit.representations.velocity_bins import VelocityBins

SPECIAL_TOKENS = ("PAD", "BOS", "EOS", "MASK", "PROMPT_START", "PROMPT_END")
# Duple, triple and compound metres up to two whole notes per bar.
DEFAULT_TIME_SIGNATURES = tuple(
    [f"{numerator}/2" for numerator in range(1, 5)]
    + [f"{numerator}/4" for numerator in range(1, 9)]
    + [f"{numerator}/8" for numerator in range(1, 13)]
)
DRUMS = "drums"
# Token families, in vocabulary order after the special tokens.
FAMILIES = ("Bar", "Position", "Pitch", "Velocity", "Duration", "Tempo", "TimeSignature", "Program")


class REMITokenizer(Representation):
    """REMI+ tokens for single- and multi-instrument pieces, with prompt and conditioning tokens.

    Args:
        steps_per_quarter: grid resolution (4: sixteenth notes).
        lowest_pitch, highest_pitch: the Pitch tokens' range (piano: 21..108).
        num_velocity_bins: number of Velocity tokens; 0 writes none (notes
            are ``Pitch Duration`` and decode at the ``velocity`` given to
            :meth:`decode`): for corpora without dynamics, such as the music21
            Bach chorales, it saves a token per note.
        max_duration_quarters: longest Duration token, in quarter notes.
        min_qpm, max_qpm, num_tempo_bins: Tempo tokens, evenly spaced (the
            default 40..240 in steps of 4 holds 60, 100 and 120 exactly).
        time_signatures: the TimeSignature tokens, as ``"numerator/denominator"``
            strings; the longest bar sets the number of Position tokens.
        use_programs: write Program tokens (and keep drums); without them
            every note decodes as program 0.
        styles, emotions: the names behind STYLE_ and EMOTION_ tokens (by
            default :data:`~musickit.representations.conditions.DEFAULT_STYLES`
            and :data:`~musickit.representations.conditions.EMOTION_CLASSES`;
            the old emotion name ``"angry"`` is read as ``"tense"``).

    Example:

    >>> from musickit.music.score import Note, Score
    >>> tokenizer = REMITokenizer()
    >>> ids = tokenizer.encode(Score(notes=[Note(60, 90, 0.0, 0.5), Note(64, 90, 0.5, 1.0)]))
    >>> [tokenizer.id_to_token(i) for i in ids][:8]
    ['Bar', 'TimeSignature_4/4', 'Position_0', 'Tempo_120', 'Program_0', 'Pitch_60', 'Velocity_22', 'Duration_4']
    >>> [(n.pitch, n.start, n.end) for n in tokenizer.decode(ids).notes]
    [(60, 0.0, 0.5), (64, 0.5, 1.0)]

    References:
        - Huang & Yang, "Pop Music Transformer: Beat-based Modeling and
          Generation of Expressive Pop Piano Compositions", 2020 (REMI).
        - von Rütte et al., "FIGARO: Generating Symbolic Music with
          Fine-Grained Artistic Control", 2022 (REMI+).
    """

    def __init__(
        self,
        steps_per_quarter=4,
        lowest_pitch=21,
        highest_pitch=108,
        num_velocity_bins=32,
        max_duration_quarters=16,
        min_qpm=40.0,
        max_qpm=240.0,
        num_tempo_bins=51,
        time_signatures=DEFAULT_TIME_SIGNATURES,
        use_programs=True,
        styles=DEFAULT_STYLES,
        emotions=EMOTION_CLASSES,
    ):
        if int(steps_per_quarter) != steps_per_quarter or steps_per_quarter < 1:
            raise UsageError(f"steps_per_quarter must be a positive whole number, got {steps_per_quarter!r}")
        if not 0 <= lowest_pitch <= highest_pitch <= 127:
            raise UsageError(f"need 0 <= lowest_pitch <= highest_pitch <= 127, got {lowest_pitch}..{highest_pitch}")
        if int(num_velocity_bins) != num_velocity_bins or not 0 <= num_velocity_bins <= 127:
            raise UsageError(f"num_velocity_bins must be a whole number in 0..127 (0: no Velocity tokens), "
                             f"got {num_velocity_bins!r}")
        if not 0 < min_qpm <= max_qpm or num_tempo_bins < 1 or (num_tempo_bins == 1 and min_qpm != max_qpm):
            raise UsageError("need 0 < min_qpm <= max_qpm and num_tempo_bins >= 1 (one bin only when they are equal)")
        self.steps_per_quarter = int(steps_per_quarter)
        self.lowest_pitch = int(lowest_pitch)
        self.highest_pitch = int(highest_pitch)
        self.num_velocity_bins = int(num_velocity_bins)
        self.max_duration_quarters = max_duration_quarters
        self.min_qpm = float(min_qpm)
        self.max_qpm = float(max_qpm)
        self.num_tempo_bins = int(num_tempo_bins)
        self.time_signatures = tuple(_parse_time_signature(text) for text in time_signatures)
        self.use_programs = bool(use_programs)
        self.styles = tuple(str(name) for name in styles)
        # Tokenizers saved when EMOPIA's Q2 was called "angry" load with its current name; the id is the same.
        self.emotions = tuple(LEGACY_EMOTION_NAMES.get(str(name), str(name)) for name in emotions)
        self.max_duration_steps = round(max_duration_quarters * self.steps_per_quarter)
        if self.max_duration_steps < 1:
            raise UsageError(f"max_duration_quarters={max_duration_quarters} is shorter than one grid step")
        if not self.time_signatures:
            raise UsageError("time_signatures must name at least one signature, e.g. ['4/4']")

        self.tempo_values = np.linspace(self.min_qpm, self.max_qpm, self.num_tempo_bins)
        self.velocity_bins = VelocityBins(self.num_velocity_bins)
        self.num_positions = max(self._bar_steps(*signature) for signature in self.time_signatures)
        self._build_vocabulary()

    def get_config(self):
        return {
            "steps_per_quarter": self.steps_per_quarter,
            "lowest_pitch": self.lowest_pitch,
            "highest_pitch": self.highest_pitch,
            "num_velocity_bins": self.num_velocity_bins,
            "max_duration_quarters": self.max_duration_quarters,
            "min_qpm": self.min_qpm,
            "max_qpm": self.max_qpm,
            "num_tempo_bins": self.num_tempo_bins,
            "time_signatures": [f"{numerator}/{denominator}" for numerator, denominator in self.time_signatures],
            "use_programs": self.use_programs,
            "styles": list(self.styles),
            "emotions": list(self.emotions),
        }

    def _bar_steps(self, numerator, denominator):
        return max(1, round(numerator * 4 / denominator * self.steps_per_quarter))

    # Vocabulary.
    def _build_vocabulary(self):
        tokens = list(SPECIAL_TOKENS)
        tokens += [f"SECTION_{name}" for name in SECTION_LETTERS]
        tokens += [f"STYLE_{name}" for name in self.styles]
        tokens += [f"EMOTION_{name}" for name in self.emotions]
        families = {}

        def add(family, names):
            families[family] = (len(tokens), len(tokens) + len(names))
            tokens.extend(names)

        add("Bar", ["Bar"])
        add("Position", [f"Position_{position}" for position in range(self.num_positions)])
        add("Pitch", [f"Pitch_{pitch}" for pitch in range(self.lowest_pitch, self.highest_pitch + 1)])
        add("Velocity", [f"Velocity_{index}" for index in range(self.num_velocity_bins)])
        add("Duration", [f"Duration_{steps}" for steps in range(1, self.max_duration_steps + 1)])
        add("Tempo", [f"Tempo_{value:g}" for value in self.tempo_values])
        add("TimeSignature", [f"TimeSignature_{n}/{d}" for n, d in self.time_signatures])
        if self.use_programs:
            add("Program", [f"Program_{program}" for program in range(128)] + [f"Program_{DRUMS}"])
        self._tokens = tokens
        self._ids = {token: index for index, token in enumerate(tokens)}
        if len(self._ids) != len(tokens):
            raise UsageError("styles, emotions and time_signatures must not repeat a name")
        self._families = families
        self.vocabulary_size = len(tokens)
        # Offsets used on every encode/decode, kept as plain ints.
        self.bar_id = families["Bar"][0]
        self._position_offset = families["Position"][0]
        self._pitch_offset = families["Pitch"][0] - self.lowest_pitch
        self._velocity_offset = families["Velocity"][0]
        self._duration_offset = families["Duration"][0] - 1
        self._tempo_offset = families["Tempo"][0]
        self._time_signature_ids = {signature: self._ids[f"TimeSignature_{signature[0]}/{signature[1]}"]
                                    for signature in self.time_signatures}  # fmt: skip
        self._program_offset = families["Program"][0] if self.use_programs else None
        # Bar length in steps -> a signature of that length, preferring quarter-note beats.
        self._signature_for_length = {}
        for signature in sorted(self.time_signatures, key=lambda signature: (signature[1] != 4, signature[1])):
            self._signature_for_length.setdefault(self._bar_steps(*signature), signature)
        # id -> family name, for token_type() and for decoding without string work.
        self._type_of_id = list(tokens)
        for index, token in enumerate(tokens):
            for prefix in ("SECTION", "STYLE", "EMOTION"):
                if token.startswith(prefix + "_"):
                    self._type_of_id[index] = prefix
        for family, (start, stop) in families.items():
            self._type_of_id[start:stop] = [family] * (stop - start)

    @property
    def note_order(self):
        """The token kinds of one note, in the order they are written: ``("pitch", "velocity", "duration")``,
        or ``("pitch", "duration")`` with ``num_velocity_bins=0``."""
        return ("pitch", "velocity", "duration") if self.num_velocity_bins else ("pitch", "duration")

    @property
    def token_ranges(self):
        """``{family: (first id, last id + 1)}`` for Bar, Position, Pitch, Velocity, Duration, Tempo,
        TimeSignature and Program (when used): the id ranges a grammar mask needs."""
        return dict(self._families)

    def token_ids(self, family):
        """The ids of one family as a ``range``, e.g. ``token_ids("Position")``."""
        if family not in self._families:
            raise UsageError(f"unknown token family {family!r}; choose from {', '.join(self._families)}")
        return range(*self._families[family])

    def token_type(self, index):
        """The family of an id: ``"Pitch"``, ``"Bar"``, ..., ``"SECTION"``, ``"STYLE"``, ``"EMOTION"``, or a
        special token's own name (``"PAD"``, ``"BOS"``, ...)."""
        self._check_id(index)
        return self._type_of_id[int(index)]

    def id_to_token(self, index):
        """The name of an id, e.g. ``"Pitch_60"``."""
        self._check_id(index)
        return self._tokens[int(index)]

    def token_to_id(self, token):
        """The id of a token name such as ``"Position_4"`` or ``"STYLE_bach"``."""
        if token not in self._ids:
            raise UsageError(f"unknown REMI token {token!r}; names look like Pitch_60, Position_0 or STYLE_bach")
        return self._ids[token]

    def pitch_token_ids(self):
        """``{id: MIDI pitch}`` for every Pitch token (e.g. to mask pitches outside a key)."""
        return {index: index - self._pitch_offset for index in self.token_ids("Pitch")}

    def token_pitches(self):
        """An int32 array over the vocabulary: the MIDI pitch of Pitch tokens, -1 elsewhere."""
        pitches = np.full(self.vocabulary_size, -1, dtype=np.int32)
        pitch_ids = self.token_ids("Pitch")
        pitches[pitch_ids.start : pitch_ids.stop] = np.arange(self.lowest_pitch, self.highest_pitch + 1)
        return pitches

    def section_token_id(self, name):
        """Id of ``SECTION_<name>``, for ``name`` in ``"A"`` .. ``"D"``."""
        return self.token_to_id(f"SECTION_{name}")

    def style_token_id(self, name):
        return self.token_to_id(f"STYLE_{name}")

    def emotion_token_id(self, name):
        return self.token_to_id(f"EMOTION_{LEGACY_EMOTION_NAMES.get(name, name)}")

    def tempo_token_id(self, qpm):
        """Id of the Tempo token nearest to ``qpm``."""
        return self._tempo_offset + self._tempo_bin(qpm)

    def time_signature_token_id(self, numerator, denominator):
        return self.token_to_id(f"TimeSignature_{numerator}/{denominator}")

    @property
    def pad_id(self):
        return self._ids["PAD"]

    @property
    def bos_id(self):
        return self._ids["BOS"]

    @property
    def eos_id(self):
        return self._ids["EOS"]

    @property
    def mask_id(self):
        return self._ids["MASK"]

    @property
    def prompt_start_id(self):
        return self._ids["PROMPT_START"]

    @property
    def prompt_end_id(self):
        return self._ids["PROMPT_END"]

    def _check_id(self, index):
        if not 0 <= int(index) < self.vocabulary_size:
            raise UsageError(f"token id {index} is outside this vocabulary of {self.vocabulary_size} ids")

    def _tempo_bin(self, qpm):
        return int(np.abs(self.tempo_values - qpm).argmin())

    # Encoding.
    def encode(self, score):
        """Token ids (int32) of a :class:`Score` (or a :class:`QuantizedScore` on this grid)."""
        return self.encode_with_counts(score)[0]

    def encode_with_counts(self, score):
        """``(ids, counts)``; ``counts`` says how many notes or markers each rule touched.

        Example:

        >>> from musickit.music.score import Note, Score
        >>> _, counts = REMITokenizer().encode_with_counts(Score(notes=[Note(10, 90, 0.0, 1.0)]))
        >>> counts["out_of_range_notes_dropped"]
        1
        """
        quantized = self._quantize(score)
        counts = {
            "notes": len(quantized.notes),
            "drum_notes_excluded": 0,
            "out_of_range_notes_dropped": 0,
            "lengthened_zero_length_notes": int(quantized.counts.get("lengthened_zero_length_notes", 0)),
            "long_notes_shortened": 0,
            "markers_ignored": 0,
            "short_bars_renamed": 0,
            "short_bars_unmatched": 0,
        }
        notes = quantized.notes
        if not self.use_programs:
            counts["drum_notes_excluded"] = sum(note.is_drum for note in notes)
            notes = [note for note in notes if not note.is_drum]
        kept = [note for note in notes if self.lowest_pitch <= note.pitch <= self.highest_pitch]
        counts["out_of_range_notes_dropped"] = len(notes) - len(kept)
        offset = _pickup_offset(quantized)

        # One row per note: start, program key (drums last), pitch, duration, velocity.
        table = np.array(
            [
                (note.start_step, 128 if note.is_drum else note.program, note.pitch, note.end_step - note.start_step,
                 note.velocity)
                for note in kept
            ],
            dtype=np.int64,
        ).reshape(-1, 5)  # fmt: skip
        table = table[np.lexsort(table.T[::-1])]
        starts = table[:, 0] + offset
        durations = table[:, 3]
        counts["long_notes_shortened"] = int((durations > self.max_duration_steps).sum())
        note_starts = starts.tolist()
        pitch_ids = (table[:, 2] + self._pitch_offset).tolist()
        velocity_ids = None
        if self.num_velocity_bins:
            velocity_ids = (self.velocity_bins.bins_of(table[:, 4]) + self._velocity_offset).tolist()
        duration_ids = (np.clip(durations, 1, self.max_duration_steps) + self._duration_offset).tolist()
        program_ids = (table[:, 1] + self._program_offset).tolist() if self.use_programs else None

        def shifted(step):
            # Tempo, metre and sections given at the very start still hold from step 0, before the pickup.
            return step + offset if step > 0 else step

        tempos = _last_per_step((shifted(step), value) for step, value in quantized.tempos) or [(0, DEFAULT_QPM)]
        if tempos[0][0] > 0:
            tempos.insert(0, (0, tempos[0][1]))
        tempo_steps, tempo_ids, previous_bin = [], [], None
        for step, qpm in tempos:
            tempo_bin = self._tempo_bin(qpm)
            if tempo_bin != previous_bin:  # a change that rounds to the same bin says nothing
                tempo_steps.append(step)
                tempo_ids.append(self._tempo_offset + tempo_bin)
                previous_bin = tempo_bin
        signatures = []
        for step, signature in _last_per_step((shifted(step), (n, d)) for step, n, d in quantized.time_signatures):
            # A repeated signature (common in files with one per part) must not start a bar where it falls.
            if not signatures or signatures[-1][1] != signature:
                signatures.append((step, signature))
        markers = []
        for step, text in sorted(quantized.markers):
            if text in SECTION_LETTERS:
                markers.append((shifted(step), self._ids[f"SECTION_{text}"]))
            else:
                counts["markers_ignored"] += 1

        # Bars as QuantizedScore lays them out, over every step that carries an event.
        horizon = max([note_starts[-1] if note_starts else 0, tempo_steps[-1]]
                      + [step for step, _ in signatures] + [step for step, _ in markers]) + 1  # fmt: skip
        layout = QuantizedScore(
            [], self.steps_per_quarter, horizon,
            time_signatures=[(step, n, d) for step, (n, d) in signatures],
            metadata={},
        )  # fmt: skip
        bar_starts = layout.bar_starts()
        signature_steps = [step for step, _ in signatures]

        ids = []
        style, emotion = score.metadata.get("style"), score.metadata.get("emotion")
        if style is not None and f"STYLE_{style}" in self._ids:
            ids.append(self._ids[f"STYLE_{style}"])
        if emotion is not None and f"EMOTION_{emotion}" in self._ids:
            ids.append(self._ids[f"EMOTION_{emotion}"])
        note_count, tempo_count, marker_count = len(note_starts), len(tempo_steps), len(markers)
        note_index = tempo_index = marker_index = 0
        previous_signature, infinity = None, float("inf")
        for bar_number, bar_start in enumerate(bar_starts):
            bar_end = bar_starts[bar_number + 1] if bar_number + 1 < len(bar_starts) else infinity
            while marker_index < marker_count and markers[marker_index][0] < bar_end:
                ids.append(markers[marker_index][1])
                marker_index += 1
            ids.append(self.bar_id)
            signature_index = bisect.bisect_right(signature_steps, bar_start) - 1
            signature = signatures[signature_index][1] if signature_index >= 0 else (4, 4)
            if bar_end - bar_start < self._bar_steps(*signature):
                # A signature change cut this bar short: name the bar by its real length so decoding
                # keeps every later note in place.
                renamed = self._signature_for_length.get(bar_end - bar_start)
                if renamed:
                    signature = renamed
                    counts["short_bars_renamed"] += 1
                else:
                    counts["short_bars_unmatched"] += 1
            if signature != previous_signature:
                if signature not in self._time_signature_ids:
                    raise UsageError(
                        f"time signature {signature[0]}/{signature[1]} (bar {bar_number + 1}) is not in this "
                        f"tokenizer's vocabulary; add it with REMITokenizer(time_signatures=[...])"
                    )
                ids.append(self._time_signature_ids[signature])
                previous_signature = signature
            while True:
                next_note = note_starts[note_index] if note_index < note_count else infinity
                next_tempo = tempo_steps[tempo_index] if tempo_index < tempo_count else infinity
                step = min(next_note, next_tempo)
                if step >= bar_end:
                    break
                ids.append(self._position_offset + step - bar_start)
                if next_tempo == step:
                    ids.append(tempo_ids[tempo_index])
                    tempo_index += 1
                program = None
                while note_index < note_count and note_starts[note_index] == step:
                    if program_ids is not None and program_ids[note_index] != program:
                        program = program_ids[note_index]
                        ids.append(program)
                    if velocity_ids is None:
                        ids += (pitch_ids[note_index], duration_ids[note_index])
                    else:
                        ids += (pitch_ids[note_index], velocity_ids[note_index], duration_ids[note_index])
                    note_index += 1
        return np.asarray(ids, dtype=np.int32), counts

    def _quantize(self, score):
        if isinstance(score, QuantizedScore):
            if score.steps_per_quarter != self.steps_per_quarter:
                raise UsageError(
                    f"score is quantized to {score.steps_per_quarter} steps per quarter but this tokenizer uses "
                    f"{self.steps_per_quarter}; quantize the Score again or pass the Score itself"
                )
            return score
        if not isinstance(score, Score):
            raise UsageError(f"REMITokenizer.encode expects a musickit Score, got {type(score).__name__}")
        return quantize(score, self.steps_per_quarter)

    # Decoding.
    def decode(self, ids, velocity=90):
        """A :class:`Score` from token ids (see the module docstring for what is skipped).

        Model output need not be perfectly formed: a Pitch without a Velocity
        gets ``velocity``, one without a Duration lasts one step, and a
        Position before any Bar counts from the start of the piece.
        """
        return unquantize(self.decode_quantized(ids, velocity=velocity))

    def decode_quantized(self, ids, velocity=90):
        """Like :meth:`decode`, but return the :class:`QuantizedScore` (times in grid steps)."""
        ids = np.asarray(ids).reshape(-1).tolist()
        types = self._type_of_id
        eos_id = self.eos_id
        bar_start, bar_steps, started = 0, self._bar_steps(4, 4), False
        step, program, is_drum = 0, 0, False
        notes, tempos, signatures, markers, metadata = [], [], [], [], {}
        pending = None  # [pitch, velocity, start, program, is_drum] of a note awaiting its Duration

        def finish(duration):
            pitch, note_velocity, start, note_program, note_is_drum = pending
            notes.append(QuantizedNote(pitch, note_velocity, start, start + duration, note_program, note_is_drum))

        for index in ids:
            if not 0 <= index < self.vocabulary_size:
                raise UsageError(f"token id {index} is outside this vocabulary of {self.vocabulary_size} ids")
            kind = types[index]
            if kind == "Duration":
                if pending is not None:
                    finish(index - self._duration_offset)
                    pending = None
                continue
            if kind == "Velocity":
                if pending is not None:
                    pending[1] = self.velocity_bins.velocity_of(index - self._velocity_offset)
                continue
            if pending is not None:
                finish(1)
                pending = None
            if kind == "Pitch":
                pending = [index - self._pitch_offset, int(velocity), step, program, is_drum]
            elif kind == "Position":
                step = bar_start + index - self._position_offset
            elif kind == "Program":
                program, is_drum = index - self._program_offset, False
                if program == 128:
                    program, is_drum = 0, True
            elif kind == "Bar":
                if started:
                    bar_start += bar_steps
                started, step = True, bar_start
            elif kind == "TimeSignature":
                numerator, denominator = self.time_signatures[index - self._families["TimeSignature"][0]]
                signatures.append((bar_start, numerator, denominator))
                bar_steps = self._bar_steps(numerator, denominator)
            elif kind == "Tempo":
                tempos.append((step, float(self.tempo_values[index - self._tempo_offset])))
            elif kind == "SECTION":
                # The section begins with the Bar that follows its token.
                markers.append((bar_start + bar_steps if started else 0, self._tokens[index][len("SECTION_") :]))
            elif kind == "STYLE":
                metadata["style"] = self._tokens[index][len("STYLE_") :]
            elif kind == "EMOTION":
                metadata["emotion"] = self._tokens[index][len("EMOTION_") :]
            elif index == eos_id:
                break
        if pending is not None:
            finish(1)
        notes.sort(key=lambda note: (note.start_step, note.pitch, note.end_step))
        total_steps = max((note.end_step for note in notes), default=0)
        return QuantizedScore(
            notes=notes,
            steps_per_quarter=self.steps_per_quarter,
            total_steps=total_steps,
            tempos=_last_per_step(tempos),
            time_signatures=[(step, n, d) for step, (n, d) in _last_per_step((s, (n, d)) for s, n, d in signatures)],
            markers=markers,
            metadata=metadata,
        )


def _parse_time_signature(text):
    try:
        numerator, denominator = (int(part) for part in str(text).split("/"))
    except ValueError:
        raise UsageError(f"time signature {text!r} should look like '3/4'") from None
    if numerator < 1 or denominator < 1:
        raise UsageError(f"time signature {text!r} needs positive numbers")
    return numerator, denominator


def _pickup_offset(quantized):
    """Steps to delay a piece so that its pickup ends a full first bar (0 without a pickup)."""
    pickup_steps = round(quantized.metadata.get("pickup_quarters", 0) * quantized.steps_per_quarter)
    first_bar = quantized.steps_per_bar_at(0)
    return first_bar - pickup_steps if 0 < pickup_steps < first_bar else 0


def _last_per_step(items):
    """Sorted ``(step, value)`` pairs with one entry per step (the last one given wins)."""
    merged = {}
    for step, value in items:
        merged[step] = value
    return sorted(merged.items())
