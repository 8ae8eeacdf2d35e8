"""Regenerate eval/RESULTS.md and the reports under eval/reports/ in one go.

    .venv/bin/python eval/make_results.py [--cmrc ../shared/cmrc2018/cmrc2018_trial.json]

Runs, with the current default settings: ``qa eval`` on eval/seeds.jsonl (index/,
built from corpus/ when missing) and on the CMRC 2018 trial set (open corpus,
temporary index), the fusion sweep on both, and the latency benchmark on the
seeds; then writes the figures, the settings that produced them and the answer
model's cross-validated training figures into eval/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench import benchmark  # noqa: E402
from choose_threshold import table as threshold_table  # noqa: E402
from fusion_sweep import sweep_table  # noqa: E402

from qa.engine import Engine  # noqa: E402
from qa.evaluation.harness import evaluate  # noqa: E402
from qa.evaluation.report import write_report  # noqa: E402
from qa.evaluation.summary import METRICS  # noqa: E402
from qa.ranker import load_model_file  # noqa: E402
from qa.settings import get_settings  # noqa: E402

SEEDS = HERE / "seeds.jsonl"
REPORTS = HERE / "reports"


def metrics_table(results: dict[str, dict]) -> str:
    names = list(results)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for metric in METRICS + ("n",):
        lines.append(f"| {metric} | " + " | ".join(f"{results[n][metric]}" for n in names) + " |")
    return "\n".join(lines)


def kind_table(result: dict) -> str:
    lines = ["| kind | n | recall@1 | em | f1 | sentence_hit | abstain_recall |", "|---|---:|---:|---:|---:|---:|---:|"]
    for kind, m in result["by_kind"].items():
        lines.append(f"| {kind} | {m['n']} | {m['recall@1']} | {m['em']} | {m['f1']} | {m['sentence_hit']} | {m['abstain_recall']} |")
    return "\n".join(lines)


def dialogue_score(engine: Engine) -> str:
    """Second turns of eval/dialogues.jsonl answered right through the follow-up resolution."""
    from qa.conversation import resolve

    rows = ["| dialogue | follow-up | resolved to | answer | right |", "|---|---|---|---|---|"]
    right = 0
    for line in (HERE / "dialogues.jsonl").read_text("utf-8").splitlines():
        if not line.strip():
            continue
        first, second = json.loads(line)["turns"]
        question = resolve(second["message"], first["message"])
        answer = engine.ask(question).answer
        ok = answer in second["answers"]
        right += ok
        rows.append(f"| {first['message']} | {second['message']} | {question} | {answer or '(abstained)'} | {'yes' if ok else 'no'} |")
    return f"{right} of {len(rows) - 2} second turns right.\n\n" + "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cmrc", default=str(HERE.parent.parent / "shared" / "cmrc2018" / "cmrc2018_trial.json"))
    args = parser.parse_args()
    settings = get_settings()
    sets = {"seeds": SEEDS}
    if Path(args.cmrc).is_file():
        sets["cmrc2018_trial"] = Path(args.cmrc)
    results = {}
    for name, path in sets.items():
        result, predictions = evaluate(path, settings, settings.index_dir, progress=True)
        write_report(REPORTS / name, result, predictions, f"qa eval {path.name}")
        results[name] = result
        print(f"{name}: em {result['em']} f1 {result['f1']} recall@1 {result['recall@1']}")
    engine = Engine.load(settings.index_dir, settings, build_if_missing=True)
    questions = [json.loads(line)["question"] for line in SEEDS.read_text("utf-8").splitlines() if line.strip()]
    bench = benchmark(engine, questions, rounds=5)
    sweeps = {name: sweep_table(str(path)) for name, path in sets.items()}
    training = load_model_file().get("training", {})
    dialogues = dialogue_score(engine)
    thresholds = threshold_table(str(SEEDS))
    calibration_thresholds = threshold_table(str(HERE / "calibration.jsonl"))

    sections = [
        "# Results",
        "",
        f"Generated {datetime.now(timezone.utc).isoformat(timespec='minutes')} by `.venv/bin/python eval/make_results.py`"
        " with the default settings (below). Reports with per-question predictions and plots: "
        + ", ".join(f"[eval/reports/{n}/report.md](reports/{n}/report.md)" for n in results) + ".",
        "",
        "## Quality and speed",
        "",
        metrics_table(results),
        "",
        "EM/F1 follow the official CMRC 2018 definition and are averaged over answerable questions;"
        " recall for JSONL sets counts a chunk containing a gold answer, for CMRC the gold paragraph."
        " CMRC 2018 is run open-corpus: all 256 paragraphs indexed together, every question asked against all.",
        "",
        *(f"### By kind: {name}\n\n{kind_table(result)}\n" for name, result in results.items()),
        "## Follow-up questions (`eval/dialogues.jsonl`)",
        "",
        dialogues,
        "",
        "## Abstention threshold (`python eval/choose_threshold.py`)",
        "",
        f"Current default: `abstain_threshold = {settings.abstain_threshold}`. On eval/seeds.jsonl, answered once without abstaining:",
        "",
        thresholds,
        "",
        "The same on eval/calibration.jsonl, the in-domain questions the calibrator was fitted on"
        " (so in-sample for it): how well the threshold carries over to questions it was not chosen on.",
        "",
        calibration_thresholds,
        "",
        "## Latency benchmark (`python eval/bench.py`)",
        "",
        bench,
        "",
        "## Fusion sweep (`python eval/fusion_sweep.py`)",
        "",
        *(f"### {name}\n\n{table}\n" for name, table in sweeps.items()),
        "## Answer model (`python eval/train_answer_model.py`)",
        "",
        "Trained on the CMRC 2018 trial set; figures are out-of-fold (5-fold, grouped by article).",
        "",
        "```json",
        json.dumps(training, ensure_ascii=False, indent=2),
        "```",
        "",
        "## Settings",
        "",
        "```json",
        json.dumps(results["seeds"]["settings"], ensure_ascii=False, indent=2),
        "```",
        "",
    ]
    (HERE / "RESULTS.md").write_text("\n".join(sections), "utf-8")
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
