#!/usr/bin/env bash
# Compares llama.cpp builds on the packaged models: runs the model_bench binary of each
# ladder build folder given, one after another in this one command, and prints prompt and
# generation tokens/s per model with the ratio to the first (baseline) build.
#   bench/model_bench.sh build-baseline build-variant [-- --benchmark_filter=qwen]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
builds=()
while (($#)) && [ "$1" != -- ]; do builds+=("$1"); shift; done
[ "${1:-}" = -- ] && shift
((${#builds[@]})) || { echo "usage: $0 BUILD_DIR [BUILD_DIR ...] [-- benchmark args]" >&2; exit 2; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
i=0
for b in "${builds[@]}"; do
  "$b/bench/model_bench" --benchmark_format=json --benchmark_out="$tmp/$i.json" --benchmark_out_format=json "$@" >/dev/null
  i=$((i + 1))
done
python3 - "$tmp" "${builds[@]}" <<'PY'
import json, sys
tmp, builds = sys.argv[1], sys.argv[2:]
runs = [{b["name"]: b for b in json.load(open(f"{tmp}/{i}.json"))["benchmarks"]} for i in range(len(builds))]
print(f"{'model':<22}{'build':<28}{'prompt tok/s':>14}{'x':>7}{'gen tok/s':>12}{'x':>7}")
for name in runs[0]:
    base = runs[0][name]
    for b, run in zip(builds, runs):
        r = run.get(name, {})
        if "prompt_tok_s" not in r:
            print(f"{name:<22}{b:<28}  {r.get('error_message', 'no result')}")
            continue
        px = r["prompt_tok_s"] / base["prompt_tok_s"] if "prompt_tok_s" in base else float("nan")
        gx = r["gen_tok_s"] / base["gen_tok_s"] if "gen_tok_s" in base else float("nan")
        print(f"{name:<22}{b:<28}{r['prompt_tok_s']:>14.1f}{px:>7.2f}{r['gen_tok_s']:>12.1f}{gx:>7.2f}")
PY
