#!/usr/bin/env bash
# Gateway overhead against the floor, in one run on this machine (loopback only):
#   upstream   a fixed-latency OpenAI-compatible server (upstream.cpp), hit directly
#   nginx      nginx proxy_pass in front of it (the floor for a proxy hop)
#   pass       ladder serve, model named → pass-through to the upstream (the policy's
#              default decision store, SQLite beside it, and the JSONL audit log)
#   pass-log   the same with `store: {kind: jsonl}`: the JSONL audit log alone
#   policy     ladder serve, model ladder/bench_summary → gates, hard-stop scan of the
#              input (the example policy's full rule set), the upstream as tier 0,
#              validators (parse, json_schema), audit line, metrics
#   nginx-ka   the same with an upstream keepalive pool (proxy_http_version 1.1)
#   litellm    LiteLLM proxy (pinned, from PyPI into bench/serve/.venv-litellm), plain
#              pass-through to the same upstream; skipped with a message when it cannot
#              be installed or does not start
# Each target gets the same wrk load (POST /v1/chat/completions, keep-alive from the
# client) at -c1 and at -c32 (--connections), same body and duration. Prints requests/s,
# p50, p99, latency added over the upstream, errors, and the CPU time per request of the
# proxy process (utime+stime from /proc/PID/stat, children included), then the ratios
# against the goals. Not a test:
#   bench/serve/run.sh [--duration 10] [--connections 32] [--delay-us 1000] [--no-litellm]
#
# ladder's upstream hops go through its pooled keep-alive HTTP client; "nginx" pays a
# connect per request (proxy_pass default), "nginx-ka" does not.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
duration=10 connections=32 delay_us=1000 threads=1 litellm=1
litellm_version=1.106.12  # newest whose [proxy] extra resolves from the registry here (1.108+ pin litellm-proxy-extras builds it lacks)
ladder="${LADDER:-$root/build/ladder}"
# Every target gets the same Authorization header; only LiteLLM checks it (its proxy
# refuses to start without a master key).
bench_key=sk-bench-master
while (($#)); do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --delay-us) delay_us="$2"; shift 2 ;;
    --ladder) ladder="$2"; shift 2 ;;
    --no-litellm) litellm=0; shift ;;
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
up_pid=$!
pids+=($up_pid)
for _ in $(seq 50); do grep -q PORT "$work/upstream.out" 2>/dev/null && break; sleep 0.1; done
up_port="$(cut -d' ' -f2 "$work/upstream.out")"

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# ---- nginx ---------------------------------------------------------------------------
ngx_port="$(free_port)" ngx_ka_port="$(free_port)"
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
  upstream bench_up { server 127.0.0.1:$up_port; keepalive 64; }
  server {
    listen 127.0.0.1:$ngx_port;
    location / { proxy_pass http://127.0.0.1:$up_port; }
  }
  server {
    listen 127.0.0.1:$ngx_ka_port;
    location / { proxy_pass http://bench_up; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -g 'daemon off;' &
ngx_pid=$!
pids+=($ngx_pid)

# ---- LiteLLM -------------------------------------------------------------------------
lite_port="" lite_pid="" lite_skip=""
if ((litellm)); then
  venv="$root/bench/serve/.venv-litellm"
  if [ ! -f "$venv/.installed-$litellm_version" ]; then
    { rm -rf "$venv" && python3 -m venv "$venv" && "$venv/bin/pip" install -q "litellm[proxy]==$litellm_version" &&
      touch "$venv/.installed-$litellm_version"; } > "$work/litellm-install.log" 2>&1 ||
      lite_skip="cannot install litellm[proxy]==$litellm_version from PyPI (see $work/litellm-install.log)"
  fi
  if [ -z "$lite_skip" ]; then
    lite_port="$(free_port)"
    cat > "$work/litellm.yaml" <<LITE
model_list:
  - model_name: upstream
    litellm_params: {model: openai/bench-upstream, api_base: "http://127.0.0.1:$up_port/v1", api_key: sk-bench}
litellm_settings: {drop_params: true, telemetry: false}
general_settings: {master_key: $bench_key}
LITE
    "$venv/bin/litellm" --config "$work/litellm.yaml" --host 127.0.0.1 --port "$lite_port" --num_workers 1 \
      > "$work/litellm.out" 2>&1 &
    lite_pid=$!
    pids+=($lite_pid)
    for _ in $(seq 240); do curl -sf "http://127.0.0.1:$lite_port/health/liveliness" > /dev/null 2>&1 && break; sleep 0.5; done
    if ! curl -sf "http://127.0.0.1:$lite_port/health/liveliness" > /dev/null 2>&1; then
      lite_skip="litellm did not start: $(grep -m1 -iE 'error|refused' "$work/litellm.out" | cut -c1-160)"
      kill "$lite_pid" 2>/dev/null || true  # it must not take CPU from the rows measured
    fi
  fi
else
  lite_skip="--no-litellm"
fi

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
if "costs" in p:  # the example's frontier price, on the frontier stand-in
    p["costs"]["models"] = {"upstream-frontier": next(iter(p["costs"].get("models", {}).values()), {})}
p["tiers"] = [{"name": "local", "models": ["upstream"]}, {"name": "frontier", "models": ["upstream-frontier"]}]
p["tasks"] = {"bench_summary": {
    "kind": "generate", "description": "Summarize a log line.", "max_input_chars": 8000, "max_tokens": 64,
    "output_schema": {"type": "object", "additionalProperties": False, "required": ["summary"],
                      "properties": {"summary": {"type": "string"}}},
    "prompt": "Summarize this log in one sentence.\nLog:\n{{input}}\nSummary:"}}
yaml.safe_dump(p, open(dst, "w"), sort_keys=False)
p["store"] = {"kind": "jsonl"}  # the pass-log row: the JSONL audit log alone, no decision store
yaml.safe_dump(p, open(dst.replace(".yaml", "-log.yaml"), "w"), sort_keys=False)
PY
"$ladder" policy check "$work/policy.yaml" > /dev/null
"$ladder" serve --policy "$work/policy.yaml" --port 0 --threads 1 --workers 32 --max-queue 4096 \
  --health-interval-ms 0 --audit "$work/audit.jsonl" > "$work/ladder.out" 2> "$work/ladder.err" &
lad_pid=$!
pids+=($lad_pid)
for _ in $(seq 100); do grep -q listening "$work/ladder.out" 2>/dev/null && break; sleep 0.1; done
lad_port="$(head -1 "$work/ladder.out" | sed 's/.*://')"
mkdir -p "$work/log"
"$ladder" serve --policy "$work/policy-log.yaml" --port 0 --threads 1 --workers 32 --max-queue 4096 \
  --health-interval-ms 0 --audit "$work/log/audit.jsonl" > "$work/ladder-log.out" 2> "$work/ladder-log.err" &
log_pid=$!
pids+=($log_pid)
for _ in $(seq 100); do grep -q listening "$work/ladder-log.out" 2>/dev/null && break; sleep 0.1; done
log_port="$(head -1 "$work/ladder-log.out" | sed 's/.*://')"
sleep 0.5

# ---- load ----------------------------------------------------------------------------
input='ERROR: No matching distribution found for requests==99.0 while installing the web service dependencies'
make_lua() {  # $1 model
  cat > "$work/$1.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $bench_key"
wrk.body = '{"model":"$2","messages":[{"role":"user","content":"$input"}],"max_tokens":64}'
LUA
}
make_lua pass upstream
make_lua policy ladder/bench_summary
make_lua direct upstream

targets=("upstream direct $up_port $up_pid" "nginx direct $ngx_port $ngx_pid" "nginx-ka direct $ngx_ka_port $ngx_pid"
  "pass pass $lad_port $lad_pid" "pass-log pass $log_port $log_pid" "policy policy $lad_port $lad_pid")
[ -n "$lite_skip" ] || targets+=("litellm direct $lite_port $lite_pid")

# Check each target answers before loading it.
for target in "${targets[@]}"; do
  set -- $target
  body="$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$work/$2.lua")"
  code="$(curl -s -o "$work/check.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $bench_key" -d "$body" "http://127.0.0.1:$3/v1/chat/completions")"
  [ "$code" = 200 ] || { echo "target $1 on $3 answered $code: $(cat "$work/check.json")" >&2; exit 1; }
done

# CPU time (clock ticks) of a process and its children (nginx workers, uvicorn).
tck="$(getconf CLK_TCK)"
cpu_ticks() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$total"
}
# wrk's latency lines: "50%  1.23ms"; to microseconds.
to_us() { awk -v v="$1" 'BEGIN { n=v; sub(/[a-z]+$/,"",n); u=v; sub(/^[0-9.]+/,"",u);
  if (u=="us") print n; else if (u=="ms") print n*1000; else if (u=="s") print n*1000000; else print n }'; }
declare -A rps p50 p99 errs cpu
run() {  # key lua port pid conns
  local key="$1" before after n
  before="$(cpu_ticks "$4")"
  wrk -t"$threads" -c"$5" -d"${duration}s" --latency -s "$work/$2.lua" "http://127.0.0.1:$3/v1/chat/completions" > "$work/${key//\//_}.wrk"
  after="$(cpu_ticks "$4")"
  n="$(awk '/requests in/ {print $1}' "$work/${key//\//_}.wrk")"
  rps[$key]="$(awk '/Requests\/sec/ {print $2}' "$work/${key//\//_}.wrk")"
  p50[$key]="$(to_us "$(awk '$1=="50%" {print $2}' "$work/${key//\//_}.wrk")")"
  p99[$key]="$(to_us "$(awk '$1=="99%" {print $2}' "$work/${key//\//_}.wrk")")"
  errs[$key]="$(awk '/Non-2xx/ {e+=$NF} /Socket errors/ {gsub(/,/,""); e+=$4+$6+$8+$10} END {print e+0}' "$work/${key//\//_}.wrk")"
  cpu[$key]="$(echo "($after - $before) * 1000000 / $tck / ($n + (${n:-0} == 0))" | bc -l)"
}
for c in 1 "$connections"; do
  for target in "${targets[@]}"; do
    set -- $target
    run "$1/$c" "$2" "$3" "$4" "$c"
  done
done
audit_summary="$("$py" -c 'import collections, json, sys
c = collections.Counter((r.get("route"), r.get("reason")) for r in map(json.loads, open(sys.argv[1])))
print(", ".join("%s/%s: %d" % (k[0], k[1], n) for k, n in c.most_common()))' "$work/audit.jsonl")"

echo "ladder serve against the floor: wrk -t$threads -d${duration}s, upstream delay ${delay_us} us, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ -z "$lite_skip" ] || echo "litellm row skipped: $lite_skip"
printf '%-10s %4s %10s %9s %9s %12s %12s %7s %12s\n' target c req/s p50_us p99_us added_p50_us added_p99_us errors cpu_us/req
for c in 1 "$connections"; do
  for target in "${targets[@]}"; do
    set -- $target
    k="$1/$c" u="upstream/$c"
    printf '%-10s %4s %10.0f %9.0f %9.0f %12.0f %12.0f %7s %12.1f\n' "$1" "$c" "${rps[$k]}" "${p50[$k]}" "${p99[$k]}" \
      "$(echo "${p50[$k]} - ${p50[$u]}" | bc -l)" "$(echo "${p99[$k]} - ${p99[$u]}" | bc -l)" "${errs[$k]}" "${cpu[$k]}"
  done
done
ratio() { echo "scale=2; $1 / $2" | bc -l 2>/dev/null || echo "n/a"; }
c="$connections"
added() { echo "${p99[$1/$c]} - ${p99[upstream/$c]}" | bc -l; }
echo "goals at c=$c (ratio, goal):"
echo "  pass cpu/req / nginx-ka cpu/req        $(ratio "${cpu[pass/$c]}" "${cpu[nginx-ka/$c]}")  (<= 2)"
echo "  pass added p99 / nginx-ka added p99    $(ratio "$(added pass)" "$(added nginx-ka)")  (<= 1.5)"
echo "  policy cpu/req / pass cpu/req          $(ratio "${cpu[policy/$c]}" "${cpu[pass/$c]}")  (<= 2)"
if [ -z "$lite_skip" ]; then
  echo "  pass req/s / litellm req/s             $(ratio "${rps[pass/$c]}" "${rps[litellm/$c]}")  (>= 20)"
fi
echo "audit records (route/reason: count): $audit_summary"
