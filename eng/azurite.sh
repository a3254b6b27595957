#!/usr/bin/env bash
# Starts Azurite (Blob, Queue, Table) on 127.0.0.1 with a throwaway data folder, unless one already answers.
# Prints the PID it started (or nothing); eng/test.sh stops it on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
if (exec 3<>/dev/tcp/127.0.0.1/10000) 2>/dev/null; then exit 0; fi
data=artifacts/azurite
rm -rf "$data" && mkdir -p "$data"
node_modules/.bin/azurite --silent --disableTelemetry --skipApiVersionCheck --loose \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
  --location "$data" --debug "$data/debug.log" >"$data/azurite.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  if (exec 3<>/dev/tcp/127.0.0.1/10000) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/10001) 2>/dev/null; then
    echo "$pid"; exit 0
  fi
  sleep 0.2
done
echo "azurite: did not start; see $data/azurite.out" >&2
exit 1
