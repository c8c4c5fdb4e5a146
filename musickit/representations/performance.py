"""Performance events: the Music Transformer vocabulary (Oore et al. 2018; Huang et al. 2018).

A piece becomes a stream of events in real time, not on a beat grid:

======================  =====================  ==========================================
event                   ids (default sizes)    meaning
======================  =====================  ==========================================
``NOTE_ON_<pitch>``     0 .. 127               a key goes down
``NOTE_OFF_<pitch>``    128 .. 255             a key comes up
``TIME_SHIFT_<steps>``  256 .. 355             time moves on by 1..100 steps of 10 ms
``VELOCITY_<bin>``      356 .. 387             following notes play at this loudness bin
``PAD BOS EOS``         388 .. 390             only with ``special_tokens=True``
======================  =====================  ==========================================

Times are rounded to the nearest time-shift step, so a round trip moves no
onset or release by more than half a step. A gap longer than the largest
shift is written as several shifts. A velocity event is written only when
the loudness bin changes. Events at one instant are written releases first
(so a note that ends where the next one of the same key starts stays two
notes), then attacks, each group by ascending pitch. A note that would round
to zero length keeps one step. Drum notes are left out unless
``include_drums``.
"""

import numpy as np

from musickit.errors import UsageError
from musickit.music.score import DEFAULT_QPM, Note, Score, TempoChange
from musickit.representations.base import Representation
from musickit.representations.grammar import TokenGrammar
from musickit.representations.velocity_bins import VelocityBins

NUM_PITCHES = 128
SPECIAL_TOKENS = ("PAD", "BOS", "EOS")


class MissingSpecialTokenError(UsageError, AttributeError):
    """Asked for ``pad_id``/``bos_id``/``eos_id`` of a tokenizer built without special tokens.

    It is an ``AttributeError`` too, so ``hasattr(tokenizer, "eos_id")`` is simply False.
    """


class PerformanceTokenizer(Representation):
    """Music Transformer performance events: NOTE_ON, NOTE_OFF, TIME_SHIFT, VELOCITY.

    Args:
        num_time_shifts: number of TIME_SHIFT events; the longest shift is
            ``num_time_shifts * time_shift_ms``.
        time_shift_ms: length of one time-shift step in milliseconds.
        num_velocity_bins: number of VELOCITY events, splitting 1..127 into
            equal bins; 0 leaves velocity out (every note decodes at one velocity).
        special_tokens: append PAD, BOS and EOS after the events.
        include_drums: keep drum notes (as NOTE_ON/NOTE_OFF of their drum number).

    Example:

    >>> from musickit.music.score import Note, Score
    >>> tokenizer = PerformanceTokenizer()
    >>> tokenizer.vocabulary_size
    388
    >>> ids = tokenizer.encode(Score(notes=[Note(60, 100, 0.0, 0.5)]))
    >>> [tokenizer.id_to_token(i) for i in ids]
    ['VELOCITY_24', 'NOTE_ON_60', 'TIME_SHIFT_50', 'NOTE_OFF_60']
    >>> [(n.pitch, n.velocity, n.start, n.end) for n in tokenizer.decode(ids).notes]
    [(60, 98, 0.0, 0.5)]

    References:
        - Oore et al., "This Time with Feeling: Learning Expressive Musical
          Performance", 2018.
        - Huang et al., "Music Transformer", 2018.
    """

    def __init__(
        self, num_time_shifts=100, time_shift_ms=10, num_velocity_bins=32, special_tokens=False, include_drums=False
    ):
        if int(num_time_shifts) != num_time_shifts or num_time_shifts < 1:
            raise UsageError(f"num_time_shifts must be a positive whole number, got {num_time_shifts!r}")
        if time_shift_ms <= 0:
            raise UsageError(f"time_shift_ms must be positive, got {time_shift_ms!r}")
        if int(num_velocity_bins) != num_velocity_bins or not 0 <= num_velocity_bins <= 127:
            raise UsageError(f"num_velocity_bins must be a whole number in 0..127, got {num_velocity_bins!r}")
        self.num_time_shifts = int(num_time_shifts)
        self.time_shift_ms = time_shift_ms
        self.num_velocity_bins = int(num_velocity_bins)
        self.special_tokens = bool(special_tokens)
        self.include_drums = bool(include_drums)

        self.note_on_offset = 0
        self.note_off_offset = NUM_PITCHES
        self.time_shift_offset = 2 * NUM_PITCHES
        self.velocity_offset = self.time_shift_offset + self.num_time_shifts
        self.special_offset = self.velocity_offset + self.num_velocity_bins
        self.vocabulary_size = self.special_offset + (len(SPECIAL_TOKENS) if self.special_tokens else 0)
        self._velocity_bins = VelocityBins(self.num_velocity_bins)
        self._tokens = self._build_tokens()
        self._ids = {token: index for index, token in enumerate(self._tokens)}
        self.grammar = self._build_grammar()

    def get_config(self):
        return {
            "num_time_shifts": self.num_time_shifts,
            "time_shift_ms": self.time_shift_ms,
            "num_velocity_bins": self.num_velocity_bins,
            "special_tokens": self.special_tokens,
            "include_drums": self.include_drums,
        }

    def _build_tokens(self):
        tokens = [f"NOTE_ON_{pitch}" for pitch in range(NUM_PITCHES)]
        tokens += [f"NOTE_OFF_{pitch}" for pitch in range(NUM_PITCHES)]
        tokens += [f"TIME_SHIFT_{steps}" for steps in range(1, self.num_time_shifts + 1)]
        tokens += [f"VELOCITY_{index}" for index in range(self.num_velocity_bins)]
        if self.special_tokens:
            tokens += list(SPECIAL_TOKENS)
        return tokens

    def _build_grammar(self):
        """Every id's kind and value: pitch (NOTE_ON), note_off, time_shift (steps), velocity (bin), other."""
        parts = [
            ("pitch", range(NUM_PITCHES)),
            ("note_off", range(NUM_PITCHES)),
            ("time_shift", range(1, self.num_time_shifts + 1)),
            ("velocity", range(self.num_velocity_bins)),
            ("other", [-1] * (self.vocabulary_size - self.special_offset)),
        ]
        kinds, values, ranges = [], [], {}
        for kind, kind_values in parts:
            ranges[kind] = (len(kinds), len(kinds) + len(kind_values))
            kinds += [kind] * len(kind_values)
            values += kind_values
        # Events may come in any order: no ``follows`` table, no bars.
        return TokenGrammar(kinds, values, ranges)

    # Vocabulary.
    @property
    def step_seconds(self):
        """Length of one time-shift step in seconds."""
        return self.time_shift_ms / 1000.0

    @property
    def token_ranges(self):
        """``{event name: (first id, last id + 1)}``, e.g. for masks over one kind of event."""
        ranges = {
            "NOTE_ON": (self.note_on_offset, self.note_off_offset),
            "NOTE_OFF": (self.note_off_offset, self.time_shift_offset),
            "TIME_SHIFT": (self.time_shift_offset, self.velocity_offset),
            "VELOCITY": (self.velocity_offset, self.special_offset),
        }
        if self.special_tokens:
            ranges["SPECIAL"] = (self.special_offset, self.vocabulary_size)
        return ranges

    def id_to_token(self, index):
        """The event name of an id, e.g. ``"NOTE_ON_60"``."""
        if not 0 <= int(index) < self.vocabulary_size:
            raise UsageError(f"token id {index} is outside this vocabulary of {self.vocabulary_size} ids")
        return self._tokens[int(index)]

    def token_to_id(self, token):
        """The id of an event name such as ``"TIME_SHIFT_100"``."""
        if token not in self._ids:
            raise UsageError(f"unknown performance token {token!r}; names look like NOTE_ON_60 or TIME_SHIFT_10")
        return self._ids[token]

    def _special_id(self, name):
        if not self.special_tokens:
            raise MissingSpecialTokenError(f"this tokenizer has no {name} token; create it with special_tokens=True")
        return self.special_offset + SPECIAL_TOKENS.index(name)

    @property
    def pad_id(self):
        return self._special_id("PAD")

    @property
    def bos_id(self):
        return self._special_id("BOS")

    @property
    def eos_id(self):
        return self._special_id("EOS")

    def velocity_bin(self, velocity):
        """The VELOCITY bin (0-based) of a MIDI velocity 1..127."""
        return self._velocity_bins.bin_of(velocity)

    def bin_velocity(self, velocity_bin):
        """The MIDI velocity a bin decodes to (the middle of the bin)."""
        return self._velocity_bins.velocity_of(velocity_bin)

    # Encoding.
    def encode(self, score):
        """Token ids (int32) of ``score``'s notes; special tokens are not added.

        Prepend ``bos_id`` / append ``eos_id`` yourself where a model wants them.
        """
        if not isinstance(score, Score):
            raise UsageError(f"PerformanceTokenizer.encode expects a musickit Score, got {type(score).__name__}")
        notes = score.notes if self.include_drums else [note for note in score.notes if not note.is_drum]
        if not notes:
            return np.zeros(0, dtype=np.int32)
        table = np.array([(note.pitch, note.velocity, note.start, note.end) for note in notes], dtype=np.float64)
        pitches = table[:, 0].astype(np.int64)
        if pitches.min() < 0 or pitches.max() >= NUM_PITCHES:
            raise UsageError(f"pitches must lie in 0..127, found {pitches.min()}..{pitches.max()}")
        starts = np.rint(table[:, 2] / self.step_seconds).astype(np.int64)
        ends = np.maximum(np.rint(table[:, 3] / self.step_seconds).astype(np.int64), starts + 1)
        if self.num_velocity_bins:
            velocity_bins = self._velocity_bins.bins_of(table[:, 1])
        else:
            velocity_bins = np.full(len(notes), -1)

        # One row per event: (step, is_attack, pitch, velocity bin); releases sort before attacks.
        count = len(notes)
        steps = np.concatenate([ends, starts])
        is_attack = np.concatenate([np.zeros(count, np.int64), np.ones(count, np.int64)])
        event_pitches = np.concatenate([pitches, pitches])
        event_bins = np.concatenate([np.full(count, -1), velocity_bins])
        order = np.lexsort((event_pitches, is_attack, steps))

        ids, current_step, current_bin = [], 0, -1
        shift_offset, max_shift = self.time_shift_offset - 1, self.num_time_shifts
        for step, attack, pitch, velocity_bin in zip(
            steps[order].tolist(), is_attack[order].tolist(), event_pitches[order].tolist(), event_bins[order].tolist()
        ):
            gap = step - current_step
            if gap:
                full, rest = divmod(gap, max_shift)
                ids.extend([shift_offset + max_shift] * full)
                if rest:
                    ids.append(shift_offset + rest)
                current_step = step
            if attack:
                if velocity_bin != current_bin and velocity_bin >= 0:
                    ids.append(self.velocity_offset + velocity_bin)
                    current_bin = velocity_bin
                ids.append(self.note_on_offset + pitch)
            else:
                ids.append(self.note_off_offset + pitch)
        return np.asarray(ids, dtype=np.int32)

    def decode(self, ids, velocity=90, program=0):
        """A :class:`Score` from token ids.

        Reading stops at EOS; PAD and BOS are skipped. A NOTE_OFF releases the
        earliest sounding note of its key, a NOTE_OFF with nothing sounding is
        ignored, and notes still sounding at the end are released there. A
        note released at the instant it starts lasts one step. Notes before
        any VELOCITY event (or every note, without velocity bins) get
        ``velocity``.
        """
        ids = np.asarray(ids).reshape(-1).tolist()
        step, current_velocity = 0, int(velocity)
        sounding = {}  # pitch -> [(start step, velocity)], oldest first
        finished = []  # (start step, end step, pitch, velocity)
        for index in ids:
            if not 0 <= index < self.vocabulary_size:
                raise UsageError(f"token id {index} is outside this vocabulary of {self.vocabulary_size} ids")
            if index < self.note_off_offset:
                sounding.setdefault(index - self.note_on_offset, []).append((step, current_velocity))
            elif index < self.time_shift_offset:
                pitch = index - self.note_off_offset
                if sounding.get(pitch):
                    start, note_velocity = sounding[pitch].pop(0)
                    finished.append((start, max(step, start + 1), pitch, note_velocity))
            elif index < self.velocity_offset:
                step += index - self.time_shift_offset + 1
            elif index < self.special_offset:
                current_velocity = self._velocity_bins.velocity_of(index - self.velocity_offset)
            elif index == self.special_offset + SPECIAL_TOKENS.index("EOS"):
                break
        for pitch, starts in sounding.items():
            finished.extend((start, max(step, start + 1), pitch, note_velocity) for start, note_velocity in starts)
        finished.sort()
        seconds = self.step_seconds
        notes = [
            Note(pitch, note_velocity, start * seconds, end * seconds, int(program))
            for start, end, pitch, note_velocity in finished
        ]
        return Score(notes=notes, tempos=[TempoChange(0.0, DEFAULT_QPM)])
