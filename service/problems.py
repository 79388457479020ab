"""RFC 9457 problem+json responses, so every error says what was wrong in a body a client can parse."""
from __future__ import annotations

from http import HTTPStatus

from flask import Flask, Response, json
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE = "application/problem+json"


class ApiProblem(Exception):
    """Raise in a view to answer with a problem document."""

    def __init__(self, status: int, detail: str, errors: list[dict] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors, headers or {}


def problem(status: int, detail: str, errors: list[dict] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def validation_errors(exc: ValidationError) -> tuple[str, list[dict]]:
    """A one-line summary and a list of {field, message}, without echoing the submitted text."""
    errors = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        message = err["msg"]
        if err["type"] == "string_pattern_mismatch":
            message = "must contain at least one non-space character"
        errors.append({"field": where, "message": message})
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return summary, errors


_FRIENDLY = {
    404: "No such endpoint. See /docs (or /openapi.json) for the API.",
    405: "This method is not allowed on this endpoint.",
    415: "Unsupported content type.",
}


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiProblem)
    def _api_problem(exc: ApiProblem):
        return problem(exc.status, exc.detail, exc.errors, exc.headers)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        detail = _FRIENDLY.get(status) or exc.description or HTTPStatus(status).phrase
        if status == 413:
            detail = f"The request body is larger than the limit of {app.config['MAX_CONTENT_LENGTH']} bytes."
        response = problem(status, detail)
        if status == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        if status == 429:  # flask-limiter adds Retry-After (headers_enabled)
            response = problem(429, f"Rate limit exceeded ({exc.description}). Retry later.")
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error (%s)", type(exc).__name__)
        return problem(500, "Internal error. The request was not processed; it is safe to retry.")
