from qa.text import fold, sentence_around, sentence_spans, split_sentences


def test_fold_maps_full_width_to_ascii_keeping_length():
    text = "ＧＤＰ增长１２．５％，（二期）"
    folded = fold(text)
    assert folded == "GDP增长12.5%,(二期)"
    assert len(folded) == len(text)


def test_sentences_end_at_chinese_stops_and_keep_closing_quotes():
    text = "他说：“好。”然后走了！第二句；第三句？最后没有句号"
    assert split_sentences(text) == ["他说：“好。”", "然后走了！", "第二句；", "第三句？", "最后没有句号"]


def test_sentence_spans_are_offsets_into_the_text():
    text = "  第一句。\n第二句"
    for start, end in sentence_spans(text):
        assert text[start:end] in ("第一句。", "第二句")



def test_sentence_around_is_the_sentence_holding_the_start_stretched_to_the_end():
    text = "全市新增就业3.2万人。同比增长5%，好于预期。"
    start = text.index("3.2万人")
    assert sentence_around(text, start, start + 5) == (0, text.index("。") + 1)
    across = text.index("万人")  # a span running into the next sentence keeps its end
    assert sentence_around(text, across, text.index("同比") + 2) == (0, text.index("同比") + 2)
    assert sentence_around("", 0, 0) == (0, 0)
