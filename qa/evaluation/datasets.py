"""Evaluation question sets: our JSONL format and SQuAD-format files such as CMRC 2018.

JSONL: one ``{"question", "answers", "id"?, "kind"?}`` per line; empty ``answers``
marks a question the corpus cannot answer; it runs against an existing index.
SQuAD: every paragraph of the file becomes an article of a temporary corpus (the
open-corpus setting); the gold paragraph is kept for the scorer only.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ValidationError

from qa.corpus import Article, Corpus, first_line, unique_id
from qa.question import analyze


class EvalItem(BaseModel):
    """One question with its gold answers; gold_article is set for SQuAD-format input."""

    id: str
    question: str
    answers: list[str]
    kind: str
    gold_article: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


class EvalSet(BaseModel):
    """Questions, and the corpus to index for them when the set brings its own (SQuAD)."""

    name: str
    items: list[EvalItem]
    corpus: Corpus | None = None


def load_jsonl(path: Path) -> EvalSet:
    """Read a JSONL question file; a bad line is reported with its number."""
    items = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question = row["question"]
            items.append(
                EvalItem(
                    id=str(row.get("id", number)),
                    question=question,
                    answers=[str(a) for a in row.get("answers", [])],
                    kind=row.get("kind") or analyze(question).kind,
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValidationError) as error:
            raise ValueError(f"{path}:{number}: not a question line ({error})") from error
    return EvalSet(name=path.stem, items=items)


def load_squad(path: Path) -> EvalSet:
    """Read a SQuAD-format file into a corpus of its paragraphs and the questions on them.

    Documents may share a title, have none, or number their paragraphs alike, so a
    paragraph's article id is its own id, else its document's id or title and its
    number, made unique across the file (``-2``, ``-3``, ... added). An untitled
    document is titled by its first line, as an article file without a title is.
    """
    data = json.loads(path.read_text("utf-8"))
    articles, items, ids = [], [], set()
    for document_number, document in enumerate(data["data"]):
        paragraphs = document["paragraphs"]
        document_key = document.get("id") or document.get("title") or f"doc{document_number}"
        title = document.get("title") or first_line(paragraphs[0]["context"] if paragraphs else "") or document_key
        for number, paragraph in enumerate(paragraphs):
            paragraph_id = unique_id(str(paragraph.get("id") or f"{document_key}-{number}"), ids)
            articles.append(
                Article(id=paragraph_id, title=title, path=paragraph_id, text=paragraph["context"], source=path.name)
            )
            for qa in paragraph["qas"]:
                answers = list(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                items.append(
                    EvalItem(id=str(qa["id"]), question=qa["question"], answers=answers,
                             kind=analyze(qa["question"]).kind, gold_article=paragraph_id)
                )
    return EvalSet(name=path.stem, items=items, corpus=Corpus(articles=articles))


def load_eval_set(path: str | Path) -> EvalSet:
    """Load a question set by its format: .jsonl, or SQuAD-format .json."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no question file at {path}")
    if path.suffix == ".jsonl":
        return load_jsonl(path)
    if path.suffix == ".json":
        return load_squad(path)
    raise ValueError(f"{path}: expected .jsonl (our format) or .json (SQuAD format)")
