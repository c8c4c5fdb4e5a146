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

import numpy as np

from musickit.errors import UsageError
from musickit.music.quantization import unquantize
from musickit.music.score import DEFAULT_QPM
from musickit.representations import remi_timeline as timeline
from musickit.representations.base import Representation
from musickit.representations.conditions import DEFAULT_STYLES, EMOTION_CLASSES, LEGACY_EMOTION_NAMES, SECTION_LETTERS
from musickit.representations.grammar import TokenGrammar, remi_follows
from musickit.representations.remi_decoding import read_remi
from musickit.representations.remi_encoding import bar_tokens
from musickit.representations.remi_vocabulary import (
    DRUMS,
    FAMILIES,
    FAMILY_KINDS,
    LEADING_FAMILIES,
    SPECIAL_TOKENS,
    build_vocabulary,
)
from musickit.representations.velocity_bins import VelocityBins

# The token names, families and their order (build_vocabulary) live in musickit.representations.remi_vocabulary;
# their names stay importable from here.
__all__ = [
    "DEFAULT_TIME_SIGNATURES",
    "DRUMS",
    "ENCODE_COUNTS",
    "FAMILIES",
    "FAMILY_KINDS",
    "LEADING_FAMILIES",
    "SPECIAL_TOKENS",
    "REMITokenizer",
]

# Duple, triple and compound metres up to two whole notes per bar.
DEFAULT_TIME_SIGNATURES = tuple(
    [f"{numerator}/2" for numerator in range(1, 5)]
    + [f"{numerator}/4" for numerator in range(1, 9)]
    + [f"{numerator}/8" for numerator in range(1, 13)]
)
ENCODE_COUNTS = (
    "notes",
    "drum_notes_excluded",
    "out_of_range_notes_dropped",
    "lengthened_zero_length_notes",
    "long_notes_shortened",
    "markers_ignored",
    "short_bars_renamed",
    "short_bars_unmatched",
)


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
        merge_unisons: write two notes of one pitch that start together on
            one instrument (two voices in unison) as one note, the longer:
            MIDI sounds them as one key, so the second token says nothing a
            listener hears.
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

    The vocabulary is described id by id in :attr:`grammar` (a
    :class:`~musickit.representations.grammar.TokenGrammar`: each id's kind and
    value, the family ranges, which kind may follow which) for logits processors.

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
        merge_unisons=False,
    ):
        if int(steps_per_quarter) != steps_per_quarter or steps_per_quarter < 1:
            raise UsageError(f"steps_per_quarter must be a positive whole number, got {steps_per_quarter!r}")
        if not 0 <= lowest_pitch <= highest_pitch <= 127:
            raise UsageError(f"need 0 <= lowest_pitch <= highest_pitch <= 127, got {lowest_pitch}..{highest_pitch}")
        if int(num_velocity_bins) != num_velocity_bins or not 0 <= num_velocity_bins <= 127:
            raise UsageError(
                f"num_velocity_bins must be a whole number in 0..127 (0: no Velocity tokens), got {num_velocity_bins!r}"
            )
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
        self.time_signatures = tuple(timeline.parse_time_signature(text) for text in time_signatures)
        self.use_programs = bool(use_programs)
        self.merge_unisons = bool(merge_unisons)
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
        self.num_positions = max(self.bar_steps(*signature) for signature in self.time_signatures)
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
            "merge_unisons": self.merge_unisons,
            "styles": list(self.styles),
            "emotions": list(self.emotions),
        }

    def bar_steps(self, numerator, denominator):
        """The length in grid steps of a bar in ``numerator/denominator`` (at least one step)."""
        return max(1, round(numerator * 4 / denominator * self.steps_per_quarter))

    # Vocabulary.
    def _build_vocabulary(self):
        vocabulary = build_vocabulary(self)
        tokens, families = vocabulary.tokens, vocabulary.families
        self._tokens = tokens
        self._ids = {token: index for index, token in enumerate(tokens)}
        if len(self._ids) != len(tokens):
            raise UsageError("styles, emotions and time_signatures must not repeat a name")
        self._families = families
        self._type_of_id = vocabulary.types
        self.vocabulary_size = len(tokens)
        self.grammar = TokenGrammar(
            vocabulary.kinds,
            vocabulary.values,
            vocabulary.ranges,
            follows=remi_follows(self.note_order),
            note_order=self.note_order,
            default_bar_steps=self.bar_steps(4, 4),
        )
        # Offsets used on every encode, kept as plain ints.
        self.bar_id = families["Bar"][0]
        self.position_offset = families["Position"][0]
        self._pitch_offset = families["Pitch"][0] - self.lowest_pitch
        self._velocity_offset = families["Velocity"][0]
        self._duration_offset = families["Duration"][0] - 1
        self._tempo_offset = families["Tempo"][0]
        self.time_signature_ids = {
            signature: families["TimeSignature"][0] + index for index, signature in enumerate(self.time_signatures)
        }
        self._program_offset = families["Program"][0] if self.use_programs else None
        # Bar length in steps -> a signature of that length, preferring quarter-note beats.
        self.signature_for_length = {}
        for signature in sorted(self.time_signatures, key=lambda signature: (signature[1] != 4, signature[1])):
            self.signature_for_length.setdefault(self.bar_steps(*signature), signature)

    @property
    def note_order(self):
        """The token kinds of one note, in the order they are written: ``("pitch", "velocity", "duration")``,
        or ``("pitch", "duration")`` with ``num_velocity_bins=0``."""
        return ("pitch", "velocity", "duration") if self.num_velocity_bins else ("pitch", "duration")

    @property
    def token_ranges(self):
        """``{family: (first id, last id + 1)}`` for Bar, Position, Pitch, Velocity, Duration, Tempo,
        TimeSignature and Program (when used). :attr:`grammar` describes every id."""
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
        if token not in self._ids and token.startswith("EMOTION_"):
            token = "EMOTION_" + LEGACY_EMOTION_NAMES.get(token[len("EMOTION_") :], token[len("EMOTION_") :])
        if token not in self._ids:
            raise UsageError(f"unknown REMI token {token!r}; names look like Pitch_60, Position_0 or STYLE_bach")
        return self._ids[token]

    def pitch_token_ids(self):
        """``{id: MIDI pitch}`` for every Pitch token (e.g. to mask pitches outside a key)."""
        return {index: index - self._pitch_offset for index in self.token_ids("Pitch")}

    def token_pitches(self):
        """An int32 array over the vocabulary: the MIDI pitch of Pitch tokens, -1 elsewhere."""
        return self.grammar.pitches()

    def section_token_id(self, name):
        """Id of ``SECTION_<name>``, for ``name`` in ``"A"`` .. ``"D"``."""
        return self.token_to_id(f"SECTION_{name}")

    def style_token_id(self, name):
        return self.token_to_id(f"STYLE_{name}")

    def emotion_token_id(self, name):
        return self.token_to_id(f"EMOTION_{name}")

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

    # Encoding: the piece's timed events (remi_timeline), then bar by bar (remi_encoding).
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
        quantized = timeline.quantized_on_grid(score, self.steps_per_quarter)
        counts = dict.fromkeys(ENCODE_COUNTS, 0)
        counts["notes"] = len(quantized.notes)
        counts["lengthened_zero_length_notes"] = int(quantized.counts.get("lengthened_zero_length_notes", 0))
        offset = timeline.pickup_offset(quantized)
        notes = self._note_events(self._notes_to_write(quantized.notes, counts), offset, counts)
        tempos = self._tempo_events(quantized, offset)
        signatures = timeline.signature_changes(quantized, offset)
        markers = self._marker_events(quantized, offset, counts)
        horizon = (
            max(
                [notes[-1][0] if notes else 0, tempos[-1][0]]
                + [step for step, _ in signatures]
                + [step for step, _ in markers]
            )
            + 1
        )
        bars = timeline.bar_starts(self.steps_per_quarter, horizon, signatures)
        ids = self._condition_tokens(score.metadata)
        ids += bar_tokens(self, bars, signatures, markers, notes, tempos, counts)
        return np.asarray(ids, dtype=np.int32), counts

    def _notes_to_write(self, notes, counts):
        """The notes this vocabulary can write: drums only with programs, pitches inside the range."""
        if not self.use_programs:
            counts["drum_notes_excluded"] = sum(note.is_drum for note in notes)
            notes = [note for note in notes if not note.is_drum]
        kept = [note for note in notes if self.lowest_pitch <= note.pitch <= self.highest_pitch]
        counts["out_of_range_notes_dropped"] = len(notes) - len(kept)
        if self.merge_unisons:
            # The longer of two unison notes, in the notes' own order (the first of equal lengths).
            longest = {}
            for note in kept:
                key = (note.start_step, note.pitch, note.program if self.use_programs else 0, note.is_drum)
                if key not in longest or note.end_step > longest[key].end_step:
                    longest[key] = note
            chosen = {id(note) for note in longest.values()}
            counts["unisons_merged"] = len(kept) - len(chosen)  # a count only a merging tokenizer reports
            kept = [note for note in kept if id(note) in chosen]
        return kept

    def _note_events(self, notes, offset, counts):
        """``[(start step, program id or None, note ids)]`` in writing order; long notes are shortened."""
        table = timeline.note_table(notes, offset)
        lengths = table[:, timeline.LENGTH]
        counts["long_notes_shortened"] = int((lengths > self.max_duration_steps).sum())
        columns = [table[:, timeline.PITCH] + self._pitch_offset]
        if self.num_velocity_bins:
            columns.append(self.velocity_bins.bins_of(table[:, timeline.VELOCITY]) + self._velocity_offset)
        columns.append(np.clip(lengths, 1, self.max_duration_steps) + self._duration_offset)
        note_ids = np.stack(columns, axis=1).tolist() if len(table) else []
        programs = (table[:, timeline.PROGRAM] + self._program_offset).tolist() if self.use_programs else None
        return [
            (start, programs[number] if programs else None, note_ids[number])
            for number, start in enumerate(table[:, timeline.START].tolist())
        ]

    def _tempo_events(self, quantized, offset):
        """``[(step, Tempo id)]`` from step 0, leaving out changes that round to the tempo bin in force."""
        events, previous_bin = [], None
        for step, qpm in timeline.tempo_changes(quantized, offset, DEFAULT_QPM):
            tempo_bin = self._tempo_bin(qpm)
            if tempo_bin != previous_bin:
                events.append((step, self._tempo_offset + tempo_bin))
                previous_bin = tempo_bin
        return events

    def _marker_events(self, quantized, offset, counts):
        """``[(step, SECTION id)]`` for the section markers; other markers are counted and ignored."""
        events = []
        for step, text in sorted(quantized.markers):
            if text in SECTION_LETTERS:
                events.append((timeline.shifted(step, offset), self._ids[f"SECTION_{text}"]))
            else:
                counts["markers_ignored"] += 1
        return events

    def _condition_tokens(self, metadata):
        """The leading STYLE_ and EMOTION_ ids for the piece's labels that are in the vocabulary."""
        style, emotion = metadata.get("style"), metadata.get("emotion")
        names = [
            f"STYLE_{style}" if style is not None else None,
            f"EMOTION_{LEGACY_EMOTION_NAMES.get(str(emotion), emotion)}" if emotion is not None else None,
        ]
        return [self._ids[name] for name in names if name in self._ids]

    # Decoding.
    def decode(self, ids, velocity=90):
        """A :class:`Score` from token ids; tolerant of model mistakes (see
        :func:`~musickit.representations.remi_decoding.read_remi`)."""
        return unquantize(self.decode_quantized(ids, velocity=velocity))

    def decode_quantized(self, ids, velocity=90):
        """Like :meth:`decode`, but return the :class:`QuantizedScore` (times in grid steps)."""
        return read_remi(self, ids, velocity=velocity)
