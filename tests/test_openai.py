"""The OpenAI-compatible API (/v1) with the official `openai` package — plain, async and streaming —
pointed at a real server on loopback (conftest's `live_server`, which has QA_API_KEY set).

Answers are asserted as a user sees them, and the structured answer must be exactly what
/api/chat gives for the same conversation.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import openai
import pytest
from fastapi.testclient import TestClient
from openai.types import Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from qa.api.app import create_app
from qa.formatting import answer_lines
from qa.types import Answer

MODEL = "qa-extractive"
ROOT = Path(__file__).resolve().parent.parent
DIALOGUES = [json.loads(line) for line in (ROOT / "eval" / "dialogues.jsonl").read_text("utf-8").splitlines() if line]
# What OpenAI's API reference marks as required.
COMPLETION_FIELDS = {"id", "object", "created", "model", "choices"}
CHOICE_FIELDS = {"index", "message", "finish_reason", "logprobs"}
CHUNK_CHOICE_FIELDS = {"index", "delta", "finish_reason"}


def user(text: str) -> dict:
    return {"role": "user", "content": text}


@pytest.fixture(scope="module")
def client(live_server, api_key) -> openai.OpenAI:
    return openai.OpenAI(base_url=live_server + "/v1", api_key=api_key, max_retries=0)


@pytest.fixture(scope="module")
def http(live_server, api_key):
    with httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {api_key}"}, timeout=30) as http:
        yield http


def via_api_chat(http: httpx.Client, messages: list[dict]) -> dict:
    """The user messages sent to /api/chat as one conversation; the last reply."""
    conversation_id, body = None, None
    for message in (m for m in messages if m["role"] == "user"):
        body = http.post("/api/chat", json={"message": message["content"], "conversation_id": conversation_id}).json()
        conversation_id = body["conversation_id"]
    return body


def same_answer(extra: dict, chat: dict) -> None:
    """The structured answer of a completion equals /api/chat's reply (timings and ids aside)."""
    drop = {"timings_ms", "conversation_id"}
    assert {k: v for k, v in extra.items() if k not in drop} == {k: v for k, v in chat.items() if k not in drop}


def content_of(answer: dict) -> str:
    """What the reply's content must be for an answer: the shared 答案/依据/来源 wording."""
    return "\n\n".join(answer_lines(Answer.model_validate(answer)))


def test_the_model_is_listed_and_retrieved(client):
    assert [m.id for m in client.models.list()] == [MODEL]
    assert client.models.retrieve(MODEL).owned_by == "qa"
    with pytest.raises(openai.NotFoundError) as error:
        client.models.retrieve("gpt-4o")
    assert error.value.code == "model_not_found"


def test_a_question_gets_the_answer_with_its_evidence_and_source(client, http):
    completion = client.chat.completions.create(model=MODEL, messages=[user("株洲截至4月底签约了多少个项目？")])
    content = completion.choices[0].message.content
    assert content.startswith("答案：73个")
    assert "依据：" in content and "全市已签约项目【73个】" in content
    assert "来源：两会专访" in content and "第25段" in content
    assert completion.choices[0].message.role == "assistant" and completion.choices[0].finish_reason == "stop"
    answer = completion.answer  # the extra field, ignored by OpenAI clients but kept by the package
    assert answer["answer"] == "73个" and not answer["abstained"]
    assert answer["source"]["article_id"] == "000_5eb15fd4d41f17c5" and answer["source"]["paragraph"] == 25
    start, end = answer["answer_in_sentence"]
    assert answer["sentence"][start:end] == "73个" and 0 < answer["confidence"] <= 1
    chat = via_api_chat(http, [user("株洲截至4月底签约了多少个项目？")])
    same_answer(answer, chat)
    assert content == content_of(chat)


def test_a_follow_up_is_resolved_from_the_earlier_user_turns(client, http):
    first = client.chat.completions.create(model=MODEL, messages=[user("株洲截至4月底签约了多少个项目？")])
    assert "答案：73个" in first.choices[0].message.content
    messages = [
        {"role": "system", "content": "你是一个问答助手。"},
        user("株洲截至4月底签约了多少个项目？"),
        {"role": "assistant", "content": first.choices[0].message.content},
        user("合同引资总额呢？"),
    ]
    second = client.chat.completions.create(model=MODEL, messages=messages)
    assert second.choices[0].message.content.startswith("答案：202.4亿元")
    assert second.answer["resolved_question"] == "株洲截至4月底合同引资总额多少"
    same_answer(second.answer, via_api_chat(http, messages))


@pytest.mark.parametrize("dialogue", DIALOGUES, ids=[d["id"] for d in DIALOGUES])
def test_every_dialogue_gets_exactly_what_api_chat_gives(client, http, dialogue):
    messages = [user(turn["message"]) for turn in dialogue["turns"]]
    completion = client.chat.completions.create(model=MODEL, messages=messages)
    chat = via_api_chat(http, messages)
    same_answer(completion.answer, chat)
    assert completion.answer["resolved_question"] == chat["resolved_question"]
    assert completion.choices[0].message.content == content_of(chat)


def test_an_unanswerable_question_gets_the_abstention_text(client):
    completion = client.chat.completions.create(model=MODEL, messages=[user("徐州去年的GDP是多少？")])
    assert completion.choices[0].message.content.startswith("没有找到答案")
    assert completion.answer["abstained"] and completion.answer["answer"] == "" and completion.answer["source"] is None


def test_streaming_gives_the_same_reply_in_openai_chunks(client):
    messages = [user("株洲截至4月底签约了多少个项目？"), user("合同引资总额呢？")]
    whole = client.chat.completions.create(model=MODEL, messages=messages)
    chunks = list(client.chat.completions.create(model=MODEL, messages=messages, stream=True))
    assert len(chunks) >= 3 and all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1 and all(c.model == MODEL for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert content == whole.choices[0].message.content and "202.4亿元" in content
    assert [c.choices[0].finish_reason for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert chunks[-1].choices[0].finish_reason == "stop"
    same_answer(chunks[-1].answer, whole.answer)


def test_the_async_client_plain_and_streaming(live_server, api_key, http):
    async def run():
        async with openai.AsyncOpenAI(base_url=live_server + "/v1", api_key=api_key, max_retries=0) as client:
            questions = ["株洲截至4月底签约了多少个项目？", "徐州市委书记是谁？", "徐州去年的GDP是多少？"]
            replies = await asyncio.gather(
                *(client.chat.completions.create(model=MODEL, messages=[user(q)]) for q in questions)
            )
            stream = await client.chat.completions.create(
                model=MODEL, messages=[user("徐州市委书记是谁？"), user("那株洲市长呢？")], stream=True
            )
            streamed = [chunk async for chunk in stream]
            return replies, streamed

    replies, streamed = asyncio.run(run())
    assert [r.choices[0].message.content.split("\n")[0] for r in replies[:2]] == ["答案：73个", "答案：周铁根"]
    assert replies[2].choices[0].message.content.startswith("没有找到答案")
    content = "".join(c.choices[0].delta.content or "" for c in streamed)
    assert content.startswith("答案：阳卫国") and streamed[-1].choices[0].finish_reason == "stop"
    same_answer(streamed[-1].answer, via_api_chat(http, [user("徐州市委书记是谁？"), user("那株洲市长呢？")]))


def test_the_wire_format_has_openais_required_fields(http):
    body = {"model": MODEL, "messages": [user("徐州缓缴社保多少")]}
    raw = http.post("/v1/chat/completions", json=body).json()
    assert COMPLETION_FIELDS <= set(raw) and raw["object"] == "chat.completion"
    assert CHOICE_FIELDS <= set(raw["choices"][0]) and {"role", "content", "refusal"} <= set(raw["choices"][0]["message"])
    ChatCompletion.model_validate(raw)  # the openai package's own schema, validated strictly here
    for card in http.get("/v1/models").json()["data"]:
        Model.model_validate(card)

    with http.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in events) and events[-1] == "data: [DONE]"
    for line in events[:-1]:
        chunk = json.loads(line.removeprefix("data: "))
        assert COMPLETION_FIELDS <= set(chunk) and CHUNK_CHOICE_FIELDS <= set(chunk["choices"][0])
        ChatCompletionChunk.model_validate(chunk)


def test_the_api_key_is_required_when_set(live_server, http):
    wrong = openai.OpenAI(base_url=live_server + "/v1", api_key="not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as error:
        wrong.chat.completions.create(model=MODEL, messages=[user("徐州缓缴社保多少")])
    assert error.value.status_code == 401 and error.value.code == "invalid_api_key"
    missing = httpx.get(live_server + "/v1/models")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"]["code"] == "invalid_api_key"
    # The page's API is not behind the key.
    assert httpx.post(live_server + "/api/chat", json={"message": "株洲截至4月底签约了多少个项目？"}).json()["answer"] == "73个"


def test_without_a_key_configured_none_is_needed(engine, settings):
    assert settings.api_key is None
    with TestClient(create_app(settings, engine)) as local:
        response = local.post("/v1/chat/completions", json={"model": MODEL, "messages": [user("株洲截至4月底签约了多少个项目？")]})
    assert response.status_code == 200 and response.json()["answer"]["answer"] == "73个"


@pytest.mark.parametrize(
    "request_body,error_class,param",
    [
        ({"model": "gpt-4o", "messages": [user("徐州缓缴社保多少")]}, openai.NotFoundError, "model"),
        ({"model": MODEL, "messages": [user("徐州"), {"role": "assistant", "content": "x"}]}, openai.BadRequestError,
         "messages"),
        ({"model": MODEL, "messages": [user("问" * 501)]}, openai.BadRequestError, "messages"),
        ({"model": MODEL, "messages": [user("   ")]}, openai.BadRequestError, "messages"),
        ({"model": MODEL, "messages": []}, openai.BadRequestError, "messages"),
        ({"model": MODEL, "messages": [user("徐州")], "n": 2}, openai.BadRequestError, "n"),
        ({"model": "gpt-4o", "messages": [user("徐州")], "stream": True}, openai.NotFoundError, "model"),
    ],
)
def test_errors_come_in_openais_shape(client, request_body, error_class, param):
    with pytest.raises(error_class) as error:
        client.chat.completions.create(**request_body)
    body = error.value.body  # the package unwraps {"error": {...}}
    assert set(body) == {"message", "type", "param", "code"} and body["message"]
    assert body["type"] == "invalid_request_error" and body["param"] == param


def test_malformed_requests_and_unknown_paths_come_in_openais_shape(http):
    broken = http.post("/v1/chat/completions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and "JSON" in broken.json()["error"]["message"]
    unknown = http.get("/v1/embeddings")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_url"
