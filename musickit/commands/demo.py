"""``musickit demo [--run RUN ...]``: the Streamlit page over run folders, on this machine only by default.

Starts ``streamlit run musickit/demo/app.py`` as a subprocess: headless,
usage statistics off, bound to 127.0.0.1 unless ``--host`` says otherwise.
Without ``--run`` it offers every run folder under ``runs/``. Needs the
``demo`` extra (``pip install musickit[demo]``). Nothing heavy is imported
until the command runs.

Example::

    musickit demo --run runs/piano_roll_lstm --port 8502
"""

import importlib.util
import os
import subprocess
import sys

from musickit.demo.runs import RUNS_VARIABLE, find_runs
from musickit.errors import UsageError

NAME = "demo"
HELP = "A web page to generate, hear, see and download music from run folders (needs musickit[demo])."

APP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "demo", "app.py")
DEFAULT_RUNS_DIR = "runs"


def add_arguments(parser):
    parser.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="RUN",
        help="a run folder to offer (repeatable; default: every run folder under runs/)",
    )
    parser.add_argument("--port", type=int, default=8501, help="default: %(default)s")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s, this machine only; 0.0.0.0 shares it)",
    )


def streamlit_command(host, port):
    """The ``streamlit run`` command line the demo starts."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        APP,
        "--server.headless",
        "true",
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",  # no "Deploy" button: the page is for this machine
        "--browser.gatherUsageStats",
        "false",
    ]


def run_folders(given, runs_dir=DEFAULT_RUNS_DIR):
    """Absolute paths of the run folders to offer; none at all is a one-line error."""
    for path in given:
        if not os.path.isfile(os.path.join(path, "run.json")):
            raise UsageError(f"--run {path} is not a run folder (no run.json); pass a recipe's --output-dir")
    folders = list(given) or find_runs(runs_dir)
    if not folders:
        raise UsageError(
            f"no run folders under {runs_dir}/; pass --run RUN, or train one first, e.g. "
            f"python recipes/piano_roll_lstm.py --smoke --output-dir {runs_dir}/piano_roll_lstm"
        )
    return [os.path.abspath(folder) for folder in folders]


def prepare(args):
    """``(command line, environment)`` of the server ``run`` would start; checks everything first."""
    if importlib.util.find_spec("streamlit") is None:
        raise UsageError(
            'streamlit is not installed: pip install musickit[demo] (in a clone: pip install -e ".[demo]")'
        )
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, got {args.port}")
    environment = {**os.environ, RUNS_VARIABLE: os.pathsep.join(run_folders(args.run))}
    return streamlit_command(args.host, args.port), environment


def run(args):
    command, environment = prepare(args)
    print(f"musickit demo: http://{args.host}:{args.port}  (Ctrl+C stops it)", flush=True)
    return subprocess.call(command, env=environment)
