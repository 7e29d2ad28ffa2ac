"""qamoe-train: train a QA-MoE checkpoint offline, with the spectrum strategy or on clean data.

With no options it trains the embedded default (the simulator) into runs/default.
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack
import shutil
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from qamoe.config import RELIABILITY_OBJECTIVES, SPECTRUM_DRAWS, QAMoEConfig, TrainConfig
from qamoe.files import atomic_write_json
from qamoe.cli.common import clear_errors, metrics_table, use_all_cores
from qamoe.cli.flags import number
from qamoe.cli import ravdess_options
from qamoe.data.registry import DATASETS, load_dataset

DEFAULT_OUT = "runs/default"
REPORT_NOISE, REPORT_MISSING, REPORT_SEED = 0.5, 0.5, 0


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="qamoe-train", description=__doc__)
    p.add_argument("--dataset", default="synthetic", choices=DATASETS)
    p.add_argument("--model", default="qamoe", help="registered architecture (see qamoe.registry); default qamoe")
    p.add_argument("--data", help="path of the data set files (not needed for synthetic)")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the simulator's data (synthetic only)")
    p.add_argument("--sizes", help="simulator split sizes TRAIN,VALID,TEST (default: CMU-MOSI's 1284,229,686)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"checkpoint directory (default {DEFAULT_OUT})")
    p.add_argument("--epochs", type=number(int, low=1, high=100_000), default=TrainConfig.epochs)
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--lr", type=number(float, low=0, low_open=True, high=10), default=TrainConfig.lr)
    p.add_argument("--batch-size", type=number(int, low=1, high=1_000_000), default=TrainConfig.batch_size)
    p.add_argument("--d-model", type=number(int, low=1), default=QAMoEConfig.d_model)
    p.add_argument("--num-experts", type=number(int, low=1), default=QAMoEConfig.num_experts)
    p.add_argument("--top-k", type=number(int, low=1), default=QAMoEConfig.top_k)
    p.add_argument("--clean", action="store_true", help="train on clean data instead of the spectrum strategy")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--compile", action="store_true", help="torch.compile the model (falls back when unavailable)")
    p.add_argument("--no-amp", action="store_true", help="no bf16 autocast on GPU")
    p.add_argument("--half", action="store_true", help="store the weights as float16 (shipped checkpoints)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/train_state after an interruption")
    p.add_argument("--no-quality-gating", action="store_true", help="ablation: r_m = 1 in Eq. 7")
    p.add_argument("--no-variance", action="store_true", help="ablation: no log-variance head (Eq. 9), MSE loss")
    p.add_argument("--no-modality-variance", action="store_true", help="ablation: no sigma^2_m, r_m = 1 (Eq. 10 kept)")
    p.add_argument("--spectrum-draw", default=TrainConfig.spectrum_draw, choices=SPECTRUM_DRAWS,
                   help="per_modality: each sample and modality its own (lambda, eta); shared: Eq. 11; mix: either")
    p.add_argument("--reliability-objective", default=QAMoEConfig.reliability_objective,
                   choices=RELIABILITY_OBJECTIVES, help="how sigma^2_m learns quality (see qamoe/reliability.py)")
    p.add_argument("--variance-pooling", default=QAMoEConfig.variance_pooling, choices=("clip", "frames"))
    p.add_argument("--gate-gradient", action="store_true", help="let the fused loss reach sigma^2 through Eq. 7")
    p.add_argument("--no-router-quality", action="store_true", help="the router reads mu_m alone")
    p.add_argument("--reliability-fusion", action="store_true", help="scale each y_m by M r_m / sum r before fusion")
    p.add_argument("--beta-nll", type=number(float, low=0, high=1), default=QAMoEConfig.beta_nll, help="beta-NLL weight (0: Eq. 10)")
    p.add_argument("--no-prior", action="store_true", help="ablation: y_prior fixed at zero")
    ravdess_options.add_arguments(p, training=True)
    p.add_argument("--signal-snrs", default="20,10,5,0,-5",
                   help="ravdess, spectrum training: each training clip's audio is read clean or degraded on the "
                        "waveform at one of these SNRs (dB), so r_audio learns what a noisy room does; 'none': off")
    p.add_argument("--signal-noise", default="white,babble", help="noise kinds of --signal-snrs (white, pink, babble)")
    return p.parse_args(argv)


def signal_views(args, console) -> dict | None:
    """modality -> training-split copies degraded on the signal (qamoe.train.SignalViews), or None."""
    if args.dataset != "ravdess" or args.clean or args.signal_snrs.strip().lower() == "none":
        return None
    from qamoe.data.ravdess import parse_snrs, snr_views  # noqa: PLC0415

    snrs = [s for s in parse_snrs(args.signal_snrs) if s is not None]
    options = ravdess_options.options(args)
    views = []
    for kind in [k.strip() for k in args.signal_noise.split(",") if k.strip()]:
        degraded = snr_views(args.data, "train", snrs, noise_kind=kind, noise_seed=args.noise_seed, task=options["task"],
                             text=options["text"], folds=options["folds"], cache=options["cache"], voice=options.get("voice", False))
        views += [degraded.degraded[snr] for snr in snrs]
    console.print(f"audio read clean or at {len(views)} signal-degraded copies ({args.signal_noise} at {args.signal_snrs} dB)")
    return {"audio": views}


def training_views(args) -> list[tuple[float, str]]:
    """(SNR, noise kind) of every signal-degraded training copy `signal_views` reads."""
    if args.clean or args.signal_snrs.strip().lower() == "none":
        return []
    from qamoe.data.ravdess import parse_snrs  # noqa: PLC0415

    kinds = [k.strip() for k in args.signal_noise.split(",") if k.strip()]
    return [(snr, kind) for kind in kinds for snr in parse_snrs(args.signal_snrs) if snr is not None]


def parse_sizes(text: str) -> dict[str, int]:
    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f"--sizes must be three positive integers TRAIN,VALID,TEST, got {text!r}")
    return dict(zip(("train", "valid", "test"), (int(p) for p in parts)))


def _model_config(args, dataset):
    """The model's configuration from the flags and the data set's modalities and sizes."""
    from qamoe.train import model_config_for  # noqa: PLC0415

    return model_config_for(
        dataset,
        d_model=args.d_model,
        num_experts=args.num_experts,
        top_k=args.top_k,
        expert_hidden=2 * args.d_model,
        quality_gating=not args.no_quality_gating,
        heteroscedastic=not args.no_variance,
        modality_variance=not args.no_modality_variance,
        use_prior=not args.no_prior,
        reliability_objective=args.reliability_objective,
        variance_pooling=args.variance_pooling,
        gate_gradient=args.gate_gradient,
        router_quality=not args.no_router_quality,
        reliability_fusion=args.reliability_fusion,
        beta_nll=args.beta_nll,
    )


def _check_resume(out: Path, resume: bool, console: Console) -> None:
    """--resume needs an interrupted run in OUT, and an interrupted run needs --resume."""
    from qamoe.train_state import has_finished_checkpoint, has_saved_epoch  # noqa: PLC0415

    if resume and not has_saved_epoch(out):
        if has_finished_checkpoint(out):  # a typo must not replace a finished checkpoint with another run
            raise ValueError(f"--resume: {out} holds a finished checkpoint and no interrupted run; nothing was "
                             "changed (to train again, choose another --out or delete that folder)")
        console.print(f"[yellow]nothing to resume in {out}; starting from the first epoch[/]")
    elif not resume and has_saved_epoch(out):
        raise ValueError(f"{out} holds an interrupted run; add --resume to continue it, or choose another --out")


def _fit_uncertainty(checkpoint, dataset) -> dict:
    """Regression with a variance head: the variance scale fitted on valid (stored in the checkpoint)
    and the test coverage of its intervals; {} otherwise."""
    from qamoe.tensors import TensorSplit  # noqa: PLC0415
    from qamoe.variance_scale import coverage_table, fit_on_validation  # noqa: PLC0415

    config = checkpoint.config
    if config.num_classes or not config.heteroscedastic:
        return {}
    scale = fit_on_validation(checkpoint, TensorSplit(dataset.splits["valid"], checkpoint.stats))
    checkpoint.extra["uncertainty"] = {**scale.to_dict(), "fitted_on": "valid (clean + mixture)"}
    return {
        "variance_scale": scale.scale,
        "test_coverage": coverage_table(checkpoint, TensorSplit(dataset.splits["test"], checkpoint.stats), scale),
    }


def _fit_reliability_scale(checkpoint, dataset, console: Console) -> None:
    """A model with a quality score: its one reliability scale fitted on valid (stored in the checkpoint)."""
    from qamoe.reliability_scale import fit_and_store  # noqa: PLC0415
    from qamoe.tensors import TensorSplit  # noqa: PLC0415

    present = (getattr(dataset, "present", None) or {}).get("valid")  # RAVDESS: clips without action units
    try:
        scale = fit_and_store(checkpoint, TensorSplit(dataset.splits["valid"], checkpoint.stats), present=present)
    except ValueError as err:  # the trained model is still saved; its r_m are then reported as they are
        console.print(f"[yellow]warning:[/] no reliability scale: {err}")
        return
    if scale.fitted:
        console.print("one reliability scale fitted on valid (the share of each modality left undegraded); "
                      "the highest r reads " + ", ".join(f"{m} {y[-1]:.2f}" for m, (_, y) in scale.knots.items()))


def _split_metrics(checkpoint, dataset) -> dict[str, dict[str, float]]:
    """Metrics on valid and test (clean) and on test at the report's noise and missing rate."""
    from qamoe.evaluate import predict_split, sigma_ref_tensors  # noqa: PLC0415
    from qamoe.tensors import TensorSplit  # noqa: PLC0415

    sigma_ref = sigma_ref_tensors(checkpoint.stats)
    results = {}
    for split in ("valid", "test"):
        tensors = TensorSplit(dataset.splits[split], checkpoint.stats)
        results[split] = predict_split(checkpoint.model, tensors, sigma_ref=sigma_ref).metrics(checkpoint.config)
    test = TensorSplit(dataset.splits["test"], checkpoint.stats)
    degraded = predict_split(
        checkpoint.model, test, sigma_ref=sigma_ref, noise=REPORT_NOISE, missing_rate=REPORT_MISSING, seed=REPORT_SEED
    )
    results[f"test_noise{REPORT_NOISE}_missing{REPORT_MISSING}"] = degraded.metrics(checkpoint.config)
    return results


def _coverage_table(calibration: dict) -> Table:
    rows = {f"{cond} {when}": values for cond, pair in calibration["test_coverage"].items()
            for when, values in pair.items()}
    table = Table(title=f"test coverage of the predicted intervals (variance scale {calibration['variance_scale']:.3f})")
    table.add_column("condition")
    for level in next(iter(rows.values())):
        table.add_column(f"{level} interval", justify="right")
    for name, values in rows.items():
        table.add_row(name, *(f"{v:.3f}" for v in values.values()))
    return table


def main(argv=None) -> None:
    args = parse_args(argv)
    # torch and the model stack load here, after the flags are read: --help and a bad flag answer at once
    from qamoe.checkpoint import save_checkpoint  # noqa: PLC0415
    from qamoe.cli.common import make_console  # noqa: PLC0415 - tables not cut at 80 columns in a file
    from qamoe.distributed import barrier, init_distributed, shutdown  # noqa: PLC0415
    from qamoe.progress import rich_training_progress  # noqa: PLC0415
    from qamoe.train import train_model  # noqa: PLC0415

    console = make_console()
    use_all_cores()
    with clear_errors(console), ExitStack() as stack:
        if args.epochs < 1:
            raise ValueError("--epochs must be at least 1")
        sizes = parse_sizes(args.sizes) if args.sizes else None
        options = ravdess_options.options(args) if args.dataset == "ravdess" else None
        if options is not None:  # extract what is not cached yet (the loader only reads)
            ravdess_options.build_features(args.data, options, console, views=training_views(args), noise_seed=args.noise_seed)
        dataset = load_dataset(args.dataset, args.data, seed=args.data_seed, sizes=sizes, options=options)
        model_config = _model_config(args, dataset)
        train_config = replace(
            TrainConfig(), epochs=args.epochs, seed=args.seed, lr=args.lr, batch_size=args.batch_size,
            spectrum=not args.clean, spectrum_draw=args.spectrum_draw, device=args.device, compile=args.compile, amp=not args.no_amp,
        )
        ctx = init_distributed(args.device)
        out = Path(args.out)
        if not ctx.is_main:
            console = Console(quiet=True)
        from qamoe.train_state import OutFolderLock, check_out_folder, check_same_run, run_identity  # noqa: PLC0415

        check_out_folder(out)  # a file, or a folder that cannot be written: said before any training
        if ctx.is_main:  # held until this process ends: a second run into OUT is refused, not interleaved
            stack.enter_context(OutFolderLock(out))
        _check_resume(out, args.resume, console)
        barrier(ctx)  # every rank has looked at OUT before rank 0 writes the run's identity into it
        check_same_run(out, run_identity(model_config, train_config, args.model, dataset, {
            "dataset": args.dataset, "data": args.data, "data_seed": args.data_seed, "sizes": args.sizes,
            **({"signal_snrs": args.signal_snrs, "signal_noise": args.signal_noise} if args.dataset == "ravdess" else {}),
        }), resume=args.resume, write=ctx.is_main)
        console.print(
            f"training on [bold]{dataset.name}[/] ({', '.join(f'{k} {v}' for k, v in dataset.modality_dims.items())}), "
            f"{'clean' if args.clean else 'spectrum'} strategy, seed {args.seed}"
        )
        provenance = {"dataset_args": {"dataset": args.dataset, "data": args.data, "data_seed": args.data_seed,
                                       "sizes": sizes}}
        if getattr(dataset, "options", None):  # ravdess: task, text, folds, noise... for qamoe-eval
            provenance["dataset_args"]["ravdess"] = dataset.options
        views = signal_views(args, console)
        if views:
            provenance["signal_views"] = {"audio": {"snrs": args.signal_snrs, "noise": args.signal_noise}}
        with rich_training_progress(console) as on_progress:  # the bar ends with the training, before the tables
            checkpoint, history = train_model(
                dataset, model_config, train_config, on_progress=on_progress, provenance=provenance,
                architecture=args.model, state_dir=out, resume=args.resume, ctx=ctx, signal_views=views,
            )
        if not ctx.is_main:
            shutdown(ctx)
            return
        calibration = _fit_uncertainty(checkpoint, dataset)
        _fit_reliability_scale(checkpoint, dataset, console)
        save_checkpoint(out, checkpoint, half=args.half)

        results = _split_metrics(checkpoint, dataset)
        atomic_write_json(
            out / "metrics.json",
            {**results, "best_epoch": checkpoint.provenance["best_epoch"], "calibration": calibration,
             "provenance": checkpoint.provenance, **history},
        )
        console.print(metrics_table(f"{dataset.name}: best epoch {checkpoint.provenance['best_epoch']}", results))
        if calibration:
            console.print(_coverage_table(calibration))
        console.print(f"checkpoint written to [bold]{out.resolve()}[/] (model.safetensors, config.json, metrics.json)")
        shutil.rmtree(out / "train_state", ignore_errors=True)  # the run is complete: nothing to resume
        shutdown(ctx)


if __name__ == "__main__":
    main()
