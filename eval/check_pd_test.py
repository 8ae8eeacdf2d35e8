"""Check the People's Daily test set: files parse, ids unique, every answer cut verbatim from its article.

    python eval/check_pd_test.py [--shared ../shared]

Checks eval/pd_test.jsonl, eval/pd_dialogues.jsonl and eval/pd.corpus.json, and prints counts
by kind. Exits 3 (with a message) when the shared corpus is absent, 1 on any problem, else 0.
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


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    args = parser.parse_args(argv)
    spec = json.loads((HERE / "pd.corpus.json").read_text("utf-8"))
    questions = read_jsonl(HERE / "pd_test.jsonl")
    dialogues = read_jsonl(HERE / "pd_dialogues.jsonl")
    source = args.shared / "corpora" / spec["source"]
    if not source.is_file():
        print(f"check_pd_test: {source} not found; skipping.", file=sys.stderr)
        return 3
    rows = {}
    for line in source.read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows[row["id"]] = row
    texts = {i: "\n".join(rows[i]["paragraphs"]) for i in spec["articles"]}
    problems = []

    ids = [q["id"] for q in questions] + [d["id"] for d in dialogues]
    problems += [f"duplicate id {i}" for i, n in Counter(ids).items() if n > 1]
    for q in questions:
        if q["kind"] not in KINDS:
            problems.append(f"{q['id']}: unknown kind {q['kind']}")
        if q["article"] not in texts:
            problems.append(f"{q['id']}: article {q['article']} is not a test article")
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
        if not 2 <= len(d["turns"]) <= 3:
            problems.append(f"{d['id']}: {len(d['turns'])} turns")
        for turn in d["turns"]:
            for answer in turn["answers"]:
                if answer not in texts.get(d.get("article", ""), ""):
                    problems.append(f"{d['id']}: answer {answer!r} not in article {d.get('article')}")

    articles = Counter(q["article"] for q in questions)
    if len(set(spec["articles"])) != 10 or set(articles) != set(spec["articles"]):
        problems.append(f"questions cover {len(articles)} articles, spec lists {len(set(spec['articles']))}")
    rest = sorted(i for i in rows if i not in set(spec["articles"]))
    if sorted(random.Random(spec["seed"]).sample(rest, 200)) != spec["distractors"]:
        problems.append("distractors are not reproduced by the seed")
    excluded = set(spec["excluded_from_training"])
    if not set(spec["articles"]) | set(spec["distractors"]) <= excluded:
        problems.append("excluded_from_training misses test or distractor ids")

    kinds = Counter(q["kind"] for q in questions)
    answerable = [q for q in questions if q["answers"]]
    print(f"{len(questions)} questions ({len(answerable)} answerable, {kinds['unanswerable']} unanswerable), "
          f"{sum(q.get('paraphrase', False) for q in answerable)} answerable paraphrased; "
          f"{len(dialogues)} dialogues; {len(articles)} articles")
    print("by kind:", ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    print("by article:", ", ".join(f"{a} {n}" for a, n in sorted(articles.items())))
    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
