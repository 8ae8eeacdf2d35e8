"""The evaluation harness: `qa eval` on JSONL and SQuAD-format input, its JSON, reports and baselines."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qa.evaluation.datasets import load_eval_set

DATA = Path(__file__).resolve().parent / "data"
METRICS = {"recall@1", "recall@5", "recall@10", "mrr", "em", "f1", "sentence_hit", "abstain_precision",
           "abstain_recall", "answerable_abstained", "latency_ms_p50", "latency_ms_p95", "index_build_seconds"}


def qa_eval(*args):
    result = subprocess.run([sys.executable, "-m", "qa.cli", "eval", *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def squad_run(tmp_path_factory):
    report = tmp_path_factory.mktemp("report")
    result = qa_eval(str(DATA / "squad_small.json"), "--json", "--report", str(report))
    return json.loads(result.stdout), report


def test_squad_paragraphs_get_unique_ids_even_when_documents_share_a_title_or_have_none():
    """squad_untidy.json: two documents titled 长江 and an untitled one, no paragraph ids."""
    eval_set = load_eval_set(DATA / "squad_untidy.json")
    articles = eval_set.corpus.articles
    assert len({a.id for a in articles}) == len(articles) == 4
    assert {item.gold_article for item in eval_set.items} == {a.id for a in articles}
    assert [a.title for a in articles[:3]] == ["长江"] * 3
    assert articles[3].title.startswith("黄河全长约5464公里"), "an untitled document is titled by its first line"


def test_eval_runs_on_squad_documents_sharing_a_title_or_without_one():
    result = json.loads(qa_eval(str(DATA / "squad_untidy.json"), "--json").stdout)
    assert result["n"] == 4
    assert result["recall@5"] == 1.0 and result["recall@1"] >= 0.75


def test_json_has_exactly_the_named_metrics(squad_run):
    result, _ = squad_run
    assert set(result) == METRICS | {"n", "by_kind", "settings"}
    assert result["n"] == 8
    for name in METRICS - {"latency_ms_p50", "latency_ms_p95", "index_build_seconds"}:
        assert 0.0 <= result[name] <= 1.0
    assert result["index_build_seconds"] > 0 and result["latency_ms_p95"] >= result["latency_ms_p50"] > 0
    assert result["settings"]["encoder"] == "use-m3"


def test_open_corpus_retrieval_finds_the_gold_paragraphs(squad_run):
    result, _ = squad_run
    assert result["recall@5"] == 1.0
    assert result["recall@1"] >= 0.75


def test_by_kind_groups_by_question_word(squad_run):
    result, _ = squad_run
    assert {"quantity", "place", "person", "list", "time"} <= set(result["by_kind"])
    assert sum(group["n"] for group in result["by_kind"].values()) == result["n"]


def test_report_folder_has_markdown_json_predictions_and_plots(squad_run):
    result, report = squad_run
    assert json.loads((report / "results.json").read_text("utf-8")) == result
    predictions = [json.loads(line) for line in (report / "predictions.jsonl").read_text("utf-8").splitlines()]
    assert len(predictions) == 8
    assert set(predictions[0]) >= {"question", "gold", "answer", "sentence", "hit_rank", "em", "f1", "latency_ms"}
    for plot in ("by_kind.png", "latency.png", "reliability.png"):
        assert (report / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| em |" in (report / "report.md").read_text("utf-8")


def test_jsonl_counts_abstentions_over_unanswerable_questions(seed_index, tmp_path):
    report = tmp_path / "report"
    result = json.loads(qa_eval(str(DATA / "seeds_small.jsonl"), "--index", str(seed_index), "--json",
                                "--report", str(report)).stdout)
    predictions = [json.loads(line) for line in (report / "predictions.jsonl").read_text("utf-8").splitlines()]
    unanswerable = [p for p in predictions if not p["gold"]]
    answerable = [p for p in predictions if p["gold"]]
    assert result["n"] == 4 and len(unanswerable) == 2
    assert result["abstain_recall"] == sum(p["abstained"] for p in unanswerable) / 2
    assert result["answerable_abstained"] == sum(p["abstained"] for p in answerable) / 2
    assert result["em"] == sum(p["em"] for p in answerable) / 2  # an abstention scores 0
    assert result["by_kind"]["unanswerable"]["n"] == 1 and result["by_kind"]["manner"]["n"] == 1  # kind from 怎么样


def test_baseline_prints_changes(squad_run, tmp_path):
    _, report = squad_run
    table = qa_eval(str(DATA / "squad_small.json"), "--baseline", str(report / "results.json"), "--limit", "4")
    assert "baseline" in table.stdout and "change" in table.stdout


def test_dialogue_follow_ups_are_completed_from_the_turn_before(seed_index, tmp_path):
    dialogues = tmp_path / "talk.jsonl"
    dialogues.write_text(json.dumps({"id": "t1", "turns": [
        {"message": "株洲截至4月底签约了多少个项目？", "answers": ["73个"]},
        {"message": "合同引资总额呢？", "answers": ["202.4亿元"]},
    ]}, ensure_ascii=False) + "\n", "utf-8")
    report = tmp_path / "report"
    result = json.loads(qa_eval(str(dialogues), "--index", str(seed_index), "--json", "--report", str(report)).stdout)
    assert result["n"] == 2 and result["dialogues"] == 1 and "dialogues_right" in result
    second = [json.loads(line) for line in (report / "predictions.jsonl").read_text("utf-8").splitlines()][1]
    assert second["kind"] == "follow-up" and second["dialogue"] == "t1"
    assert second["asked"].startswith("株洲") and "合同引资总额" in second["asked"]


def test_a_split_keeps_only_its_articles():
    everything = load_eval_set(DATA / "squad_small.json")
    parts = [load_eval_set(DATA / "squad_small.json", split) for split in ("train", "dev", "test")]
    assert sum(len(p.items) for p in parts) == len(everything.items)
    assert {a.id for p in parts for a in p.corpus.articles} == {a.id for a in everything.corpus.articles}
