"""Corpora that evaluation sets name instead of shipping: articles read from ``../shared`` at run time.

Some articles may be used for research but not copied into the repository (the
People's Daily corpus). A question file ``NAME.jsonl`` or ``NAME_anything.jsonl``
then runs over the corpus described by ``NAME.corpus.json`` beside it: the source
file under the shared folder's ``corpora/`` and the article ids to take from it. The
longest such name wins, so ``pd_dev_dialogues.jsonl`` runs over ``pd_dev.corpus.json``
when there is one and over ``pd.corpus.json`` otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

from qa.corpus import Article, Corpus

SPEC_SUFFIX = ".corpus.json"


class SharedDataMissing(FileNotFoundError):
    """The shared data a question set needs is not on this machine."""


def spec_for(questions: Path) -> Path | None:
    """The corpus spec a question file runs over, when there is one beside it: the longest
    underscore-separated prefix of its name that has one."""
    parts = questions.stem.split("_")
    for size in range(len(parts), 0, -1):
        spec = questions.parent / ("_".join(parts[:size]) + SPEC_SUFFIX)
        if spec.is_file():
            return spec
    return None


def article_of(row: dict, source: str) -> Article:
    """One corpus line ({id, date, page, title, paragraphs}) as an article, paragraphs apart."""
    date, page = str(row.get("date", "")), row.get("page", "")
    label = f"{source} {date[:4]}-{date[4:6]}-{date[6:8]} 第{page}版" if date else source
    return Article(id=row["id"], title=row.get("title") or row["id"], source=label, path=row["id"],
                   text="\n\n".join(p.strip() for p in row["paragraphs"] if p.strip()), markdown=True)


def load_spec_corpus(spec_path: Path, shared: Path) -> Corpus:
    """The articles a spec names (its test articles and distractors), read from the shared corpus file."""
    spec = json.loads(spec_path.read_text("utf-8"))
    source = Path(shared) / "corpora" / spec["source"]
    if not source.is_file():
        raise SharedDataMissing(f"{spec_path.name} needs {source}, which is not here; set QA_SHARED_DIR")
    wanted = list(dict.fromkeys(spec["articles"] + spec.get("distractors", [])))
    rows = {}
    with source.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                row = json.loads(line)
                if row["id"] in wanted:
                    rows[row["id"]] = row
    missing = [i for i in wanted if i not in rows]
    if missing:
        raise ValueError(f"{len(missing)} article ids of {spec_path.name} are not in {source.name}: {missing[:5]}")
    return Corpus(articles=[article_of(rows[i], spec.get("label", "人民日报")) for i in wanted])
