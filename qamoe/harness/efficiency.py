"""Protocol "efficiency" (the paper's Table 10): parameters (total and active), FLOPs per sample,
latency and throughput per batch size, and peak memory, measured on clean test batches."""

from __future__ import annotations

import time

import numpy as np
import torch

from qamoe.harness.records import BatchCost, EfficiencyResult
from qamoe.tensors import TensorSplit


def _active_parameters(model: torch.nn.Module) -> int:
    """Parameters minus the experts a sample does not use: of each MixtureOfExperts bank of N experts
    only top_k run per sample (router and everything else always run)."""
    from qamoe.moe import MixtureOfExperts

    total = sum(p.numel() for p in model.parameters())
    for module in model.modules():
        if isinstance(module, MixtureOfExperts):
            bank = sum(p.numel() for p in module.experts.parameters())
            n = len(module.experts)
            total -= bank - bank * module.router.top_k // n
    return int(total)


class _LiveTensorBytes:
    """Peak bytes of tensors alive during a forward pass on CPU (a dispatch mode that adds each new
    storage when an op creates it and subtracts it when its tensor is freed); parameters excluded."""

    def __init__(self) -> None:
        from torch.utils._python_dispatch import TorchDispatchMode

        tracker = self

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                tracker._record(out)
                return out

        self.mode = Mode()
        self.live = 0
        self.peak = 0
        self._seen: set[int] = set()

    def _record(self, out) -> None:
        import weakref

        from torch.utils._pytree import tree_flatten

        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor):
                continue
            storage = t.untyped_storage()
            key = storage.data_ptr()
            if not key or key in self._seen:
                continue
            size = storage.nbytes()
            self._seen.add(key)
            self.live += size
            self.peak = max(self.peak, self.live)
            weakref.finalize(t, self._free, key, size)

    def _free(self, key: int, size: int) -> None:
        if key in self._seen:
            self._seen.discard(key)
            self.live -= size

    def __enter__(self):
        self.mode.__enter__()
        return self

    def __exit__(self, *exc):
        return self.mode.__exit__(*exc)


def efficiency(checkpoint, split: TensorSplit, sigma_ref=None, *, seed: int = 0, batch_sizes=(1, 16, 64),
               repeats: int = 10, device: str | None = None) -> EfficiencyResult:
    """Cost of inference on clean test batches: FLOPs per sample (torch.utils.flop_counter, which
    counts the matrix products and attention; the MoE runs only the selected experts, so they are
    what is counted), median latency per batch, throughput, and peak memory: parameters plus the
    peak of live activation tensors (CUDA: torch's max allocated; CPU: tracked per op)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = checkpoint.model
    dev = torch.device(device) if device else next(model.parameters()).device
    model.to(dev).eval()
    n = len(split)
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    batches: dict[str, BatchCost] = {}
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        index = torch.randperm(n, generator=generator)[: min(64, n)]
        batch = split.batch(index).to(dev)
        counter = FlopCounterMode(display=False)
        with counter:
            model(batch.features, batch.lengths)
        flops_per_sample = float(counter.get_total_flops() / len(index))
        for size in batch_sizes:
            size = min(size, n)
            sub = split.batch(index[:size] if size <= len(index) else torch.arange(size)).to(dev)
            if dev.type == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            for _ in range(2):  # warm-up
                model(sub.features, sub.lengths)
            times = []
            for _ in range(repeats):
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                model(sub.features, sub.lengths)
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - start)
            latency = float(np.median(times))
            if dev.type == "cuda":
                peak = torch.cuda.max_memory_allocated() / 2**20
            else:
                with _LiveTensorBytes() as tracker:
                    model(sub.features, sub.lengths)
                peak = (param_bytes + tracker.peak) / 2**20
            batches[str(size)] = BatchCost(latency * 1e3, size / latency, float(peak))
    return EfficiencyResult(
        device=str(dev), threads=torch.get_num_threads(), total_parameters=int(sum(p.numel() for p in model.parameters())),
        active_parameters=_active_parameters(model), batches=batches, parameter_mb=param_bytes / 2**20,
        flops_per_sample=flops_per_sample, gflops_per_sample=flops_per_sample / 1e9,
    )
