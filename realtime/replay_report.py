"""A picture of a run: `qamoe-live ... --report OUT.html` (or `.png`).

`RunReport` subscribes to the pipeline like the JSONL log and keeps one row per update; at the end
`write(path, words)` draws the timeline (matplotlib, headless):

1. sentiment over time with its 95 % band (clipped to the -3..+3 scale, as every screen shows it);
2. each modality's reliability r_m over time, drawn solid where the modality was present and faint
   where it was missing (the value the model used for a missing modality, never hidden);
3. the words where they were said (final words, at their start times) and the face's most likely
   expression along the time axis.

A `.png` carries the run's numbers in its text chunk `qamoe-report` (JSON); an `.html` embeds the
figure, a table of the run and the same JSON (`<script id="qamoe-report" type="application/json">`),
so what the picture shows can be checked, and re-plotted, from the file alone.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np

from .update import Update

SUFFIXES = (".html", ".png")
Z95 = 1.959964
SCALE = 3.0


def check_report_path(path: str) -> None:
    """Before the run: a report path that cannot be written is refused (ValueError), not found out at the end."""
    from .runlog import check_writable  # noqa: PLC0415

    if Path(path).suffix.lower() not in SUFFIXES:
        raise ValueError(f"--report {path}: give a file ending in .html or .png")
    check_writable(path)


class RunReport:
    """Collects updates (call it with each `Update`); `write()` draws them."""

    def __init__(self, title: str = "qamoe-live", command: str = "") -> None:
        self.title, self.command = title, command
        self.rows: list[dict] = []

    def __call__(self, update: Update) -> None:
        top = update.top_expression
        self.rows.append({
            "t": round(update.t, 3), "sentiment": round(update.sentiment, 4), "std": round(update.std, 4), "label": update.label,
            "reliability": {m: round(s.reliability, 4) for m, s in update.modalities.items()},
            "missing": {m: s.missing for m, s in update.modalities.items()},
            "expression": [top[0], round(top[1], 3)] if top else None,
        })

    def data(self, words=()) -> dict:
        """Everything the report shows, JSON-ready."""
        modalities = list(self.rows[0]["reliability"]) if self.rows else []
        present = {m: [not r["missing"][m] for r in self.rows] for m in modalities}
        summary = {
            "updates": len(self.rows),
            "t_end": self.rows[-1]["t"] if self.rows else 0.0,
            "mean_sentiment": float(np.mean([r["sentiment"] for r in self.rows])) if self.rows else None,
            "last_sentiment": self.rows[-1]["sentiment"] if self.rows else None,
            "present_share": {m: float(np.mean(v)) if v else 0.0 for m, v in present.items()},
            "mean_reliability_present": {
                m: (float(np.mean([r["reliability"][m] for r in self.rows if not r["missing"][m]])) if any(present[m]) else None)
                for m in modalities},
        }
        return {"title": self.title, "command": self.command, "summary": summary, "updates": self.rows,
                "words": [{"start": round(w.start, 3), "end": round(w.end, 3), "text": w.text, "confidence": round(w.confidence, 3)}
                          for w in words]}

    def figure(self, data: dict):
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt  # noqa: PLC0415

        rows = data["updates"]
        t = np.array([r["t"] for r in rows])
        s = np.array([r["sentiment"] for r in rows])
        band = Z95 * np.array([r["std"] for r in rows])
        fig, (ax_s, ax_r, ax_w) = plt.subplots(3, 1, figsize=(11, 7.5), sharex=True, gridspec_kw={"height_ratios": [3, 2, 1.3]})
        fig.suptitle(data["title"], fontsize=11)
        ax_s.fill_between(t, np.clip(s - band, -SCALE, SCALE), np.clip(s + band, -SCALE, SCALE), color="tab:blue", alpha=0.2,
                          label="95 % interval")
        ax_s.plot(t, s, color="tab:blue", lw=1.5, label="sentiment")
        ax_s.axhline(0, color="grey", lw=0.6)
        ax_s.set_ylim(-SCALE, SCALE)
        ax_s.set_ylabel("sentiment (-3..+3)")
        ax_s.legend(loc="upper left", fontsize=8)
        colours = {"text": "tab:green", "audio": "tab:orange", "vision": "tab:purple"}
        for m in rows[0]["reliability"] if rows else []:
            r = np.array([row["reliability"][m] for row in rows])
            present = np.array([not row["missing"][m] for row in rows])
            colour = colours.get(m, None)
            ax_r.plot(t, np.where(present, r, np.nan), color=colour, lw=1.6, label=f"{m} (present)")
            ax_r.plot(t, np.where(present, np.nan, r), color=colour, lw=1.0, ls=":", alpha=0.6, label=f"{m} (missing)")
        ax_r.set_ylim(0, 1)
        ax_r.set_ylabel("reliability r")
        ax_r.legend(loc="upper left", fontsize=7, ncol=3)
        ax_w.set_ylim(0, 2)
        ax_w.set_yticks([0.5, 1.5], ["face", "words"])
        for w in data["words"]:
            ax_w.text(w["start"], 1.5, w["text"], fontsize=7, rotation=35, va="center", alpha=0.4 + 0.6 * w["confidence"])
        previous = None
        for r in rows:
            name = r["expression"][0] if r["expression"] else None
            if name != previous and name is not None:
                ax_w.text(r["t"], 0.5, name, fontsize=7, va="center", color="tab:purple")
            previous = name
        ax_w.set_xlabel("time (s)")
        if len(t):
            ax_w.set_xlim(min(t.min(), min((w["start"] for w in data["words"]), default=t.min())), max(t.max(), 1e-3))
        fig.text(0.01, 0.005, data["command"], fontsize=7, color="grey")
        fig.tight_layout(rect=(0, 0.02, 1, 0.97))
        return fig

    def write(self, path: str | Path, words=()) -> Path:
        """Writes the report (.png or .html, by the suffix) atomically; returns the path."""
        from qamoe.files import atomic_open  # noqa: PLC0415

        path = Path(path)
        data = self.data(words)
        fig = self.figure(data)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, metadata={"qamoe-report": json.dumps(data)})
        import matplotlib.pyplot as plt  # noqa: PLC0415

        plt.close(fig)
        if path.suffix.lower() == ".png":
            with atomic_open(path, "wb") as handle:
                handle.write(buffer.getvalue())
            return path
        with atomic_open(path, "w", encoding="utf-8") as handle:
            handle.write(_html(data, buffer.getvalue()))
        return path


def _html(data: dict, png: bytes) -> str:
    summary = data["summary"]
    cells = [("updates", summary["updates"]), ("media time (s)", summary["t_end"]),
             ("mean sentiment", _fmt(summary["mean_sentiment"])), ("last sentiment", _fmt(summary["last_sentiment"]))]
    for m, share in summary["present_share"].items():
        cells.append((f"{m}: present", f"{100 * share:.0f} % of updates"))
        cells.append((f"{m}: mean r while present", _fmt(summary["mean_reliability_present"][m])))
    table = "\n".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in cells)
    transcript = html.escape(" ".join(w["text"] for w in data["words"]))
    payload = json.dumps(data).replace("</", "<\\/")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(data['title'])}</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:1em auto}}th{{text-align:left;padding-right:1em}}</style></head>
<body><h1>{html.escape(data['title'])}</h1>
<p><code>{html.escape(data['command'])}</code></p>
<img alt="sentiment, reliability, words and expression over time" src="data:image/png;base64,{base64.b64encode(png).decode()}" style="width:100%">
<table>{table}</table>
<h2>Transcript</h2><p>{transcript or '(no words)'}</p>
<script id="qamoe-report" type="application/json">{payload}</script>
</body></html>
"""


def _fmt(value) -> str:
    return "-" if value is None else f"{value:+.3f}"


def read_report(path: str | Path) -> dict:
    """The run's numbers back from a report file (.html or .png)."""
    path = Path(path)
    if path.suffix.lower() == ".png":
        from PIL import Image  # noqa: PLC0415

        with Image.open(path) as image:
            return json.loads(image.info["qamoe-report"])
    text = path.read_text(encoding="utf-8")
    start = text.index('<script id="qamoe-report" type="application/json">') + len('<script id="qamoe-report" type="application/json">')
    return json.loads(text[start : text.index("</script>", start)].replace("<\\/", "</"))
