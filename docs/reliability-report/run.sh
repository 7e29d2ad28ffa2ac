#!/bin/bash
# The commands that made this report (run from the repository root; one CPU thread per process).
# Every seed is on the command line; data seed 0 (simulator), degradation seed 0, RAVDESS folds 1-14:15-17:18-20.
set -e
export OMP_NUM_THREADS=1
# 1. the simulator checkpoint with every default (30 epochs, seed 1111) -- shipped as qamoe/assets/simulator
qamoe-train --out runs/sim30 --half
qamoe-eval --checkpoint runs/sim30 --protocol reliability --out runs/sim30-eval   # -> simulator/sim30-reliability.json
# 2. QA-MoE against the three baselines and the no-gating ablation, paired on the same corrupted clips
python -m qamoe.cli.experiment baselines --models qamoe,late-fusion,mult,topk-moe,qamoe-no-gating \
    --protocols mixture,reliability --seeds 1111,1112 --epochs 10 --runs runs/rel10 --out docs/reliability-report/simulator
# 3. RAVDESS: real voices, trained with the defaults (audio read clean or degraded on the waveform)
for s in 1111 1112 1113; do qamoe-train --dataset ravdess --seed $s --out runs/ravdess-$s; done
python benchmarks/ravdess_snr.py --checkpoint runs/ravdess-1111 --out docs/reliability-report/ravdess/snr-white-seed1111.json
python benchmarks/ravdess_snr.py --checkpoint runs/ravdess-1111 --noise-kind babble --out docs/reliability-report/ravdess/snr-babble-seed1111.json
python benchmarks/ravdess_snr.py --checkpoint runs/ravdess-1111 --split valid --snrs clean --out docs/reliability-report/ravdess/valid-seed1111.json
python benchmarks/ravdess_baselines.py --seed 0     # the logistic-regression anchors (benchmarks/RAVDESS.md)
