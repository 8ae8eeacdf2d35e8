"""Optional neural reader (off by default): a transformers extractive QA model picks the answer span.

Set ``QA_READER_MODEL`` to any extractive question-answering model name or folder
(``AutoModelForQuestionAnswering``; for Chinese, one fine-tuned on CMRC 2018). The
reader reads the retrieved passages, and its best span replaces the built-in reader's
answer, with the reader's own probability as confidence; the evidence sentence and
source are found around the span as usual. No weights ship with this project.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from qa.types import Passage

MAX_LENGTH = 384
MAX_ANSWER_TOKENS = 30


@dataclass
class ReaderSpan:
    """The reader's answer: a span of one passage's chunk text and its probability."""

    passage: Passage
    start: int
    end: int
    probability: float


def _softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max())
    return shifted / shifted.sum()


class NeuralReader:
    """Span extraction with a transformers question-answering model on the CPU."""

    def __init__(self, model: str):
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model)
            self.model = AutoModelForQuestionAnswering.from_pretrained(model).eval()
        except OSError as error:
            raise ValueError(f"cannot load reader model {model!r}: {error}") from error
        self.name = model
        self._lock = threading.Lock()

    def read(self, question: str, passages: list[Passage]) -> ReaderSpan | None:
        """The most probable answer span over all passages, or None when there are none."""
        import torch

        if not passages:
            return None
        texts = [p.chunk.text for p in passages]
        inputs = self.tokenizer(
            [question] * len(texts), texts, truncation="only_second", max_length=MAX_LENGTH, padding=True,
            return_offsets_mapping=True, return_tensors="pt",
        )
        offsets = inputs.pop("offset_mapping").numpy()
        with self._lock, torch.no_grad():
            output = self.model(**{k: v for k, v in inputs.items() if k in ("input_ids", "attention_mask", "token_type_ids")})
        starts, ends = output.start_logits.numpy(), output.end_logits.numpy()
        best: ReaderSpan | None = None
        for row, passage in enumerate(passages):
            context = np.array([sid == 1 for sid in inputs.sequence_ids(row)])
            if not context.any():
                continue
            start_p = _softmax(np.where(context, starts[row], -1e9))
            end_p = _softmax(np.where(context, ends[row], -1e9))
            # Best (i, j) with i <= j < i + MAX_ANSWER_TOKENS, by start and end probability.
            joint = np.triu(np.outer(start_p, end_p)) - np.triu(np.outer(start_p, end_p), MAX_ANSWER_TOKENS)
            i, j = np.unravel_index(np.argmax(joint), joint.shape)
            char_start, char_end = int(offsets[row][i][0]), int(offsets[row][j][1])
            if char_end <= char_start:
                continue
            if best is None or joint[i, j] > best.probability:
                best = ReaderSpan(passage, char_start, char_end, float(joint[i, j]))
        return best
