"""Every benchmark named in benchmarks/RESULTS.md runs as written, at its smallest size.

One subprocess runs each script as ``__main__`` in turn (``runpy``), so the scripts run exactly as from the
command line while Keras, TensorFlow and the corpus cache load once. The polyphonic benchmark gets the tiny
dummy JSB file that ships with the TFDS builder (a fresh clone has no ``../shared`` data).
"""

import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DUMMY_JSB = os.path.join(ROOT, "datasets", "polyphonic_music", "dummy_data", "JSB_Chorales.mat")
# Script -> the smallest flags it accepts; every one also gets --json, whose last line the test reads.
SMALLEST = {
    "data_pipeline.py": [
        "--num-files",
        "4",
        "--window-length",
        "16",
        "--batch-size",
        "4",
        "--pipeline-seconds",
        "0.2",
        "--training-steps",
        "1",
        "--skip-tokenization",
    ],
    "tokenization.py": ["--num-files", "2", "--repeats", "1"],
    "polyphonic.py": [
        "--data",
        DUMMY_JSB,
        "--epochs",
        "1",
        "--lstm-units",
        "4",
        "--num-layers",
        "1",
        "--dense-units",
        "4",
        "--head-hidden-units",
        "4",
        "--batch-size",
        "2",
    ],
    "generation.py": [
        "--only",
        "piano_roll",
        "--only",
        "transformer",
        "--frames",
        "8",
        "--window",
        "4",
        "--lstm-units",
        "4",
        "--num-layers",
        "1",
        "--repeats",
        "1",
        "--preset",
        "tiny",
        "--lengths",
        "16",
        "--uncached-steps",
        "2",
        "--skip-memory",
    ],
    "generation_transformer.py": ["--preset", "tiny", "--lengths", "8", "--uncached-steps", "1", "--skip-memory"],
    "muspy_agreement.py": ["--max-files", "3", "--random-pieces", "2"],
    "hierarchical.py": [
        "--quick",
        "--hidden-dim",
        "16",
        "--num-layers",
        "1",
        "--num-heads",
        "2",
        "--snippet-length",
        "16",
        "--sequence-length",
        "64",
        "--batch-size",
        "4",
    ],
    "music_quality.py": ["--baseline", "random", "--pieces", "2", "--bars", "2", "--max-reference-files", "8"],
    "vae_gan.py": ["--smoke"],
    "mel_diffusion.py": ["--preset", "tiny", "--time-steps", "1"],
    "dpo.py": ["--smoke", "--betas", "0.1", "--eval-prompts", "1"],
    # Judges a finished run: the test first makes one with the recipe's --smoke (HIERARCHICAL_RUN below).
    "hierarchical_quality.py": ["--run", "{hierarchical_run}", "--preset", "smoke", "--style", "bach", "--pieces", "2"],
}
HIERARCHICAL_RUN = "{hierarchical_run}"
# Scripts whose own test runs them at their smallest size through main(..., "--json"), so they are not run twice.
RUN_BY_THEIR_OWN_TEST = {"training_throughput.py": "tests/training/test_training_throughput_benchmark.py"}
RUNNER = """
import json, runpy, sys, time, traceback
for script, flags in json.loads(sys.argv[1]).items():
    sys.argv = [script, *flags, "--json"]
    started = time.perf_counter()
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit:
        if exit.code not in (None, 0):
            print(f"BENCHMARK FAILED {script}: exit {exit.code}", flush=True)
    except BaseException:
        print(f"BENCHMARK FAILED {script}: " + traceback.format_exc().replace("\\n", " | "), flush=True)
    print(f"BENCHMARK DONE {script} in {time.perf_counter() - started:.1f} s", flush=True)
"""


def test_results_md_names_only_benchmarks_this_test_runs():
    with open(os.path.join(ROOT, "benchmarks", "RESULTS.md")) as handle:
        named = set(re.findall(r"benchmarks/(\w+\.py)", handle.read()))
    # generation_piano_roll.py is the piano-roll part of generation.py, run through it.
    run_here = set(SMALLEST) | set(RUN_BY_THEIR_OWN_TEST)
    assert named - {"generation_piano_roll.py"} <= run_here, named - run_here
    for script, test in RUN_BY_THEIR_OWN_TEST.items():
        with open(os.path.join(ROOT, test)) as handle:
            text = handle.read()
        assert script in text and ".main([" in text, f"{test} should run {script} through its main()"


# Three groups, one subprocess each (Keras and the corpus cache load once per group), so that the two
# test workers share them; the hierarchical group first makes the run that its judge reads.
GROUPS = {
    "data": ["data_pipeline.py", "tokenization.py", "polyphonic.py", "muspy_agreement.py", "music_quality.py"],
    "speed": ["generation.py", "generation_transformer.py", "hierarchical.py"],
    "families": ["vae_gan.py", "mel_diffusion.py", "dpo.py", "hierarchical_quality.py"],
}


def test_the_groups_hold_every_benchmark_once():
    grouped = [script for scripts in GROUPS.values() for script in scripts]
    assert sorted(grouped) == sorted(SMALLEST)


@pytest.mark.long
@pytest.mark.skipif(not os.path.isfile(DUMMY_JSB), reason="the dummy JSB file is missing")
@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_benchmark_runs_at_its_smallest_size(group, tmp_path):
    environment = {**os.environ, "PYTHONPATH": ROOT, "MUSICKIT_PROGRESS": "0", "CI": "1"}
    scripts = GROUPS[group]
    flags = {name: SMALLEST[name] for name in scripts}
    if "hierarchical_quality.py" in scripts:
        run_dir = str(tmp_path / "hierarchical_run")
        recipe = os.path.join(ROOT, "recipes", "hierarchical_transformer.py")
        made = subprocess.run(
            [sys.executable, recipe, "--smoke", "train", "--no-baseline", "--output-dir", run_dir],
            env=environment,
            capture_output=True,
            text=True,
        )
        assert made.returncode == 0, made.stderr[-3000:]
        flags = {name: [run_dir if flag == HIERARCHICAL_RUN else flag for flag in args] for name, args in flags.items()}
    completed = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(flags)],
        cwd=os.path.join(ROOT, "benchmarks"),
        env=environment,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    output = completed.stdout
    assert completed.returncode == 0, completed.stderr[-3000:]
    failures = [line for line in output.splitlines() if line.startswith("BENCHMARK FAILED")]
    assert not failures, "\n".join(failures)[:3000]
    # Each script printed its JSON object, on one line, as the line before its DONE marker.
    lines = output.splitlines()
    print("\n".join(line for line in lines if line.startswith("BENCHMARK DONE")))  # each script's time, with -s
    for script in scripts:
        done = next(number for number, line in enumerate(lines) if line.startswith(f"BENCHMARK DONE {script}"))
        try:
            last = json.loads(lines[done - 1])
        except json.JSONDecodeError:
            last = None
        assert isinstance(last, dict), (script, "\n".join(lines[max(done - 5, 0) : done])[-600:])
