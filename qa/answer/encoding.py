"""Questions and passages as named per-character features, the reader network's input.

Every feature is computed here and nowhere else, for training, evaluation and
serving alike. Passages bring their jieba part-of-speech words (``(length, tag)``
pairs that tile the text, stored with each chunk at index time); questions are
tagged when asked.

Features of a passage character, by name (``PASSAGE_FEATURES``):
``char`` its vocabulary id; ``pos`` its word's part of speech; ``boundary`` its place
in that word; ``char_in_question`` the character occurs in the question;
``word_in_question`` its whole word occurs among the question's words. The two
flags are what lets a reader trained on other articles find the question's words
in a passage it has never seen. ``sentence_char_coverage`` and
``sentence_word_coverage``: the share of the question's characters and words found
in the character's sentence. Why: the overlap flags are local, and a convolution
sees a few dozen characters; the coverage tells every character how much of the
question its whole sentence answers to, which is how the right sentence is told
from a neighbour that shares one word (eval/ABLATIONS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.answer.vocabulary import BOUNDARIES, POS_IDS, CharVocabulary
from qa.text import PUNCT_CLASS, code_points, fold, is_punct, sentence_spans
from qa.tokenization import pos_tags

FLAGS = ("char_in_question", "word_in_question", "sentence_char_coverage", "sentence_word_coverage")
PASSAGE_FEATURES = ("char", "pos", "boundary", *FLAGS)
QUESTION_FEATURES = ("char", "pos", "boundary")
FEATURE_VERSION = 2  # 2: the sentence coverage features
# Characters unknown to jieba's tagger past which a question is tagged without its HMM (bounded work;
# see qa.tokenization.pos_tags). Passages are tagged once, at index time, and keep the HMM.
MAX_UNSEEN_FOR_HMM = 8
_B, _M, _E, _S = (BOUNDARIES.index(t) for t in "BMES")
_OTHER = POS_IDS["x"]


def tag_arrays(tags: list[tuple[int, str]], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-character part-of-speech ids and word-boundary ids from (length, tag) words.

    Characters past the words are 0 in both; a word cut by ``length`` ends (E) at the cut.
    Computed in arrays, not per character: it runs for every passage of every question."""
    pos = np.zeros(length, np.int64)
    boundary = np.zeros(length, np.int64)
    if not tags or length <= 0:
        return pos, boundary
    sizes = np.fromiter((size for size, _ in tags), np.int64, len(tags))
    ids = np.fromiter((POS_IDS.get(tag, _OTHER) for _, tag in tags), np.int64, len(tags))
    ends = np.cumsum(sizes)
    covered = min(int(ends[-1]), length)
    word_size = np.repeat(sizes, sizes)[:covered]
    word_start = np.repeat(ends - sizes, sizes)[:covered]
    word_end = np.minimum(np.repeat(ends, sizes)[:covered], length)
    at = np.arange(covered)
    pos[:covered] = np.repeat(ids, sizes)[:covered]
    boundary[:covered] = np.where(word_size == 1, _S, np.where(at == word_end - 1, _E, np.where(at == word_start, _B, _M)))
    return pos, boundary


def words_of(text: str, tags: list[tuple[int, str]]) -> list[tuple[int, int, str]]:
    """(start, end, folded lower-case word) for every word of text, punctuation left out."""
    lowered = fold(text).lower()
    if len(lowered) != len(text):  # a character whose lower case is longer (İ): word by word
        return _words_one_by_one(text, tags)
    # Words without a character outside PUNCTUATION are skipped without building them.
    kept = np.concatenate([[0], np.cumsum(~PUNCT_CLASS.flags(lowered))]).tolist()
    words, position = [], 0
    for size, _ in tags:
        end = min(position + size, len(text))
        if kept[end] > kept[min(position, end)]:
            word = lowered[position:end]
            stripped = word.strip()
            if stripped is word or (stripped and not all(is_punct(c) for c in stripped)):
                words.append((position, position + size, stripped))
        position += size
    return words


def _words_one_by_one(text: str, tags: list[tuple[int, str]]) -> list[tuple[int, int, str]]:
    words, position = [], 0
    for size, _ in tags:
        word = fold(text[position : position + size]).lower().strip()
        if word and not all(is_punct(c) for c in word):
            words.append((position, position + size, word))
        position += size
    return words


@dataclass
class EncodedQuestion:
    """A question's features and the character and word sets passages are compared with."""

    text: str
    chars: np.ndarray
    pos: np.ndarray
    boundary: np.ndarray
    code_points: np.ndarray  # the question's characters (folded, lower-cased, no punctuation), sorted
    words: frozenset[str]


@dataclass
class EncodedPassage:
    """A passage text's features, one entry per character."""

    text: str
    chars: np.ndarray
    pos: np.ndarray
    boundary: np.ndarray
    flags: np.ndarray  # (characters, len(FLAGS)) float32


def encode_question(question: str, vocabulary: CharVocabulary, tags: list[tuple[int, str]] | None = None) -> EncodedQuestion:
    """The question's features; tags are computed with jieba unless given."""
    tags = pos_tags(question, MAX_UNSEEN_FOR_HMM) if tags is None else tags
    pos, boundary = tag_arrays(tags, len(question))
    folded = fold(question).lower()
    return EncodedQuestion(
        text=question,
        chars=vocabulary.ids(question),
        pos=pos,
        boundary=boundary,
        code_points=np.unique(code_points("".join(c for c in folded if not is_punct(c)))),
        words=frozenset(word for _, _, word in words_of(question, tags)),
    )


def encode_passage(text: str, tags: list[tuple[int, str]], question: EncodedQuestion, vocabulary: CharVocabulary) -> EncodedPassage:
    """A passage's features relative to the question."""
    pos, boundary = tag_arrays(tags, len(text))
    flags = np.zeros((len(text), len(FLAGS)), np.float32)
    points = code_points(fold(text).lower())
    flags[:, 0] = np.isin(points, question.code_points)
    found = []
    for start, end, word in words_of(text, tags):
        if word in question.words:
            flags[start:end, 1] = 1.0
            found.append((start, word))
    _sentence_coverage(text, points, flags, found, question)
    return EncodedPassage(text=text, chars=vocabulary.ids(text), pos=pos, boundary=boundary, flags=flags)


def _sentence_coverage(text: str, points: np.ndarray, flags: np.ndarray, found: list[tuple[int, str]],
                       question: EncodedQuestion) -> None:
    """Fill the two sentence coverage columns: per sentence, the share of the question's distinct
    characters and of its distinct words that occur in it (0 where the question has none)."""
    chars, words = len(question.code_points), len(question.words)
    if not chars:
        return
    for start, end in sentence_spans(text):
        inside = points[start:end][flags[start:end, 0] > 0]
        flags[start:end, 2] = np.unique(inside).size / chars if inside.size else 0.0
        if words:
            flags[start:end, 3] = len({word for at, word in found if start <= at < end}) / words


@dataclass
class Batch:
    """Padded arrays for a batch of (question, passage) pairs; masks are True on real characters.
    Numpy arrays: the graphs that read take them as they are, and training makes tensors of them
    (qa.answer.network.as_tensors)."""

    question_chars: np.ndarray
    question_pos: np.ndarray
    question_boundary: np.ndarray
    question_mask: np.ndarray
    passage_chars: np.ndarray
    passage_pos: np.ndarray
    passage_boundary: np.ndarray
    passage_flags: np.ndarray
    passage_mask: np.ndarray


def _pad(arrays: list[np.ndarray], width: int | None = None) -> np.ndarray:
    width = width or max(max(len(a) for a in arrays), 1)
    shape = (len(arrays), width) + arrays[0].shape[1:]
    out = np.zeros(shape, arrays[0].dtype)
    for row, array in enumerate(arrays):
        out[row, : len(array)] = array[:width]
    return out


def collate(pairs: list[tuple[EncodedQuestion, EncodedPassage]]) -> Batch:
    """Pad a list of (question, passage) pairs into one batch."""
    questions = [q for q, _ in pairs]
    passages = [p for _, p in pairs]
    q_chars = _pad([q.chars for q in questions])
    p_chars = _pad([p.chars for p in passages])
    return Batch(
        question_chars=q_chars,
        question_pos=_pad([q.pos for q in questions]),
        question_boundary=_pad([q.boundary for q in questions]),
        question_mask=q_chars != 0,
        passage_chars=p_chars,
        passage_pos=_pad([p.pos for p in passages]),
        passage_boundary=_pad([p.boundary for p in passages]),
        passage_flags=_pad([p.flags for p in passages]),
        passage_mask=p_chars != 0,
    )
