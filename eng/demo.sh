#!/usr/bin/env bash
# The main job: prepares a demo package (tiny RANDOM weights + the real Qwen tokenizer) and serves it with the
# OpenAI-compatible standalone server on 127.0.0.1. To serve real weights, see README "Serving a real checkpoint".
set -euo pipefail
cd "$(dirname "$0")/.."
./eng/bootstrap.sh
port="${PORT:-8080}"
ckpt=artifacts/demo/checkpoint
pkg=artifacts/demo/package
if [ ! -f "$pkg/qwen-model.json" ]; then
  dotnet run --project model-prep/Qwen.ModelPrep -c Release -- make-checkpoint --preset small --seed 1 \
    --tokenizer artifacts/tokenizer/qwen.tiktoken --output "$ckpt"
  dotnet run --project model-prep/Qwen.ModelPrep -c Release -- convert --input "$ckpt" --output "$pkg" --dtype fp32 --name qwen-demo
fi
echo "=================================================================================================="
echo " Qwen Functions demo: this model has RANDOM WEIGHTS. Its output is gibberish by design; it shows the"
echo " API, the tokenizer and the engine working. Serve a real Qwen-7B-Chat package with:"
echo "   dotnet run --project functions/Qwen.Server -c Release -- --model <package dir> --urls http://127.0.0.1:$port"
echo "=================================================================================================="
exec dotnet run --project functions/Qwen.Server -c Release -- --model "$PWD/$pkg" --urls "http://127.0.0.1:$port" "$@"
