"""Entry point wrapper for recipes: deliberate errors become one line and exit code 2."""

import os
import sys

from musickit.errors import MusickitError


def run_main(main, argv=None):
    """Call ``main(argv)``; a :class:`MusickitError` prints ``PROGRAM: error: ...`` and returns 2.

    Example (at the bottom of a recipe)::

        if __name__ == "__main__":
            sys.exit(run_main(main))
    """
    program = os.path.basename(sys.argv[0]) or "musickit"
    try:
        main(argv)
        return 0
    except MusickitError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{program}: interrupted; run again with --resume to continue", file=sys.stderr)
        return 130
