#!/usr/bin/env bash
# Runs every test: bootstraps, starts Azurite, builds once, runs the whole suite, then stops Azurite.
# Extra arguments go to `dotnet test` (for example: --filter "FullyQualifiedName~Tokenizer").
set -euo pipefail
cd "$(dirname "$0")/.."
./eng/bootstrap.sh
azurite_pid=$(./eng/azurite.sh)
trap '[ -n "${azurite_pid:-}" ] && kill "$azurite_pid" 2>/dev/null || true' EXIT
export QWEN_REPO_ROOT="$PWD"
dotnet build Qwen.Functions.sln -c Release -nologo -v q
dotnet test Qwen.Functions.sln -c Release --no-build -nologo -v q \
  --logger "console;verbosity=minimal" "$@"
