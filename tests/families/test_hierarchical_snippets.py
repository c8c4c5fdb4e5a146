"""A hierarchical run generates from the snippets a request names (``--snippet A=file.mid``, the demo's upload)."""

import json

import pytest
from conftest import make_score

from musickit.errors import UsageError
from musickit.families.hierarchical_transformer import generate_from_run
from musickit.families.hierarchical_transformer import generation as family_generation
from musickit.families.request import GenerationRequest
from musickit.models.hierarchical import HierarchicalTransformer
from musickit.music.midi_io import read_midi, write_midi
from musickit.representations.conditions import EMOTION_CLASSES, TEMPO_CLASSES
from musickit.representations.remi import REMITokenizer

SNIPPET_LENGTH = 8


class Recorded(Exception):
    """Stops generation once what the model would read is recorded."""


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """An untrained tiny hierarchical run folder: what generate_from_run reads, nothing trained."""
    folder = tmp_path_factory.mktemp("hierarchical")
    tokenizer = REMITokenizer()
    model = HierarchicalTransformer.from_preset(
        "tiny",
        vocabulary_size=tokenizer.vocabulary_size,
        snippet_length=SNIPPET_LENGTH,
        end_id=tokenizer.eos_id,
        condition_sizes={"style": 1, "emotion": len(EMOTION_CLASSES), "tempo": len(TEMPO_CLASSES)},
    )
    model.build()
    model.save(folder / "model.keras")
    tokenizer.save(folder / "representation.json")
    info = {"model": "hierarchical_transformer", "styles": ["bach"], "flags": {"form": "AB", "tokens_per_section": 4}}
    (folder / "run.json").write_text(json.dumps(info))
    saved = {"A": [int(i) for i in tokenizer.encode(make_score([(60, 80, 0.0, 0.5)]))][:SNIPPET_LENGTH]}
    saved["B"] = saved["A"]
    (folder / "snippets.json").write_text(json.dumps({"bach": {"form": "AB", "snippets": saved}}))
    return folder, tokenizer, saved


def test_a_requested_snippet_replaces_the_runs_own_for_its_section(tiny_run, tmp_path, monkeypatch):
    folder, tokenizer, saved = tiny_run
    opening = tmp_path / "opening.mid"
    write_midi(make_score([(67, 90, 0.0, 0.25), (69, 90, 0.25, 0.5)]), opening)
    read = []

    def recording(model, tokenizer, form, snippets, *args, **kwargs):
        read.append((form, {letter: list(ids) for letter, ids in snippets.items()}))
        raise Recorded  # what the model reads is the point; writing pieces is the recipe test's

    monkeypatch.setattr(family_generation, "generate_in_form", recording)
    request = GenerationRequest(snippets={"a": str(opening)}, num_samples=1)
    with pytest.raises(Recorded):
        generate_from_run(str(folder), str(tmp_path / "out"), request)
    expected = list(tokenizer.encode(read_midi(opening)))[:SNIPPET_LENGTH]
    assert read == [("AB", {"A": expected, "B": saved["B"]})]


@pytest.mark.parametrize(
    "snippets, message", [({"E": "x.mid"}, "section letter"), ({"A": "no_such_file.mid"}, "not a file")]
)
def test_a_bad_snippet_is_one_line_before_the_model_loads(tiny_run, tmp_path, snippets, message):
    with pytest.raises(UsageError, match=message):
        generate_from_run(str(tiny_run[0]), str(tmp_path), GenerationRequest(snippets=snippets))
