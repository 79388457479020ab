"""Every endpoint through the test client, and every bad input answered with problem+json."""
import io
import json

import pandas as pd
import pytest

from redflags.model.taxonomy import CATEGORIES, RECOMMENDATIONS

RUDE = "The manager mocked my degree and rolled his eyes at every answer."


def assert_problem(response, status, fragment):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"]
    assert fragment.lower() in body["detail"].lower(), body["detail"]
    return body


def test_classify(client):
    r = client.post("/v1/classify", json={"text": RUDE})
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == {"model_version", "flagged", "red_flags", "scores", "recommendation"}
    assert body["flagged"] and body["red_flags"][0]["category"] == "disrespect"
    assert set(body["scores"]) == set(CATEGORIES)
    rec = body["recommendation"]
    assert rec["action"] in RECOMMENDATIONS and rec["script"] and rec["follow_up"] and rec["rationale"]
    ev = body["red_flags"][0]["evidence"][0]
    assert RUDE[ev["start"]:ev["end"]] == ev["text"]


def test_classify_context_and_evidence_switch(client):
    r = client.post("/v1/classify", json={"text": RUDE, "context": {"open_to_other_roles": True}, "evidence": False})
    body = r.get_json()
    assert body["recommendation"]["action"] == "finish_then_withdraw"
    assert body["red_flags"][0]["evidence"] == []


@pytest.mark.parametrize("stage", ["during", "after"])
def test_stage_is_taken_from_the_caller_and_reported(client, stage):
    body = client.post("/v1/classify", json={"text": RUDE, "context": {"stage": stage}}).get_json()
    rec = body["recommendation"]
    assert rec["stage"] == stage and rec["driver"] == "disrespect"
    assert rec["script"].startswith("What you could have said") == (stage == "after")


def test_stage_defaults_to_the_text(client):
    told = "He mocked my degree and I walked out."          # past tense: after
    asked = "They are asking me to pay for my laptop right now."  # present moment: during
    stages = [client.post("/v1/classify", json={"text": t}).get_json()["recommendation"]["stage"] for t in (told, asked)]
    assert stages == ["after", "during"]


def test_threshold_override(client):
    r = client.post("/v1/classify", json={"text": "A friendly panel and clear questions.", "thresholds": {"scam": 0}})
    assert [f["category"] for f in r.get_json()["red_flags"]] == ["scam"]


@pytest.mark.parametrize("kwargs, status, fragment", [
    # not JSON at all
    ({"data": "{not json", "content_type": "application/json"}, 400, "not valid JSON"),
    # a form instead of JSON
    ({"data": "text=hi", "content_type": "application/x-www-form-urlencoded"}, 415, "application/json"),
    # JSON, but not an object
    ({"json": ["text"]}, 422, "JSON object"),
    # missing text
    ({"json": {}}, 422, "text"),
    # empty and blank text
    ({"json": {"text": ""}}, 422, "text"),
    ({"json": {"text": "   \n\t"}}, 422, "blank text"),
    # text is not a string
    ({"json": {"text": 42}}, 422, "valid string"),
    # over 20,000 characters
    ({"json": {"text": "x" * 20001}}, 422, "over 20,000 characters"),
    # unknown field, unknown context key, unknown threshold category, threshold out of range
    ({"json": {"text": "hi", "colour": "red"}}, 422, "colour"),
    ({"json": {"text": "hi", "context": {"mood": 1}}}, 422, "mood"),
    ({"json": {"text": "hi", "thresholds": {"rudeness": 0.2}}}, 422, "thresholds"),
    # a stage that is neither during nor after
    ({"json": {"text": "hi", "context": {"stage": "before"}}}, 422, "stage"),
])
def test_classify_bad_input(client, kwargs, status, fragment):
    assert_problem(client.post("/v1/classify", **kwargs), status, fragment)


def test_body_over_limit(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    assert_problem(client.post("/v1/classify", json={"text": "x" * 2000}), 413, "larger than the limit")


def test_unknown_path_and_wrong_method(client):
    assert_problem(client.get("/v1/nothing"), 404, "No such endpoint")
    r = client.get("/v1/classify")
    assert_problem(r, 405, "not allowed")
    assert "POST" in r.headers["Allow"]


def test_batch_keeps_order_and_isolates_bad_items(client):
    items = [{"id": "a", "text": RUDE}, {"id": "b", "text": ""}, {"text": "A friendly panel."}, {"id": 7},
             {"id": "e", "text": 5}]
    r = client.post("/v1/classify/batch", json={"items": items})
    assert r.status_code == 200
    body = r.get_json()
    assert body["count"] == 5 and body["errors"] == 3
    res = body["results"]
    assert [x["index"] for x in res] == [0, 1, 2, 3, 4]
    assert res[0]["id"] == "a" and res[0]["result"]["red_flags"][0]["category"] == "disrespect"
    assert res[1]["error"]["detail"] and res[1]["result"] is None
    assert res[2]["error"] is None and res[2]["id"] is None
    assert res[3]["id"] == 7 and "text" in res[3]["error"]["detail"]


def test_batch_limits(client):
    assert_problem(client.post("/v1/classify/batch", json={"items": [{"text": "hi"}] * 1001}), 422, "at most 1000")
    assert_problem(client.post("/v1/classify/batch", json={"items": []}), 422, "items")
    assert_problem(client.post("/v1/classify/batch", json={"items": "hi"}), 422, "items")


def test_score_csv_raw_and_upload(client):
    csv = 'id,answer\n1,"He mocked my degree, rolled his eyes."\n2,\n3,"Multi\nline, friendly panel"\n'
    for kwargs in ({"data": csv, "content_type": "text/csv"},
                   {"data": {"file": (io.BytesIO(csv.encode()), "a.csv"), "text_column": "answer"},
                    "content_type": "multipart/form-data"}):
        r = client.post("/v1/score-csv?text_column=answer", **kwargs)
        assert r.status_code == 200 and r.mimetype == "text/csv"
        out = pd.read_csv(io.StringIO(r.get_data(as_text=True)), dtype=str, keep_default_na=False)
        assert list(out["id"]) == ["1", "2", "3"]
        assert list(out.columns[:2]) == ["id", "answer"] and "p_scam" in out and "recommendation" in out
        assert out.loc[1, "error"].startswith("blank text") and out.loc[0, "error"] == ""
        assert r.headers["X-Row-Count"] == str(len(out)) and r.headers["X-Rows-Not-Scored"] == "1"


def test_score_csv_takes_thresholds(client):
    csv = "answer\nA friendly panel and clear questions.\n"
    r = client.post("/v1/score-csv?text_column=answer&threshold=scam=0", data=csv, content_type="text/csv")
    assert r.status_code == 200 and "scam" in r.get_data(as_text=True).splitlines()[1]


@pytest.mark.parametrize("url, kwargs, status, fragment", [
    ("/v1/score-csv?text_column=answer&threshold=rudeness=0.2", {"data": "answer\nhi\n", "content_type": "text/csv"},
     422, "unknown category in thresholds"),
    ("/v1/score-csv", {"data": "a\n1\n", "content_type": "text/csv"}, 422, "text_column"),
    ("/v1/score-csv?text_column=answer", {"data": "a,b\n1,2\n", "content_type": "text/csv"}, 422, "columns are: a, b"),
    ("/v1/score-csv?text_column=answer", {"data": "", "content_type": "text/csv"}, 422, "empty"),
    ("/v1/score-csv?text_column=answer", {"json": {"a": 1}}, 415, "text/csv"),
    ("/v1/score-csv?text_column=answer", {"data": b"answer\ncaf\xe9\n", "content_type": "text/csv"}, 422, "UTF-8"),
])
def test_score_csv_errors(client, url, kwargs, status, fragment):
    assert_problem(client.post(url, **kwargs), status, fragment)


def test_labels_model_health(client):
    labels = client.get("/v1/labels").get_json()
    assert [c["id"] for c in labels["categories"]] == list(CATEGORIES)
    assert list(labels["recommendations"]) == list(RECOMMENDATIONS)
    model = client.get("/v1/model").get_json()
    assert model["metadata"]["corpus_sha256"] == "tiny"
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ready" and ready["model_version"] == model["model_version"]


def test_openapi_is_generated_and_covers_every_route(app, client):
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    routes = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith(("/v1", "/healthz", "/readyz"))}
    assert routes == set(doc["paths"])
    assert doc["paths"]["/v1/classify"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ClassifyRequest"}
    assert "thresholds" in doc["components"]["schemas"]["BatchRequest"]["properties"]
    text_schema = doc["components"]["schemas"]["ClassifyRequest"]["properties"]["text"]
    assert text_schema["maxLength"] == 20000 and text_schema["minLength"] == 1


def test_a_route_without_documentation_cannot_ship(app):
    """The document is generated from the routes: an undocumented route fails loudly, not silently."""
    from redflags.service.openapi import build_openapi

    app.add_url_rule("/v1/undocumented", "undocumented", lambda: "x")
    with pytest.raises(RuntimeError, match="/v1/undocumented"):
        build_openapi(app, auth=False)


def test_web_page_has_csp_and_no_inline_script(client):
    r = client.get("/")
    assert r.status_code == 200
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    html = r.get_data(as_text=True)
    assert "<script src=" in html and "<script>" not in html and "http" not in html.split("<body>")[0].replace("http-equiv", "")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/static/app.js").status_code == 200


def test_score_csv_row_limit_and_evidence_clash(app, client):
    app.config["MAX_CSV_ROWS"] = 2
    r = client.post("/v1/score-csv?text_column=t", data="t\na\nb\nc\n", content_type="text/csv")
    assert_problem(r, 413, "at most 2")
    r = client.post("/v1/score-csv?text_column=t&evidence=true", data="t,evidence\na,x\n", content_type="text/csv")
    assert_problem(r, 422, "already has column")


def test_score_csv_endpoint_escapes_formulas(client):
    body = 'answer\n"=cmd|\' /C calc\'!A0"\n'
    r = client.post("/v1/score-csv?text_column=answer", data=body, content_type="text/csv")
    assert r.status_code == 200
    assert "\n'=cmd" in r.get_data(as_text=True)
    raw = client.post("/v1/score-csv?text_column=answer&keep_formulas=true", data=body, content_type="text/csv")
    assert "\n=cmd" in raw.get_data(as_text=True)


def test_probabilities_have_one_format_in_every_csv(client, tmp_path, tiny_model_path):
    """The API's CSV and the command line's write probabilities the same way (four decimals)."""
    from redflags.batch.score import score_file

    body = "answer\nHe mocked my degree.\nFriendly panel.\n"
    api = pd.read_csv(io.StringIO(client.post("/v1/score-csv?text_column=answer", data=body,
                                              content_type="text/csv").get_data(as_text=True)), dtype=str)
    src = tmp_path / "in.csv"
    src.write_text(body)
    score_file(str(src), str(tmp_path / "out.csv"), text_column="answer", model_path=tiny_model_path, quiet=True)
    cli = pd.read_csv(tmp_path / "out.csv", dtype=str)
    for frame in (api, cli):
        assert frame["p_scam"].str.fullmatch(r"\d\.\d{4}").all(), frame["p_scam"].tolist()
