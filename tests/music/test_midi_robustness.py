"""``read_midi`` over real-world MIDI of every kind: each file gives a Score or a MidiReadError, nothing else.

Files are built here, with mido or byte by byte, so every case is known
exactly: the three SMF types, running status, dense tempo maps, drums,
lyrics, markers, RIFF-wrapped RMID, and corrupt files of many kinds.
"""

import struct
import warnings

import mido
import pretty_midi
import pytest

from musickit.data.sources import read_scores
from musickit.errors import MidiReadError
from musickit.music.midi_io import read_midi
from musickit.music.score import Score


def chunk(kind, payload):
    return kind + struct.pack(">I", len(payload)) + payload


def header(file_type=0, tracks=1, division=480):
    return chunk(b"MThd", struct.pack(">HHH", file_type, tracks, division))


END_OF_TRACK = b"\x00\xff\x2f\x00"
# Delta times below 128 ticks fit in one byte, so events are easy to spell out.
TWO_NOTES = b"\x00\x90\x3c\x40" + b"\x60\x80\x3c\x00" + b"\x00\x90\x40\x40" + b"\x60\x80\x40\x00"


def mido_file(file_type, tracks, ticks_per_beat=480):
    midi = mido.MidiFile(type=file_type, ticks_per_beat=ticks_per_beat)
    for messages in tracks:
        track = mido.MidiTrack()
        track.extend(messages)
        midi.tracks.append(track)
    return midi


def notes(pitches, channel=0, length=240):
    messages = []
    for pitch in pitches:
        messages.append(mido.Message("note_on", note=pitch, velocity=80, channel=channel, time=0))
        messages.append(mido.Message("note_off", note=pitch, velocity=0, channel=channel, time=length))
    return messages


def tempo(bpm, time=0):
    return mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=time)


def build_readable(folder):
    """Write every valid file; return ``{file name: expected note count}``."""
    expected = {}

    def save(name, midi, count):
        midi.save(str(folder / name))
        expected[name] = count

    save("type0.mid", mido_file(0, [[tempo(100)] + notes([60, 62], channel=0) + notes([48], channel=1)]), 3)
    save("type1.mid", mido_file(1, [[tempo(90)], notes([60, 64, 67]), notes([36, 43], channel=1)]), 5)
    save("type2.mid", mido_file(2, [[tempo(120)] + notes([60, 62]), [tempo(60)] + notes([70])]), 3)
    many = [tempo(60 + index, time=10) for index in range(300)]
    save("many_tempos.mid", mido_file(1, [many, notes(range(40, 80), length=60)]), 40)
    save("drums.mid", mido_file(1, [[tempo(120)], notes([36, 38, 42], channel=9), notes([60])]), 4)
    lyrics = [mido.MetaMessage("lyrics", text=syllable, time=120) for syllable in ("Hal", "le", "lu", "jah")]
    save("lyrics.mid", mido_file(1, [lyrics, notes([60, 62, 64, 65])]), 4)
    markers = [mido.MetaMessage("marker", text="A", time=0), mido.MetaMessage("marker", text="B", time=960)]
    save("markers.mid", mido_file(1, [markers, notes([60, 62, 64, 65])]), 4)
    # Running status: after the first 0x90 the status byte is left out (note-off as velocity 0).
    running = b"\x00\x90\x3c\x40" + b"\x60\x3c\x00" + b"\x00\x3e\x40" + b"\x60\x3e\x00" + END_OF_TRACK
    (folder / "running_status.mid").write_bytes(header() + chunk(b"MTrk", running))
    expected["running_status.mid"] = 2
    smf = header() + chunk(b"MTrk", TWO_NOTES + END_OF_TRACK)
    riff = b"RMID" + chunk(b"data", smf)
    (folder / "rmid.mid").write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    expected["rmid.mid"] = 2
    (folder / "no_notes.midi").write_bytes(header() + chunk(b"MTrk", END_OF_TRACK))
    expected["no_notes.midi"] = 0
    return expected


def build_corrupt(folder):
    """Write every broken file; return ``{file name: words the reason must contain}``."""
    track = chunk(b"MTrk", TWO_NOTES + END_OF_TRACK)
    files = {
        "empty.mid": (b"", "empty file"),
        "text.mid": (b"hello, I am not a MIDI file at all", "not a MIDI file"),
        "truncated_track.mid": (header() + b"MTrk" + struct.pack(">I", 400) + TWO_NOTES, "truncated"),
        "truncated_header.mid": (b"MThd\x00\x00\x00\x06\x00", "truncated header"),
        "data_byte_over_127.mid": (header() + chunk(b"MTrk", b"\x00\x90\x3c\xc8" + END_OF_TRACK), "data byte"),
        "smpte.mid": (header(division=0xE250) + track, "SMPTE"),
        "zero_division.mid": (header(division=0) + track, "zero ticks per quarter"),
        "riff_without_midi.mid": (b"RIFF\x04\x00\x00\x00RMID", "RIFF file without a MIDI chunk"),
        "bad_chunk.mid": (header() + b"XXXX" + struct.pack(">I", 4) + b"\x00\x01\x02\x03", "MTrk"),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    return {name: words for name, (_, words) in files.items()}


@pytest.fixture
def midi_folder(tmp_path):
    readable = build_readable(tmp_path)
    corrupt = build_corrupt(tmp_path)
    return tmp_path, readable, corrupt


def read_or_error(path):
    """What read_midi gives: a Score or a MidiReadError; any other exception fails the test."""
    try:
        return read_midi(path)
    except MidiReadError as error:
        return error


def test_every_file_gives_a_score_or_a_midi_read_error_naming_it(midi_folder):
    folder, readable, corrupt = midi_folder
    for path in sorted(folder.iterdir()):
        result = read_or_error(path)
        assert isinstance(result, (Score, MidiReadError)), path.name
        if isinstance(result, MidiReadError):
            assert result.path == str(path) and str(path) in str(result) and "\n" not in str(result)


def test_readable_files_keep_their_notes_and_events(midi_folder):
    folder, readable, _ = midi_folder
    for name, count in readable.items():
        score = read_midi(folder / name)
        assert len(score.notes) == count, name
    assert len(read_midi(folder / "many_tempos.mid").tempos) >= 300
    drums = read_midi(folder / "drums.mid")
    assert sorted(note.pitch for note in drums.notes if note.is_drum) == [36, 38, 42]
    assert [text for _, text in read_midi(folder / "lyrics.mid").metadata["lyrics"]] == ["Hal", "le", "lu", "jah"]
    markers = read_midi(folder / "markers.mid").markers
    assert [(marker.text, round(marker.time, 6)) for marker in markers] == [("A", 0.0), ("B", 1.0)]
    assert [note.pitch for note in read_midi(folder / "running_status.mid").notes] == [60, 62]
    assert [note.pitch for note in read_midi(folder / "rmid.mid").notes] == [60, 64]


def test_corrupt_files_raise_midi_read_error_with_the_reason(midi_folder):
    folder, _, corrupt = midi_folder
    for name, words in corrupt.items():
        with pytest.raises(MidiReadError) as caught:
            read_midi(folder / name)
        assert words in caught.value.reason, (name, caught.value.reason)


def test_whatever_pretty_midi_reads_musickit_reads(midi_folder):
    folder, _, _ = midi_folder
    agreed = 0
    for path in sorted(folder.iterdir()):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pretty_midi warns about the type-2 file's tempo events
                pretty = pretty_midi.PrettyMIDI(str(path))
        except Exception:  # noqa: BLE001 - only files pretty_midi accepts matter here
            continue
        score = read_midi(path)
        assert len(score.notes) == sum(len(instrument.notes) for instrument in pretty.instruments), path.name
        agreed += 1
    assert agreed >= 9


def test_missing_file_and_folder_are_read_errors(tmp_path):
    with pytest.raises(MidiReadError, match="does not exist"):
        read_midi(tmp_path / "absent.mid")
    with pytest.raises(MidiReadError, match="folder"):
        read_midi(tmp_path)


def test_folder_source_loads_every_readable_file_and_counts_the_rest(midi_folder, caplog):
    folder, readable, corrupt = midi_folder
    with caplog.at_level("WARNING", logger="musickit.data"):
        collection = read_scores(str(folder))
    assert sorted(piece.name for piece in collection.pieces) == sorted(readable)
    assert sorted(name for name, _ in collection.skipped) == sorted(corrupt)
    assert len(caplog.records) == len(corrupt) + 1
    assert (
        caplog.records[-1]
        .getMessage()
        .endswith(f"read {len(readable)} of {len(readable) + len(corrupt)} pieces, skipped {len(corrupt)} unreadable")
    )
