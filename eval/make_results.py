"""Regenerate eval/RESULTS.md, eval/results.json and the reports under eval/reports/ in one go.

    .venv/bin/python eval/make_results.py [--shared ../shared] [--skip-train] [--only NAME ...]

Runs ``qa eval`` with the default settings on every set, split by article
(qa.evaluation.splits): the news reading-comprehension and DRCD train / dev / test
splits, the CMRC 2018 trial's train / dev / test splits (its train split is trained on; dev and
test are out-of-fold), the People's Daily dev set and its dialogues (eval/pd_dev*.jsonl over
the 210 articles of eval/pd_dev.corpus.json), the People's Daily test set and its dialogues
(eval/pd_test.jsonl and eval/pd_dialogues.jsonl over the 210 articles of eval/pd.corpus.json), and the seed questions and dialogues over corpus/. Then the
latency benchmark on the news dev split. Figures of the selector this reader replaced,
measured on the same splits, come from eval/before.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from qa.answer.model_file import load  # noqa: E402
from qa.building import build_index  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.evaluation.datasets import load_eval_set  # noqa: E402
from qa.evaluation.harness import evaluate  # noqa: E402
from qa.evaluation.report import write_report  # noqa: E402
from qa.settings import get_settings  # noqa: E402

from bench import benchmark  # noqa: E402

REPORTS = HERE / "reports"
COLUMNS = ("n", "recall@1", "recall@5", "em", "f1", "sentence_hit", "abstain_recall", "answerable_abstained",
           "dialogues_right", "latency_ms_p50")


def sets(shared: Path) -> dict[str, tuple[Path, str | None]]:
    """Every evaluation set by name: its file and split."""
    news, drcd = shared / "qa-data" / "news_mrc_train.json", shared / "qa-data" / "drcd_simplified.json"
    cmrc = shared / "cmrc2018" / "cmrc2018_trial.json"
    return {
        "news-train": (news, "train"), "news-dev": (news, "dev"), "news-test": (news, "test"),
        "drcd-train": (drcd, "train"), "drcd-dev": (drcd, "dev"), "drcd-test": (drcd, "test"),
        "cmrc-train": (cmrc, "train"), "cmrc-dev": (cmrc, "dev"), "cmrc-test": (cmrc, "test"),
        "pd-dev": (HERE / "pd_dev.jsonl", None), "pd-dev-dialogues": (HERE / "pd_dev_dialogues.jsonl", None),
        "pd-test": (HERE / "pd_test.jsonl", None), "pd-dialogues": (HERE / "pd_dialogues.jsonl", None),
        "seeds": (HERE / "seeds.jsonl", None), "seed-dialogues": (HERE / "dialogues.jsonl", None),
    }


def table(results: dict[str, dict], before: dict[str, dict]) -> str:
    lines = ["| set | " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]
    for name, result in results.items():
        lines.append(f"| {name} | " + " | ".join(str(result.get(c, "")) for c in COLUMNS) + " |")
        if name in before:
            old = before[name]
            lines.append("| ↳ before | " + " | ".join(str(old.get(c, "")) for c in COLUMNS) + " |")
    return "\n".join(lines)


def latency(path: Path, split: str, settings) -> str:
    """The latency benchmark over one split's open corpus: with one thread for answers (the reader's members
    one after the other), as issue 9 measures it, then with the settings as given."""
    eval_set = load_eval_set(path, split)
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as folder:
        build_index(eval_set.corpus, Path(folder) / "index", settings, progress=False)
        questions = [item.question for item in eval_set.items]
        as_set = ("unset: the reader's members in threads when there is more than one core"
                  if settings.parallel_reading is None else str(settings.parallel_reading).lower())
        tables = []
        for heading, chosen in (
            ("One thread for answers (`QA_PARALLEL_READING=false`):", settings.model_copy(update={"parallel_reading": False})),
            (f"As set (`QA_PARALLEL_READING` {as_set}):", settings),
        ):
            tables.append(heading + "\n\n" + benchmark(Engine.load(Path(folder) / "index", chosen), questions, rounds=2))
        return "\n\n".join(tables)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    parser.add_argument("--skip-train", action="store_true", help="leave out the (large) train splits")
    parser.add_argument("--only", nargs="*", help="only these sets (names as in the table)")
    args = parser.parse_args()
    settings = get_settings().model_copy(update={"shared_dir": args.shared})
    stored = HERE / "results.json"
    results = json.loads(stored.read_text("utf-8")) if stored.is_file() else {}
    for name, (path, split) in sets(args.shared).items():
        if (args.only and name not in args.only) or (args.skip_train and split == "train" and not args.only):
            continue
        result, predictions = evaluate(path, settings, settings.index_dir, split=split)
        write_report(REPORTS / name, result, predictions, f"qa eval {path.name}" + (f" --split {split}" if split else ""))
        results[name] = {k: v for k, v in result.items() if k != "by_kind"}
        print(f"{name}: " + " ".join(f"{c} {result.get(c)}" for c in COLUMNS if c in result), flush=True)
    stored.write_text(json.dumps(results, ensure_ascii=False, indent=2), "utf-8")
    before = json.loads((HERE / "before.json").read_text("utf-8")) if (HERE / "before.json").is_file() else {}
    order = [n for n in sets(args.shared) if n in results]
    news = sets(args.shared)["news-dev"][0]
    bench = latency(news, "dev", settings) if news.is_file() else "(news set not found)"
    training = load().get("training", {})
    sections = [
        "# Results",
        "",
        f"Generated {datetime.now(timezone.utc).isoformat(timespec='minutes')} by `.venv/bin/python eval/make_results.py`"
        " with the default settings. Per-set reports (per-question predictions, reliability plots): `eval/reports/NAME/`.",
        "",
        "Sets are split by article (`qa/evaluation/splits.py`). Choices were made on the dev splits;"
        " the People's Daily dev set (hand-written, over articles never trained on) fits the confidence with them;"
        " the test splits, the People's Daily test set and the seed questions were not tuned on."
        " The reader is trained on the train splits of news, DRCD and the CMRC 2018 trial; every dev and test split"
        " is out-of-fold by article. Retrieval is open-corpus everywhere:"
        " a split's articles are indexed together and every question is asked against all of them."
        " EM/F1 follow the official CMRC 2018 definition, averaged over answerable questions (an abstention scores 0);"
        " `answerable_abstained` is the share of answerable questions withheld, `abstain_recall` the share of"
        " unanswerable ones withheld; `dialogues_right` counts dialogues with every turn exactly right."
        " Rows marked *before* are the hand-tuned selector this reader replaced (commit 474bca9), same sets and settings.",
        "",
        table({n: results[n] for n in order}, before),
        "",
        "Ablations, what was tried and dropped, and the rules that remain: [eval/ABLATIONS.md](ABLATIONS.md).",
        "",
        "## Latency (news dev split, index loaded)",
        "",
        bench,
        "",
        "## Reader training (`python eval/train_reader.py`)",
        "",
        "```json",
        json.dumps({k: v for k, v in training.items()}, ensure_ascii=False, indent=2),
        "```",
        "",
    ]
    (HERE / "RESULTS.md").write_text("\n".join(sections), "utf-8")
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
