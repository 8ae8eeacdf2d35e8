"""Schemathesis over the app's own OpenAPI schema, on the real engine: no 5xx and no reply outside the
declared schema, for data that fits the schema, data that does not, and bodies poisoned with NaN,
Infinity and lone surrogates, which JSON Schema cannot describe and Python's json module accepts.

Examples are bounded (MAX_EXAMPLES per operation and mode) to keep the suite's time modest; the
number of cases run is printed at the end of the module. Checks: no 5xx, status codes, content types
and bodies as declared, and schema-invalid input rejected with a 4xx.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections import Counter

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from qa.api.app import create_app
from qa.engine import Engine
from qa.settings import Settings

# Per operation and generation mode; FUZZ_EXAMPLES=1000 for a longer run by hand.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
    negative_data_rejection,
]
POISONS = [math.nan, math.inf, -math.inf, "\ud800", "\udfff", "徐州\udc00缓缴", {"\ud83d": "x"}]
CASES: Counter = Counter()


# The /v1 routes declare the optional API key (QA_API_KEY) as a security scheme; the fuzzed server
# has one set, so that a request without it is rightly refused, and the generated cases carry it.
API_KEY = "fuzz-key"


@pytest.fixture(scope="module")
def app(seed_index, settings, tmp_path_factory):
    """The application over a real engine, with its start-up done (engine warmed up, conversation store made).

    Its index is a copy of the seed index: with the key set, generated uploads and removals really
    change the index they are sent to."""
    folder = tmp_path_factory.mktemp("fuzz") / "index"
    shutil.copytree(seed_index, folder)
    engine = Engine.load(folder, settings)
    application = create_app(settings.model_copy(update={"api_key": SecretStr(API_KEY)}), engine)
    with TestClient(application):
        yield application


@pytest.fixture(scope="module", autouse=True)
def report_case_count(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and CASES:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\nschemathesis: {sum(CASES.values())} cases ({dict(sorted(CASES.items()))})")


# The schema is read at collection from an application that is never started (its routes are the same);
# the cases are sent to the started one (schemathesis's pytest fixtures do not run under this pytest).
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(Settings(_env_file=None, allowed_hosts=["testserver"]))
)
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES
)
# A body over QA_MAX_BODY_BYTES is refused with 413 before its schema is looked at (qa.api.body), which is a
# rejection too: schemathesis once drew a schema-violating chat of over 100 KB, and its default list of
# rejecting statuses leaves 413 out.
_rejection = schema.config.checks.negative_data_rejection
_rejection.expected_statuses = [*_rejection.expected_statuses, "413"]


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_schema_conformance(case, app):
    CASES[f"{case.method} {case.path}"] += 1
    case.call_and_validate(checks=CHECKS, app=app, headers={"Authorization": f"Bearer {API_KEY}"})


def _poison(value, where: int, poison):
    """value with poison put in: replacing the where-th leaf of a JSON object, or beside its keys."""
    if isinstance(value, dict) and value:
        keys = sorted(value)
        key = keys[where % len(keys)]
        return {**value, key: poison}
    if isinstance(value, dict):
        return {"question": poison}
    return poison


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app, base_url="http://127.0.0.1")


BODY_OPERATIONS = [
    (method.upper(), path)
    for path, item in schema.raw_schema["paths"].items()
    for method, operation in item.items()
    if "requestBody" in operation
]


@pytest.mark.parametrize("method, path", BODY_OPERATIONS)
@given(data=st.data())
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_nan_infinity_and_surrogates_are_refused(client, method, path, data):
    """422 of the declared shape; on the OpenAI-compatible routes 400 in OpenAI's error shape, as OpenAI answers."""
    case = data.draw(schema[path][method].as_strategy())
    if not isinstance(case.body, dict):
        return  # only JSON objects can carry them
    poisoned = _poison(case.body, data.draw(st.integers(0, 5)), data.draw(st.sampled_from(POISONS)))
    CASES[f"{method} {path} (poisoned)"] += 1
    # Sent as Python's json module writes it: NaN and Infinity literals, surrogates as \\ud800 escapes.
    raw = json.dumps(poisoned).encode("ascii")
    response = client.request(method, path, content=raw, headers={"content-type": "application/json"})
    if path.startswith("/v1/"):
        assert response.status_code == 400, response.text
        assert set(response.json()) == {"error"} and response.json()["error"]["type"] == "invalid_request_error"
    else:
        assert response.status_code == 422, response.text
        assert set(response.json()) == {"detail", "errors"}
