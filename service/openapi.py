"""OpenAPI 3.1 document generated from the pydantic schemas that validate the requests."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from redflags import __version__
from redflags.service.schemas import (BatchRequest, BatchResponse, ClassifyRequest, ClassifyResponse,
                                      HealthResponse, LabelsResponse, ModelResponse, Problem)

REF = "#/components/schemas/{model}"


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _problems(*codes: int) -> dict[str, Any]:
    return {str(code): {"description": "Problem details (RFC 9457)",
                        "content": {"application/problem+json": {"schema": _ref(Problem)}}} for code in codes}


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def build_openapi(auth: bool) -> dict[str, Any]:
    models = [ClassifyRequest, ClassifyResponse, BatchRequest, BatchResponse, Problem, LabelsResponse,
              ModelResponse, HealthResponse]
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    _, out_defs = models_json_schema([(m, "serialization") for m in models], ref_template=REF)
    schemas = {**out_defs.get("$defs", {}), **defs.get("$defs", {})}
    common = (401, 429) if auth else (429,)
    v1 = {"security": [{"ApiKey": []}, {"Bearer": []}]} if auth else {}
    paths = {
        "/v1/classify": {"post": {
            "summary": "Classify one anecdote", "operationId": "classify", **v1,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(ClassifyRequest)}}},
            "responses": {"200": _json(ClassifyResponse, "Red flags, scores and a recommendation"),
                          **_problems(400, 413, 415, 422, 503, *common)}}},
        "/v1/classify/batch": {"post": {
            "summary": "Classify up to 1,000 anecdotes; a bad item gets its own error", "operationId": "classifyBatch",
            **v1,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(BatchRequest)}}},
            "responses": {"200": _json(BatchResponse, "One result or error per item, in order"),
                          **_problems(400, 413, 415, 422, 503, *common)}}},
        "/v1/score-csv": {"post": {
            "summary": "Score a CSV of texts (raw body or an upload named `file`); returns the CSV with score "
                       "columns. At most REDFLAGS_MAX_CSV_ROWS rows (413 beyond).", "operationId": "scoreCsv", **v1,
            "parameters": [
                {"name": "text_column", "in": "query", "required": True, "schema": {"type": "string", "minLength": 1}},
                {"name": "evidence", "in": "query", "required": False, "schema": {"type": "string", "enum": ["true", "false"]}},
                {"name": "keep_formulas", "in": "query", "required": False,
                 "description": "true: write cells starting with = + - @ as they are (by default they get a "
                                "leading ' so a spreadsheet does not run them)",
                 "schema": {"type": "string", "enum": ["true", "false"]}}],
            "requestBody": {"required": True, "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                    "file": {"type": "string", "format": "binary"}}}}}},
            "responses": {"200": {"description": "The scored CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                          **_problems(400, 413, 415, 422, 503, *common)}}},
        "/v1/labels": {"get": {"summary": "The taxonomy", "operationId": "labels", **v1,
                               "responses": {"200": _json(LabelsResponse, "Categories and actions"),
                                             **_problems(*common)}}},
        "/v1/model": {"get": {"summary": "Model metadata and metrics", "operationId": "model", **v1,
                              "responses": {"200": _json(ModelResponse, "Metadata"), **_problems(503, *common)}}},
        "/healthz": {"get": {"summary": "Alive", "operationId": "healthz",
                             "responses": {"200": _json(HealthResponse, "The process is up")}}},
        "/readyz": {"get": {"summary": "Model loaded and verified", "operationId": "readyz",
                            "responses": {"200": _json(HealthResponse, "Ready"),
                                          "503": _json(HealthResponse, "Not ready, with the reason")}}},
    }
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "interview-redflags", "version": __version__,
                 "description": "Red flags in a candidate's account of an interview, with evidence and advice."},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    if auth:
        doc["components"]["securitySchemes"] = {
            "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "Bearer": {"type": "http", "scheme": "bearer"}}
    return doc
