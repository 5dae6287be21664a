#!/usr/bin/env bash
# Gateway overhead against the floor, in one run on this machine (loopback only):
#   upstream   a fixed-latency OpenAI-compatible server (upstream.cpp), hit directly
#   nginx      nginx proxy_pass in front of it (the floor for a proxy hop)
#   pass       ladder serve, model named → pass-through to the upstream
#   policy     ladder serve, model ladder/bench_summary → gates, hard-stop scan of the
#              input (the example policy's full rule set), the upstream as tier 0,
#              validators (parse, json_schema), audit line, metrics
# Each target gets the same wrk load (POST /v1/chat/completions, keep-alive from the
# client). Prints requests/s, p50, p99, overhead against the upstream and ladder/nginx
# ratios. Not a test: bench/serve/run.sh [--duration 10] [--connections 32] [--delay-us 1000]
#
# Upstream hops open one connection per request for both proxies (nginx's proxy_pass
# default, ladder's HTTP client), so they pay the same per-request connect.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
duration=10 connections=32 delay_us=1000 threads=1
ladder="${LADDER:-$root/build/ladder}"
while (($#)); do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --delay-us) delay_us="$2"; shift 2 ;;
    --ladder) ladder="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
for tool in wrk nginx g++; do command -v "$tool" >/dev/null || { echo "needs $tool (scripts/setup installs it)" >&2; exit 2; }; done
[ -x "$ladder" ] || { echo "needs $ladder (build it first, or --ladder PATH)" >&2; exit 2; }
py="$root/.deps/venv/bin/python"; [ -x "$py" ] || py=python3

work="$(mktemp -d /tmp/ladder-bench-serve.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# ---- upstream ------------------------------------------------------------------------
g++ -O2 -std=c++20 "$root/bench/serve/upstream.cpp" -o "$work/upstream" -lpthread
"$work/upstream" --delay-us "$delay_us" > "$work/upstream.out" &
pids+=($!)
for _ in $(seq 50); do grep -q PORT "$work/upstream.out" 2>/dev/null && break; sleep 0.1; done
up_port="$(cut -d' ' -f2 "$work/upstream.out")"

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# ---- nginx ---------------------------------------------------------------------------
ngx_port="$(free_port)"
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fcgi; uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$ngx_port;
    location / { proxy_pass http://127.0.0.1:$up_port; }
  }
}
NGINX
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -g 'daemon off;' &
pids+=($!)

# ---- ladder --------------------------------------------------------------------------
"$py" - "$root/examples/maintainer/policy.yaml" "$work/policy.yaml" "$up_port" <<'PY'
import sys, yaml
src, dst, port = sys.argv[1], sys.argv[2], sys.argv[3]
p = yaml.safe_load(open(src))
up = {"backend": "openai", "base_url": "http://127.0.0.1:%s" % port, "model": "bench-upstream",
      "connect_timeout_ms": 1000, "request_timeout_ms": 5000, "retry": {"max_retries": 0}}
p.pop("macro_files", None)  # no route_macro task here
p.pop("macros", None)
p["models"] = {"upstream": dict(up), "upstream-frontier": dict(up)}
p["tiers"] = [{"name": "local", "models": ["upstream"]}, {"name": "frontier", "models": ["upstream-frontier"]}]
p["tasks"] = {"bench_summary": {
    "kind": "generate", "description": "Summarize a log line.", "max_input_chars": 8000, "max_tokens": 64,
    "output_schema": {"type": "object", "additionalProperties": False, "required": ["summary"],
                      "properties": {"summary": {"type": "string"}}},
    "prompt": "Summarize this log in one sentence.\nLog:\n{{input}}\nSummary:"}}
yaml.safe_dump(p, open(dst, "w"), sort_keys=False)
PY
"$ladder" policy check "$work/policy.yaml" > /dev/null
"$ladder" serve --policy "$work/policy.yaml" --port 0 --threads 1 --workers 32 --max-queue 4096 \
  --health-interval-ms 0 --audit "$work/audit.jsonl" > "$work/ladder.out" 2> "$work/ladder.err" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/ladder.out" 2>/dev/null && break; sleep 0.1; done
lad_port="$(head -1 "$work/ladder.out" | sed 's/.*://')"
sleep 0.5

# ---- load ----------------------------------------------------------------------------
input='ERROR: No matching distribution found for requests==99.0 while installing the web service dependencies'
make_lua() {  # $1 model
  cat > "$work/$1.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"$2","messages":[{"role":"user","content":"$input"}],"max_tokens":64}'
LUA
}
make_lua pass upstream
make_lua policy ladder/bench_summary
make_lua direct upstream

# Check each target answers before loading it.
for target in "direct $up_port" "direct $ngx_port" "pass $lad_port" "policy $lad_port"; do
  set -- $target
  body="$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$work/$1.lua")"
  code="$(curl -s -o "$work/check.json" -w '%{http_code}' -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$2/v1/chat/completions")"
  [ "$code" = 200 ] || { echo "target $1 on $2 answered $code: $(cat "$work/check.json")" >&2; exit 1; }
done

# wrk's latency lines: "50%  1.23ms"; to microseconds.
to_us() { awk -v v="$1" 'BEGIN { n=v; sub(/[a-z]+$/,"",n); u=v; sub(/^[0-9.]+/,"",u);
  if (u=="us") print n; else if (u=="ms") print n*1000; else if (u=="s") print n*1000000; else print n }'; }
declare -A rps p50 p99
run() {  # name lua port
  wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s "$work/$2.lua" "http://127.0.0.1:$3/v1/chat/completions" > "$work/$1.wrk"
  rps[$1]="$(awk '/Requests\/sec/ {print $2}' "$work/$1.wrk")"
  p50[$1]="$(to_us "$(awk '$1=="50%" {print $2}' "$work/$1.wrk")")"
  p99[$1]="$(to_us "$(awk '$1=="99%" {print $2}' "$work/$1.wrk")")"
  local errors; errors="$(grep -E 'Non-2xx|Socket errors' "$work/$1.wrk" || true)"
  [ -z "$errors" ] || echo "  $1: $errors" >&2
}
run upstream direct "$up_port"
run nginx direct "$ngx_port"
run pass pass "$lad_port"
run policy policy "$lad_port"
audit_summary="$("$py" -c 'import collections, json, sys
c = collections.Counter((r.get("route"), r.get("reason")) for r in map(json.loads, open(sys.argv[1])))
print(", ".join("%s/%s: %d" % (k[0], k[1], n) for k, n in c.most_common()))' "$work/audit.jsonl")"

echo "ladder serve overhead: wrk -t$threads -c$connections -d${duration}s, upstream delay ${delay_us} us, $(nproc) cores"
printf '%-10s %10s %10s %10s %14s %14s\n' target req/s p50_us p99_us p50_over_us p99_over_us
for t in upstream nginx pass policy; do
  printf '%-10s %10.0f %10.0f %10.0f %14.0f %14.0f\n' "$t" "${rps[$t]}" "${p50[$t]}" "${p99[$t]}" \
    "$(echo "${p50[$t]} - ${p50[upstream]}" | bc -l)" "$(echo "${p99[$t]} - ${p99[upstream]}" | bc -l)"
done
ratio() { echo "scale=2; $1 / $2" | bc -l; }
ngx_over="$(echo "${p99[nginx]} - ${p99[upstream]}" | bc -l)"
for t in pass policy; do
  over="$(echo "${p99[$t]} - ${p99[upstream]}" | bc -l)"
  echo "ladder $t / nginx: req/s $(ratio "${rps[$t]}" "${rps[nginx]}")x, p99 $(ratio "${p99[$t]}" "${p99[nginx]}")x, p99 overhead $(ratio "$over" "$ngx_over")x"
done
echo "audit records (route/reason: count): $audit_summary"
