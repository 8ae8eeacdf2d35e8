"""The API against careless and hostile input, through FastAPI's test client over the real engine:
no 5xx from input, bounded bodies, error bodies of the declared schema, security headers, hosts, CORS, /docs."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from qa.api.app import create_app
from qa.api.schemas import ErrorResponse

LOOPBACK = "http://127.0.0.1"


@pytest.fixture(scope="module")
def client(engine, settings):
    with TestClient(create_app(settings, engine), base_url=LOOPBACK) as client:
        yield client


def _post(client, path: str, raw: bytes, **headers):
    return client.post(path, content=raw, headers={"content-type": "application/json", **headers})


def _error(response) -> ErrorResponse:
    """The body of a failed response, which must be of the schema the API declares."""
    assert response.headers["content-type"] == "application/json"
    return ErrorResponse.model_validate(response.json())


@pytest.mark.parametrize(
    "path, raw",
    [
        ("/api/ask", b'{"question": "\xe5\xbe\x90\xe5\xb7\x9e", "top_k": NaN}'),
        ("/api/ask", b'{"question": "x", "top_k": Infinity}'),
        ("/api/ask", b'{"question": "x", "top_k": -Infinity}'),
        ("/api/ask", b'{"question": "x", "top_k": 1e999}'),
        ("/api/ask", b'{"question": NaN, "top_k": "five"}'),
        ("/api/chat", b'{"message": "hi", "extra": [1, NaN]}'),
        ("/api/ask", b'{"question": "\\ud800"}'),
        ("/api/chat", b'{"message": "\\udfff\\u5f90"}'),
        ("/api/chat", b'{"message": "hi", "conversation_id": "\\ud800"}'),
        ("/api/ask", b'{"\\ud800": 1, "question": "x"}'),
        ("/api/ask", b'{"question": "\xff\xfe"}'),
        ("/api/ask", b"[" * 60000),
    ],
)
def test_nan_infinity_surrogates_and_broken_json_get_422_not_500(client, path, raw):
    response = _post(client, path, raw)
    assert response.status_code == 422, response.text
    assert _error(response).detail


def test_a_surrogate_pair_is_a_character_not_an_error(client):
    response = _post(client, "/api/ask", b'{"question": "\\ud83d\\ude00\xe5\xbe\x90\xe5\xb7\x9e\xe7\xbc\x93\xe7\xbc\xb4\xe7\xa4\xbe\xe4\xbf\x9d\xe5\xa4\x9a\xe5\xb0\x91"}')
    assert response.status_code == 200 and response.json()["question"].startswith("\U0001f600")


@pytest.mark.parametrize("top_k", [True, "5", 5.0, 2.5, [5], {"k": 5}])
def test_top_k_must_be_a_whole_number(client, top_k):
    response = client.post("/api/ask", json={"question": "徐州缓缴社保多少", "top_k": top_k})
    assert response.status_code == 422
    assert _error(response).errors[0].loc == ["body", "top_k"]


def test_a_body_over_the_limit_gets_413_before_it_is_parsed(client, settings):
    big = json.dumps({"question": "问" * settings.max_body_bytes}).encode()
    response = _post(client, "/api/ask", big)
    assert response.status_code == 413
    assert len(response.content) < 500 and "问问" not in response.text
    assert str(settings.max_body_bytes) in _error(response).detail


def test_a_chunked_body_over_the_limit_gets_413(client, settings):
    def chunks():
        yield b'{"question": "'
        for _ in range(settings.max_body_bytes // 1000 + 2):
            yield b"x" * 1000
        yield b'"}'

    response = client.post("/api/chat", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


def test_a_long_question_is_refused_without_being_echoed(client):
    question = "徐州" * 7_500  # 15,000 characters: 45 KB, under the body limit, 30 times the question limit
    response = client.post("/api/ask", json={"question": question})
    assert response.status_code == 422
    assert len(response.content) < 1000 and question[:100] not in response.text
    assert _error(response).errors[0].loc == ["body", "question"]


def test_validation_errors_match_the_declared_schema(client):
    schema = client.get("/openapi.json").json()
    declared = schema["paths"]["/api/ask"]["post"]["responses"]["422"]["content"]["application/json"]["schema"]
    assert declared == {"$ref": "#/components/schemas/ErrorResponse"}
    for payload in ({}, {"question": ""}, {"question": "徐州", "top_k": 0}, {"question": "x", "top_k": 51}):
        response = client.post("/api/ask", json=payload)
        assert response.status_code == 422
        error = _error(response)
        assert error.detail and error.errors and all(item.loc[0] == "body" for item in error.errors)
        assert "input" not in response.text


def test_every_response_carries_the_security_headers(client):
    for response in (client.get("/"), client.get("/api/health"), client.post("/api/ask", json={})):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
        assert "http:" not in csp and "https:" not in csp and "*" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.", ""])
def test_requests_for_other_host_names_are_refused(client, host):
    expected = 200 if host == "localhost." else 400
    response = client.get("/api/health", headers={"host": host})
    assert response.status_code == expected
    if expected == 400:
        assert "host" in _error(response).detail


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST"])
def test_loopback_names_are_answered(client, host):
    assert client.get("/api/health", headers={"host": host}).status_code == 200


def test_configured_hosts_and_cors_origins(engine, settings):
    custom = settings.model_copy(update={"allowed_hosts": ["qa.example"], "cors_origins": ["https://app.example"]})
    with TestClient(create_app(custom, engine), base_url="http://qa.example") as custom_client:
        assert custom_client.get("/api/health").status_code == 200
        assert custom_client.get("/api/health", headers={"host": "127.0.0.1"}).status_code == 400
        allowed = custom_client.get("/api/health", headers={"origin": "https://app.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        other = custom_client.get("/api/health", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = custom_client.options("/api/documents/x", headers={
            "origin": "https://app.example", "access-control-request-method": "DELETE",
            "access-control-request-headers": "x-api-key"})
        assert preflight.status_code == 200 and "DELETE" in preflight.headers["access-control-allow-methods"]


def test_cors_is_closed_by_default(client):
    response = client.get("/api/health", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options(
        "/api/ask", headers={"origin": "https://evil.example", "access-control-request-method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_docs_are_served_from_packaged_files_without_inline_script(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), "an inline script would be blocked by the CSP"
    for src in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert client.get(src).status_code == 200, src


def test_conversations_keep_a_bounded_number_of_turns(engine, settings):
    bounded = settings.model_copy(update={"max_turns": 3})
    app = create_app(bounded, engine)
    with TestClient(app, base_url=LOOPBACK) as bounded_client:
        conversation_id = None
        for _ in range(8):
            body = bounded_client.post("/api/chat", json={"message": "徐州缓缴社保多少", "conversation_id": conversation_id})
            conversation_id = body.json()["conversation_id"]
        assert len(app.state.conversations.get(conversation_id).turns) == 3


def test_the_openai_endpoint_documents_the_413_it_answers_for_a_body_over_the_limit(client, settings):
    big = json.dumps({"model": "qa", "messages": [{"role": "user", "content": "问" * settings.max_body_bytes}]}).encode()
    response = _post(client, "/v1/chat/completions", big)
    assert response.status_code == 413
    assert str(settings.max_body_bytes) in response.json()["error"]["message"]
    documented = client.get("/openapi.json").json()["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert "413" in documented
