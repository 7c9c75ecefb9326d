#!/usr/bin/env bash
# Poll the API's readiness probe until it answers, for deploy scripts and smoke tests.
set -euo pipefail
url="${1:-http://127.0.0.1:8000}/api/health/ready"
for _ in $(seq 1 60); do
  if curl -fsS "$url" >/dev/null; then
    echo "ready: $url"
    exit 0
  fi
  sleep 1
done
echo "not ready after 60 s: $url" >&2
exit 1
