#!/bin/bash
# The commands that made this report (run from the repository root, one CPU thread per process).
# qamoe-experiment is the script entry of qamoe.cli.experiment (python -m qamoe.cli.experiment until it is registered).
# Checkpoints: runs/bench/<variant>/seed<seed>; every qamoe-experiment call reuses the ones already there.
set -e
export OMP_NUM_THREADS=1
# 1. training, seed-major (the same train_variants() that qamoe-experiment calls; see train_all.py):
#    qamoe, late-fusion, mult, topk-moe for seeds 1111, 1112, 1113, 10 epochs each
python docs/simulator-report/train_all.py 10   # stopped after the 12 main checkpoints
# 2. every protocol on the four models, 3 seeds -> REPORT.md, PROTOCOL.json, grid_*.png
python -m qamoe.cli.experiment baselines --seeds 1111,1112,1113 --epochs 10 --runs runs/bench --out docs/simulator-report
# 3. ablations (Table 7) and clean-versus-spectrum training (Table 5), seeds 1111-1113 (trains what is missing)
python -m qamoe.cli.experiment ablations --seeds 1111,1112,1113 --epochs 10 --runs runs/bench --out docs/simulator-report/ablations
python -m qamoe.cli.experiment training --seeds 1111,1112,1113 --epochs 10 --runs runs/bench --out docs/simulator-report/training
# 4. the claims table
python -m qamoe.harness.claims docs/simulator-report > docs/simulator-report/CLAIMS.md
# 5. extras: the lead's 30-epoch QA-MoE checkpoints runs/spectrum and runs/clean (qamoe-train, seed 1111,
#    30 epochs, spectrum and clean training; the same model config as runs/bench/qamoe), and the random
#    missing protocol retrained per rate (Lian et al.), one seed
python -m qamoe.cli.evaluate --protocol mixture --checkpoint qamoe-30ep=runs/spectrum --checkpoint qamoe-clean-30ep=runs/clean --out docs/simulator-report/training-30ep
python -m qamoe.cli.evaluate --protocol reliability --checkpoint qamoe-30ep=runs/spectrum --out docs/simulator-report/training-30ep
python -m qamoe.cli.experiment missing-retrained --seeds 1111 --epochs 10 --runs runs/bench --out docs/simulator-report/missing-retrained
