from qa.text import fold, sentence_spans, split_sentences


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

