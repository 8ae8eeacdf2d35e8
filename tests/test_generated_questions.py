"""Generated training questions (eval/generated_questions.py) on small hand-made sentences."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))

import generated_questions as generation  # noqa: E402

REPORT = "副市长王建国表示，今年全市新增就业岗位3.2万个，同比增长12%。"


def kinds(sentence: str) -> dict[str, str]:
    return {sentence[start:end]: kind for start, end, kind in generation.spans(sentence)}


def test_quantities_dates_and_cued_names_are_found_with_their_kind():
    assert kinds(REPORT) == {"王建国": "person", "3.2万个": "quantity", "12%": "quantity"}
    assert kinds("全省累计完成投资超过500亿元，建设周期3年来首次缩短。")["超过500亿元"] == "quantity"
    assert kinds("2023年7月，代表团抵达杭州市。") == {"2023年7月": "date", "杭州市": "place"}


def test_what_is_not_asked_for():
    # an ordinal, a lone 一 and items of an enumeration make ambiguous or odd questions
    assert kinds("他第3次来到这里，带来一批设备。") == {}
    assert "上海" not in kinds("代表团考察了北京、上海、广州三地企业。")
    # a name without a cue that it names someone: jieba's tagger also calls common words names
    assert "王建国" not in kinds("王建国的故事感人。")


def test_the_question_puts_the_question_word_where_the_answer_was():
    start = REPORT.index("3.2万个")
    for seed in range(20):
        question = generation.question_for(REPORT, start, start + len("3.2万个"), "quantity", random.Random(seed))
        assert question is not None and "3.2万" not in question and "多少" in question
        assert "新增就业岗位多少" in question.replace("的", "")


def test_too_little_left_of_the_clause_makes_no_question():
    start = REPORT.index("12%")
    assert generation.question_for(REPORT, start, start + 3, "quantity", random.Random(0)) is None


def test_generated_data_is_squad_format_with_exact_offsets_and_skips_datelines():
    articles = [
        {"id": "a1", "paragraphs": ["本报北京8月24日电 全省累计完成投资超过500亿元。",
                                    "今年全市新增就业岗位3.2万个，其中高校毕业生1.1万人。"]},
        {"id": "a2", "paragraphs": ["短。"]},
    ]
    data = generation.generate(articles, 3, random.Random(3))
    assert [d["title"] for d in data["data"]] == ["a1"]
    for paragraph in data["data"][0]["paragraphs"]:
        assert "日电" not in paragraph["context"]
        (qa,) = paragraph["qas"]
        answer = qa["answers"][0]
        assert paragraph["context"][answer["answer_start"]:][: len(answer["text"])] == answer["text"]
        assert answer["text"] not in qa["question"]


def test_a_prefix_annotators_leave_out_stays_out_of_the_answer():
    assert kinds("今年新开大型商业项目达23个。") == {"23个": "quantity"}
    assert kinds("全年销售额超35亿元。") == {"超35亿元": "quantity"}


def test_prefix_shares_count_prefixes_kept_inside_and_left_before_the_answer():
    context = "项目达23个，销售额超35亿元，游客约300万人。"
    qas = [{"question": q, "answers": [{"text": t, "answer_start": context.index(t)}]}
           for q, t in (("项目多少", "23个"), ("销售额多少", "超35亿元"), ("游客多少", "300万人"))]
    shares = generation.prefix_shares({"data": [{"title": "t", "paragraphs": [{"context": context, "qas": qas}]}]})
    assert shares["达"] == (0, 1) and shares["超"] == (1, 0) and shares["约"] == (0, 1)
    assert shares["超过"] == (0, 0)


def test_a_speech_verb_merged_into_a_name_stays_out_of_the_answer():
    # jieba tags 茅曙说 as one name; the answer is the name, the verb cues it
    assert kinds("志伦电子总经理茅曙说，公司今年增长了20%。") == {"茅曙": "person", "20%": "quantity"}


def _in_order(short: str, text: str) -> bool:
    rest = iter(text)
    return all(char in rest for char in short)


def test_a_keyword_question_keeps_a_few_words_nearest_before_the_answer_in_its_clause():
    sentence = "全市减免企业税款1.01亿元，缓缴和减免社保、公积金、水电气等费用超31亿元，新增融资贷款79.5亿元。"
    start, end = sentence.index("超31亿元"), sentence.index("超31亿元") + len("超31亿元")
    clause = (sentence.index("缓缴"), sentence.index("新增"))
    made = {generation._keyword_question(sentence, start, end, clause, "多少", random.Random(seed)) for seed in range(30)}
    made.discard(None)
    assert made, "the clause has nouns and verbs before the answer"
    for question in made:
        words = question.rstrip("？").removesuffix("多少")
        assert len(words) >= 4 and _in_order(words, sentence[clause[0]:start])  # its own clause, before the answer
    # With a share of 0.5, about half the questions about this quantity are keyword questions.
    asked = [generation.question_for(sentence, start, end, "quantity", random.Random(seed), 0.5) for seed in range(40)]
    short = [q for q in asked if q and len(q.rstrip("？").removesuffix("多少")) <= 10]  # the clause itself is 18
    assert 8 <= len(short) <= 32
    # Places are not asked with keywords; a clause without a noun gives no keyword question.
    assert "place" not in generation.KEYWORD_KINDS
    assert generation._keyword_question("他说，很快地完成了3个。", 9, 11, (3, 12), "多少", random.Random(0)) is None
