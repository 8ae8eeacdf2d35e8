"""Question analysis: find the question word, the answer type it asks for, and the words around it.

Chinese questions are mostly a statement with the answer replaced by a question
word: 徐州缓缴社保[多少] ← 徐州……缓缴……社保……费用[超31亿元]. The words left and right of
the question word are what the answer sits between in the evidence sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.text import fold

# Answer types, most specific patterns first; the first match in the question wins.
_PATTERNS: list[tuple[str, str]] = [
    ("time", r"什么时候|什么时间|何时|哪一年|哪年|哪一天|哪天|几月|几号|哪个月|哪一月|哪个朝代|哪个时期|多少年[前后]|几点"),
    ("reason", r"为什么|为何|什么原因|何故"),
    ("person", r"谁|哪位|哪一位|什么人|哪个人|何人|哪些人"),
    ("place", r"哪里|哪儿|何处|何地|什么地方|哪个地方|哪个国家|哪个城市|哪个省|哪座城市|哪个地区"),
    ("list", r"哪些|哪几"),
    ("quantity", r"多少|几|多大|多长|多久|多高|多远|多重|多宽|多深|多快|多厚|多少钱"),
    ("manner", r"怎么样|怎样|怎么|如何"),
    ("entity", r"什么|啥|哪个|哪一|哪|何"),
]
_WH = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _PATTERNS))
# Units and classifiers that follow 多少/几 and come back after the number in the answer.
_UNIT = re.compile(
    r"^(亿美元|万美元|美元|亿元|万元|千元|百元|元|亿|万|千|百|倍|成|%|个百分点|平方公里|平方米|公里|千米|米|厘米|"
    r"公斤|千克|吨|克|年|个月|月|天|日|小时|分钟|秒|岁|周|届|次|名|位|人|家|所|座|项|个|件|条|种|起|张|台|辆|架|"
    r"艘|部|本|篇|集|场|层|度|批|户|处|间|块|份|株|棵|只|头|匹|首|句|字|门|班|列|期|轮|季|级)"
)
_TRAILING = "？?。.!！~～ \t\n吗呢呀啊"


@dataclass(frozen=True)
class Question:
    """A question split around its question word."""

    text: str
    answer_type: str
    wh: str = ""
    left: str = ""
    right: str = ""
    unit: str = ""

    @property
    def kind(self) -> str:
        """The label used to group evaluation metrics."""
        return self.answer_type


def analyze(question: str) -> Question:
    """Find the question word and what it asks for; answer_type is 'other' when there is none."""
    text = fold(question).strip().rstrip(_TRAILING).strip()
    match = _WH.search(text)
    if not match:
        return Question(text=text, answer_type="other", left=text)
    kind = match.lastgroup or "other"
    left, right = text[: match.start()], text[match.end() :]
    if match.group(0) == "为什么" and not right:
        # "……即算为什么" asks what it counts as (为 + 什么), not why.
        kind, left = "entity", left + "为"
        match = re.search("什么$", text)
    unit = ""
    if kind == "quantity":
        unit_match = _UNIT.match(right)
        unit = unit_match.group(0) if unit_match else ""
    if kind == "entity" and re.match(r"^(时候|时间|年|年份|日期)", right):
        kind = "time"
    return Question(text=text, answer_type=kind, wh=match.group(0), left=left, right=right, unit=unit)
