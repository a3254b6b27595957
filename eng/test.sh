#!/usr/bin/env bash
# Runs every test: bootstraps, starts Azurite, builds once, runs the whole suite, then stops Azurite.
# Extra arguments go to `dotnet test` (for example: --filter "FullyQualifiedName~Tokenizer").
set -euo pipefail
cd "$(dirname "$0")/.."
./eng/bootstrap.sh
azurite_pid=$(./eng/azurite.sh)
trap '[ -n "${azurite_pid:-}" ] && kill "$azurite_pid" 2>/dev/null || true' EXIT
export QWEN_REPO_ROOT="$PWD"
# On CI the restore is locked: exactly the committed packages.lock.json files, or a NU1004 error (docs/dependencies.md).
locked=()
[ "${CI:-}" = "true" ] && locked=(--locked-mode)
dotnet restore Qwen.Functions.sln -nologo -v q "${locked[@]}"
dotnet build Qwen.Functions.sln -c Release -nologo -v q --no-restore
mkdir -p artifacts
log=artifacts/test-output.log
set +e
dotnet test Qwen.Functions.sln -c Release --no-build -nologo -v q \
  --logger "console;verbosity=minimal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line over all test assemblies: "Tests: N passed, N failed, N skipped".
awk '/(Passed|Failed)! +- Failed:/ {
       for (i = 1; i <= NF; i++) {
         if ($i == "Failed:")  f += $(i+1) + 0
         if ($i == "Passed:")  p += $(i+1) + 0
         if ($i == "Skipped:") s += $(i+1) + 0
       }
     }
     END { printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
