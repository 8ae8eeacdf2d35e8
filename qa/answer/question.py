"""Question analysis: find the question word, the answer type it asks for, and the words around it.

Chinese questions are mostly a statement with the answer replaced by a question
word: 徐州缓缴社保[多少] ← 徐州……缓缴……社保……费用[超31亿元]. The reader learns this from
characters on its own; the analysis here serves what is not learned: completing a
follow-up from the question before it (qa.conversation) and grouping evaluation
figures by the kind of question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import jieba.posseg

from qa.text import fold
from qa.tokenization import _init as _init_jieba
from qa.tokenization import segment, word_frequency

# Answer types, most specific patterns first; the first match in the question wins.
_PATTERNS: list[tuple[str, str]] = [
    ("time", r"什么时候|什么时间|何时|哪一年|哪年|哪一天|哪天|几月|几号|哪个月|哪一月|哪个朝代|哪个时期|多少年[前后]|几点"),
    ("reason", r"为什么|为何|什么原因|何故"),
    ("person", r"谁|哪位|哪一位|什么人|哪个人|何人|哪些人"),
    ("place", r"哪里|哪儿|何处|何地|什么地方|哪个地方|哪个国家|哪个城市|哪个省|哪座城市|哪个地区"),
    ("list", r"哪些|哪几|哪[两二三四五六七八九十]+[个项种条家类大点方]"),
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
SUBJECT_TAGS = ("ns", "nt", "nr", "nrt", "nrfg", "t")
QUOTED = re.compile(r"“[^”]{1,20}”|《[^》]{1,30}》|「[^」]{1,20}」|\"[^\"]{1,20}\"")
_TRAILING = "？?。.!！~～ \t\n吗呢呀啊"
_INDEFINITE = ("随便", "无论", "不论", "不管", "任意", "任何")
# Words that make a statement a goal or forecast rather than a fact (力争签约引进项目300个).
_ROLES = ("书记", "市长", "省长", "县长", "区长", "局长", "部长", "主任", "主席", "总理", "记者", "作者", "代表",
          "董事长", "总经理", "经理", "校长", "院长", "教授", "会长", "总裁", "委员", "人", "者")


def _standalone(unit: str, right: str) -> bool:
    """Whether the unit is a word of its own at the start of right (个|项目), not the start of a
    common word (成本); jieba's dictionary frequency tells common words from segmentation noise (起涉)."""
    first = segment(right)[0] if right else ""
    if not first.startswith(unit) or len(first) == len(unit) or first in _UNIT_WORDS:
        return True
    return word_frequency(first) < COMMON_WORD


COMMON_WORD = 1000
_UNIT_WORDS = frozenset({"个人", "个月", "平方米", "平方公里", "个百分点", "亿元", "万元", "亿美元", "万美元", "小时", "分钟"})


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
    # 随便哪个服务中心 / 无论什么企业 use the question word as "any": the question is asked elsewhere.
    # A bare 何 is also the surname of 何芳: another question word, when there is one, is the question.
    matches = [m for m in _WH.finditer(text) if not text[: m.start()].endswith(_INDEFINITE)]
    match = next((m for m in matches if m.group(0) != "何"), matches[0] if matches else None)
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
        if unit and not _standalone(unit, right):
            unit = ""  # 多少成本 asks for an amount, not for 成 (tenths)
        if unit == "个" and right.startswith("个人"):
            unit = "人"  # 几个人 counts people: 2人
    if kind == "entity" and re.match(r"^(时候|时间|年|年份|日期)", right):
        kind = "time"
    if kind == "entity" and re.match(r"^(名字|姓名)", right) and left.rstrip("叫是的名字为").endswith(_ROLES):
        kind = "person"  # 徐州市委书记叫什么名字 asks for a person; 这个平台叫什么名字 does not
    return Question(text=text, answer_type=kind, wh=match.group(0), left=left, right=right, unit=unit)


def words(text: str) -> list[tuple[str, str]]:
    """jieba part-of-speech words of a text."""
    _init_jieba()
    return [(pair.word, pair.flag) for pair in jieba.posseg.lcut(text)]


@lru_cache(maxsize=4096)
def _subject(question: str) -> tuple[str, ...]:
    return tuple(_subject_parts(question))


def subject_of(question: str) -> list[str]:
    """The parts of a question that say what it is about (cached: questions repeat)."""
    return list(_subject(question))


def _subject_parts(question: str) -> list[str]:
    """The parts of a question that say what it is about: places, organisations, people, dates,
    quoted names, and time phrases such as 截至4月底."""
    quoted = QUOTED.findall(question)
    rest = QUOTED.sub(" ", question)
    parts = []
    for word, flag in words(rest):
        if flag.startswith(SUBJECT_TAGS) and len(word) > 1:
            parts.append(word)
    times = [m.group(0) for m in re.finditer(r"(截至|截止)?\d{1,4}[年月](底|初|末|份)?", rest) if m.group(0)]
    ordered = sorted(set(parts + quoted + times), key=question.find)
    # Drop pieces contained in a longer kept piece (4月 inside 截至4月底).
    return [p for p in ordered if not any(p != q and p in q for q in ordered)]
