"""An answer for people to read: 答案 / 依据 / 来源 / 置信度 lines, or the abstention text.

One wording for every front end that shows answers as text: the terminal (``qa ask``,
``qa chat``, with rich markup) and the OpenAI-compatible chat API (plain text). A
``Markup`` says how the parts are marked; the default is plain text, where the answer
is bracketed 【like this】 inside its evidence sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qa.types import Answer

NO_ANSWER = "没有找到答案"
NO_EVIDENCE = "文章中没有足够的依据回答这个问题。"


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Markup:
    """How the parts of an answer are marked; every function takes and returns text."""

    escape: Callable[[str], str] = _same  # text from the articles, made safe for the markup
    answer: Callable[[str], str] = _same  # the short answer after 答案：
    highlight: Callable[[str], str] = lambda text: f"【{text}】"  # the answer inside its sentence
    quiet: Callable[[str], str] = _same  # details (the article id)
    warning: Callable[[str], str] = _same  # 没有找到答案


PLAIN = Markup()


def source_line(answer: Answer, markup: Markup = PLAIN) -> str:
    """Where the answer is: article title, paragraph, character offsets and article id."""
    source, e = answer.source, markup.escape
    return (
        f"来源：{e(source.title)} · 第{source.paragraph}段 · 字符 {source.start}–{source.end}"
        f"  {markup.quiet(f'({e(source.article_id)})')}"
    )


def answer_lines(answer: Answer, markup: Markup = PLAIN) -> list[str]:
    """The lines that present an answer: 答案, 依据 (answer marked in its sentence), 来源, 置信度;
    a single line saying there is no answer when the engine abstained."""
    if answer.abstained:
        return [f"{markup.warning(NO_ANSWER)}（置信度 {answer.confidence:.2f}）：{NO_EVIDENCE}"]
    e, sentence = markup.escape, answer.sentence
    start, end = answer.answer_in_sentence
    return [
        f"答案：{markup.answer(e(answer.answer))}",
        f"依据：{e(sentence[:start])}{markup.highlight(e(sentence[start:end]))}{e(sentence[end:])}",
        source_line(answer, markup),
        f"置信度：{answer.confidence:.2f}",
    ]


def answer_text(answer: Answer, separator: str = "\n") -> str:
    """The answer as plain text, its lines joined by separator."""
    return separator.join(answer_lines(answer))
