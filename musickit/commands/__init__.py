"""Subcommands of the ``musickit`` console command, one module each (see :mod:`musickit.cli`)."""
