"""The RAVDESS options of qamoe-train / qamoe-eval, and building the features a run reads.

`qamoe.data.ravdess` only reads built features; the commands build what is missing first
(`qamoe.extractors.datasets.ravdess.build_for`: cached clips cost nothing), so `qamoe-train --dataset
ravdess` works on a fresh machine as it always did.
"""

from __future__ import annotations

from qamoe.data.ravdess import BUILD, DEFAULT_FOLDS, NOISE_KINDS, TASKS, TEXT_SOURCES, parse_snrs


def add_arguments(parser, *, training: bool) -> None:
    """The RAVDESS options of qamoe-train / qamoe-eval (used only with --dataset ravdess). In qamoe-eval
    task, text source and folds default to what the checkpoint was trained with."""
    g = parser.add_argument_group("RAVDESS (--dataset ravdess; --data defaults to $QAMOE_SHARED_DATA/ravdess; "
                                  f"features built on first use and cached; ahead of time: {BUILD})")
    default = (lambda value: value) if training else (lambda value: None)
    g.add_argument("--task", choices=TASKS, default=default("sentiment"),
                   help="sentiment: regression on the sentiment column; emotion: 8-class head (default: sentiment"
                        + ("" if training else ", or the checkpoint's") + ")")
    g.add_argument("--text-source", choices=TEXT_SOURCES, default=default("statement"),
                   help="text from the given statement (default) or the project's ASR on the (noisy) clip")
    g.add_argument("--folds", default=default(DEFAULT_FOLDS),
                   help=f"TRAIN:VALID:TEST actors, e.g. {DEFAULT_FOLDS} (the default) or 1-12,19:13-16:17,18,20")
    g.add_argument("--voice", action="store_true", default=None,
                   help="audio frames also carry the voice-emotion head's 8 log-probabilities on the Whisper encoder "
                        "states (52 values; out of fold for the train actors" + ("" if training else "; default: the checkpoint's") + ")")
    g.add_argument("--audio-snr", type=float, help="add noise to the waveform at this SNR (dB) before extraction"
                   + (" (every split)" if training else " (the evaluated split)"))
    g.add_argument("--noise-kind", choices=NOISE_KINDS, default="white",
                   help="white, pink, or babble (4 clips of other actors of the same split summed)")
    g.add_argument("--noise-seed", type=int, default=0, help="seed of the waveform noise")
    if training:
        g.add_argument("--train-snrs", help="also train on copies of the train split at these SNRs, e.g. 20,10,5,0,-5")
    g.add_argument("--cache", help="folder of the built features (default ~/.cache/qamoe/ravdess)")


def options(args, stored: dict | None = None, *, split: str | None = None) -> dict:
    """load_ravdess keyword arguments from parsed options; `stored`: the checkpoint's (qamoe-eval),
    `split`: the evaluated split ("all": every clip of the folder; noise only on that split)."""
    stored = stored or {}

    def pick(name, key):
        value = getattr(args, name, None)
        return value if value is not None else stored.get(key)

    options = {"task": pick("task", "task") or "sentiment", "text": pick("text_source", "text") or "statement",
               "folds": pick("folds", "folds"), "audio_snr": args.audio_snr, "noise_kind": args.noise_kind,
               "noise_seed": args.noise_seed, "cache": args.cache, "voice": bool(pick("voice", "voice"))}
    if getattr(args, "train_snrs", None):
        options["train_snrs"] = tuple(parse_snrs(args.train_snrs))
    if split == "all":
        options["all_clips"] = True
    elif split is not None:
        options["snr_splits"] = (split,)
    return options


def build_features(data, options: dict, console=None, *, views: list[tuple[float, str]] = (), noise_seed: int = 0) -> int:
    """Builds (or finds cached) what `load_ravdess(data, **options)` reads, and the training split at each
    (SNR, noise kind) of `views`; returns how many clips were extracted now."""
    from qamoe.extractors.datasets.ravdess import build_for  # noqa: PLC0415 - loads the extractors

    computed = build_for(data, console=console, **options)
    base = {k: v for k, v in options.items() if k in ("task", "text", "folds", "cache", "all_clips", "voice")}
    for snr, kind in views:
        computed += build_for(data, console=console, audio_snr=snr, noise_kind=kind, noise_seed=noise_seed,
                              snr_splits=("train",), **base)
    return computed
