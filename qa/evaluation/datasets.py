"""Evaluation question sets: our JSONL format and SQuAD-format files such as CMRC 2018.

JSONL: one ``{"question", "answers", "id"?, "kind"?}`` per line; empty ``answers``
marks a question the corpus cannot answer. A line ``{"id", "turns": [{"message",
"answers"}, ...]}`` is a dialogue: its later turns are follow-ups of the earlier
ones. A JSONL set runs against an existing index, or over the corpus its
``NAME.corpus.json`` names (qa.evaluation.shared_corpus).
SQuAD: every paragraph of the file becomes an article of a temporary corpus (the
open-corpus setting); the gold paragraph is kept for the scorer only. ``split``
keeps one split by article (qa.evaluation.splits).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ValidationError

from qa.answer.question import analyze
from qa.corpus import Article, Corpus, first_line, unique_id
from qa.evaluation.shared_corpus import load_spec_corpus, spec_for
from qa.evaluation.splits import select


class EvalItem(BaseModel):
    """One question with its gold answers; gold_article is set for SQuAD-format input."""

    id: str
    question: str
    answers: list[str]
    kind: str
    gold_article: str | None = None
    dialogue: str | None = None  # the dialogue a follow-up turn belongs to; turns come in order
    # The article a JSONL question says it was written on; retrieval hits are still scored by the
    # answer text (gold_article is for SQuAD input, whose articles are its paragraphs).
    article: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


class EvalSet(BaseModel):
    """Questions, and the corpus to index for them when the set brings its own (SQuAD)."""

    name: str
    items: list[EvalItem]
    corpus: Corpus | None = None


def _item(row: dict, default_id: str, dialogue: str | None = None, turn: int = 1) -> EvalItem:
    question = row["question"] if "question" in row else row["message"]
    return EvalItem(
        id=str(row.get("id", default_id)),
        question=question,
        answers=[str(a) for a in row.get("answers", [])],
        kind="follow-up" if turn > 1 else row.get("kind") or analyze(question).kind,
        dialogue=dialogue,
        article=row.get("article"),
    )


def load_jsonl(path: Path, shared: Path | None = None) -> EvalSet:
    """Read a JSONL question or dialogue file; a bad line is reported with its number."""
    items = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if "turns" in row:
                dialogue = str(row.get("id", number))
                items += [_item(turn, f"{dialogue}.{n}", dialogue, n) for n, turn in enumerate(row["turns"], start=1)]
            else:
                items.append(_item(row, str(number)))
        except (json.JSONDecodeError, KeyError, TypeError, ValidationError) as error:
            raise ValueError(f"{path}:{number}: not a question line ({error})") from error
    spec = spec_for(path)
    corpus = load_spec_corpus(spec, shared or Path("../shared")) if spec else None
    return EvalSet(name=path.stem, items=items, corpus=corpus)


def load_squad(path: Path, split: str | None = None) -> EvalSet:
    """Read a SQuAD-format file into a corpus of its paragraphs and the questions on them.

    Documents may share a title, have none, or number their paragraphs alike, so a
    paragraph's article id is its own id, else its document's id or title and its
    number, made unique across the file (``-2``, ``-3``, ... added). An untitled
    document is titled by its first line, as an article file without a title is.
    split keeps the documents of one split (qa.evaluation.splits).
    """
    data = json.loads(path.read_text("utf-8"))
    if split:
        data = select(data, path.stem, split)
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
    name = f"{path.stem}-{split}" if split else path.stem
    return EvalSet(name=name, items=items, corpus=Corpus(articles=articles))


def load_eval_set(path: str | Path, split: str | None = None, shared: Path | None = None) -> EvalSet:
    """Load a question set by its format: .jsonl, or SQuAD-format .json (optionally one split of it)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no question file at {path}")
    if path.suffix == ".jsonl":
        if split:
            raise ValueError("--split applies to SQuAD-format files; JSONL sets are one split already")
        return load_jsonl(path, shared)
    if path.suffix == ".json":
        return load_squad(path, split)
    raise ValueError(f"{path}: expected .jsonl (our format) or .json (SQuAD format)")
