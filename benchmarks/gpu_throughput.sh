#!/usr/bin/env bash
# Issue 12's GPU measurements in one command: training throughput of musickit vs keras_hub GPT-2 and of
# the piano-roll LSTM, on JAX and torch, at the `base` and `paper` presets, mixed_bfloat16, XLA on JAX
# (torch trains eagerly: musickit's decoders turn jit_compile off there, so both models get the same),
# then generation vs keras_hub on JAX. Needs JAX and torch with GPU support, keras, keras_hub; it imports
# nothing that needs TensorFlow (no tf.data).
#
#   bash benchmarks/gpu_throughput.sh [OUTPUT_DIR]       # default benchmarks/gpu_results
#   PEAK_TFLOPS=989 bash benchmarks/gpu_throughput.sh     # MFU against a datasheet peak (H100/H200 dense bf16)
#   PRESETS=base bash benchmarks/gpu_throughput.sh        # a shorter run
#
# Without PEAK_TFLOPS the MFU denominator is the best rate of an 8192^2 bf16 matmul measured in the run.
set -euo pipefail
cd "$(dirname "$0")/.."
OUTPUT_DIR=${1:-benchmarks/gpu_results}
mkdir -p "$OUTPUT_DIR"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.9}
PEAK=${PEAK_TFLOPS:-0}
for preset in ${PRESETS:-base paper}; do
  for backend in ${BACKENDS:-jax torch}; do
    jit=on
    if [ "$backend" = torch ]; then jit=off; fi
    echo "== training: $backend, $preset" >&2
    KERAS_BACKEND=$backend python benchmarks/training_throughput.py --preset "$preset" --mixed-precision \
      --jit "$jit" --peak-tflops "$PEAK" --json > "$OUTPUT_DIR/training_${preset}_${backend}.json"
  done
done
echo "== generation: jax, base, 1024 tokens" >&2
KERAS_BACKEND=jax python benchmarks/generation_transformer.py --preset base --lengths 1024 --skip-memory --json \
  > "$OUTPUT_DIR/generation_base_jax.txt" || echo "generation benchmark failed (see $OUTPUT_DIR)" >&2

python - "$OUTPUT_DIR" <<'PYTHON'
import glob, json, os, sys
rows = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "training_*.json"))):
    with open(path) as file:
        text = file.read()
    result = json.loads(text[text.index("{"):])
    rows[(result["preset"], result["backend"])] = result
print("| preset | backend | model | tokens/s | MFU |\n|---|---|---|---:|---:|")
for (preset, backend), result in rows.items():
    for name, row in result.get("transformer", {}).items():
        print(f"| {preset} | {backend} | {name} | {row['tokens_per_second']:,.0f} | {100 * row['model_flops_utilisation']:.1f}% |")
print()
for (preset, backend), result in rows.items():
    ratios = {key: round(value, 2) for key, value in result.items() if key.endswith("_ratio")}
    print(f"{preset} {backend}: {ratios}; LSTM windows/s {result.get('lstm_windows_per_second')}")
for preset in {preset for preset, _ in rows}:
    if (preset, "jax") in rows and (preset, "torch") in rows:
        for name, row in rows[(preset, "torch")].get("transformer", {}).items():
            jax_row = rows[(preset, "jax")]["transformer"][name]
            print(f"{preset} {name}: torch time / JAX time = {row['seconds_per_step'] / jax_row['seconds_per_step']:.2f}")
PYTHON
