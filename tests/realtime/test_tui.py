"""The dashboard rendered to text with rich's recording console, at 80 x 24 and 120 x 40."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from qamoe.realtime.clock import VirtualClock
from qamoe.realtime.drivers import ReplayDriver
from qamoe.realtime.simulated import DemoScene
from qamoe.realtime.tui import Dashboard, bar, gauge, sparkline
from qamoe.realtime.telemetry import Telemetry
from qamoe.realtime.update import ModalityStatus, Update


def render(dashboard: Dashboard, width: int, height: int) -> list[str]:
    console = Console(width=width, height=height, record=True, force_terminal=True, color_system="truecolor",
                      file=io.StringIO())
    console.print(dashboard)
    return console.export_text().rstrip("\n").split("\n")


def update(**changes) -> Update:
    base = dict(
        t=12.4, seq=61, sentiment=1.6, std=0.5, label="positive",
        modalities={
            "text": ModalityStatus(0.81, False, "", 9, [(2, 0.7), (5, 0.3)]),
            "audio": ModalityStatus(0.44, False, "", 24, [(1, 0.6), (0, 0.4)]),
            "vision": ModalityStatus(0.12, True, "no face", 0, [(3, 0.5), (7, 0.5)]),
        },
        transcript="the weather is really nice today and i loved the film",
        face=False, speech=True,
        telemetry=Telemetry(
            latency_ms={"window": 0.4, "inference": 6.1, "tick": 6.8, "extract/vision": 12.3, "age/vision": 120.0},
            dropped={"video→vision": 3, "audio→audio": 0}, sources={"demo": "running: face lost"}, rates={"updates": 5.0}),
    )
    base.update(changes)
    return Update(**base)


@pytest.mark.parametrize("width,height", [(80, 24), (120, 40)])
def test_dashboard_shows_everything_and_fits_the_terminal(width, height):
    dashboard = Dashboard(source="demo")
    for _ in range(30):
        dashboard.push(update())
    lines = render(dashboard, width, height)
    text = "\n".join(lines)
    assert len(lines) <= height and max(len(line) for line in lines) <= width
    assert "+1.60 ± 0.50" in text and "POSITIVE" in text
    assert "-3" in text and "+3" in text
    for name, r in (("text", "0.81"), ("audio", "0.44"), ("vision", "0.12")):
        row = next(line for line in lines if line.startswith(name))
        assert r in row
    assert "MISSING: no face" in text
    assert "face ○ none" in text and "speech ● found" in text
    assert "dropped 3" in text
    assert "loved the film" in text
    assert "model 6.1" in text and "face lost" in text
    assert "5.0 upd/s" in text
    if height >= 30:
        assert "top experts" in text and "E2:0.70" in text


def test_dashboard_before_the_first_update_and_with_a_long_transcript():
    dashboard = Dashboard(source="camera 0")
    assert any("waiting for the first update" in line for line in render(dashboard, 80, 24))
    words = " ".join(f"w{i}" for i in range(400))
    dashboard.push(update(transcript=words))
    lines = render(dashboard, 80, 24)
    assert len(lines) <= 24
    assert "w399" in "\n".join(lines) and "w0 " not in "\n".join(lines)  # the newest words are kept


def test_history_sparkline_shows_missing_stretches():
    dashboard = Dashboard()
    for i in range(20):
        dashboard.push(update(modalities={"vision": ModalityStatus(0.9, i >= 10, "no face" if i >= 10 else "", 5, [])}))
    row = next(line for line in render(dashboard, 80, 24) if line.startswith("vision"))
    assert "████··········" in row  # the last present updates (r 0.9), then ten missing ones


def test_gauge_marks_value_and_band():
    g = gauge(0.0, 1.0, 61, "bold green").plain
    assert len(g) == 61 and g[30] == "█"
    assert g[20:30] == "▒" * 10 and g[31:41] == "▒" * 10 and g[:20] == "─" * 20
    assert gauge(5.0, 0.0, 21, "bold red").plain[-1] == "█"  # clipped to +3
    assert bar(0.5, 10, "green").plain == "█████░░░░░"
    assert sparkline([0.0, None, 1.0], 10).plain == "▁·█"


def test_dashboard_renders_a_real_demo_replay(make_pipeline):
    pipeline = make_pipeline(sources=[DemoScene(seed=0)])
    dashboard = Dashboard(source="demo")
    pipeline.subscribe(dashboard.push)
    ReplayDriver(pipeline, VirtualClock(), rate_hz=4, pace=None, duration=26).run()
    text = "\n".join(render(dashboard, 80, 24))
    assert "MISSING: no face" in text and "face lost" in text
    assert "t   26.0 s" in text
