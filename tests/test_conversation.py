import threading

import pytest

from qa.conversation import resolve, resolve_history, subject_of
from qa.conversation_store import MemoryConversations, SqliteConversations, Turn, open_conversations


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


STORES = ["memory", "sqlite"]


def _store(kind: str, tmp_path, **bounds):
    if kind == "memory":
        return MemoryConversations(**bounds)
    return SqliteConversations(tmp_path / "conversations.sqlite3", **bounds)


def _turn(question: str) -> Turn:
    return Turn(message=question, question=question, answer="")


@pytest.mark.parametrize("kind", STORES)
def test_store_is_bounded_in_number_and_age(kind, tmp_path):
    now = [0.0]
    store = _store(kind, tmp_path, max_conversations=2, ttl_seconds=10, clock=lambda: now[0])
    a, b = store.get(None), store.get(None)
    store.add_turn(a.id, _turn("x"))
    store.get(b.id)
    store.get(None)  # a third one pushes out the least recently used (a)
    assert len(store) == 2
    assert not store.get(a.id).turns
    now[0] = 100.0
    assert len(store) == 0  # all expired
    assert store.get(b.id).id == b.id  # an expired id starts afresh under the same id


@pytest.mark.parametrize("kind", STORES)
def test_store_keeps_the_last_turns_in_order(kind, tmp_path):
    store = _store(kind, tmp_path, max_turns=3)
    conversation = store.get(None)
    assert conversation.last_question is None and len(conversation.id) == 32
    for number in range(5):
        store.add_turn(conversation.id, _turn(f"q{number}"))
    again = store.get(conversation.id)
    assert [t.question for t in again.turns] == ["q2", "q3", "q4"] and again.last_question == "q4"
    again.turns.clear()  # a copy: the store is changed through add_turn only
    assert store.get(conversation.id).last_question == "q4"


@pytest.mark.parametrize("kind", STORES)
def test_store_rejects_odd_ids(kind, tmp_path):
    store = _store(kind, tmp_path)
    with pytest.raises(ValueError):
        store.get("bad id!")
    with pytest.raises(ValueError):
        store.add_turn("../x", _turn("q"))


def test_sqlite_conversations_are_shared_by_stores_of_one_file_and_outlive_them(tmp_path):
    """Two stores over one file stand for two worker processes (and a restarted server)."""
    path = tmp_path / "state" / "conversations.sqlite3"
    first, second = SqliteConversations(path), SqliteConversations(path)
    conversation = first.get(None)
    first.add_turn(conversation.id, Turn("株洲截至4月底签约了多少个项目？", "株洲截至4月底签约了多少个项目？", "73个"))
    assert second.get(conversation.id).last_question == "株洲截至4月底签约了多少个项目？"
    second.add_turn(conversation.id, _turn("株洲截至4月底合同引资总额多少"))
    assert first.get(conversation.id).last_question == "株洲截至4月底合同引资总额多少"
    first.close()
    second.close()
    assert SqliteConversations(path).get(conversation.id).last_question == "株洲截至4月底合同引资总额多少"


def test_turns_recorded_at_once_by_several_stores_all_land(tmp_path):
    path = tmp_path / "conversations.sqlite3"
    stores = [SqliteConversations(path) for _ in range(4)]
    conversation = stores[0].get(None)

    def record(store, number: int) -> None:
        for turn in range(10):
            store.add_turn(conversation.id, _turn(f"{number}-{turn}"))

    threads = [threading.Thread(target=record, args=(store, n)) for n, store in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stores[0].get(conversation.id).turns) == 20  # 40 recorded, the last max_turns kept
    assert len(stores[0]) == 1


def test_the_store_is_chosen_by_name(settings, tmp_path):
    assert isinstance(open_conversations(settings, tmp_path), SqliteConversations)
    assert (tmp_path / "conversations.sqlite3").exists()
    assert isinstance(open_conversations(settings, tmp_path, "memory"), MemoryConversations)
    with pytest.raises(ValueError):
        open_conversations(settings, tmp_path, "redis")
