"""Showing and saving evaluation results: terminal table, report folder, baseline comparison."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from qa.evaluation.plots import (
    plot_by_kind,
    plot_latency,
    plot_reliability,
    reliability_table,
)
from qa.evaluation.runner import Prediction
from qa.evaluation.summary import METRICS, QUALITY_METRICS


def _format(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) and value <= 1 else f"{value}"


def print_table(result: dict, console: Console, baseline: dict | None = None) -> None:
    """The metrics as a table (with the change against a baseline when given), then per-kind F1."""
    table = Table(title=f"qa eval — {result['n']} questions")
    table.add_column("metric")
    table.add_column("value", justify="right")
    if baseline:
        table.add_column("baseline", justify="right")
        table.add_column("change", justify="right")
    for name in METRICS:
        row = [name, _format(result[name])]
        if baseline:
            old = baseline.get(name)
            row += [_format(old) if old is not None else "—", f"{result[name] - old:+.4f}" if old is not None else "—"]
        table.add_row(*row)
    console.print(table)
    kinds = Table(title="by kind")
    for column in ("kind", "n", "recall@1", "em", "f1", "sentence_hit", "abstain_recall"):
        kinds.add_column(column, justify="left" if column == "kind" else "right")
    for kind, metrics in result["by_kind"].items():
        kinds.add_row(kind, str(metrics["n"]), *(_format(metrics[m]) for m in ("recall@1", "em", "f1", "sentence_hit", "abstain_recall")))
    console.print(kinds)


def compare(result: dict, baseline: dict) -> dict[str, float]:
    """Each metric's change against a baseline result."""
    return {name: round(result[name] - baseline[name], 4) for name in METRICS if name in baseline}


def write_report(folder: Path, result: dict, predictions: list[Prediction], title: str) -> None:
    """Write report.md, results.json, predictions.jsonl and the PNG plots into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
    with open(folder / "predictions.jsonl", "w", encoding="utf-8") as out:
        for p in predictions:
            out.write(p.model_dump_json() + "\n")
    plot_by_kind(result, folder / "by_kind.png")
    plot_latency(predictions, folder / "latency.png")
    plot_reliability(predictions, folder / "reliability.png")
    (folder / "report.md").write_text(render_markdown(result, predictions, title), "utf-8")


def render_markdown(result: dict, predictions: list[Prediction], title: str) -> str:
    """A self-contained Markdown report of one run."""
    lines = [f"# {title}", "", f"{result['n']} questions.", "", "| metric | value |", "|---|---:|"]
    lines += [f"| {name} | {_format(result[name])} |" for name in METRICS]
    lines += ["", "## By kind", "", "| kind | n | " + " | ".join(QUALITY_METRICS) + " |",
              "|---|---:|" + "---:|" * len(QUALITY_METRICS)]
    for kind, m in result["by_kind"].items():
        lines.append(f"| {kind} | {m['n']} | " + " | ".join(_format(m[q]) for q in QUALITY_METRICS) + " |")
    lines += ["", "![F1 and recall@1 by kind](by_kind.png)", "", "![latency](latency.png)", "",
              "## Confidence reliability", "", "| mean confidence | share right (F1 ≥ 0.5) | answers |", "|---:|---:|---:|"]
    lines += [f"| {c:.2f} | {r:.2f} | {n} |" for c, r, n in reliability_table(predictions)]
    lines += ["", "![reliability](reliability.png)", "", "## Errors", "",
              "Answerable questions with F1 < 1, first 30 (all in predictions.jsonl):", "",
              "| id | question | gold | answer | f1 |", "|---|---|---|---|---:|"]
    wrong = [p for p in predictions if p.gold and p.f1 < 1][:30]
    lines += [f"| {p.id} | {p.question} | {' / '.join(p.gold)[:40]} | {p.answer[:40] or '(abstained)'} | {p.f1:.2f} |"
              for p in wrong]
    lines += ["", "## Settings", "", "```json", json.dumps(result["settings"], ensure_ascii=False, indent=2), "```", ""]
    return "\n".join(lines)
