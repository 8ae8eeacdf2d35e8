"""The questions a benchmark asks: the seed questions, plus questions cut from the corpus's own sentences.

A corpus question is a real sentence holding a number with that number (and the
character after it, usually its unit) replaced by 多少, e.g. 全市签约73个项目 →
全市签约多少项目？. They are made at run time from the benchmark corpus and never
written anywhere (the People's Daily text may not be copied).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from qa.corpus import article_paths
from qa.text import sentence_spans

SEED_QUESTIONS = Path(__file__).resolve().parents[2] / "eval" / "seeds.jsonl"
PER_ARTICLE = 3
_NUMBER = re.compile(r"[0-9０-９][0-9０-９.．,，%万亿千百]*[^\s0-9０-９，。、；：]?")


def seed_questions(path: Path = SEED_QUESTIONS) -> list[str]:
    """The questions of eval/seeds.jsonl (none when the file is absent, e.g. an installed package)."""
    if not path.is_file():
        return []
    return [json.loads(line)["question"] for line in path.read_text("utf-8").splitlines() if line.strip()]


def corpus_questions(folder: str | Path, count: int, seed: int = 0) -> list[str]:
    """count questions made from sentences of the articles in folder, chosen at random (deterministic for a seed)."""
    rng = random.Random(seed)
    paths = article_paths(Path(folder))
    questions: list[str] = []
    for path in rng.sample(paths, len(paths)):
        if len(questions) >= count:
            break
        text = path.read_text("utf-8")
        sentences = [text[a:b].strip() for a, b in sentence_spans(text)]
        candidates = [s for s in sentences if 12 <= len(s) <= 80 and _NUMBER.search(s) and not s.startswith("本报")]
        for sentence in rng.sample(candidates, min(PER_ARTICLE, len(candidates))):
            questions.append(_NUMBER.sub("多少", sentence, count=1).rstrip("。；！？”") + "？")
    return questions[:count]


def benchmark_questions(folder: str | Path, count: int, seed: int = 0) -> list[str]:
    """The seed questions, then corpus questions up to count in all."""
    seeds = seed_questions()[:count]
    return seeds + corpus_questions(folder, count - len(seeds), seed)
