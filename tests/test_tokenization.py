"""jieba tokens and part-of-speech tags on small hand-made texts: search-mode words, stopwords, and the
remembered HMM decodings giving exactly jieba's own tags."""

import jieba.posseg

from qa.tokenization import pos_tags, tokenize

# Invented names and places jieba's dictionary does not hold, so its HMM decodes them.
TEXT = "青禾镇的柯澜舟说，禾澜港今年新建了四座码头。柯澜舟还说，禾澜港明年再建两座。"


def test_search_mode_tokens_keep_short_words_inside_long_ones_and_drop_stopwords():
    tokens = tokenize("徐州市委书记说了什么？")
    assert {"徐州", "市委", "书记", "市委书记"} <= set(tokens)
    assert "什么" not in tokens and "？" not in tokens


def test_tags_tile_the_text_and_remembered_decodings_equal_jiebas_own():
    tags = pos_tags(TEXT)
    assert sum(size for size, _ in tags) == len(TEXT)
    remembered = jieba.posseg.viterbi
    assert hasattr(remembered, "cache_info"), "the HMM decoder is remembered once jieba is loaded"
    hits = remembered.cache_info().hits
    assert pos_tags(TEXT) == tags
    assert remembered.cache_info().hits > hits, "the second tagging reuses the decodings"
    jieba.posseg.viterbi = remembered.decode  # jieba's own decoder, nothing remembered
    try:
        assert pos_tags(TEXT) == tags
    finally:
        jieba.posseg.viterbi = remembered
