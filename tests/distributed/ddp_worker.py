"""Run by test_torchrun.py under `torchrun --nproc_per_node 2`: trains on a small simulator data set
with gloo and writes this rank's final parameters and metrics for the test to compare."""

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from qamoe.data.synthetic import make_synthetic
from qamoe.distributed import init_distributed, shutdown
from qamoe.train import TrainConfig, model_config_for, train_model

SIZES = {"train": 256, "valid": 64, "test": 64}


def main(out: str, epochs: int) -> None:
    torch.set_num_threads(1)
    ctx = init_distributed("cpu")
    data = make_synthetic(3, sizes=SIZES)
    config = model_config_for(data, d_model=32, expert_hidden=64, encoder_heads=2)
    checkpoint, history = train_model(data, config, TrainConfig(epochs=epochs, batch_size=16, seed=5), ctx=ctx)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in checkpoint.model.state_dict().items()}, str(out_dir / f"rank{ctx.rank}.safetensors"))
    (out_dir / f"rank{ctx.rank}.json").write_text(json.dumps({"world_size": ctx.world_size, **history}))
    shutdown(ctx)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
