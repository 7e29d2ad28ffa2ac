import sys
from qamoe.harness.experiments import train_variants
import torch
torch.set_num_threads(1)
epochs = int(sys.argv[1])
log = lambda s: print(s, flush=True)
main = ["qamoe", "late-fusion", "mult", "topk-moe"]
extra = ["qamoe-clean", "qamoe-no-gating", "qamoe-no-variance", "qamoe-no-prior"]
train_variants(main, [1111, 1112, 1113], runs="runs/bench", epochs=epochs, log=log)
train_variants(extra, [1111], runs="runs/bench", epochs=epochs, log=log)
train_variants(extra, [1112, 1113], runs="runs/bench", epochs=epochs, log=log)
print("ALL DONE", flush=True)
