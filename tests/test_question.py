import pytest

from qa.answer.question import analyze


@pytest.mark.parametrize(
    "question, answer_type, left, right, unit",
    [
        ("徐州缓缴社保多少", "quantity", "徐州缓缴社保", "", ""),
        ("株洲签约了多少个项目？", "quantity", "株洲签约了", "个项目", "个"),
        ("徐州有几所大学？", "quantity", "徐州有", "所大学", "所"),
        ("株洲市市长是谁？", "person", "株洲市市长是", "", ""),
        ("徐州下半年招商引资围绕哪些主导产业？", "list", "徐州下半年招商引资围绕", "主导产业", ""),
        ("徐州与哪个省交界？", "place", "徐州与", "交界", ""),
        ("徐州市营商环境“提升年”是哪一年？", "time", "徐州市营商环境“提升年”是", "", ""),
        ("株洲市招商引资是为了建好什么？", "entity", "株洲市招商引资是为了建好", "", ""),
        ("生命数耗完即算为什么？", "entity", "生命数耗完即算为", "", ""),
        ("伊丽莎白港机场为什么又叫十分钟机场？", "reason", "伊丽莎白港机场", "又叫十分钟机场", ""),
    ],
)
def test_question_word_type_and_sides(question, answer_type, left, right, unit):
    q = analyze(question)
    assert (q.answer_type, q.left, q.right, q.unit) == (answer_type, left, right, unit)


def test_full_width_question_marks_and_digits_are_folded():
    q = analyze("截至４月，株洲减免了多少成本？")
    assert q.text == "截至4月,株洲减免了多少成本"
    assert q.answer_type == "quantity"


def test_a_statement_without_question_word_is_other():
    assert analyze("今天天气").answer_type == "other"


def test_a_question_word_used_as_any_is_not_the_question():
    q = analyze("去随便哪个大厅都能办的审批有几项？")
    assert (q.answer_type, q.unit) == ("quantity", "项")
    assert q.left.endswith("都能办的审批有")
    assert analyze("无论什么企业都能申请哪些补贴").answer_type == "list"


def test_the_surname_he_is_not_the_question_word():
    assert analyze("何芳在报社工作了多少年？").answer_type == "quantity"
    assert analyze("何皇后为什么会被降封？").answer_type == "reason"
    assert analyze("美国对于葡萄酒有何新规定？").wh == "何"
