"""Score I/O at the edges (pretty_midi, music21), quantization, transposition, keys, sections."""

from musickit.music.keys import estimate_key, parse_key, pitch_class_histogram, scale_pitch_classes
from musickit.music.midi_io import from_pretty_midi, read_midi, to_pretty_midi, write_midi
from musickit.music.music21_io import from_music21
from musickit.music.quantization import QuantizedNote, QuantizedScore, quantize, unquantize
from musickit.music.score import KeySignature, Marker, Note, Score, TempoChange, TimeSignature
from musickit.music.sections import label_sections, section_scores, slice_score
from musickit.music.transposition import transpose, transposition_range

__all__ = [
    "KeySignature",
    "Marker",
    "Note",
    "QuantizedNote",
    "QuantizedScore",
    "Score",
    "TempoChange",
    "TimeSignature",
    "estimate_key",
    "from_music21",
    "from_pretty_midi",
    "label_sections",
    "parse_key",
    "pitch_class_histogram",
    "quantize",
    "read_midi",
    "scale_pitch_classes",
    "section_scores",
    "slice_score",
    "to_pretty_midi",
    "transpose",
    "transposition_range",
    "unquantize",
    "write_midi",
]
