"""Data-parallel training over every local accelerator: the ``--distribute`` flag of the transformer recipes.

On JAX, :func:`configure_distribution` installs ``keras.distribution.DataParallel``
over all local devices: the weights are replicated, each batch is split
across the devices, and Keras averages the gradients. ``--batch-size`` is
then the batch *per device*, and the global batch the model trains on is
``batch_size x devices`` (the recipe's ``args.batch_size`` is set to it,
so step counts and logs say what really happens). Other backends train on
one device and say so in one line.

A checkpoint saved while distributed holds ordinary replicated weights, so
it loads and generates on one device.

For several hosts, call ``keras.distribution.initialize()`` (JAX: the
coordinator address, process count and id, or the cluster's environment)
at the start of every host's process before the recipe builds anything;
:func:`configure_distribution` then spans all hosts' devices.

Example:

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_distribution_flags(parser)
>>> args = parser.parse_args(["--distribute"])
>>> args.distribute
True
"""

# keras is imported inside the functions: recipes add the flag before their heavy imports, so that --help
# and a bad flag answer at once.


def add_distribution_flags(parser):
    """Add ``--distribute`` to an ``argparse`` parser."""
    parser.add_argument(
        "--distribute",
        action="store_true",
        help="data-parallel over all local devices (JAX); --batch-size is then per device",
    )
    return parser


def local_device_count():
    """The number of devices Keras' distribution API sees (all local accelerators, else CPU devices)."""
    import keras

    return len(keras.distribution.list_devices())


def configure_distribution(args, log=print):
    """Install data parallelism when ``args.distribute`` is set; return the number of devices training spans.

    On JAX the batch is split over ``local_device_count()`` devices and
    ``args.batch_size`` (when ``args`` has one) becomes the global batch,
    ``per-device batch x devices``. On other backends, one line says that
    training stays on one device, and 1 is returned.
    """
    if not getattr(args, "distribute", False):
        return 1
    import keras

    backend = keras.backend.backend()
    if backend != "jax":
        log(f"--distribute: data parallelism is implemented for the JAX backend only; {backend} trains on one device")
        return 1
    devices = keras.distribution.list_devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    per_device = getattr(args, "batch_size", None)
    if per_device is not None:
        args.batch_size = per_device * len(devices)
        log(
            f"--distribute: data parallel over {len(devices)} devices, global batch {per_device} x {len(devices)} "
            f"= {args.batch_size}"
        )
    else:
        log(f"--distribute: data parallel over {len(devices)} devices")
    return len(devices)
