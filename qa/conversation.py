"""Multi-turn chat: complete follow-up questions from the conversation, and keep conversations.

People follow up the way they talk: after "株洲截至4月底签约了多少个项目？" they ask
"合同引资总额呢？"; after "徐州市委书记是谁？", "那株洲市长呢？". A follow-up leaves out its
subject (the places, organisations, people, dates and quoted names of the previous
question) or its question (多少, 是谁). ``resolve`` puts back what is missing:

* only an entity ("那徐州呢？"): the previous question with that entity swapped in;
* no question word ("合同引资总额呢？"): the message plus the previous question word;
* no subject ("已经解决了多少？"): the previous subject in front (and its unit: 多少个问题).

Everything stays extractive: the resolved question is only used for retrieval.
Conversations are kept between turns by qa.conversation_store.
"""

from __future__ import annotations

import re

from qa.answer.question import QUOTED as _QUOTED
from qa.answer.question import analyze, subject_of, words

_FOLLOW_UP_START = re.compile(r"^(那么|那|还有|另外|然后|再问一下|其中的?)")
_FOLLOW_UP_END = re.compile(r"(呢|呀|吗|啊)?[？?。.!！\s]*$")


def _strip(message: str) -> str:
    core = _FOLLOW_UP_END.sub("", message.strip())
    return _FOLLOW_UP_START.sub("", core).strip()


def resolve(message: str, previous: str | None) -> str:
    """The standalone question a message stands for, given the previous resolved question."""
    message = message.strip()
    if not previous:
        return message
    core = _strip(message)
    question, before = analyze(core), analyze(previous)
    has_wh = question.answer_type != "other"
    subject, previous_subject = subject_of(core), subject_of(previous)
    explicit_follow_up = bool(_FOLLOW_UP_START.match(message.strip())) or message.rstrip("？?。 ").endswith("呢")
    if not explicit_follow_up and (has_wh and subject or not previous_subject or _new_topic(core, previous)):
        return message  # a complete question of its own
    words_only_subject = subject and not _QUOTED.sub("", re.sub("|".join(map(re.escape, subject)), "", core)).strip()
    if words_only_subject:
        # "那徐州呢？": ask the previous question about the new entity.
        swapped = previous
        for old, new in zip(previous_subject, subject):
            swapped = swapped.replace(old, new, 1)
        return swapped if swapped != previous else core + before.left + before.wh + before.right
    carried = "" if subject else "".join(p for p in previous_subject if p not in core)
    # A message that names its own measure (合同引资总额, 额度) keeps it; one that does not
    # (已经解决了多少, 其中亿元以上的) measures what the previous question measured (个问题, 个项目).
    names_measure = any(flag.startswith(("n", "vn")) and word not in subject for word, flag in words(core))
    same_measure = before.answer_type == "quantity" and not names_measure
    if has_wh:
        tail = before.right if same_measure and question.answer_type == "quantity" and not question.right else ""
        return carried + core + tail
    joiner = "是" if before.answer_type == "person" and not core.endswith("是") else ""
    return carried + core + joiner + before.wh + (before.right if same_measure else "")


def resolve_history(messages: list[str]) -> str:
    """The standalone question the last of a conversation's messages stands for: each message is
    resolved against the one before it, as ``/api/chat`` does turn by turn."""
    question: str | None = None
    for message in messages:
        question = resolve(message, question)
    return question or ""


def _new_topic(core: str, previous: str) -> bool:
    """A question that opens with a topic of its own, not shared with the previous question
    ("今天天气怎么样" after "合同引资总额多少"). Chinese drops the subject, so one that opens with
    a verb or adverb ("已经解决了多少", "收集了多少条意见建议") continues the previous question."""
    word, flag = next(iter(words(core)), ("", ""))
    return flag.startswith(("n", "i", "l")) and len(word) > 1 and word[:2] not in previous
