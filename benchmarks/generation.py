"""Generation speed of every musickit generator, side by side in one run.

* piano-roll LSTM: stateful stepping vs re-running a 64-frame window
  (``benchmarks/generation_piano_roll.py``);
* Music Transformer: cached vs uncached decoding and musickit vs keras_hub
  (``benchmarks/generation_transformer.py``).

    python benchmarks/generation.py --json              # everything
    python benchmarks/generation.py --only piano_roll   # one part

``--json`` prints one JSON object (all parts merged) as the last line.
"""

import argparse
import importlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

PARTS = {"piano_roll": "generation_piano_roll", "transformer": "generation_transformer"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(PARTS), action="append", help="run only these parts")
    parser.add_argument("--json", action="store_true")
    known, rest = parser.parse_known_args(argv)
    merged = {}
    for part in known.only or list(PARTS):
        module = importlib.import_module(PARTS[part])
        part_parser = argparse.ArgumentParser(add_help=False)
        module.add_arguments(part_parser)
        part_args, _ = part_parser.parse_known_args(rest)
        result = module.run(part_args)
        module.print_table(result)
        merged.update(result)
    if known.json:
        print(json.dumps(merged))


if __name__ == "__main__":
    main()
