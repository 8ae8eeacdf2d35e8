"""Word tokens for BM25: jieba's search-mode segmentation over width-folded, lower-cased text.

Search mode also emits the shorter words inside long ones (徐州市委书记 → 徐州, 市委,
书记, 市委书记), so a question that says 徐州 still matches 徐州市. Punctuation,
function words and question words are dropped: they carry no evidence.
"""

from __future__ import annotations

import functools
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
# Runs of characters whose decoding by jieba's part-of-speech HMM is remembered (about 1 KB each).
HMM_MEMORY = 50_000


def _init() -> None:
    """Load jieba's dictionary once, quietly, and remember its tagger's decodings; later calls are free."""
    global _initialised
    if not _initialised:
        with _ready:
            if not _initialised:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _remember_hmm_decodings()
                _initialised = True


def _remember_hmm_decodings() -> None:
    """Memoise jieba.posseg's HMM decoder by the text it decodes; the tags are unchanged.

    jieba decodes every run of characters its dictionary does not know (names, places,
    new terms) with a Viterbi search in pure Python, 85% of tagging time, and the same
    runs recur all over a corpus. Remembered, tagging 3,000 People's Daily chunks took
    3.07 ms a chunk instead of 4.47, the next 7,000 2.8 ms, with identical tags
    (measured 2026-11-23). Its other arguments are jieba's fixed model tables.
    """
    import jieba.posseg

    decode = jieba.posseg.viterbi
    if hasattr(decode, "cache_info"):
        return
    tables = (jieba.posseg.char_state_tab_P, jieba.posseg.start_P, jieba.posseg.trans_P, jieba.posseg.emit_P)

    @functools.lru_cache(maxsize=HMM_MEMORY)
    def remembered(text: str):
        return decode(text, *tables)

    def viterbi(text, *model):
        if any(given is not ours for given, ours in zip(model, tables)):
            return decode(text, *model)
        return remembered(text)

    viterbi.cache_info = remembered.cache_info
    viterbi.decode = decode  # jieba's own, for comparison
    jieba.posseg.viterbi = viterbi


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
