"""Reading and writing Standard MIDI Files.

pretty_midi (over mido) does the parsing. This module adds the two things a
toolkit needs around it: every failure becomes one :class:`MidiReadError`
that names the file and the reason, and the result is a plain
:class:`~musickit.music.score.Score`, including the marker events that carry
section labels (pretty_midi drops those).
"""

import io
import os
import warnings

import mido
import pretty_midi

from musickit.errors import MidiReadError
from musickit.music.score import KeySignature, Marker, Note, Score, TempoChange, TimeSignature
from musickit.utils.atomic import atomic_path

WRITE_RESOLUTION = 480


def _check_header(data):
    """Reject what mido would misread or report obscurely; return a reason or None."""
    if not data:
        return "empty file"
    start = 0
    if data[:4] == b"RIFF":  # RMID: a standard MIDI file wrapped in a RIFF chunk.
        start = data.find(b"MThd")
        if start < 0:
            return "RIFF file without a MIDI chunk"
    if data[start : start + 4] != b"MThd":
        return "not a MIDI file (no MThd header)"
    if len(data) < start + 14:
        return "truncated header"
    if len(data) == start + 14 or int.from_bytes(data[start + 10 : start + 12], "big") == 0:
        return "header only: the file holds no tracks, so no notes or events"
    division = int.from_bytes(data[start + 12 : start + 14], "big")
    if division & 0x8000:
        return "SMPTE time division is not supported (only ticks per quarter note)"
    if division == 0:
        return "invalid header: zero ticks per quarter note"
    return None


def _describe(error):
    if isinstance(error, EOFError):
        return "truncated file (a track ends before its declared length)"
    text = str(error).strip() or type(error).__name__
    return f"unreadable MIDI data ({text})"


def read_midi(path):
    """Read a MIDI file into a :class:`Score`.

    Raises :class:`MidiReadError` (a ``ValueError``) naming the file and the
    reason for anything that is not a readable MIDI file: a missing or empty
    file, non-MIDI bytes, truncated tracks, bad data bytes, SMPTE timing.
    Whatever pretty_midi can read, this reads too.

    Example:

    >>> score = read_midi("chorale.mid")  # doctest: +SKIP
    >>> len(score.notes), score.initial_qpm  # doctest: +SKIP
    (238, 100.0)
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise MidiReadError(path, "file does not exist")
    if os.path.isdir(path):
        raise MidiReadError(path, "is a folder, not a file")
    with open(path, "rb") as handle:
        data = handle.read()
    reason = _check_header(data)
    if reason:
        raise MidiReadError(path, reason)
    if data[:4] == b"RIFF":  # RMID: hand mido the wrapped standard MIDI file only
        data = data[data.find(b"MThd") :]
    try:
        with warnings.catch_warnings():
            # pretty_midi warns about tempo events outside track 0 (type-2 and
            # sloppy type-1 files); the file is still read, so stay quiet.
            warnings.simplefilter("ignore")
            midi_file = mido.MidiFile(file=io.BytesIO(data))
            pretty = pretty_midi.PrettyMIDI(mido_object=midi_file)
    except Exception as error:  # noqa: BLE001 - any parser failure is a read error by contract
        raise MidiReadError(path, _describe(error)) from None
    # pretty_midi has turned mido's delta times into absolute ticks in place.
    markers = [
        Marker(float(pretty.tick_to_time(message.time)), message.text)
        for track in midi_file.tracks
        for message in track
        if message.type == "marker"
    ]
    score = from_pretty_midi(pretty)
    score.markers = sorted(markers, key=lambda marker: marker.time)
    score.metadata["source_path"] = path
    return score


def from_pretty_midi(pretty):
    """Convert a ``pretty_midi.PrettyMIDI`` object into a :class:`Score`."""
    notes = []
    for index, instrument in enumerate(pretty.instruments):
        for note in instrument.notes:
            notes.append(
                Note(
                    pitch=int(note.pitch),
                    velocity=int(note.velocity),
                    start=float(note.start),
                    end=float(note.end),
                    program=int(instrument.program),
                    is_drum=bool(instrument.is_drum),
                    instrument=index,
                )
            )
    notes.sort(key=lambda note: (note.start, note.pitch))
    change_times, tempi = pretty.get_tempo_changes()
    tempos = [TempoChange(float(time), float(qpm)) for time, qpm in zip(change_times, tempi)]
    time_signatures = [
        TimeSignature(float(change.time), int(change.numerator), int(change.denominator))
        for change in pretty.time_signature_changes
    ]
    key_signatures = [
        KeySignature(float(change.time), _normalise_key_name(pretty_midi.key_number_to_key_name(change.key_number)))
        for change in pretty.key_signature_changes
    ]
    metadata = {}
    if pretty.lyrics:
        metadata["lyrics"] = [(float(lyric.time), lyric.text) for lyric in pretty.lyrics]
    return Score(
        notes=notes, tempos=tempos, time_signatures=time_signatures, key_signatures=key_signatures, metadata=metadata
    )


def _normalise_key_name(name):
    tonic, mode = name.split()
    return f"{tonic} {mode.lower()}"


def to_pretty_midi(score, resolution=WRITE_RESOLUTION):
    """Convert a :class:`Score` into ``pretty_midi.PrettyMIDI``, tempo changes included."""
    pretty = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=score.initial_qpm)
    tempos = sorted(score.tempos, key=lambda tempo: tempo.time) or [TempoChange(0.0, score.initial_qpm)]
    # pretty_midi has no public API for tempo changes; its writer emits one
    # set_tempo per entry of _tick_scales (tick, seconds per tick).
    pretty._tick_scales = [
        (int(round(score.seconds_to_quarters(tempo.time) * resolution)), 60.0 / (tempo.qpm * resolution))
        for tempo in tempos
    ]
    end_quarters = score.seconds_to_quarters(max(score.end_time, *(m.time for m in score.markers), 0.0))
    pretty._update_tick_to_time(int(end_quarters * resolution) + resolution)

    tracks = {}
    for note in score.notes:
        key = (note.instrument, note.program, note.is_drum)
        if key not in tracks:
            tracks[key] = pretty_midi.Instrument(program=note.program, is_drum=note.is_drum)
        tracks[key].notes.append(
            pretty_midi.Note(velocity=int(note.velocity), pitch=int(note.pitch), start=note.start, end=note.end)
        )
    pretty.instruments = [tracks[key] for key in sorted(tracks)]
    pretty.time_signature_changes = [
        pretty_midi.TimeSignature(signature.numerator, signature.denominator, signature.time)
        for signature in score.time_signatures
    ]
    pretty.key_signature_changes = [
        pretty_midi.KeySignature(pretty_midi.key_name_to_key_number(signature.key), signature.time)
        for signature in score.key_signatures
    ]
    return pretty


def write_midi(score, path):
    """Write ``score`` to ``path`` atomically (a temporary file, then a rename).

    Section markers in ``score.markers`` become MIDI marker meta events.

    Example:

    >>> from musickit.music.score import Note, Score
    >>> write_midi(Score(notes=[Note(60, 90, 0.0, 1.0)]), "/tmp/one_note.mid")
    """
    pretty = to_pretty_midi(score)
    buffer = io.BytesIO()
    pretty.write(buffer)
    midi_file = mido.MidiFile(file=io.BytesIO(buffer.getvalue()))
    if score.markers:
        _add_markers(midi_file, score.markers, pretty)
    with atomic_path(path) as temporary:
        midi_file.save(temporary)


def _add_markers(midi_file, markers, pretty):
    track = midi_file.tracks[0]
    absolute, time = [], 0
    for message in track:
        time += message.time
        absolute.append((time, message))
    for marker in markers:
        tick = int(pretty.time_to_tick(marker.time))
        absolute.append((tick, mido.MetaMessage("marker", text=marker.text, time=0)))
    # end_of_track must stay last; a stable sort keeps markers before it at equal ticks.
    absolute.sort(key=lambda item: (item[0], item[1].type == "end_of_track"))
    track.clear()
    previous = 0
    for tick, message in absolute:
        track.append(message.copy(time=tick - previous))
        previous = tick
