#!/usr/bin/env bash
# Load test: `qsgate demo` on loopback, signed in as alice with curl, then
# wrk against the pages. Needs curl and wrk (apt-get install -y wrk).
#   bash bench/load.sh [duration=20s] [connections=16]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20s}
conns=${2:-16}
port=18080
base=http://127.0.0.1:$port
tmp=$(mktemp -d)
trap 'kill $(cat "$tmp/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$tmp"' EXIT

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
go build -o "$tmp/qsgate" .
# One user drives all the load: lift the per-user rate and the AWS call
# budget, or they (not the gateway) would be measured.
QSGATE_EMBED_RATE=0 QSGATE_QUICKSIGHT_MAX_RPS=1000 QSGATE_QUICKSIGHT_MAX_INFLIGHT=1000 \
  "$tmp/qsgate" demo --addr 127.0.0.1:$port >"$tmp/demo.out" 2>"$tmp/demo.log" &
echo $! >"$tmp/pid"
for _ in $(seq 100); do curl -fs "$base/readyz" >/dev/null && break; sleep 0.1; done

# Sign in as alice: /login -> the demo provider's page -> pick alice -> back.
jar=$tmp/jar
page=$(curl -fsSL -c "$jar" -b "$jar" "$base/login")
action=$(sed -n 's/.*<form method="post" action="\([^"]*\)" id="login-form">.*/\1/p' <<<"$page" | sed 's/&amp;/\&/g')
areq=$(sed -n 's/.*name="authRequestID" value="\([^"]*\)".*/\1/p' <<<"$page")
csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$page")
issuer=$(sed -n 's/.*Sign-in provider *\(http[^ ]*\).*/\1/p' "$tmp/demo.out")
case $action in http*) ;; *) action=$issuer$action ;; esac
curl -fsSL -c "$jar" -b "$jar" -o /dev/null --data-urlencode "authRequestID=$areq" --data-urlencode "csrf=$csrf" -d user=alice "$action"
cookie=$(awk '$6=="qsgate_session"{print "qsgate_session="$7}' "$jar")
[ -n "$cookie" ] || { echo "sign-in failed" >&2; cat "$tmp/demo.log" >&2; exit 1; }
curl -fs -H "Cookie: $cookie" "$base/embed/start" | grep -q qs-console || { echo "embed page failed" >&2; exit 1; }

for path in /healthz / /embed/start; do
  echo "== GET $path (wrk -t2 -c$conns -d$duration)"
  wrk -t2 -c"$conns" -d"$duration" -H "Cookie: $cookie" "$base$path" | grep -E 'Requests/sec|Latency|requests in|Non-2xx|Socket errors'
done
