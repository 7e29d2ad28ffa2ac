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
# 4. (issue 22) one reliability scale, fitted on valid, stored in the shipped simulator checkpoint (weights untouched)
python scripts/fit_reliability_scale.py qamoe/assets/simulator
qamoe-eval --checkpoint qamoe/assets/simulator --protocol reliability --out runs/sim-rel   # -> simulator/sim30-reliability-one-scale.json
# 5. like for like: the baselines with QA-MoE's mean+max pooling, QA-MoE with the baselines' mean pooling (10 epochs)
python -m qamoe.cli.experiment like-for-like --seeds 1111,1112,1113,1114,1115 --epochs 10 --protocols mixture --runs runs/lfl --out runs/lfl-report5
cp -r runs/lfl-report5 docs/reliability-report/simulator/like-for-like
# 6. the gating study, on the validation split; and what the trained gate does (gate removed at inference)
python -m qamoe.cli.experiment gating --seeds 1111,1112,1113 --epochs 10 --protocols mixture --split valid --runs runs/lfl --out runs/gating-valid3
cp -r runs/gating-valid3 docs/reliability-report/simulator/gating-valid
python benchmarks/gating_probe.py --checkpoint runs/lfl/qamoe/seed1111 --out docs/reliability-report/simulator/gating-probe-seed1111.json
# 7. the ablations and the clean-trained model under the mixture, paired (10 epochs, seeds 1111 and 1112)
python -m qamoe.cli.experiment ablations --seeds 1111,1112 --epochs 10 --protocols mixture --runs runs/lfl --out runs/ablations
cp -r runs/ablations docs/reliability-report/simulator/ablations
python -m qamoe.cli.experiment training --seeds 1111,1112 --epochs 10 --protocols mixture --runs runs/lfl --out runs/training
cp -r runs/training docs/reliability-report/simulator/training
# 8. RAVDESS: the reliability protocol on the held-out actors with the audio's noise on the waveform
qamoe-train --dataset ravdess --seed 1111 --out runs/ravdess-1111
python benchmarks/ravdess_reliability.py --checkpoint runs/ravdess-1111 --out docs/reliability-report/ravdess/reliability-seed1111
qamoe-train --dataset ravdess --seed 1112 --out runs/ravdess-1112
python benchmarks/ravdess_reliability.py --checkpoint runs/ravdess-1112 --out docs/reliability-report/ravdess/reliability-seed1112
# 9. why r_vision does not follow feature noise among present RAVDESS faces (target, probe error, input cue)
python benchmarks/ravdess_vision_target.py --checkpoint runs/ravdess-1111 --out docs/reliability-report/ravdess/vision-target-seed1111.json
python benchmarks/ravdess_vision_target.py --checkpoint runs/ravdess-1112 --out docs/reliability-report/ravdess/vision-target-seed1112.json
# 10. a third RAVDESS seed, through steps 8 and 9
qamoe-train --dataset ravdess --seed 1113 --out runs/ravdess-1113
python benchmarks/ravdess_reliability.py --checkpoint runs/ravdess-1113 --out docs/reliability-report/ravdess/reliability-seed1113
python benchmarks/ravdess_vision_target.py --checkpoint runs/ravdess-1113 --out docs/reliability-report/ravdess/vision-target-seed1113.json
# 11. the live checkpoint's scale, fitted on signal degradations of its validation sources, and what it reads on test
python -m qamoe.extractors.datasets.fer --train 6000 --valid 1500 --test 1500 --train-views 2500 --test-views 500 --valid-views 500
python scripts/fit_reliability_scale.py qamoe/assets/live --live-mix runs/live/text_cache
python benchmarks/live_reliability_meaning.py --checkpoint qamoe/assets/live --out docs/reliability-report/live/meaning-test.json
python benchmarks/live_reliability_meaning.py --checkpoint qamoe/assets/live --split valid --out docs/reliability-report/live/meaning-valid.json
# 12. Protocols I, II and the grid on the like-for-like checkpoints (QA-MoE and the baselines as designed, 5 seeds)
python scripts/fit_reliability_scale.py runs/lfl/qamoe/seed1111    # trained before the scale existed: every seed on one scale
python -m qamoe.cli.experiment baselines --models qamoe,late-fusion,mult,topk-moe --seeds 1111,1112,1113,1114,1115 --epochs 10 --protocols subsets,missing,noise,mixture --runs runs/lfl --out runs/baselines5 --eval-only
python -m qamoe.cli.experiment baselines --models qamoe,late-fusion,topk-moe --seeds 1111,1112,1113,1114,1115 --epochs 10 --protocols grid,reliability --runs runs/lfl --out runs/grid5a --eval-only
python -m qamoe.cli.experiment baselines --models mult --seeds 1111,1112,1113,1114,1115 --epochs 10 --protocols grid,reliability --runs runs/lfl --out runs/grid5b --eval-only
