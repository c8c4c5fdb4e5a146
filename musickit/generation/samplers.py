"""Token samplers by name, built on keras_hub's samplers, with their settings checked up front.

keras_hub's samplers already own the compiled ``ops.while_loop`` and the
greedy, random, top-k, top-p and beam rules, so musickit reuses them and adds
only what they leave out: one place that turns the shared recipe flags
(``--temperature --top-k --top-p``) into a sampler and rejects impossible
values with a readable error before any decoding starts (the checks of
:class:`~musickit.generation.sampling_config.SamplingConfig`, the only ones).
"""

from keras_hub.samplers import BeamSampler, GreedySampler, RandomSampler, Sampler, TopKSampler, TopPSampler

from musickit.errors import UsageError
from musickit.generation.sampling_config import SamplingConfig

SAMPLER_NAMES = ("greedy", "temperature", "top_k", "top_p", "beam")


def _check_temperature(temperature):
    SamplingConfig(temperature=temperature).validate()  # the one set of checks


def _check_top_p(top_p):
    SamplingConfig(top_p=top_p).validate()


def _check_top_k(top_k):
    SamplingConfig(top_k=top_k).validate()
    if top_k < 1:
        raise UsageError(f"--top-k must be at least 1 for a top-k sampler, got {top_k}")


def get_sampler(name="top_k", temperature=1.0, top_k=None, top_p=None, num_beams=4, seed=None):
    """A keras_hub sampler for a name and the shared sampling flags.

    Args:
        name: ``"greedy"``, ``"temperature"`` (sample the full distribution),
            ``"top_k"``, ``"top_p"`` (nucleus, optionally after a top-k cut) or
            ``"beam"``.
        temperature: float > 0; divides the logits before the softmax.
        top_k: int >= 1 for ``"top_k"`` (default 10) and optional for ``"top_p"``.
        top_p: float in (0, 1] for ``"top_p"`` (default 0.9).
        num_beams: int, beams for ``"beam"``.
        seed: optional int for reproducible sampling.

    Example:

    >>> sampler = get_sampler("top_p", temperature=0.9, top_p=0.95, seed=1)
    >>> type(sampler).__name__
    'TopPSampler'
    >>> get_sampler("top_p", top_p=1.5)
    Traceback (most recent call last):
    ...
    musickit.errors.UsageError: --top-p must be in (0, 1], got 1.5
    """
    _check_temperature(temperature)
    if top_k is not None:
        _check_top_k(top_k)
    if top_p is not None:
        _check_top_p(top_p)
    if name == "greedy":
        return GreedySampler()
    if name == "temperature":
        return RandomSampler(seed=seed, temperature=temperature)
    if name == "top_k":
        return TopKSampler(k=int(top_k or 10), seed=seed, temperature=temperature)
    if name == "top_p":
        return TopPSampler(p=0.9 if top_p is None else float(top_p), k=top_k, seed=seed, temperature=temperature)
    if name == "beam":
        if int(num_beams) < 1:
            raise UsageError(f"num_beams must be >= 1, got {num_beams}")
        return BeamSampler(num_beams=int(num_beams), temperature=temperature)
    raise UsageError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLER_NAMES)}")


def sampler_from_flags(temperature=None, top_k=None, top_p=None, seed=None):
    """The sampler the shared recipe flags describe: top-p if given, else top-k, else temperature."""
    temperature = 1.0 if temperature is None else temperature
    if top_p is not None:
        return get_sampler("top_p", temperature=temperature, top_p=top_p, top_k=top_k, seed=seed)
    if top_k is not None:
        return get_sampler("top_k", temperature=temperature, top_k=top_k, seed=seed)
    return get_sampler("temperature", temperature=temperature, seed=seed)


def resolve_sampler(sampler, seed=None, **options):
    """A sampler instance from a name or an instance, with its settings validated."""
    if isinstance(sampler, str):
        return get_sampler(sampler, seed=seed, **options)
    if not isinstance(sampler, Sampler):
        raise UsageError(f"sampler must be a name ({', '.join(SAMPLER_NAMES)}) or a keras_hub Sampler, got {sampler!r}")
    if options:
        raise UsageError(f"sampler options {sorted(options)} only apply to a sampler given by name")
    _check_temperature(getattr(sampler, "temperature", 1.0))
    if isinstance(sampler, TopPSampler):
        _check_top_p(sampler.p)
    if isinstance(sampler, TopKSampler):
        _check_top_k(sampler.k)
    return sampler
