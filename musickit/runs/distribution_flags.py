"""The ``--distribute`` flag of the transformer recipes, turned into a call of the training library here, at the edge.

Example:

>>> import argparse
>>> parser = add_distribution_flags(argparse.ArgumentParser())
>>> args = parser.parse_args([])
>>> configure_distribution(args)  # not asked for: one device
1
"""

from musickit.training.distribution import distribute_data_parallel


def add_distribution_flags(parser):
    """Add ``--distribute`` to an ``argparse`` parser."""
    parser.add_argument(
        "--distribute",
        action="store_true",
        help="data-parallel over all local devices (JAX); --batch-size is then per device",
    )
    return parser


def configure_distribution(args, log=print):
    """Install data parallelism when ``args.distribute`` is set; return the number of devices training spans.

    ``args.batch_size`` (when ``args`` has one) becomes the global batch, per-device batch x devices
    (see :func:`musickit.training.distribution.distribute_data_parallel`).
    """
    if not getattr(args, "distribute", False):
        return 1
    devices, global_batch_size = distribute_data_parallel(getattr(args, "batch_size", None), log=log)
    if global_batch_size is not None:
        args.batch_size = global_batch_size
    return devices
