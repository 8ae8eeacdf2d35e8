import pytest

from qa.conversation import ConversationStore, resolve, resolve_history, subject_of


@pytest.mark.parametrize(
    "previous, message, expected",
    [
        ("株洲截至4月底签约了多少个项目？", "合同引资总额呢？", "株洲截至4月底合同引资总额多少"),
        ("徐州市委书记是谁？", "那株洲市长呢？", "株洲市长是谁"),
        ("徐州工信局“三走进三服务”活动共梳理出多少个问题？", "已经解决了多少？", "徐州“三走进三服务”已经解决了多少个问题"),
        ("株洲招商引资重点围绕哪些产业链？", "那徐州呢？", "徐州招商引资重点围绕哪些产业链？"),
    ],
)
def test_follow_ups_get_back_what_they_leave_out(previous, message, expected):
    assert resolve(message, previous) == expected


def test_complete_questions_and_first_turns_are_left_alone():
    assert resolve("株洲市市长是谁？", "徐州市委书记是谁？") == "株洲市市长是谁？"
    assert resolve("合同引资总额呢？", None) == "合同引资总额呢？"
    # A question on a topic of its own does not inherit the previous subject...
    assert resolve("今天天气怎么样", "株洲截至4月底合同引资总额多少") == "今天天气怎么样"
    # ...but one that picks up a word of the previous question does.
    assert resolve("额度一共多少？", "徐州经开区为多少家企业争取到授信额度？").startswith("徐州")


def test_a_history_is_resolved_turn_by_turn_as_a_chat_is():
    turns = ["徐州市委书记是谁？", "那株洲市长呢？", "株洲截至4月底签约了多少个项目？", "合同引资总额呢？"]
    question = None
    for message in turns:
        question = resolve(message, question)
    assert resolve_history(turns) == question == "株洲截至4月底合同引资总额多少"
    assert resolve_history(["合同引资总额呢？"]) == "合同引资总额呢？"


def test_subject_keeps_places_dates_and_quoted_names():
    assert subject_of("徐州工信局“三走进三服务”活动共梳理出多少个问题？") == ["徐州", "“三走进三服务”"]
    assert subject_of("株洲截至4月底签约了多少个项目？") == ["株洲", "截至4月底"]


def test_store_is_bounded_in_number_and_age():
    now = [0.0]
    store = ConversationStore(max_conversations=2, ttl_seconds=10, clock=lambda: now[0])
    a, b = store.get(None), store.get(None)
    a.turns.append("x")
    store.get(None)  # a third one pushes out the least recently used (a)
    assert len(store) == 2
    assert not store.get(a.id).turns
    now[0] = 100.0
    assert len(store) == 0  # all expired
    assert store.get(b.id).id == b.id  # an expired id starts afresh under the same id


def test_store_rejects_odd_ids():
    with pytest.raises(ValueError):
        ConversationStore().get("bad id!")
