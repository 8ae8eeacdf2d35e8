"""Check the People's Daily test and dev sets: files parse, ids unique, every answer cut verbatim from its article.

    python eval/check_pd_test.py [--set test|dev|all] [--shared ../shared]

The test set is eval/pd_test.jsonl, eval/pd_dialogues.jsonl and eval/pd.corpus.json (eval/PD_TEST.md);
the dev set is eval/pd_dev.jsonl, eval/pd_dev_dialogues.jsonl and eval/pd_dev.corpus.json
(eval/PD_DEV.md). Checks each chosen set (both by default), and with both that they share no id
and no article, and prints counts by kind. Exits 3 (with a message) when the shared corpus is
absent, 1 on any problem, else 0.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = {"number", "date", "person", "place", "organization", "entity", "reason", "other", "unanswerable"}
QUESTION_FIELDS = {"id", "question", "answers", "kind", "article", "paraphrase"}
DIALOGUE_FIELDS = {"id", "article", "turns"}
# name: (corpus spec, questions, dialogues); the dev set's distractors leave out every id the
# test set keeps out of training, and only its own articles are kept out of training.
SETS = {
    "test": ("pd.corpus.json", "pd_test.jsonl", "pd_dialogues.jsonl"),
    "dev": ("pd_dev.corpus.json", "pd_dev.jsonl", "pd_dev_dialogues.jsonl"),
}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def read_spec(name: str) -> dict:
    """A set's corpus spec."""
    return json.loads((HERE / SETS[name][0]).read_text("utf-8"))


def check_set(name: str, spec: dict, rows: dict[str, dict], test_spec: dict) -> tuple[list[str], set[str]]:
    """Problems with one set (each prefixed by the set's name), after printing its counts; and its ids."""
    questions, dialogues = read_jsonl(HERE / SETS[name][1]), read_jsonl(HERE / SETS[name][2])
    texts = {i: "\n".join(rows[i]["paragraphs"]) for i in spec["articles"] if i in rows}
    problems = [f"article {i} is not in {spec['source']}" for i in spec["articles"] if i not in rows]

    ids = [q.get("id") for q in questions] + [d.get("id") for d in dialogues]
    problems += [f"duplicate id {i}" for i, n in Counter(ids).items() if n > 1]
    for q in questions:
        if set(q) != QUESTION_FIELDS:
            problems.append(f"{q.get('id')}: fields {sorted(q)}, expected {sorted(QUESTION_FIELDS)}")
            continue
        if q["kind"] not in KINDS:
            problems.append(f"{q['id']}: unknown kind {q['kind']}")
        if not isinstance(q["paraphrase"], bool):
            problems.append(f"{q['id']}: paraphrase is not true or false")
        if q["article"] not in texts:
            problems.append(f"{q['id']}: article {q['article']} is not an article of the {name} set")
            continue
        if (q["kind"] == "unanswerable") != (not q["answers"]):
            problems.append(f"{q['id']}: kind and answers disagree")
        for answer in q["answers"]:
            if answer not in texts[q["article"]]:
                problems.append(f"{q['id']}: answer {answer!r} not in article {q['article']}")
        if not q["answers"]:
            found = [a for a, t in texts.items() if q["question"].rstrip("？?。") in t]
            if found:
                problems.append(f"{q['id']}: unanswerable question text occurs in {found}")
    for d in dialogues:
        if set(d) != DIALOGUE_FIELDS:
            problems.append(f"{d.get('id')}: fields {sorted(d)}, expected {sorted(DIALOGUE_FIELDS)}")
        if not 2 <= len(d.get("turns", [])) <= 3:
            problems.append(f"{d.get('id')}: {len(d.get('turns', []))} turns")
        for turn in d.get("turns", []):
            if not turn.get("answers"):
                problems.append(f"{d.get('id')}: a turn without answers")
            for answer in turn.get("answers", []):
                if answer not in texts.get(d.get("article", ""), ""):
                    problems.append(f"{d.get('id')}: answer {answer!r} not in article {d.get('article')}")

    articles = Counter(q["article"] for q in questions)
    if len(set(spec["articles"])) != 10 or set(articles) != set(spec["articles"]):
        problems.append(f"questions cover {len(articles)} articles, spec lists {len(set(spec['articles']))}")
    left_out = set(spec["articles"]) | (set(test_spec["excluded_from_training"]) if name == "dev" else set())
    rest = sorted(i for i in rows if i not in left_out)
    if sorted(random.Random(spec["seed"]).sample(rest, 200)) != spec["distractors"]:
        problems.append("distractors are not reproduced by the seed")
    excluded = set(spec["excluded_from_training"])
    if name == "dev":
        if excluded != set(spec["articles"]):
            problems.append("excluded_from_training is not exactly the dev articles")
    elif not set(spec["articles"]) | set(spec["distractors"]) <= excluded:
        problems.append("excluded_from_training misses test or distractor ids")

    kinds = Counter(q["kind"] for q in questions)
    answerable = [q for q in questions if q["answers"]]
    print(f"{name}: {len(questions)} questions ({len(answerable)} answerable, {kinds['unanswerable']} unanswerable), "
          f"{sum(q.get('paraphrase', False) for q in answerable)} answerable paraphrased; "
          f"{len(dialogues)} dialogues ({sum(len(d['turns']) for d in dialogues)} turns); {len(articles)} articles")
    print(f"{name} by kind:", ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    print(f"{name} by article:", ", ".join(f"{a} {n}" for a, n in sorted(articles.items())))
    return [f"{name}: {problem}" for problem in problems], set(ids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=[*SETS, "all"], default="all", help="which set to check (default: all)")
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    args = parser.parse_args(argv)
    names = list(SETS) if args.set == "all" else [args.set]
    specs = {name: read_spec(name) for name in SETS}
    test_spec = specs["test"]
    source = args.shared / "corpora" / test_spec["source"]
    if not source.is_file():
        print(f"check_pd_test: {source} not found; skipping.", file=sys.stderr)
        return 3
    rows = {}
    for line in source.read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows[row["id"]] = row
    problems, ids = [], {}
    for name in names:
        spec = specs[name]
        if spec["source"] != test_spec["source"] or spec["source_sha256"] != test_spec["source_sha256"]:
            problems.append(f"{name}: source differs from the test set's")
        found, ids[name] = check_set(name, spec, rows, test_spec)
        problems += found
    if len(names) == 2:
        test, dev = specs["test"], specs["dev"]
        if ids["test"] & ids["dev"]:
            problems.append(f"ids in both sets: {sorted(ids['test'] & ids['dev'])}")
        shared = (set(dev["articles"]) | set(dev["distractors"])) & (
            set(test["articles"]) | set(test["distractors"]) | set(test["excluded_from_training"]))
        if shared:
            problems.append(f"articles in both sets' corpora: {sorted(shared)[:5]}")
    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
