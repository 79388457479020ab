"""API keys, rate limits, a refused model, and no anecdote text in any log line."""
import logging
import shutil

import pytest

from redflags.model.artifact import sidecar_path
from redflags.service.app import create_app

MARKER = "ZQX-marker-7f3a-private-account"


@pytest.fixture
def keyed(tiny_predictor):
    app = create_app({"PREDICTOR": tiny_predictor, "API_KEYS": ["k-one", "k-two"], "RATELIMIT_ENABLED": False})
    return app.test_client()


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": "Basic k-one"}])
def test_keys_required_on_v1(keyed, headers):
    r = keyed.post("/v1/classify", json={"text": "hello"}, headers=headers)
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert "API key" in r.get_json()["detail"]


@pytest.mark.parametrize("headers", [{"X-API-Key": "k-one"}, {"Authorization": "Bearer k-two"}])
def test_keys_accepted(keyed, headers):
    assert keyed.post("/v1/classify", json={"text": "hello"}, headers=headers).status_code == 200


def test_probes_and_page_need_no_key(keyed):
    assert keyed.get("/healthz").status_code == 200
    assert keyed.get("/readyz").status_code == 200
    assert keyed.get("/").status_code == 200
    assert "securitySchemes" in keyed.get("/openapi.json").get_json()["components"]


def test_rate_limit_answers_429_with_retry_after(tiny_predictor):
    app = create_app({"PREDICTOR": tiny_predictor, "RATE_LIMIT": "3 per minute"})
    client = app.test_client()
    codes = [client.get("/v1/labels").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/v1/labels")
    assert r.mimetype == "application/problem+json" and int(r.headers["Retry-After"]) > 0
    # a made-up key does not buy a fresh budget: it counts against the address
    assert client.get("/v1/labels", headers={"X-API-Key": "made-up"}).status_code == 429


def test_rate_limit_is_per_configured_key(tiny_predictor):
    app = create_app({"PREDICTOR": tiny_predictor, "RATE_LIMIT": "2 per minute", "API_KEYS": ["k1", "k2"]})
    client = app.test_client()
    assert [client.get("/v1/labels", headers={"X-API-Key": "k1"}).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/v1/labels", headers={"Authorization": "Bearer k2"}).status_code == 200
    # failed key attempts are limited too (per address)
    codes = [client.get("/v1/labels", headers={"X-API-Key": "guess"}).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


def test_tampered_model_is_refused_and_never_ready(tmp_path, tiny_model_path, caplog):
    path = tmp_path / "model.joblib"
    shutil.copy(tiny_model_path, path)
    shutil.copy(sidecar_path(tiny_model_path), sidecar_path(path))
    path.write_bytes(path.read_bytes() + b"tampered")
    with caplog.at_level(logging.ERROR):
        app = create_app({"MODEL_PATH": str(path)})
    assert "digest mismatch" in caplog.text
    client = app.test_client()
    r = client.get("/readyz")
    assert r.status_code == 503 and "no verified model" in r.get_json()["detail"].lower()
    assert str(tmp_path) not in r.get_data(as_text=True)   # no server paths to anonymous callers
    r = client.post("/v1/classify", json={"text": "He mocked me."})
    assert r.status_code == 503 and r.mimetype == "application/problem+json"
    assert str(tmp_path) not in r.get_data(as_text=True)


def test_no_anecdote_text_in_logs(client, caplog):
    with caplog.at_level(logging.DEBUG):
        client.post("/v1/classify", json={"text": f"He mocked me. {MARKER}"})
        client.post("/v1/classify/batch", json={"items": [{"text": MARKER}, {"text": ""}]})
        client.post("/v1/classify", json={"text": MARKER, "oops": 1})
        client.post("/v1/score-csv?text_column=t", data=f"t\n{MARKER}\n", content_type="text/csv")
        client.post("/v1/classify", data=f'{{"text": "{MARKER}"', content_type="application/json")
    assert caplog.records, "expected request log lines"
    assert MARKER not in caplog.text


def test_validation_errors_do_not_echo_the_text(client):
    r = client.post("/v1/classify", json={"text": MARKER * 3000})
    assert r.status_code == 422 and MARKER not in r.get_data(as_text=True)


def test_limiter_storage_never_holds_a_raw_key(tiny_predictor):
    app = create_app({"PREDICTOR": tiny_predictor, "RATE_LIMIT": "5 per minute", "API_KEYS": ["s3cret-key"]})
    client = app.test_client()
    assert client.get("/v1/labels", headers={"X-API-Key": "s3cret-key"}).status_code == 200
    storage = app.extensions["limiter"]  # flask-limiter keeps its instances in a set
    stored = " ".join(str(k) for limiter in storage for k in limiter.storage.storage)
    assert stored and "s3cret-key" not in stored


@pytest.mark.parametrize("trusted, separate", [(0, False), (1, True)])
def test_forwarded_clients_get_their_own_limit_only_behind_trusted_proxies(tiny_predictor, trusted, separate):
    app = create_app({"PREDICTOR": tiny_predictor, "RATE_LIMIT": "2 per minute", "TRUSTED_PROXIES": trusted})
    client = app.test_client()
    first = [client.get("/v1/labels", headers={"X-Forwarded-For": "203.0.113.7"}).status_code for _ in range(2)]
    other = client.get("/v1/labels", headers={"X-Forwarded-For": "198.51.100.9"}).status_code
    assert first == [200, 200]
    assert other == (200 if separate else 429)
