"""The document routes of the real app (FastAPI's TestClient, real engine on a copy of the seed index):
the API key on every write route, uploads as multipart and JSON, bad files reported by name, and facts
answerable as soon as an upload returns and gone as soon as a removal returns."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from qa.api.app import create_app
from qa.engine import Engine

KEY = "doc-key-71b2"
TOWN = "青石镇新闻\n青石镇今年新建了四十七座风力发电站，总投资约十二亿元。\n"
TOWN_QUESTION = "青石镇新建了多少座风力发电站？"
HARBOUR = "白沙港简报\n白沙港去年完成集装箱吞吐量三百八十万标箱，同比增长百分之九。\n"


def _client(folder, settings, **overrides):
    engine = Engine.load(folder, settings)
    return TestClient(create_app(settings.model_copy(update=overrides), engine))


@pytest.fixture
def client(index_copy, settings):
    with _client(index_copy, settings, api_key=SecretStr(KEY), max_document_bytes=20_000, max_upload_bytes=200_000) as c:
        yield c


WRITES = [
    ("post", "/api/documents", {"json": {"title": "青石镇新闻", "text": TOWN}}),
    ("put", "/api/documents/000_5eb15fd4d41f17c5", {"json": {"title": "白沙港简报", "text": HARBOUR}}),
    ("delete", "/api/documents/004_302674c14a7d71f0", {}),
]


@pytest.mark.parametrize("method,path,body", WRITES, ids=["add", "replace", "remove"])
def test_every_write_route_needs_the_key(client, method, path, body):
    assert getattr(client, method)(path, **body).status_code == 401
    assert getattr(client, method)(path, headers={"X-API-Key": "wrong"}, **body).status_code == 401
    wrong_bearer = getattr(client, method)(path, headers={"Authorization": "Bearer wrong"}, **body)
    assert wrong_bearer.status_code == 401 and "incorrect" in wrong_bearer.json()["detail"]
    assert client.get("/api/documents").json()[0]["chunk_count"] > 0, "nothing was changed"
    right = getattr(client, method)(path, headers={"X-API-Key": KEY}, **body)
    assert right.status_code == 200, right.text
    assert right.json()["outcomes"][0]["status"] in {"added", "replaced", "removed"}


@pytest.mark.parametrize("method,path,body", WRITES, ids=["add", "replace", "remove"])
def test_without_a_configured_key_writes_are_disabled_not_open(index_copy, settings, method, path, body):
    with _client(index_copy, settings) as client:
        reply = getattr(client, method)(path, headers={"X-API-Key": "anything"}, **body)
        assert reply.status_code == 403 and "QA_API_KEY" in reply.json()["detail"]
        assert len(client.get("/api/documents").json()) == 2


def test_an_upload_is_answerable_when_it_returns_and_gone_when_removed(client):
    assert client.post("/api/ask", json={"question": TOWN_QUESTION}).json()["abstained"]
    files = [("files", ("qingshi.txt", TOWN.encode("utf-8"), "text/plain")),
             ("files", ("baisha.txt", HARBOUR.encode("gb18030"), "text/plain"))]
    reply = client.post("/api/documents", files=files, headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status_code == 200
    assert [(o["name"], o["status"], o["article_id"]) for o in reply.json()["outcomes"]] == [
        ("qingshi.txt", "added", "qingshi"), ("baisha.txt", "added", "baisha")]
    answer = client.post("/api/ask", json={"question": TOWN_QUESTION})
    assert answer.json()["answer"] == "四十七座"
    assert answer.headers["x-index-generation"] == reply.json()["generation"]
    listed = {d["id"]: d for d in client.get("/api/documents").json()}
    assert listed["qingshi"]["added_at"] and listed["qingshi"]["chunk_count"] == 1
    text = client.get("/api/documents/qingshi").json()["text"]
    source = answer.json()["source"]
    assert text[source["start"]:source["end"]] == "四十七座", "offsets point into the stored text"

    removed = client.delete("/api/documents/qingshi", headers={"X-API-Key": KEY})
    assert removed.status_code == 200 and removed.json()["outcomes"][0]["status"] == "removed"
    after = client.post("/api/ask", json={"question": TOWN_QUESTION}).json()
    assert after["abstained"] or after["source"]["article_id"] != "qingshi"
    assert client.get("/api/documents/qingshi").status_code == 404
    assert client.delete("/api/documents/qingshi", headers={"X-API-Key": KEY}).status_code == 404


def test_bad_files_are_reported_by_name_and_the_good_ones_go_in(client):
    files = [
        ("files", ("empty.txt", b"", "text/plain")),
        ("files", ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01", "application/octet-stream")),
        ("files", ("latin1.txt", b"\xff\xfe caf\xe9 \xff", "text/plain")),
        ("files", ("huge.txt", ("长" * 10_000).encode("utf-8"), "text/plain")),
        ("files", ("slides.pptx", b"PK\x03\x04", "application/octet-stream")),
        ("files", ("qingshi.txt", TOWN.encode("utf-8"), "text/plain")),
        ("files", ("qingshi-copy.txt", TOWN.encode("utf-8"), "text/plain")),
    ]
    reply = client.post("/api/documents", files=files, headers={"X-API-Key": KEY})
    assert reply.status_code == 200
    outcomes = {o["name"]: o for o in reply.json()["outcomes"]}
    assert [o["status"] for o in reply.json()["outcomes"]] == [
        "rejected", "rejected", "rejected", "rejected", "rejected", "added", "duplicate"]
    assert "empty" in outcomes["empty.txt"]["reason"] and "binary" in outcomes["photo.txt"]["reason"]
    assert "GB18030" in outcomes["latin1.txt"]["reason"] and "limit" in outcomes["huge.txt"]["reason"]
    assert ".pptx" in outcomes["slides.pptx"]["reason"] and outcomes["qingshi-copy.txt"]["article_id"] == "qingshi"
    assert len(client.get("/api/documents").json()) == 3


def test_a_file_of_punctuation_alone_is_rejected_with_its_reason_and_the_index_keeps_answering(client):
    # Found by the schema fuzzer: such a write once made bm25s fail (500); now it is refused at intake.
    reply = client.post("/api/documents", files=[("files", ("quote.txt", "'“。".encode("utf-8"), "text/plain"))],
                        headers={"X-API-Key": KEY})
    outcome = reply.json()["outcomes"][0]
    assert reply.status_code == 200 and (outcome["status"], outcome["problem"]) == ("rejected", "no_words")
    assert "punctuation" in outcome["reason"] and len(client.get("/api/documents").json()) == 2
    asked = client.post("/api/ask", json={"question": TOWN_QUESTION})
    assert asked.status_code == 200 and asked.json()["abstained"]


def test_requests_that_are_not_uploads(client):
    headers = {"X-API-Key": KEY}
    too_big = [("files", ("big.txt", b"a" * 300_000, "text/plain"))]
    assert client.post("/api/documents", files=too_big, headers=headers).status_code == 413
    assert client.post("/api/documents", content=b"text", headers={**headers, "content-type": "text/plain"}).status_code == 415
    assert client.post("/api/documents", json={"title": " ", "text": TOWN}, headers=headers).status_code == 422
    wrong_field = [("other", ("a.txt", TOWN.encode("utf-8"), "text/plain"))]
    assert client.post("/api/documents", files=wrong_field, headers=headers).status_code == 422
    replaced = client.put("/api/documents/nope", json={"title": "t", "text": TOWN}, headers=headers)
    assert replaced.status_code == 404
    assert len(client.get("/api/documents").json()) == 2


def test_compaction_runs_by_itself_when_segments_pile_up_and_changes_no_answer(index_copy, settings):
    with _client(index_copy, settings, api_key=SecretStr(KEY), compact_segments=2) as client:
        for number, text in enumerate([TOWN, HARBOUR]):  # the seed segment and two more: one over the limit
            files = [("files", (f"d{number}.txt", text.encode("utf-8"), "text/plain"))]
            assert client.post("/api/documents", files=files, headers={"X-API-Key": KEY}).status_code == 200
        live = client.app.state.live
        for _ in range(100):  # compaction runs in a background thread; the server follows it
            if len(live.current().index.segments) == 1:
                break
            time.sleep(0.1)
        assert len(live.current().index.segments) == 1
        assert client.post("/api/ask", json={"question": TOWN_QUESTION}).json()["answer"] == "四十七座"
        assert len(client.get("/api/documents").json()) == 4
        compacted = client.post("/api/index/compact", headers={"X-API-Key": KEY})
        assert compacted.status_code == 200 and compacted.json()["generation"] == live.current().index.manifest.generation
