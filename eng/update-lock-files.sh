#!/usr/bin/env bash
# Refreshes the package pins and every lock file after a PackageVersion change in Directory.Packages.props.
#   1. drops the generated "Transitive" pins, so transitive packages resolve afresh from the direct versions;
#   2. restores the CUDA build's graph and keeps a copy of its project.assets.json files;
#   3. restores the default CPU graph;
#   4. writes the "Transitive" pins from both (eng/PinPackages.cs);
#   5. restores both again so packages.lock.json / packages.cuda.lock.json match the pins.
# Review the diff of Directory.Packages.props and the lock files like code: it is what CI will build.
set -euo pipefail
cd "$(dirname "$0")/.."
unset CI QWEN_LOCKED_RESTORE # locked mode would refuse the very change this script makes

cuda_assets=$(mktemp -d)
trap 'rm -rf "$cuda_assets"' EXIT
restore() { dotnet restore Qwen.Functions.sln -nologo -v q --force-evaluate -p:QwenOrtBuild="$1"; }

dotnet run eng/PinPackages.cs -- --clear "$PWD"
restore cuda
find . -path ./node_modules -prune -o -name project.assets.json -print | while read -r f; do
  mkdir -p "$cuda_assets/$(dirname "$f")" && cp "$f" "$cuda_assets/$f"
done
restore cpu
dotnet run eng/PinPackages.cs -- "$PWD" "$cuda_assets"
restore cuda
restore cpu
echo "update-lock-files: done; review git diff Directory.Packages.props '**/packages*.lock.json'"
