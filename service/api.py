"""The /v1 API: classify one text, a batch, or a CSV; the taxonomy; the model's metadata."""
from __future__ import annotations

import io
import logging
import time

from flask import Blueprint, Response, current_app, g, request
from pydantic import BaseModel, ValidationError

from redflags.batch.frame import (FrameError, escape_formulas, output_columns, probabilities_as_text,
                                  read_csv_bytes, score_frame)
from redflags.model.inputs import InputError, parse_threshold
from redflags.model.modes import feature_modes
from redflags.model.predict import Predictor
from redflags.model.taxonomy import CATEGORIES, CATEGORY_LIST, RECOMMENDATION_MEANING
from redflags.service.openapi import documented
from redflags.service.problems import ApiProblem, validation_errors
from redflags.service.schemas import (BatchItem, BatchRequest, BatchResponse, ClassifyRequest, ClassifyResponse,
                                      LabelsResponse, ModelResponse)

bp = Blueprint("api", __name__, url_prefix="/v1")
log = logging.getLogger("redflags.api")


def predictor() -> Predictor:
    """The model loaded in the factory; 503 while there is none (missing or refused artifact)."""
    model = current_app.extensions["redflags"]["predictor"]
    if model is None:
        raise ApiProblem(503, "No verified model is loaded; the server log says why.")
    return model


def json_body(schema: type[BaseModel]) -> BaseModel:
    """Parse and validate a JSON body: 415 for another content type, 400 for bad JSON, 422 for bad fields."""
    if not request.is_json:
        raise ApiProblem(415, f"Send the body as application/json (got {request.mimetype or 'no content type'}).")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiProblem(400, "The body is not valid JSON.")
    if not isinstance(data, dict):
        raise ApiProblem(422, "The body must be a JSON object.")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        summary, errors = validation_errors(exc)
        raise ApiProblem(422, f"Invalid request: {summary}", errors) from None


def _record(n_texts: int, chars: int) -> None:
    # Sizes only: the text itself is never logged.
    g.redflags_log = {"texts": n_texts, "chars": chars}


@bp.post("/classify")
@documented(summary="Classify one anecdote", request=ClassifyRequest, secured=True,
            responses={200: (ClassifyResponse, "Red flags, scores, evidence and a recommendation")},
            problems=(400, 413, 415, 422, 503))
def classify():
    req = json_body(ClassifyRequest)
    model = predictor()
    _record(1, len(req.text))
    context = req.context.model_dump() if req.context else None
    # The schema has validated everything predict() checks: a ValueError here is a bug, answered 500.
    prediction = model.predict([req.text], context=context, evidence=req.evidence, thresholds=req.thresholds)[0]
    return prediction.to_dict()


@bp.post("/classify/batch")
@documented(summary="Classify up to 1,000 anecdotes; a bad item gets its own error", request=BatchRequest,
            secured=True, responses={200: (BatchResponse, "One result or error per item, in order")},
            problems=(400, 413, 415, 422, 503))
def classify_batch():
    max_items = current_app.config["MAX_BATCH_ITEMS"]
    data = request.get_json(silent=True) if request.is_json else None
    if request.is_json and data is not None and isinstance(data, dict) and isinstance(data.get("items"), list) \
            and len(data["items"]) > max_items:
        raise ApiProblem(422, f"A batch holds at most {max_items} items; got {len(data['items'])}.")
    req = json_body(BatchRequest)
    model = predictor()
    results, texts, positions = [], [], []
    for index, raw in enumerate(req.items):
        item_id = raw.get("id") if isinstance(raw.get("id"), (str, int)) and not isinstance(raw.get("id"), bool) else None
        try:
            item = BatchItem.model_validate(raw)
        except ValidationError as exc:
            summary, _ = validation_errors(exc)
            results.append({"index": index, "id": item_id, "result": None, "error": {"detail": summary}})
            continue
        results.append({"index": index, "id": item.id, "result": None, "error": None})
        texts.append(item.text)
        positions.append(index)
    _record(len(texts), sum(map(len, texts)))
    context = req.context.model_dump() if req.context else None
    for index, prediction in zip(positions, model.predict(texts, context=context, evidence=req.evidence,
                                                           thresholds=req.thresholds)):
        results[index]["result"] = prediction.to_dict()
    errors = sum(1 for r in results if r["error"])
    return {"model_version": model.version, "count": len(results), "errors": errors, "results": results}


@bp.post("/score-csv")
@documented(
    summary="Score a CSV of texts (raw body or an upload named `file`); returns the CSV with score columns. "
            "At most REDFLAGS_MAX_CSV_ROWS rows (413 beyond).", secured=True,
    parameters=(
        {"name": "text_column", "in": "query", "required": True, "schema": {"type": "string", "minLength": 1}},
        {"name": "evidence", "in": "query", "required": False, "schema": {"type": "string", "enum": ["true", "false"]}},
        {"name": "threshold", "in": "query", "required": False, "style": "form", "explode": True,
         "description": "CATEGORY=P overrides one category's threshold (repeatable), as `thresholds` in /v1/classify",
         "schema": {"type": "array", "items": {"type": "string", "pattern": rf"^({'|'.join(CATEGORIES)})=(0(\.[0-9]{{1,6}})?|1(\.0{{1,6}})?)$"}}},
        {"name": "keep_formulas", "in": "query", "required": False,
         "description": "true: write cells starting with = + - @ as they are (by default they get a leading ' so "
                        "a spreadsheet does not run them)", "schema": {"type": "string", "enum": ["true", "false"]}}),
    request_content={"text/csv": {"schema": {"type": "string"}},
                     "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                         "file": {"type": "string", "format": "binary"}}}}},
    responses={200: (None, "The scored CSV; headers X-Row-Count and X-Rows-Not-Scored count its rows")}, response_content={200: {"text/csv": {"schema": {"type": "string"}}}},
    problems=(400, 413, 415, 422, 503))
def score_csv():
    """A CSV as the raw body (text/csv) or as a multipart upload named `file`; returns the scored CSV."""
    text_column = request.args.get("text_column") or request.form.get("text_column")
    if not text_column:
        raise ApiProblem(422, "Say which column holds the text: text_column=NAME (query or form field).")
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ApiProblem(422, "The multipart body has no part named 'file'.")
        raw = upload.read()
    elif request.mimetype in {"text/csv", "application/csv", "text/plain"}:
        raw = request.get_data()
    else:
        raise ApiProblem(415, f"Send a CSV as text/csv or multipart/form-data (got {request.mimetype or 'none'}).")
    try:
        thresholds = dict(parse_threshold(t) for t in request.args.getlist("threshold"))
    except InputError as exc:
        raise ApiProblem(422, f"Invalid threshold: {exc}") from None
    model = predictor()
    evidence = request.args.get("evidence") == "true"
    try:
        frame = read_csv_bytes(raw, text_column, evidence=evidence)
    except FrameError as exc:
        raise ApiProblem(422, str(exc)) from None
    limit = current_app.config["MAX_CSV_ROWS"]
    if len(frame) > limit:
        raise ApiProblem(413, f"The CSV has {len(frame)} rows; this endpoint takes at most {limit}. "
                              "Score larger files with `redflags score`.")
    _record(len(frame), int(frame[text_column].astype(str).str.len().sum()))
    scored = score_frame(model, frame, text_column, evidence=evidence, thresholds=thresholds)
    if request.args.get("keep_formulas") != "true":
        scored = escape_formulas(scored)
    buffer = io.StringIO()
    probabilities_as_text(scored).to_csv(buffer, index=False, columns=output_columns(frame.columns, evidence=evidence))
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="scored.csv"',
                             "X-Row-Count": str(len(scored)), "X-Rows-Not-Scored": str(int((scored["error"] != "").sum()))})


@bp.get("/labels")
@documented(summary="The taxonomy", secured=True, responses={200: (LabelsResponse, "Categories and actions")})
def labels():
    return {
        "categories": [{"id": c.id, "title": c.title, "description": c.description, "severity": c.severity}
                       for c in CATEGORY_LIST],
        "recommendations": dict(RECOMMENDATION_MEANING),
    }


@bp.get("/model")
@documented(summary="Model metadata and metrics", secured=True, responses={200: (ModelResponse, "Metadata")},
            problems=(503,))
def model_info():
    model = predictor()
    return {"model_version": model.version, "features": model.features, "metadata": model.metadata,
            "modes": feature_modes()}


def init_request_logging(app) -> None:
    """One log line per API request: method, path, status, duration and sizes; never the text."""

    @app.before_request
    def _start():
        g.redflags_started = time.perf_counter()

    @app.after_request
    def _log(response):
        if request.path.startswith("/v1/"):
            took = (time.perf_counter() - g.get("redflags_started", time.perf_counter())) * 1000
            sizes = g.get("redflags_log", {})
            log.info("%s %s %s %.1fms texts=%s chars=%s", request.method, request.path, response.status_code,
                     took, sizes.get("texts", 0), sizes.get("chars", 0))
        return response
