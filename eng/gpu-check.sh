#!/usr/bin/env bash
# GPU check, for a machine with an NVIDIA GPU, its driver, CUDA 12 and cuDNN 9 on the library path (the versions of
# infra/worker.Dockerfile; see docs/benchmarks/README.md "GPU check"). NOT part of CI: nothing here has a GPU.
#
#   1. build everything against the CUDA ONNX Runtime (-p:QwenOrtBuild=cuda);
#   2. make a seeded checkpoint of a preset and convert it with --target cuda (fp16 activations and KV cache);
#   3. run the provider-aware tests on CUDA: the --target cuda parity tests (logits vs the float64 reference, greedy
#      tokens through the serving engine) and the kernel-list checks;
#   4. one engine request through `model-prep generate --provider cuda`, then the benchmark on CUDA;
#   5. print one summary (also written to $OUT/summary.txt).
#
# Settings (environment): PRESET (default 1.8b; 7b needs ~16 GB of disk and a 16 GB GPU), DTYPE (int4 or fp16, default
# int4), OUT (default artifacts/gpu-check), CONCURRENCY (default 1,4,8,16).
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET=${PRESET:-1.8b}
DTYPE=${DTYPE:-int4}
OUT=${OUT:-artifacts/gpu-check}
CONCURRENCY=${CONCURRENCY:-1,4,8,16}
mkdir -p "$OUT"
LOG="$OUT/gpu-check.log"
: > "$LOG"
step() { printf '\n== %s\n' "$*" | tee -a "$LOG"; }
fail() { echo "gpu-check: $*" | tee -a "$LOG" >&2; exit 1; }

step "GPU and CUDA runtime"
command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this script needs an NVIDIA GPU and its driver."
GPU=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -n1)
echo "$GPU" | tee -a "$LOG"
for lib in libcudart.so.12 libcublas.so.12 libcudnn.so.9; do
  ldconfig -p | grep -q "$lib" || echo "warning: $lib not in the ldconfig cache; ONNX Runtime's CUDA provider will fail to load unless it is on LD_LIBRARY_PATH" | tee -a "$LOG"
done

step "bootstrap and build with -p:QwenOrtBuild=cuda"
./eng/bootstrap.sh >>"$LOG" 2>&1
dotnet build Qwen.Functions.sln -c Release -nologo -v q -p:QwenOrtBuild=cuda 2>&1 | tee -a "$LOG"
MODELPREP=(dotnet run --project model-prep/Qwen.ModelPrep -c Release --no-build -p:QwenOrtBuild=cuda --)

step "checkpoint ($PRESET) and conversion (--dtype $DTYPE --target cuda)"
if [ ! -f "$OUT/checkpoint-$PRESET/config.json" ]; then
  "${MODELPREP[@]}" make-checkpoint --preset "$PRESET" --seed 1 --output "$OUT/checkpoint-$PRESET" >>"$LOG" 2>&1
fi
PACKAGE="$OUT/package-$PRESET-$DTYPE-cuda"
CONVERT_START=$(date +%s)
"${MODELPREP[@]}" convert --input "$OUT/checkpoint-$PRESET" --output "$PACKAGE" --dtype "$DTYPE" --target cuda --force >>"$LOG" 2>&1
CONVERT_SECONDS=$(( $(date +%s) - CONVERT_START ))
grep -q '"target": "cuda"' "$PACKAGE/qwen-model.json" || fail "$PACKAGE/qwen-model.json does not say target cuda"

step "provider-aware tests on CUDA (QWEN_TEST_EXECUTION_PROVIDER=cuda)"
TESTS_RC=0
QWEN_TEST_EXECUTION_PROVIDER=cuda QWEN_REPO_ROOT=$PWD dotnet test tests/Qwen.ModelPrep.Tests -c Release --no-build -p:QwenOrtBuild=cuda \
  --filter "FullyQualifiedName~CudaPackageParityTests|FullyQualifiedName~TargetKernelTests" \
  --logger "console;verbosity=detailed" 2>&1 | tee "$OUT/tests.log" | tee -a "$LOG" || TESTS_RC=$?
TESTS_LINE=$(grep -E "^(Passed|Failed)!" "$OUT/tests.log" | tail -n1 || true)
PARITY_LINES=$(grep -E "cuda (Int4|Fp16) on Cuda" "$OUT/tests.log" || true)

step "one request on CUDA through the serving engine (model-prep generate --provider cuda)"
GENERATE_RC=0
"${MODELPREP[@]}" generate --package "$PACKAGE" --provider cuda --chat "Hello" --max-tokens 32 --json > "$OUT/generate.json" 2>>"$LOG" || GENERATE_RC=$?
DECODE_ONE=$(grep -o '"decode_tokens_per_second": [0-9.]*' "$OUT/generate.json" | awk '{print $2}' || true)

step "benchmark on CUDA"
BENCH_RC=0
dotnet run --project tests/Qwen.Benchmarks -c Release --no-build -p:QwenOrtBuild=cuda -- \
  --package "$PACKAGE" --out "$OUT/bench" --execution-provider cuda --skip-genai --concurrency "$CONCURRENCY" >>"$LOG" 2>&1 || BENCH_RC=$?

step "summary"
{
  echo "GPU:              $GPU"
  echo "ONNX Runtime:     $(grep -o 'Microsoft.ML.OnnxRuntime.Gpu.Linux" Version="[^"]*' Directory.Packages.props | sed 's/.*Version="//')"
  echo "package:          $PACKAGE ($PRESET, $DTYPE, target cuda; converted in ${CONVERT_SECONDS}s)"
  echo "tests on CUDA:    ${TESTS_LINE:-no result line} (exit $TESTS_RC)"
  [ -n "$PARITY_LINES" ] && echo "$PARITY_LINES" | sed 's/^ */                  /'
  echo "generate:         exit $GENERATE_RC, decode ${DECODE_ONE:-?} tokens/s (batch 1, 32 tokens)"
  if [ "$BENCH_RC" -eq 0 ] && [ -f "$OUT/bench/results.md" ]; then
    echo "benchmark:        $OUT/bench/results.md"
    sed 's/^/                  /' "$OUT/bench/results.md"
  else
    echo "benchmark:        failed (exit $BENCH_RC); see $LOG"
  fi
} | tee "$OUT/summary.txt"
[ "$TESTS_RC" -eq 0 ] && [ "$GENERATE_RC" -eq 0 ] && [ "$BENCH_RC" -eq 0 ]
