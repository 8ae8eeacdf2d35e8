"""Near-miss unanswerable training questions: a real question about someone or somewhere else.

A training question names a person or a place that its answer passage holds; that name is
replaced by another name of the same kind, taken from other training questions, that the
passage does not hold. The passage still matches the rest of the question word for word
and answers nothing: its label becomes "no answer here". (SQuAD 2.0 built its unanswerable
questions by such entity swaps, among other edits.)

Why: the reader's other negatives are passages of other paragraphs and articles, which match
the question loosely. Questions that sound right for an article whose text does not hold
their fact (how many X did Y, asked of an article about Z) were answered with confidence:
on the dev splits, 13-14% of such swapped questions were withheld, against 84% of questions
whose article had been taken out of the corpus (eval/near_miss_study.py).

Not used by default (eval/train_reader.py ``--swapped 0``): training with twins of a quarter of
the questions raised that share to 65-80% but withheld more answerable questions and cost news
dev 3 EM points; eval/ABLATIONS.md has the figures.
"""

from __future__ import annotations

import random

from qa.tokenization import pos_tags

from generated_questions import ENTITY_TAGS  # eval/, beside this script

MIN_NAME_CHARS = 2  # one-character "names" are mostly jieba's guesses (a surname alone, 京)


def names(text: str, kinds: dict[str, str] = ENTITY_TAGS) -> list[tuple[str, str]]:
    """The names in a text as (name, kind), by jieba's part-of-speech tags (``kinds``: tag → kind;
    persons and places unless told otherwise)."""
    found, at = [], 0
    for length, tag in pos_tags(text):
        word = text[at : at + length]
        at += length
        if tag in kinds and len(word) >= MIN_NAME_CHARS:
            found.append((word, kinds[tag]))
    return found


def name_pool(questions: list[str], kinds: dict[str, str] = ENTITY_TAGS) -> dict[str, list[str]]:
    """Every name of every question, by kind, in first-seen order (the swaps' replacements)."""
    pool: dict[str, dict[str, None]] = {}
    for question in questions:
        for name, kind in names(question, kinds):
            pool.setdefault(kind, {})[name] = None
    return {kind: list(found) for kind, found in pool.items()}


def swapped_question(question: str, passage: str, answers: list[str], pool: dict[str, list[str]],
                     rng: random.Random, tries: int = 5, kinds: dict[str, str] = ENTITY_TAGS) -> str | None:
    """The question with one of its names that the passage holds (and no answer overlaps)
    replaced by a same-kind name the passage does not hold; None when it has no such name."""
    candidates = [(name, kind) for name, kind in names(question, kinds)
                  if name in passage and not any(name in a or a in name for a in answers) and pool.get(kind)]
    if not candidates:
        return None
    name, kind = rng.choice(candidates)
    for _ in range(tries):
        other = rng.choice(pool[kind])
        if other not in passage and name not in other and other not in name:
            return question.replace(name, other)
    return None
