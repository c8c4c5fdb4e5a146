"""Data-parallel training over every local accelerator: the ``--distribute`` flag of the transformer recipes.

On JAX, :func:`distribute_data_parallel` installs ``keras.distribution.DataParallel``
over all local devices: the weights are replicated, each batch is split
across the devices, and Keras averages the gradients. ``--batch-size`` is
then the batch *per device*, and the global batch the model trains on is
``batch_size x devices`` (the recipe's batch size is set to it, by
:func:`musickit.runs.distribution_flags.configure_distribution`, so step counts and logs say what
really happens). Other backends train on
one device and say so in one line.

A checkpoint saved while distributed holds ordinary replicated weights, so
it loads and generates on one device.

For several hosts, call ``keras.distribution.initialize()`` (JAX: the
coordinator address, process count and id, or the cluster's environment)
at the start of every host's process before the recipe builds anything;
:func:`distribute_data_parallel` then spans all hosts' devices.

Example:

>>> devices, global_batch_size = distribute_data_parallel(batch_size=8)  # doctest: +SKIP
"""

# keras is imported inside the functions: recipes import this module (through their flags) before their
# heavy imports, so that --help and a bad flag answer at once.


def local_device_count():
    """The number of devices Keras' distribution API sees (all local accelerators, else CPU devices)."""
    import keras

    return len(keras.distribution.list_devices())


def distribute_data_parallel(batch_size=None, log=print):
    """Install data parallelism over every local device; return ``(devices, global batch size)``.

    On JAX the batch is split over ``local_device_count()`` devices and the
    per-device ``batch_size`` becomes the global batch ``batch_size x devices``
    (``None`` stays ``None``). On other backends one line says that training
    stays on one device, and ``(1, batch_size)`` is returned.
    """
    import keras

    backend = keras.backend.backend()
    if backend != "jax":
        log(f"--distribute: data parallelism is implemented for the JAX backend only; {backend} trains on one device")
        return 1, batch_size
    devices = keras.distribution.list_devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    if batch_size is None:
        log(f"--distribute: data parallel over {len(devices)} devices")
        return len(devices), None
    global_batch_size = batch_size * len(devices)
    log(
        f"--distribute: data parallel over {len(devices)} devices, global batch {batch_size} x {len(devices)} "
        f"= {global_batch_size}"
    )
    return len(devices), global_batch_size
