"""The OpenAPI 3.1 document, generated from the app's routes and the pydantic schemas that validate them.

Each API view carries its `Operation` (set by `@documented`); `build_openapi(app)` walks the URL map, so a
route cannot exist without its documentation, and the request and response schemas are the very
pydantic models that validate requests.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from redflags import __version__
from redflags.service.schemas import Problem

REF = "#/components/schemas/{model}"
UNDOCUMENTED = {"static"}   # Flask's static files; HTML pages are documented as hidden operations


@dataclass(frozen=True)
class Operation:
    summary: str
    responses: dict[int, tuple[type[BaseModel] | None, str]]   # status -> (JSON schema or None, description)
    request: type[BaseModel] | None = None                     # a JSON body validated by this model
    request_content: dict[str, Any] | None = None               # any other body, as OpenAPI content
    response_content: dict[int, dict[str, Any]] = field(default_factory=dict)   # non-JSON responses
    parameters: tuple[dict[str, Any], ...] = ()
    problems: tuple[int, ...] = ()                             # problem+json statuses besides auth and rate limit
    secured: bool = False                                      # behind the API key and the rate limit
    hidden: bool = False                                       # a page for people, not part of the API


def documented(**spec: Any) -> Callable:
    """Attach an Operation to a Flask view: `@documented(summary=..., responses={200: (Model, "...")})`."""
    operation = Operation(**spec)

    def mark(view: Callable) -> Callable:
        view.openapi = operation
        return view
    return mark


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _operation(name: str, op: Operation, auth: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": op.summary, "operationId": name}
    if op.secured and auth:
        out["security"] = [{"ApiKey": []}, {"Bearer": []}]
    if op.parameters:
        out["parameters"] = list(op.parameters)
    if op.request is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(op.request)}}}
    elif op.request_content:
        out["requestBody"] = {"required": True, "content": op.request_content}
    responses: dict[str, Any] = {}
    for status, (model, description) in op.responses.items():
        content = op.response_content.get(status) or (
            {"application/json": {"schema": _ref(model)}} if model is not None else None)
        responses[str(status)] = {"description": description, **({"content": content} if content else {})}
    codes = [*op.problems, *(((401, 429) if auth else (429,)) if op.secured else ())]
    for code in sorted(set(codes)):
        responses.setdefault(str(code), {"description": "Problem details (RFC 9457)",
                                         "content": {"application/problem+json": {"schema": _ref(Problem)}}})
    out["responses"] = responses
    return out


def operations(app: Flask) -> list[tuple[str, str, str, Operation | None]]:
    """(path, method, endpoint, Operation or None) for every route of the app but static files."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in UNDOCUMENTED:
            continue
        view = app.view_functions[rule.endpoint]
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((path, method.lower(), rule.endpoint, getattr(view, "openapi", None)))
    return found


def build_openapi(app: Flask, auth: bool) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    models: set[type[BaseModel]] = {Problem}
    for path, method, endpoint, op in operations(app):
        if op is None:
            raise RuntimeError(f"route {path} ({endpoint}) has no @documented operation")
        if op.hidden:
            continue
        name = endpoint.rsplit(".", 1)[-1]
        paths.setdefault(path, {})[method] = _operation(re.sub(r"_(\w)", lambda m: m.group(1).upper(), name), op, auth)
        models.update(m for m, _ in op.responses.values() if m is not None)
        if op.request is not None:
            models.add(op.request)
    ordered = sorted(models, key=lambda m: m.__name__)
    _, defs = models_json_schema([(m, "validation") for m in ordered], ref_template=REF)
    _, out_defs = models_json_schema([(m, "serialization") for m in ordered], ref_template=REF)
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "interview-redflags", "version": __version__,
                 "description": "Red flags in a candidate's account of an interview, with evidence and advice."},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": {**out_defs.get("$defs", {}), **defs.get("$defs", {})}},
    }
    if auth:
        doc["components"]["securitySchemes"] = {
            "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "Bearer": {"type": "http", "scheme": "bearer"}}
    return doc
