"""What an answer of each type looks like: quantities, dates, names, places, enumerations, titles.

The question word says what kind of answer is wanted (多少 → a quantity with its
unit, 谁 → a person, 哪些 → a list). These masks say which candidate spans have
that shape and are whole (a quantity is not cut off its qualifier 超 or its unit,
a list does not run into 等). The selector prefers such spans, so answers come out
short and exact: 超31亿元, not 费用超31亿元.
"""

from __future__ import annotations

import numpy as np

from qa.alignment import SEPARATOR
from qa.text import CJK_CLASS, DIGIT_CLASS, PUNCT_CLASS, CharClass

DIGITS = frozenset("0123456789零〇一二两三四五六七八九十百千万亿半")
QUALIFIERS = frozenset("超近约逾共达仅余多几数")
UNIT_CHARS = frozenset(
    "亿万千百元美镑欧日个名位人家所座项件条种起张台辆架艘部本篇集场层度批户处间块份株棵只头匹首句字门班列期轮季级"
    "倍成%‰年月天周岁次米吨克公里斤平方小时分秒以上下左右余多"
)
QUANTITY_CHARS = DIGITS | QUALIFIERS | UNIT_CHARS | frozenset("%")
BETWEEN_DIGITS = frozenset(".,~-/")  # 1.01, 31,875, 5-10: part of a number only between digits
DATE_WORDS = frozenset("年月日号世纪代旬时春夏秋冬")
TIME_CHARS = DIGITS | frozenset("年月日号世纪代初末底中旬时分秒春夏秋冬前后期间朝晚早上下半至到-~/")
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟"
    "谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤阳欧司诸葛上官"
)
TITLES = (
    "书记", "市长", "省长", "县长", "区长", "局长", "部长", "厅长", "处长", "主任", "主席", "总理", "委员", "代表",
    "记者", "编辑", "作者", "董事长", "总经理", "经理", "总裁", "校长", "院长", "教授", "会长", "社长", "队长",
)
NAME_FOLLOWERS = "：:摄说表示指出认为介绍称等在和与的"
PLACE_SUFFIXES = ("省", "市", "县", "区", "州", "国", "岛", "镇", "村", "乡", "地区", "半岛", "湖", "山", "河", "江", "海")
LIST_ENDS = "等，,。；;）)”」及和与"
PERSON_TAGS = ("nr", "nrt", "nrfg")
STRICT_TYPES = ("quantity", "time", "person", "place", "list")


_DIGIT = CharClass(DIGITS)
_NUMBER_START = CharClass(DIGITS | QUALIFIERS)
_NUMBER_PART = CharClass(DIGITS | QUALIFIERS | BETWEEN_DIGITS)
_BETWEEN = CharClass(BETWEEN_DIGITS)
_MEASURE = CharClass(UNIT_CHARS) | DIGIT_CLASS
_QUANTITY = CharClass(QUANTITY_CHARS)
_DATE_WORD = CharClass(DATE_WORDS)
_TIME = CharClass(TIME_CHARS)
_SURNAME = CharClass(SURNAMES)
_NAME_FOLLOWER = CharClass(NAME_FOLLOWERS + SEPARATOR)  # or the end of the sentence (qa.spans joins them)
_OPENING, _CLOSING = CharClass("“《「『（("), CharClass("”》」』）)")
_DUN, _LEFT_QUOTE, _RIGHT_QUOTE = CharClass("、"), CharClass("“"), CharClass("”")
_LIST_BREAK = CharClass("，,。；;：:！？!?等")
_LIST_END = CharClass(LIST_ENDS + SEPARATOR)  # or the end of the sentence


def _prefix(flags) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.asarray(flags, dtype=np.int32))])


def _ends_with(text: str, words) -> np.ndarray:
    """flags[p] is True when text[:p] ends with one of words (positions 0..len(text))."""
    flags = np.zeros(len(text) + 1, bool)
    for word in (words,) if isinstance(words, str) else words:
        position = text.find(word)
        while position >= 0:
            flags[position + len(word)] = True
            position = text.find(word, position + 1)
    return flags


def _member(text: str, inside: CharClass) -> np.ndarray:
    """Which characters belong to a run of `inside`; separators count only between two digits."""
    member = inside.flags(text)
    if len(text) > 2:
        digit = DIGIT_CLASS.flags(text)
        member[1:-1] |= _BETWEEN.flags(text)[1:-1] & digit[:-2] & digit[2:]
    return member


def _whole(text: str, a: np.ndarray, b: np.ndarray, inside: CharClass) -> np.ndarray:
    """Spans made only of `inside` characters that cannot be extended on either side."""
    member = _member(text, inside)
    flags = _prefix(member)
    full = (flags[b] - flags[a]) == (b - a)
    open_left = np.concatenate([[True], ~member])[a]  # position x: text[x-1] not inside
    open_right = np.concatenate([~member, [True]])[b]  # position y: text[y] not inside
    return full & open_left & open_right


def quantity_spans(text: str, a: np.ndarray, b: np.ndarray, tj, bounds: list[int]) -> np.ndarray:
    """Whole quantities: optional qualifier, a number, its unit (超31亿元, 4300多名, 近20万, 4.6倍).

    Whole means no qualifier or digit just before (超|31亿元 is cut) and no digit or further unit
    word just after (31亿|元 is cut); a following noun that starts like a unit (个|项目) is fine,
    which is why the right edge is judged by jieba's next word rather than by its first character.
    """
    member = _prefix(_member(text, _QUANTITY))
    has_digit = _prefix(_DIGIT.flags(text))
    # A unit or an Arabic numeral makes it a quantity; a bare 二 (as in 二是……) is an ordinal.
    measured = _prefix(_MEASURE.flags(text))
    starts_ok = np.append(_NUMBER_START.flags(text), False)[a]
    left_open = np.concatenate([[True], ~_NUMBER_PART.flags(text)])[a]
    words = [text[x:y] for x, y in zip(bounds, bounds[1:])]
    # Per token: may a quantity end just before it? Not before a digit or a pure unit word (元, 亿元).
    open_before = np.array(
        [not (w[0].isdigit() or all(c in UNIT_CHARS or c in QUALIFIERS for c in w)) for w in words] + [True], bool
    )
    right_open = open_before[tj]
    full = (member[b] - member[a]) == (b - a)
    shaped = ((has_digit[b] - has_digit[a]) > 0) & ((measured[b] - measured[a]) > 0) & starts_ok & ((b - a) <= 16)
    return full & shaped & left_open & right_open


def time_spans(text: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whole dates and times made of numerals and date words (2019年, 3月初, 1994年2月); a bare
    numeral is not a date."""
    has_digit = _prefix(_DIGIT.flags(text))
    dated = _prefix(_DATE_WORD.flags(text))
    shaped = ((has_digit[b] - has_digit[a]) > 0) & ((dated[b] - dated[a]) > 0) & ((b - a) <= 20)
    return _whole(text, a, b, _TIME) & shaped


def name_spans(text: str, a: np.ndarray, b: np.ndarray, ti, tj, tags: list[str]) -> np.ndarray:
    """Person names: tagged as names by jieba, or 2-4 Chinese characters starting with a surname
    right after a title (市委书记周铁根) or right before a colon, 摄, 说 … (阳卫国：)."""
    person = _prefix([tag in PERSON_TAGS for tag in tags])
    tagged = ((person[tj] - person[ti]) == (tj - ti)) & ((b - a) >= 2) & ((b - a) <= 12)
    cjk = _prefix(CJK_CLASS.flags(text))
    after_title = _ends_with(text, TITLES)
    before_follower = np.append(_NAME_FOLLOWER.flags(text), True)[b]
    surname = np.append(_SURNAME.flags(text), False)[a]
    length = b - a
    shaped = (length >= 2) & (length <= 4) & ((cjk[b] - cjk[a]) == length) & surname
    return tagged | (shaped & (after_title[a] | before_follower))


def place_spans(text: str, a: np.ndarray, b: np.ndarray, ti, tj, tags: list[str]) -> np.ndarray:
    """Places: ending in a place word (jieba's ns, or 省/市/地区 …), short, without punctuation."""
    last_is_place = np.array([tag == "ns" for tag in tags], bool)[tj - 1]
    punct = _prefix(PUNCT_CLASS.flags(text))
    clean = (punct[b] - punct[a]) == 0
    return (last_is_place | _ends_with(text, PLACE_SUFFIXES)[b]) & clean & ((b - a) <= 15)


def balanced(text: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spans that do not cut a quotation or a bracket in half; a span just inside a pair of quotes
    (暖企10条”、农业“8条 inside “…”) counts as balanced when taken with them."""
    depth = _prefix(_OPENING.flags(text).astype(np.int32) - _CLOSING.flags(text))
    ok = np.zeros(len(a), bool)
    for index, (x, y) in enumerate(zip(a, b)):
        if x > 0 and y < len(text) and text[x - 1] in "“《「『" and text[y] in "”》」』":
            x, y = x - 1, y + 1
        inner = depth[x : y + 1] - depth[x]
        ok[index] = inner[-1] == 0 and inner.min() >= 0
    return ok


def list_spans(text: str, a: np.ndarray, b: np.ndarray, ti, tags: list[str]) -> np.ndarray:
    """Enumerations: items joined by 、 or quoted one after another (“吃拿卡要”“乱摊派”), without clause
    punctuation or 等 inside, starting after a verb, a preposition or punctuation and stopping before
    等 or punctuation (围绕[装备与智能制造、新能源、……]等)."""
    dun = _DUN.flags(text)
    marks = dun.copy()
    marks[:-1] |= _RIGHT_QUOTE.flags(text)[:-1] & _LEFT_QUOTE.flags(text)[1:]  # ”“ between quoted items
    marks = _prefix(marks)
    breaks = _prefix(_LIST_BREAK.flags(text))
    ends_ok = np.append(_LIST_END.flags(text), True)[b]
    after_punct = np.concatenate([[True], PUNCT_CLASS.flags(text) & ~dun])[a]
    verb_before = np.array([False] + [tag[:1] in ("v", "p") for tag in tags], bool)  # token i follows a verb
    after_verb = verb_before[ti]
    starts_with_preposition = np.array([tag == "p" for tag in tags], bool)[ti]
    shaped = ((marks[b] - marks[a]) > 0) & ((breaks[b] - breaks[a]) == 0) & ends_ok & (after_punct | after_verb)
    shaped &= ~starts_with_preposition
    if shaped.any():
        shaped[shaped] = balanced(text, a[shaped], b[shaped])
    return shaped


def typed_spans(answer_type: str, text: str, a, b, ti, tj, bounds: list[int], tags: list[str]) -> dict[str, np.ndarray]:
    """Shape masks of every kind, and under "typed" the one the question asks for (all True when
    the type has no particular shape)."""
    masks = {
        "quantity": quantity_spans(text, a, b, tj, bounds),
        "time": time_spans(text, a, b),
        "person": name_spans(text, a, b, ti, tj, tags),
        "place": place_spans(text, a, b, ti, tj, tags),
        "list": list_spans(text, a, b, ti, tags),
    }
    masks["typed"] = masks.get(answer_type, np.ones(len(a), bool))
    return masks
