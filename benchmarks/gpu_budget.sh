#!/usr/bin/env bash
# Issue 22's full budget as one prepared GPU run: on the simulator, QA-MoE, the three baselines (as
# designed and with QA-MoE's mean+max pooling), QA-MoE with the baselines' mean pooling, the ablations
# and clean training, 5 seeds x 30 epochs; then every protocol (subsets, missing, noise, mixture, the
# 8x8 grid, reliability), paired clip by clip across the seeds. Each seed trains in its own process
# (they share the GPU); the four evaluations then run side by side. Checkpoints already in RUNS are
# reused, so a run cut short by LIMIT continues where it stopped.
#
#   benchmarks/gpu_budget.sh            # cuda, seeds 1111-1115, 30 epochs -> runs/gpu-budget, benchmarks/results/gpu-budget
#   benchmarks/gpu_budget.sh --quick    # cpu, one seed, one epoch, two models: the same commands, to check the script
#
# Environment overrides: DEVICE, SEEDS (comma-separated), EPOCHS, RUNS, OUT, LIMIT (seconds for the
# whole run, default 570), EVAL_RESERVE (seconds of LIMIT kept for the evaluations, default 150). A seed
# whose training did not finish is left out of the evaluations (budget.json lists the seeds evaluated).
# Writes OUT/budget.json (device, phases and their wall times, every command) and the evaluations'
# results under OUT/<experiment> (the baselines also REPORT.md with the grid's heatmaps). On a GPU the
# models train under bf16 autocast (TrainConfig.amp) and are evaluated in fp32.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3

ALL_MODELS="qamoe,late-fusion,mult,topk-moe,late-fusion-maxpool,mult-maxpool,topk-moe-maxpool,qamoe-meanpool"
ALL_MODELS+=",qamoe-no-gating,qamoe-no-sigma,qamoe-no-variance,qamoe-no-prior,qamoe-clean"
if [[ "${1:-}" == "--quick" ]]; then
  DEVICE="${DEVICE:-cpu}" SEEDS="${SEEDS:-1111}" EPOCHS="${EPOCHS:-1}"
  MODELS="qamoe,late-fusion"
  EVALS=("baselines:qamoe,late-fusion:mixture,reliability")
  EVAL_RESERVE="${EVAL_RESERVE:-20}"
elif [[ $# -gt 0 ]]; then
  echo "usage: benchmarks/gpu_budget.sh [--quick]" >&2
  exit 2
else
  MODELS="$ALL_MODELS"
  EVALS=("baselines:qamoe,late-fusion,mult,topk-moe:subsets,missing,noise,mixture,grid,reliability,efficiency"
         "like-for-like:qamoe,late-fusion-maxpool,mult-maxpool,topk-moe-maxpool,qamoe-meanpool,late-fusion,mult,topk-moe:mixture"
         "ablations:qamoe,qamoe-no-gating,qamoe-no-sigma,qamoe-no-variance,qamoe-no-prior:mixture,reliability"
         "training:qamoe,qamoe-clean:mixture")
fi
DEVICE="${DEVICE:-cuda}" SEEDS="${SEEDS:-1111,1112,1113,1114,1115}" EPOCHS="${EPOCHS:-30}"
RUNS="${RUNS:-runs/gpu-budget}" OUT="${OUT:-benchmarks/results/gpu-budget}" LIMIT="${LIMIT:-570}"
EVAL_RESERVE="${EVAL_RESERVE:-150}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
mkdir -p "$OUT/logs"
started=$(date +%s)
# left [RESERVE]: seconds of LIMIT still free after keeping RESERVE back, at least 1 (timeout 0 means none)
left() { local s=$(( LIMIT - ${1:-0} - ($(date +%s) - started) )); echo $(( s > 1 ? s : 1 )); }
phases=()
pids=()
trap 'kill "${pids[@]}" 2>/dev/null' INT TERM  # timeout passes the signal on to its command

# run_all NAME RESERVE CMD...: every command of a phase side by side, each bounded by what is left of
# LIMIT after RESERVE seconds are kept back
run_all() {
  local phase="$1" reserve="$2"; shift 2
  local t0 status=0 i=0 limit
  t0=$(date +%s)
  limit=$(left "$reserve")
  pids=()
  for cmd in "$@"; do
    i=$((i + 1))
    echo "[$phase $i] $cmd"
    timeout "$limit" bash -c "$cmd" > "$OUT/logs/$phase-$i.log" 2>&1 & pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
  phases+=("{\"phase\": \"$phase\", \"seconds\": $(( $(date +%s) - t0 )), \"exit\": $status}")
  if [[ $status -ne 0 ]]; then echo "$phase: a command failed or ran out of time (exit $status); logs in $OUT/logs" >&2; fi
  return $status
}

X="$(printf %q "$PY") -m qamoe.cli.experiment"
q_runs=$(printf %q "$RUNS") q_out=$(printf %q "$OUT")
train=()
for seed in ${SEEDS//,/ }; do
  train+=("$X training-all --models $MODELS --seeds $seed --epochs $EPOCHS --runs $q_runs --out $q_out/train --train-only --device $DEVICE")
done

status=0
run_all train "$EVAL_RESERVE" "${train[@]}" || status=$?
done_seeds=()  # the seeds every model finished training for
for seed in ${SEEDS//,/ }; do
  complete=1
  for model in ${MODELS//,/ }; do [[ -s "$RUNS/$model/seed$seed/model.safetensors" ]] || complete=0; done
  if [[ $complete -eq 1 ]]; then done_seeds+=("$seed"); fi
done
EVALUATED=$(IFS=,; echo "${done_seeds[*]}")
evals=()
for spec in "${EVALS[@]}"; do
  IFS=: read -r name models protocols <<< "$spec"
  evals+=("$X $name --models $models --seeds $EVALUATED --epochs $EPOCHS --runs $q_runs --out $q_out/$name --protocols $protocols --eval-only --device $DEVICE")
done
if [[ -n "$EVALUATED" ]]; then
  run_all evaluate 0 "${evals[@]}" || status=$?
else
  echo "no seed finished training: nothing to evaluate" >&2
  evals=()
fi

device_name=$("$PY" -c "import torch, sys; d = sys.argv[1]; print(torch.cuda.get_device_name() if d.startswith('cuda') and torch.cuda.is_available() else 'cpu')" "$DEVICE" 2>/dev/null || echo unknown)
"$PY" - "$OUT/budget.json" "$DEVICE" "$device_name" "$SEEDS" "$EVALUATED" "$EPOCHS" "$(( $(date +%s) - started ))" "$status" \
  "$(IFS=$'\n'; echo "${phases[*]}")" "$(IFS=$'\n'; echo "${train[*]}"$'\n'"${evals[*]}")" <<'PYEOF'
import json, sys
out, device, name, seeds, evaluated, epochs, seconds, status, phases, commands = sys.argv[1:]
json.dump({"device": device, "device_name": name, "seeds": [int(s) for s in seeds.split(",")],
           "seeds_evaluated": [int(s) for s in evaluated.split(",") if s], "epochs": int(epochs),
           "bf16_autocast_in_training": device.startswith("cuda"),
           "seconds": int(seconds), "exit": int(status), "phases": [json.loads(p) for p in phases.splitlines() if p],
           "commands": [c for c in commands.splitlines() if c]}, open(out, "w"), indent=1)
PYEOF
echo "budget: ${SEEDS} x ${EPOCHS} epochs on $device_name in $(( $(date +%s) - started )) s (exit $status) -> $OUT/budget.json"
exit $status
