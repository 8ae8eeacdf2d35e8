"""Word tokens for BM25: jieba's search-mode segmentation over width-folded, lower-cased text.

Search mode also emits the shorter words inside long ones (徐州市委书记 → 徐州, 市委,
书记, 市委书记), so a question that says 徐州 still matches 徐州市. Punctuation,
function words and question words are dropped: they carry no evidence.
"""

from __future__ import annotations

import logging
import threading

import jieba

from qa.text import fold, is_cjk, is_punct

TOKENIZER_NAME = f"jieba-search-{jieba.__version__}"

STOPWORDS = frozenset(
    """的 了 是 在 和 与 及 等 也 都 将 对 为 把 被 之 其 这 那 有 就 而 并 或 即 从 向 由 以 于 上 中 下
    个 吗 呢 吧 啊 呀 么 么样 什么 多少 哪些 哪个 哪里 哪儿 哪 谁 几 怎么 怎么样 怎样 如何 为什么 何时 何地
    请问 一下 请 能 会 要 我 你 他 她 它 我们 你们 他们""".split()
)

_ready = threading.Lock()
_initialised = False


def _init() -> None:
    """Load jieba's dictionary once, quietly; later calls are free."""
    global _initialised
    if not _initialised:
        with _ready:
            if not _initialised:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _initialised = True


def tokenize(text: str) -> list[str]:
    """BM25 tokens of a text: search-mode jieba words minus punctuation and stopwords."""
    _init()
    tokens = []
    for word in jieba.lcut_for_search(fold(text).lower()):
        word = word.strip()
        if word and word not in STOPWORDS and not all(is_punct(c) for c in word):
            tokens.append(word)
    return tokens


def segment(text: str) -> list[str]:
    """Plain jieba words of a text (accurate mode), punctuation included."""
    _init()
    return jieba.lcut(text)


def word_frequency(word: str) -> int:
    """jieba's dictionary count for a word (0 when unknown)."""
    _init()
    return jieba.dt.FREQ.get(word, 0) or 0


def pos_tags(text: str, max_unseen_for_hmm: int | None = None) -> list[tuple[int, str]]:
    """jieba part-of-speech words of a text as (length, tag) pairs, which tile the text exactly.

    jieba's tagging HMM tries every one of its states for a character it has no statistics for
    (about 6 ms each here), so 128 random rare ideographs took over a second. With
    max_unseen_for_hmm set, a text holding more such ideographs than that is cut by the
    dictionary alone: real questions have a handful at most, and the work stays linear.
    """
    import jieba.posseg

    _init()
    hmm = max_unseen_for_hmm is None or (
        sum(is_cjk(c) and c not in jieba.posseg.char_state_tab_P for c in text) <= max_unseen_for_hmm
    )
    return [(len(pair.word), pair.flag) for pair in jieba.posseg.lcut(text, HMM=hmm)]
