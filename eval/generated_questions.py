"""Training questions generated from news text (cloze questions with paraphrase noise).

    python eval/generated_questions.py [--shared ../shared] [--count 20] [--seed 5]   # print a sample

A sentence of a People's Daily article holds a span of an asked-for kind (a quantity,
a date, a person, a place, an organisation, a named thing); the span is cut out and
its question word put in its place, the clause around it becomes the question, and
small edits (dropping the clause before, particles and quotation marks, the question
mark) make it read less like the sentence. The result is SQuAD-format data
(``{"data": [{"title", "paragraphs": [{"context", "qas"}]}]}``) that the reader's
training reads like any other set (eval/train_reader.py ``--generated``).

Why: the real training questions (news reading comprehension and DRCD) are about
international news and Wikipedia; these add questions over the product's own kind of
text, domestic government and economic news. Every article of the People's Daily test
set, and every article reporting the same stories, is left out (eval/pd.corpus.json), and
so is every article of the People's Daily dev set (eval/pd_dev.corpus.json).
The corpus is for research use: generated questions are built in memory (and cached
under .qa-cache/), never written into the repository.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from qa.answer.prefixes import prefix_counts
from qa.tokenization import pos_tags

# Part of the cache key of generated training examples. 2: the People's Daily dev set's articles
# (eval/pd_dev.corpus.json) are left out too, which changes the pool they are drawn from, and
# only the quantity prefixes annotators keep are kept in answers (QUANTITY_PREFIXES), and person
# names lose a speech verb jieba merged into them (_without_merged_cue).
GENERATOR_VERSION = 2

# Units a counted quantity ends with (longest first in the pattern); a year, month or day
# is a date, not a quantity.
QUANTITY_UNITS = (
    "个百分点", "平方公里", "平方米", "立方米", "千瓦时", "公里", "千米", "公顷", "万元", "亿元", "美元", "人次",
    "多家", "%", "％", "元", "人", "名", "家", "个", "项", "吨", "米", "亩", "户", "件", "台", "辆", "次", "倍",
    "所", "座", "条", "位", "批", "套", "部", "场", "种", "岁", "份", "篇", "架", "艘", "株", "头", "只", "千克",
    "公斤", "斤", "小时", "分钟", "天", "周", "年来",
)
# Words that may stand before a quantity in news text.
QUANTITY_PREFIX_CANDIDATES = ("超过", "超", "近", "约", "逾", "达", "共", "累计", "仅", "至少", "将近", "不到")
# Those that belong to the answer ("超31亿元"): the candidates that the annotators of the real
# training sets (news, DRCD, CMRC) keep inside at least half of the answers they stand before
# (`--prefix-shares` prints the shares; measured: 超过 0.55, 超 1.00, 近 0.76, 至少 0.82, 不到 0.67;
# left out: 约 0.39, 逾 0.40, 达 0.10, 共 0.00, 仅 0.33; 累计 and 将近 not seen). A prefix they leave
# out, kept in a generated answer, taught the reader to answer 达23个 for 23个.
QUANTITY_PREFIXES = ("超过", "超", "近", "至少", "不到")
# Answer sets whose annotators the prefix shares are measured on (paths under the shared folder).
ANNOTATED_SETS = ("qa-data/news_mrc_train.json", "qa-data/drcd_simplified.json", "cmrc2018/cmrc2018_trial.json")
# Units measuring a duration: asked with 多长时间 / 多久 rather than 多少.
DURATION_UNITS = ("小时", "分钟", "天", "周", "年来")
# Single-character units kept after the question word in half the questions (多少家).
COUNTED_UNITS = ("人", "名", "家", "个", "项", "户", "件", "台", "辆", "次", "所", "座", "条", "位", "批", "种")
# Question words by the kind of span they ask for.
QUESTION_WORDS = {
    "quantity": ("多少",),
    "duration": ("多长时间", "多久"),
    "date": ("什么时候", "何时"),
    "person": ("谁",),
    "place": ("哪里", "什么地方"),
}
# Part-of-speech tags of jieba naming each entity kind; consecutive words of one kind form one span.
# Organisations (nt) and other proper nouns (nz) are left out: on a sample of 40 generated questions
# most of their spans were common nouns (社会科学, 申报), and a wrong span teaches a wrong answer.
ENTITY_TAGS = {"nr": "person", "nrfg": "person", "nrt": "person", "ns": "place"}
# A person span is kept only beside a cue that it names someone: jieba's tagger also calls common
# words names (施策, 公正), while a name before 表示 or after 秘书长 is nearly always one.
PERSON_CUES_AFTER = ("说", "表示", "介绍", "指出", "认为", "告诉", "称", "强调", "坦言")
PERSON_CUES_BEFORE = ("长", "员", "书记", "主任", "总统", "总理", "主席", "记者", "专家", "教授", "经理",
                      "负责人", "院士", "大使")
# A place span is kept only when it ends like a place name or follows a locative word: jieba's
# dictionary also tags common words as places (深度, 上台).
PLACE_SUFFIXES = ("省", "市", "县", "区", "镇", "乡", "村", "州", "国", "岛", "湾")
LOCATIVE_WORDS = ("在", "到", "赴", "从", "于", "至", "来自", "位于", "前往")
# How often each kind is drawn when a sentence offers several (quantities and dates are most of
# what news questions ask besides free phrases, which cloze questions cannot make).
KIND_WEIGHTS = {"quantity": 3, "duration": 1, "date": 2, "person": 2, "place": 1}
# Particles dropped at random from a question (paraphrase noise).
DROPPABLE_PARTICLES = ("的", "了", "着", "也", "还", "都")
# Parts of speech (jieba's tags, by first letter) of the words a keyword question keeps: nouns
# (names, places and organisations among them), verbs, and English words.
KEYWORD_TAGS = ("n", "v", "e")
# Kinds asked with keyword questions. Not places: the words before a place name are mostly a verb of
# location or a modifier (坐落, 打造), not the subject whose place is asked (40 printed samples read).
KEYWORD_KINDS = ("quantity", "duration", "date", "person")

# A number: digits, or Chinese numerals other than a lone 一 (一批, 一个 are rarely asked for).
_NUMBER = r"(?:\d+(?:\.\d+)?|数?[一二三四五六七八九十两百千]{2,}|数?[二三四五六七八九十两])(?:多|余)?(?:[万亿千百]+)?"
_QUANTITY = re.compile(
    "(?:" + "|".join(QUANTITY_PREFIXES) + ")?" + _NUMBER
    + "(?:" + "|".join(re.escape(u) for u in sorted(QUANTITY_UNITS, key=len, reverse=True)) + ")"
)
_DATE = re.compile(r"(?:\d{4}年(?:\d{1,2}月(?:\d{1,2}日)?)?|\d{1,2}月\d{1,2}日|(?:今年|去年)\d{1,2}月(?:\d{1,2}日)?)")
_DATELINE = re.compile(r"\d日电")  # 本报北京8月24日电: the place and date of filing, not facts
_SENTENCE = re.compile(r"[^。！？；]+[。！？；]?")
_CLAUSE = re.compile(r"[^，：,]+[，：,]?")
MIN_SENTENCE, MAX_SENTENCE = 12, 90
MIN_QUESTION_REST = 6  # characters of the question besides its question word


def spans(sentence: str) -> list[tuple[int, int, str]]:
    """Candidate answers in a sentence: (start, end, kind), dates before quantities before entities
    where they overlap."""
    found: list[tuple[int, int, str]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _ in found)

    for match in _DATE.finditer(sentence):
        found.append((match.start(), match.end(), "date"))
    for match in _QUANTITY.finditer(sentence):
        if sentence[match.end():match.end() + 1] in ("年", "月", "日") or not free(match.start(), match.end()):
            continue
        if sentence[match.start() - 1:match.start()] == "第":
            continue  # an ordinal (第3次) is asked with 第几, a form left out
        kind = "duration" if match.group().endswith(DURATION_UNITS) else "quantity"
        found.append((match.start(), match.end(), kind))
    at, current = 0, None
    for length, tag in pos_tags(sentence) + [(0, "")]:
        kind = ENTITY_TAGS.get(tag)
        if current and kind == current[2]:
            current = (current[0], at + length, kind)
        else:
            if current:
                current = _without_merged_cue(sentence, *current)
            if current and current[1] - current[0] >= 2 and free(current[0], current[1]) \
                    and _names_what_it_should(sentence, *current):
                found.append(current)
            current = (at, at + length, kind) if kind else None
        at += length
    # One item of an enumeration (甲、乙、丙) is an ambiguous thing to ask for.
    return sorted(f for f in found if "、" not in sentence[max(f[0] - 1, 0):f[0]] + sentence[f[1]:f[1] + 1])


def _without_merged_cue(sentence: str, start: int, end: int, kind: str) -> tuple[int, int, str]:
    """A person span without a speech verb jieba merged into an unknown name (茅曙说 is one word
    to it): the name ends before the verb, which then cues it."""
    if kind == "person":
        for cue in PERSON_CUES_AFTER:
            if sentence[start:end].endswith(cue) and end - len(cue) - start >= 2:
                return start, end - len(cue), kind
    return start, end, kind


def _names_what_it_should(sentence: str, start: int, end: int, kind: str) -> bool:
    if kind == "person":
        return sentence[end:].startswith(PERSON_CUES_AFTER) or sentence[:start].endswith(PERSON_CUES_BEFORE)
    return sentence[start:end].endswith(PLACE_SUFFIXES) or sentence[:start].endswith(LOCATIVE_WORDS)


def question_for(sentence: str, start: int, end: int, kind: str, rng: random.Random,
                 keywords: float = 0.0) -> str | None:
    """The cloze question asking for sentence[start:end], or None when too little is left of it.
    With probability ``keywords``, a keyword question instead (_keyword_question) where one can be made."""
    answer = sentence[start:end]
    word = rng.choice(QUESTION_WORDS[kind])
    if kind == "quantity" and answer[-1] in COUNTED_UNITS and rng.random() < 0.5:
        word += answer[-1]
    clauses = [(m.start(), m.end()) for m in _CLAUSE.finditer(sentence)]
    own = next(i for i, (s, e) in enumerate(clauses) if s <= start < e)
    if keywords and kind in KEYWORD_KINDS and rng.random() < keywords:
        question = _keyword_question(sentence, start, end, clauses[own], word, rng)
        if question:
            return question
    first = own - 1 if own > 0 and rng.random() < 0.4 else own
    last = own
    if end > clauses[own][1]:  # the answer runs over a comma: keep the clauses it spans
        last = next(i for i, (s, e) in enumerate(clauses) if s < end <= e)
    left = sentence[clauses[first][0]:start]
    right = sentence[end:clauses[last][1]]
    if rng.random() < 0.5:
        left, right = _drop_particles(left, rng), _drop_particles(right, rng)
    if rng.random() < 0.5 or (left + right).count("“") != (left + right).count("”"):
        left, right = (re.sub("[“”\"]", "", part) for part in (left, right))
    question = (left + word + right).strip(" ，：,。！？；、\u3000")
    if len(question) - len(word) < MIN_QUESTION_REST:
        return None
    return question + ("？" if rng.random() < 0.6 else "")


def _keyword_question(sentence: str, start: int, end: int, clause: tuple[int, int], word: str,
                      rng: random.Random) -> str | None:
    """A question as people type one: two or three content words of the answer's own clause, those
    nearest before the answer (after it when none come before), in their order, then the question word
    (缓缴 社保 多少 for 缓缴和减免社保、公积金、水电气等费用超31亿元). Why: a cloze question copies its
    clause, so the reader learns to match long strings, and in a clause listing several figures the copied
    words name the asked one exactly; a short question names its subject with a word or two and leaves the
    reader to find which figure those words belong to. None (a cloze question then) unless the words hold
    a noun and four characters."""
    before, after, at = [], [], 0
    for length, tag in pos_tags(sentence):
        if clause[0] <= at and at + length <= clause[1] and length >= 2 and tag[:1] in KEYWORD_TAGS:
            if at + length <= start:
                before.append((start - at - length, at, sentence[at:at + length], tag))
            elif at >= end:
                after.append((at - end, at, sentence[at:at + length], tag))
        at += length
    nearest = sorted(before) or sorted(after)
    chosen = sorted(nearest[: rng.choice((2, 2, 3))], key=lambda item: item[1])
    if not any(tag.startswith("n") for *_, tag in chosen) or sum(len(text) for _, _, text, _ in chosen) < 4:
        return None
    question = "".join(text for _, _, text, _ in chosen) + word
    return question + ("？" if rng.random() < 0.6 else "")


def _drop_particles(text: str, rng: random.Random) -> str:
    return "".join(c for c in text if c not in DROPPABLE_PARTICLES or rng.random() < 0.6)


def generate(articles: list[dict], per_article: int, rng: random.Random, keywords: float = 0.0) -> dict:
    """SQuAD-format data: at most ``per_article`` questions of each article, each from another
    paragraph, on a span drawn by KIND_WEIGHTS from one of its sentences (keywords: the share of
    keyword questions, question_for)."""
    documents = []
    for article in articles:
        paragraphs = [p for p in article["paragraphs"] if len(p) >= MIN_SENTENCE]
        rng.shuffle(paragraphs)
        made = []
        for paragraph in paragraphs:
            if len(made) >= per_article:
                break
            qa = _question_in(paragraph, rng, keywords)
            if qa:
                made.append({"context": paragraph, "qas": [qa]})
        if made:
            documents.append({"title": article["id"], "paragraphs": made})
    return {"version": "generated", "data": documents}


def _question_in(paragraph: str, rng: random.Random, keywords: float = 0.0) -> dict | None:
    sentences = [m for m in _SENTENCE.finditer(paragraph)
                 if MIN_SENTENCE <= len(m.group()) <= MAX_SENTENCE and not m.group().startswith(("（", "("))
                 and not _DATELINE.search(m.group())]
    rng.shuffle(sentences)
    for match in sentences[:3]:
        candidates = spans(match.group())
        if not candidates:
            continue
        start, end, kind = rng.choices(candidates, [KIND_WEIGHTS[k] for _, _, k in candidates])[0]
        answer = match.group()[start:end]
        if paragraph.count(answer) != 1:
            continue  # the label would be ambiguous
        question = question_for(match.group(), start, end, kind, rng, keywords)
        if question:
            return {"id": f"g{rng.getrandbits(40):x}", "question": question,
                    "answers": [{"text": answer, "answer_start": match.start() + start}], "kind": kind}
    return None


def training_articles(shared: Path) -> list[dict]:
    """People's Daily articles that no People's Daily evaluation set (test or dev) uses and that
    report none of the test set's stories; [] when absent."""
    specs = [json.loads(path.read_text("utf-8")) for path in sorted(Path(__file__).resolve().parent.glob("pd*.corpus.json"))]
    excluded = {article for spec in specs for article in spec["excluded_from_training"]}
    source = shared / "corpora" / specs[0]["source"]
    if not source.is_file():
        return []
    with source.open(encoding="utf-8") as lines:
        rows = (json.loads(line) for line in lines)
        return [row for row in rows if row["id"] not in excluded]


def prefix_shares(data: dict) -> dict[str, tuple[int, int]]:
    """For each candidate prefix: how many annotated answers (SQuAD format) keep it inside before a
    number, and how many leave it just before an answer that starts with one (qa.answer.prefixes's
    counts, read for the candidates)."""
    answers = (
        (paragraph["context"], answer["answer_start"], answer["answer_start"] + len(answer["text"]))
        for document in data["data"] for paragraph in document["paragraphs"] for qa in paragraph["qas"]
        for answer in qa["answers"][:1]
        if answer.get("answer_start", -1) >= 0
        and paragraph["context"][answer["answer_start"]:answer["answer_start"] + len(answer["text"])] == answer["text"]
    )
    counts = prefix_counts(answers)
    return {prefix: counts.get(prefix, (0, 0)) for prefix in QUANTITY_PREFIX_CANDIDATES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--count", type=int, default=20, help="questions to print")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keywords", type=float, default=0.0, help="share of keyword questions")
    parser.add_argument("--prefix-shares", action="store_true",
                        help="print how often annotators keep each quantity prefix inside the answer")
    args = parser.parse_args()
    if args.prefix_shares:
        totals = {prefix: [0, 0] for prefix in QUANTITY_PREFIX_CANDIDATES}
        for relative in ANNOTATED_SETS:
            for prefix, (kept, left) in prefix_shares(json.loads((args.shared / relative).read_text("utf-8"))).items():
                totals[prefix][0] += kept
                totals[prefix][1] += left
        for prefix, (kept, left) in totals.items():
            share = f"{kept / (kept + left):.2f}" if kept + left else "not seen"
            print(f"{prefix}\tkept {kept}\tleft out {left}\t{share}")
        return
    rng = random.Random(args.seed)
    articles = training_articles(args.shared)
    rng.shuffle(articles)
    data = generate(articles[: args.count], 1, rng, args.keywords)
    for document in data["data"]:
        qa = document["paragraphs"][0]["qas"][0]
        print(f"{qa['kind']:12} {qa['question']}  →  {qa['answers'][0]['text']}")


if __name__ == "__main__":
    main()
