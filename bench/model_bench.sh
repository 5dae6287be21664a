#!/usr/bin/env bash
# Compares llama.cpp builds on the packaged models: runs the model_bench binary of each
# ladder build folder given, in this one command, and prints prompt and generation
# tokens/s per model with the ratio to the first (baseline) build, and the instruction
# sets of the CPU backend each build ran on.
#   bench/model_bench.sh [--rounds N] build-baseline build-variant [-- --benchmark_filter=qwen]
# With --rounds N (default 1) the builds take turns N times (A B A B ...) and each figure
# is the median of its N runs, so that a load that comes and goes on a shared machine
# hits every build alike.
set -euo pipefail
rounds=1
builds=()
while (($#)) && [ "$1" != -- ]; do
  case "$1" in
    --rounds) rounds="${2:?--rounds needs a number}"; shift 2 ;;
    --rounds=*) rounds="${1#--rounds=}"; shift ;;
    *) builds+=("$1"); shift ;;
  esac
done
[ "${1:-}" = -- ] && shift
((${#builds[@]})) || { echo "usage: $0 [--rounds N] BUILD_DIR [BUILD_DIR ...] [-- benchmark args]" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "$0: --rounds must be a positive integer, got '$rounds'" >&2; exit 2; }
for b in "${builds[@]}"; do
  [ -x "$b/bench/model_bench" ] || { echo "$0: $b/bench/model_bench is missing (build the model_bench target)" >&2; exit 2; }
done
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
for ((r = 0; r < rounds; r++)); do
  for i in "${!builds[@]}"; do
    "${builds[$i]}/bench/model_bench" --benchmark_format=json --benchmark_out="$tmp/$i.$r.json" \
      --benchmark_out_format=json "$@" >/dev/null
  done
done
python3 - "$tmp" "$rounds" "${builds[@]}" <<'PY'
import json, statistics, sys
tmp, rounds, builds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def load(i, r):
    return {b["name"]: b for b in json.load(open(f"{tmp}/{i}.{r}.json"))["benchmarks"]}
runs = []  # per build: name -> {"prompt_tok_s": median, "gen_tok_s": median, "label": ..., "error_message": ...}
for i in range(len(builds)):
    per_round = [load(i, r) for r in range(rounds)]
    merged = {}
    for name in per_round[0]:
        got = [pr[name] for pr in per_round if name in pr]
        ok = [g for g in got if "prompt_tok_s" in g]
        if len(ok) < len(got):
            merged[name] = {"error_message": next(g.get("error_message", "no result") for g in got if "prompt_tok_s" not in g)}
            continue
        merged[name] = {k: statistics.median(g[k] for g in ok) for k in ("prompt_tok_s", "gen_tok_s")}
        merged[name]["label"] = ok[0].get("label", "")
    runs.append(merged)
print(f"{'model':<34}{'build':<28}{'prompt tok/s':>14}{'x':>7}{'gen tok/s':>12}{'x':>7}")
for name in runs[0]:
    base = runs[0][name]
    for b, run in zip(builds, runs):
        r = run.get(name, {})
        if "prompt_tok_s" not in r:
            print(f"{name:<34}{b:<28}  {r.get('error_message', 'no result')}")
            continue
        px = r["prompt_tok_s"] / base["prompt_tok_s"] if "prompt_tok_s" in base else float("nan")
        gx = r["gen_tok_s"] / base["gen_tok_s"] if "gen_tok_s" in base else float("nan")
        print(f"{name:<34}{b:<28}{r['prompt_tok_s']:>14.1f}{px:>7.2f}{r['gen_tok_s']:>12.1f}{gx:>7.2f}")
print(f"median of {rounds} round(s) per figure; CPU backend instruction sets per build:")
for b, run in zip(builds, runs):
    labels = {r["label"] for r in run.values() if "label" in r}
    print(f"  {b}: {' | '.join(sorted(labels)) or 'no result'}")
PY
