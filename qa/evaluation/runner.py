"""Running a question set through the engine and scoring every answer.

Retrieval is scored on the top 10 passages (a hit is the gold paragraph for SQuAD
input, a passage containing a gold answer otherwise); answers come from the top
``top_k`` of those, exactly as ``Engine.ask`` would produce them.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, Field
from tqdm.auto import tqdm

from qa.conversation import resolve
from qa.engine import Engine
from qa.evaluation.datasets import EvalItem
from qa.evaluation.metrics import contains_answer, exact_match, f1_score
from qa.types import Passage

RETRIEVAL_DEPTH = 10
WARMUP_QUESTIONS = 3


class Prediction(BaseModel):
    """One question's outcome, as written to predictions.jsonl for error analysis."""

    id: str
    question: str
    asked: str = Field("", description="The question as answered: a follow-up completed from the one before")
    kind: str
    dialogue: str | None = None
    gold: list[str]
    answer: str
    sentence: str
    abstained: bool
    confidence: float
    hit_rank: int | None
    em: float
    f1: float
    sentence_hit: bool
    latency_ms: float
    article_id: str | None = None
    paragraph: int | None = None


def is_hit(item: EvalItem, passage: Passage) -> bool:
    """Whether a passage counts as retrieving the item's evidence."""
    if item.gold_article is not None:
        return passage.chunk.article_id == item.gold_article
    return contains_answer(passage.chunk.text.replace("\n", ""), item.answers)


def predict(engine: Engine, item: EvalItem, previous: str | None = None) -> Prediction:
    """Ask one question (timed, index already loaded) and score the result; a dialogue's follow-up
    is first completed from the previous question, as the chat does.

    A question the engine refuses (empty, too long) counts as an abstention.
    """
    started = time.perf_counter()
    asked = resolve(item.question, previous) if item.dialogue else item.question
    try:
        passages = engine.retrieve(asked, max(RETRIEVAL_DEPTH, engine.settings.top_k))
    except ValueError:
        passages = []
    answer = engine.answer(asked, passages[: engine.settings.top_k])
    latency = (time.perf_counter() - started) * 1000
    hit_rank = next((p.rank for p in passages if item.answerable and is_hit(item, p)), None)
    return Prediction(
        id=item.id, question=item.question, asked=asked, kind=item.kind, dialogue=item.dialogue, gold=item.answers, answer=answer.answer,
        sentence=answer.sentence, abstained=answer.abstained, confidence=answer.confidence, hit_rank=hit_rank,
        em=exact_match(answer.answer, item.answers) if item.answerable and not answer.abstained else 0.0,
        f1=f1_score(answer.answer, item.answers) if item.answerable and not answer.abstained else 0.0,
        sentence_hit=bool(item.answerable and answer.sentence and contains_answer(answer.sentence, item.answers)),
        latency_ms=round(latency, 3),
        article_id=answer.source.article_id if answer.source else None,
        paragraph=answer.source.paragraph if answer.source else None,
    )


def run(engine: Engine, items: list[EvalItem], progress: bool = True) -> list[Prediction]:
    """Predict every item, after a few untimed warm-up questions (first-call loading)."""
    for item in [item for item in items if item.question.strip()][:WARMUP_QUESTIONS]:
        engine.ask(item.question)
    predictions, last_question = [], {}
    for item in tqdm(items, desc="evaluating", unit="q", disable=not progress):
        prediction = predict(engine, item, last_question.get(item.dialogue))
        last_question[item.dialogue] = prediction.asked
        predictions.append(prediction)
    return predictions
