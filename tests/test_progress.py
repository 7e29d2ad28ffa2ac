"""Training reports its progress through a callback (issue 21): the core draws nothing itself."""

from __future__ import annotations

import io
from dataclasses import replace

from rich.console import Console

from qamoe.data.synthetic import make_synthetic
from qamoe.progress import rich_training_progress
from qamoe.train import TrainConfig, model_config_for, train_model


def small_run(on_progress, epochs=2):
    dataset = make_synthetic(0, sizes={"train": 64, "valid": 32, "test": 8})
    config = replace(model_config_for(dataset), d_model=16, expert_hidden=32, num_experts=4, top_k=2)
    return train_model(dataset, config, replace(TrainConfig(), epochs=epochs, batch_size=32, device="cpu"),
                       on_progress=on_progress)


def test_training_tells_its_callback_of_the_start_every_step_and_every_epoch():
    events = []
    checkpoint, history = small_run(events.append)
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and events[0].steps_done == 0 and events[0].best_score is None
    assert kinds.count("epoch") == 2 and kinds.count("step") == events[-1].total_steps == 4  # 64 / 32 x 2 epochs
    assert [e.steps_done for e in events if e.kind == "step"] == [1, 2, 3, 4]
    last = events[-1]
    assert last.kind == "epoch" and last.best_epoch == checkpoint.provenance["best_epoch"]
    assert last.best_score == min(h["selection_score"] for h in history["history"])


def test_the_rich_callback_draws_the_run_on_the_console_it_was_given():
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=False)
    with rich_training_progress(console) as on_progress:
        small_run(on_progress, epochs=1)
    assert "epoch 1" in out.getvalue() and "2/2" in out.getvalue()
    with rich_training_progress(None) as nothing:
        assert nothing is None
