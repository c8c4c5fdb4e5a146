"""Distributed tuning: one chief runs the oracle, workers run trials, over Keras Tuner's gRPC service.

Keras Tuner reads three environment variables when a tuner is built:
``KERASTUNER_TUNER_ID`` (``chief`` for the oracle, any other unique name for a
worker), ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` (where the chief
listens). :func:`configure` sets them from ``--distributed`` and friends; a
user who exports them already gets the same behaviour without the flags.

The chief only hands out trials and records results; it builds the
hypermodel once to learn the search space but trains nothing. Workers train.
A worker restarted with the same id gets its unfinished trial back (the
oracle keeps it as that worker's ongoing trial) and resumes it from its
epoch backup, so workers can be killed and restarted like a local study.

Example:

>>> configure("worker", "10.0.0.1:8000", worker_id="gpu1", environment={})
{'KERASTUNER_TUNER_ID': 'worker-gpu1', 'KERASTUNER_ORACLE_IP': '10.0.0.1', 'KERASTUNER_ORACLE_PORT': '8000'}
"""

import os
import socket

from musickit.errors import UsageError

ROLES = ("chief", "worker")
VARIABLES = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")


def parse_address(address):
    """``"HOST:PORT"`` -> ``(host, port)`` with a one-line error for anything else."""
    host, separator, port = (address or "").rpartition(":")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--oracle-address {address!r}: use HOST:PORT, e.g. 10.0.0.1:8000")
    return host.strip("[]"), int(port)


def configure(role, address, worker_id=None, environment=None):
    """Set (and return) Keras Tuner's variables for ``role`` in ``environment`` (default ``os.environ``)."""
    environment = os.environ if environment is None else environment
    if role not in ROLES:
        raise UsageError(f"--distributed {role!r}: use chief or worker")
    host, port = parse_address(address)
    if role == "chief":
        tuner_id = "chief"
    else:
        # A stable id (not the process id): a restarted worker gets its unfinished trial back.
        tuner_id = f"worker-{worker_id or socket.gethostname()}"
        if "chief" in tuner_id:  # Keras Tuner treats any id containing "chief" as the oracle
            raise UsageError(f"--worker-id {worker_id!r}: a worker id must not contain 'chief'")
    values = {"KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": host, "KERASTUNER_ORACLE_PORT": str(port)}
    environment.update(values)
    return values


def role_from_environment(environment=None):
    """``"chief"``, ``"worker"`` or ``None`` (not distributed), as Keras Tuner will see it."""
    environment = os.environ if environment is None else environment
    if "KERASTUNER_ORACLE_IP" not in environment:
        return None
    missing = [name for name in VARIABLES if not environment.get(name)]
    if missing:
        raise UsageError(
            f"KERASTUNER_ORACLE_IP is set but {', '.join(missing)} is not; set all three "
            "or use --distributed chief|worker --oracle-address HOST:PORT"
        )
    return "chief" if "chief" in environment["KERASTUNER_TUNER_ID"] else "worker"


def check_grpc():
    """Keras Tuner's distributed mode needs ``grpcio`` and ``protobuf``; say so in one line if missing."""
    try:
        import google.protobuf  # noqa: F401
        import grpc  # noqa: F401
    except ImportError as error:
        raise UsageError(
            f"distributed tuning needs grpcio and protobuf ({error}); pip install grpcio protobuf"
        ) from None
