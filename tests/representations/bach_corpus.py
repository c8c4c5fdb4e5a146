"""The Bach chorales from music21's offline corpus, parsed once per test session (slow tests only)."""

import functools


@functools.lru_cache(maxsize=1)
def bach_scores():
    """``[(name, Score)]`` for every piece in music21's ``bach`` corpus folder."""
    from music21 import corpus

    from musickit.music import from_music21

    scores = [(path.stem, from_music21(corpus.parse(path), style="bach")) for path in corpus.getComposer("bach")]
    assert len(scores) > 300, "music21's Bach corpus looks incomplete"
    return scores
