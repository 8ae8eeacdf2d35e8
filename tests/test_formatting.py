"""The shared answer wording: plain text for the OpenAI API, the same lines with markup for the terminal."""

from qa.formatting import PLAIN, Markup, answer_lines, answer_text
from qa.types import Answer, Source

ANSWER = Answer(
    question="徐州缓缴社保多少", answer="超31亿元", sentence="缓缴和减免社保等费用超31亿元。", answer_in_sentence=(10, 15),
    source=Source(article_id="a1", title="两会专访", paragraph=5, chunk_id=4, start=642, end=647,
                  sentence_start=632, sentence_end=648),
    confidence=0.29, abstained=False,
)


def test_plain_text_has_answer_evidence_source_and_confidence():
    assert answer_lines(ANSWER) == [
        "答案：超31亿元",
        "依据：缓缴和减免社保等费用【超31亿元】。",
        "来源：两会专访 · 第5段 · 字符 642–647  (a1)",
        "置信度：0.29",
    ]
    assert answer_text(ANSWER, "\n\n").count("\n\n") == 3


def test_an_abstention_is_one_line():
    none = Answer(question="徐州去年的GDP是多少？", answer="", sentence="", confidence=0.01, abstained=True)
    assert answer_lines(none) == ["没有找到答案（置信度 0.01）：文章中没有足够的依据回答这个问题。"]


def test_markup_escapes_article_text_and_marks_the_parts():
    tagged = Markup(escape=lambda t: t.replace("【", "\\【"), answer=lambda t: f"<b>{t}</b>", highlight=lambda t: f"<u>{t}</u>")
    lines = answer_lines(ANSWER.model_copy(update={"sentence": "【注】费用超31亿元。", "answer_in_sentence": (5, 10)}), tagged)
    assert lines[0] == "答案：<b>超31亿元</b>" and lines[1] == "依据：\\【注】费用<u>超31亿元</u>。"
    assert PLAIN.highlight("x") == "【x】"
