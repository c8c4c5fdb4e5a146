"""The ``musickit`` console command.

Each subcommand is a module in :mod:`musickit.commands` that defines
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args)``; adding a
module adds a subcommand. Deliberate errors (:class:`MusickitError`) end as
one line on stderr and exit code 2, never a traceback.

Example::

    musickit --help
    musickit generate --run runs/piano_roll_lstm --output-dir more_samples
"""

import argparse
import importlib
import pkgutil
import sys

from musickit import __version__
from musickit.errors import MusickitError
from musickit.runs.flags import one_line_errors


def _command_modules():
    import musickit.commands as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"musickit.commands.{info.name}")
        if hasattr(module, "NAME"):
            yield module


def build_parser():
    parser = one_line_errors(argparse.ArgumentParser(prog="musickit", description="Music generation with Keras 3."))
    parser.add_argument("--version", action="version", version=f"musickit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        subparser = one_line_errors(subparsers.add_parser(module.NAME, help=module.HELP, description=module.HELP))
        module.add_arguments(subparser)
        subparser.set_defaults(handler=module.run)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return args.handler(args) or 0
    except (MusickitError, FileNotFoundError) as error:
        print(f"musickit {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"musickit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
