from qa.chunking import chunk_article
from qa.corpus import Article, load_corpus
from qa.text import split_sentences


def _seed_chunks(settings):
    corpus = load_corpus(settings.corpus_dir)
    return {a.id: (a, chunk_article(a)) for a in corpus.articles}


def test_pinned_sentences_end_up_whole_inside_one_chunk(settings):
    chunks = [c for _, cs in _seed_chunks(settings).values() for c in cs]
    for phrase in ("缓缴和减免社保、公积金、水电气等费用超31亿元", "建立淮海经济区交通物流联动协调机制"):
        holders = [c for c in chunks if phrase in c.text]
        assert len(holders) == 1, phrase


def test_every_chunk_character_maps_back_to_the_article(settings):
    for article, chunks in _seed_chunks(settings).values():
        for chunk in chunks:
            for position, char in enumerate(chunk.text):
                if char != "\n":  # the separator of merged paragraphs
                    assert article.text[chunk.article_offset(position)] == char


def test_column_lines_are_rejoined_and_headings_kept_apart(settings):
    article, chunks = _seed_chunks(settings)["004_302674c14a7d71f0"]
    texts = [c.text for c in chunks]
    # The column file breaks every ~15 characters; paragraphs come back whole.
    assert any("\n根据江苏省徐州市委、市政府工作部署，徐州市工信局坚持" in t for t in texts)
    # Headings never swallow body text, but label the chunks under them.
    assert not any("以活动为抓手抓好落实" in t for t in texts)
    # A byline is a line of its own: it starts its author's piece and labels it, and stays
    # apart from the previous author's closing line.
    wang_wei = next(c for c in chunks if "□ 王 伟" in c.text)
    assert wang_wei.text.startswith("□ 王 伟\n根据江苏省徐州市委") and wang_wei.heading == "□ 王 伟"
    wang_qiang = next(c for c in chunks if "□ 王 强" in c.text)
    assert wang_qiang.text.startswith("□ 王 强\n") and "作者系" not in wang_qiang.text
    assert any(c.heading == "以活动为抓手抓好落实" and c.text.startswith("扎实开展政企同行专项行动") for c in chunks)


def test_interview_headline_becomes_the_section_heading(settings):
    _, chunks = _seed_chunks(settings)["000_5eb15fd4d41f17c5"]
    chunk = next(c for c in chunks if "超31亿元" in c.text)
    assert "徐州市委书记周铁根" in chunk.heading
    zhuzhou = next(c for c in chunks if "202.4亿元" in c.text)
    assert "株洲市市长阳卫国" in zhuzhou.heading
    # The reporter's byline opens the interview's first paragraph as a sentence of its own.
    first = next(c for c in chunks if "株洲市市长阳卫国" in c.heading and c.text.startswith("本报记者 何芳\n"))
    assert split_sentences(first.text)[0] == "本报记者 何芳"
    assert not any("何芳" in c.heading for c in chunks)


def test_long_paragraphs_split_at_sentence_ends_and_fragments_merge():
    sentence = "这是一个用来测试的句子，长度二十个字左右。"
    text = "标题\n" + sentence * 30 + "\n短句。\n" + sentence * 3
    article = Article(id="t", title="t", path="t.txt", text=text)
    chunks = chunk_article(article, max_chars=100, min_chars=20)
    assert all(len(c.text) <= 100 for c in chunks)
    for chunk in chunks:
        assert chunk.text.endswith("。")  # never cut mid-sentence
    # "短句。" is shorter than min_chars and is merged into a neighbour instead of standing alone.
    assert not any(c.text == "短句。" for c in chunks)
    assert any("短句。" in c.text for c in chunks)
    numbers = [c.paragraph for c in chunks]
    assert numbers == sorted(numbers) and numbers[0] == 1
