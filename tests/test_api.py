"""The HTTP API through FastAPI's test client, over the real engine."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa.api.app import create_app

ROOT = Path(__file__).resolve().parent.parent

DIALOGUES = [json.loads(line) for line in (ROOT / "eval" / "dialogues.jsonl").read_text("utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def client(engine, settings):
    with TestClient(create_app(settings, engine)) as client:
        yield client


def test_ask_returns_the_answer_sentence_source_and_passages(client, engine):
    response = client.post("/api/ask", json={"question": "株洲市市长是谁？"})
    assert response.status_code == 200
    body = response.json()
    assert body["answer"] == engine.ask("株洲市市长是谁？").answer == "阳卫国" and not body["abstained"]
    start, end = body["answer_in_sentence"]
    assert body["sentence"][start:end] == "阳卫国"
    assert body["source"]["article_id"] in {a.id for a in engine.articles()}
    assert 0 <= body["confidence"] <= 1
    assert body["passages"] and body["passages"][0]["rank"] == 1


def test_source_offsets_point_at_the_answer_in_the_article(client, settings):
    body = client.post("/api/ask", json={"question": "株洲市市长是谁？"}).json()
    article = (settings.corpus_dir / f"{body['source']['article_id']}.txt").read_text("utf-8")
    assert article[body["source"]["start"] : body["source"]["end"]] == body["answer"]


def test_top_k_controls_the_passages(client):
    body = client.post("/api/ask", json={"question": "株洲签约了多少个项目", "top_k": 2}).json()
    assert len(body["passages"]) == 2


@pytest.mark.parametrize(
    "payload",
    [{"question": ""}, {"question": "   "}, {"question": "问" * 501}, {"question": "徐州", "top_k": 0}, {}],
)
def test_bad_questions_are_rejected_clearly(client, payload):
    response = client.post("/api/ask", json=payload)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_a_shorter_question_limit_from_the_settings_is_enforced_and_documented(engine, settings):
    """QA_MAX_QUESTION_CHARS=10: a question of 8 characters is answered, one of 12 is refused."""
    with TestClient(create_app(settings.model_copy(update={"max_question_chars": 10}), engine)) as client:
        assert client.post("/api/ask", json={"question": "徐州缓缴社保多少"}).status_code == 200
        for path, field in (("/api/ask", "question"), ("/api/chat", "message")):
            response = client.post(path, json={field: "徐州今年缓缴社保费用多少"})
            assert response.status_code == 422
            error = response.json()["errors"][0]
            assert error["loc"] == ["body", field] and "at most 10 characters" in error["msg"]
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["AskRequest"]["properties"]["question"]["maxLength"] == 10
    assert schemas["ChatRequest"]["properties"]["message"]["maxLength"] == 10


def test_a_longer_question_limit_from_the_settings_is_honoured(seed_index, settings):
    longer = settings.model_copy(update={"index_dir": seed_index, "max_question_chars": 1000})
    with TestClient(create_app(longer)) as client:
        assert client.post("/api/ask", json={"question": "问" * 600}).status_code == 200
        assert client.post("/api/ask", json={"question": "问" * 1001}).status_code == 422
        schema = client.get("/openapi.json").json()["components"]["schemas"]["AskRequest"]
    assert schema["properties"]["question"]["maxLength"] == 1000


def test_an_unanswerable_question_abstains(client):
    body = client.post("/api/ask", json={"question": "徐州去年的GDP是多少？"}).json()
    assert body["abstained"] and body["answer"] == "" and body["source"] is None


def _second_turn(client, dialogue) -> dict:
    first, second = dialogue["turns"]
    one = client.post("/api/chat", json={"message": first["message"]}).json()
    two = client.post("/api/chat", json={"message": second["message"], "conversation_id": one["conversation_id"]}).json()
    assert two["conversation_id"] == one["conversation_id"]
    assert two["resolved_question"] != second["message"], "a follow-up is completed from the conversation"
    return two


@pytest.mark.parametrize("dialogue", DIALOGUES, ids=[d["id"] for d in DIALOGUES])
def test_every_follow_up_is_completed_and_answered_as_its_completed_question(client, engine, dialogue):
    """How many follow-ups are answered right is a quality figure (qa eval eval/dialogues.jsonl, in
    eval/RESULTS.md); here: each is completed from its conversation and answered exactly as the
    completed question is on its own."""
    two = _second_turn(client, dialogue)
    assert two["answer"] == engine.ask(two["resolved_question"]).answer


def test_a_follow_up_without_its_conversation_is_not_completed(client):
    body = client.post("/api/chat", json={"message": "合同引资总额呢？"}).json()
    assert body["resolved_question"] == "合同引资总额呢？"


def test_conversation_ids_are_validated(client):
    response = client.post("/api/chat", json={"message": "徐州缓缴社保多少", "conversation_id": "../../etc"})
    assert response.status_code == 422


def test_health_and_documents(client):
    health = client.get("/api/health").json()
    assert health["index_loaded"] and health["encoder"] == "use-m3" and health["chunks"] > 50
    documents = client.get("/api/documents").json()
    assert {d["id"] for d in documents} == {"000_5eb15fd4d41f17c5", "004_302674c14a7d71f0"}
    assert all(d["title"] and d["chunk_count"] > 0 for d in documents)


def test_openapi_lists_every_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/chat", "/api/health", "/api/documents", "/api/documents/{article_id}",
            "/v1/chat/completions", "/v1/models"} <= set(paths)
    assert client.get("/docs").status_code == 200


def test_the_chat_page_is_served_without_outside_assets(client):
    page = client.get("/")
    assert page.status_code == 200 and "文章问答" in page.text
    assert "http://" not in page.text and "https://" not in page.text
    script = client.get("/static/app.js").text
    assert "innerHTML" not in script and "textContent" in script


def test_a_document_comes_with_the_text_the_answer_offsets_point_into(client):
    answer = client.post("/api/ask", json={"question": "株洲截至4月底合同引资总额多少"}).json()
    source = answer["source"]
    document = client.get(f"/api/documents/{source['article_id']}").json()
    assert document["id"] == source["article_id"] and document["title"] == source["title"]
    assert document["text"][source["start"] : source["end"]] == answer["answer"] == "202.4亿元"
    assert document["text"][source["sentence_start"] : source["sentence_end"]] == answer["sentence"]


@pytest.mark.parametrize("article_id", ["nope", "..%2F..%2Fetc%2Fpasswd", "000_5eb15fd4d41f17c5.txt"])
def test_an_unknown_document_is_a_404(client, article_id):
    response = client.get(f"/api/documents/{article_id}")
    assert response.status_code == 404 and "no article" in response.json()["detail"]
