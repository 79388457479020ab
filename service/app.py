"""Flask application factory: settings, the model (loaded once per worker), the API, the web page."""
from __future__ import annotations

import hashlib
import hmac
import logging
from importlib.resources import files
from pathlib import Path
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request, send_from_directory
from flask_limiter import Limiter
from werkzeug.middleware.proxy_fix import ProxyFix

from redflags.config import Settings
from redflags.model.inputs import MAX_TEXT_CHARS
from redflags.model.artifact import ArtifactError, load_predictor
from redflags.model.taxonomy import CATEGORY_LIST
from redflags.service import api, problems
from redflags.service.openapi import build_openapi, documented
from redflags.service.schemas import HealthResponse

log = logging.getLogger("redflags.service")
# Swagger UI's files as the pinned flask-swagger-ui package ships them, served by us: /docs works offline.
SWAGGER_UI_DIST = files("flask_swagger_ui") / "dist"

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Defaults from REDFLAGS_* settings, then `test_config` (which may hand in a ready PREDICTOR)."""
    settings = Settings.from_env()
    app = Flask(__name__)
    app.json.sort_keys = False  # keep taxonomy and response order as documented
    app.config.from_mapping(
        MODEL_PATH=str(settings.model_path),
        API_KEYS=list(settings.api_keys),
        RATE_LIMIT=settings.rate_limit,
        RATELIMIT_ENABLED=True,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        MAX_BATCH_ITEMS=settings.max_batch_items,
        MAX_CSV_ROWS=settings.max_csv_rows,
        TRUSTED_PROXIES=settings.trusted_proxies,
        ENCODER_THREADS=settings.encoder_threads,
        PREDICTOR=None,
    )
    if test_config:
        app.config.update(test_config)
    _init_logging(settings.log_level)
    if app.config["TRUSTED_PROXIES"]:
        # Behind N reverse proxies the client is the Nth address from the right of X-Forwarded-For;
        # without this every client would share the proxy's address (and its rate limit).
        n = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    _attach_model(app)
    problems.init_app(app)
    api.init_request_logging(app)
    _init_limiter(app)   # before auth, so failed key attempts are counted too
    _init_auth(app)
    app.register_blueprint(api.bp)
    _register_site(app)
    return app


def _init_logging(level: str) -> None:
    """Give the `redflags` loggers a handler: gunicorn's error log when served by gunicorn (which
    configures only its own loggers), else standard error."""
    logger = logging.getLogger("redflags")
    logger.setLevel(level.upper())
    if logger.handlers:
        return
    handlers = logging.getLogger("gunicorn.error").handlers
    if not handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handlers = [handler]
    for handler in handlers:
        logger.addHandler(handler)


def _attach_model(app: Flask) -> None:
    state: dict[str, Any] = {"predictor": app.config["PREDICTOR"], "load_error": ""}
    if state["predictor"] is None:
        try:
            model = load_predictor(Path(app.config["MODEL_PATH"]), encoder_threads=app.config["ENCODER_THREADS"])
            model.embed   # an encoder-mode model builds its encoder now (per worker), not in the first request
            state["predictor"] = model
            log.info("model %s (%s) loaded from %s", model.version, model.features, app.config["MODEL_PATH"])
        except (ArtifactError, ImportError) as exc:   # ImportError: the encoder's files (EncoderUnavailable)
            state["load_error"] = str(exc)
            log.error("model refused: %s", exc)
    app.extensions["redflags"] = state


def _presented_key() -> str:
    """The API key a request carries: X-API-Key, else an `Authorization: Bearer` token."""
    given = request.headers.get("X-API-Key", "")
    auth = request.headers.get("Authorization", "")
    if not given and auth.lower().startswith("bearer "):
        given = auth[7:].strip()
    return given


def _valid_key(given: str) -> bool:
    keys = current_app.config["API_KEYS"]
    return bool(given) and any(hmac.compare_digest(given.encode(), k.encode()) for k in keys)


def _init_auth(app: Flask) -> None:
    if not app.config["API_KEYS"]:
        return

    @app.before_request
    def _require_key():
        if not request.path.startswith("/v1/") or _valid_key(_presented_key()):
            return None
        return problems.problem(401, "A valid API key is required: send X-API-Key or Authorization: Bearer.",
                                headers={"WWW-Authenticate": 'Bearer realm="redflags"'})


def _client_key() -> str:
    """Rate-limit per configured API key, else per client address: an unknown or made-up key is
    counted against the address, so inventing keys does not escape the limit."""
    given = _presented_key()
    if _valid_key(given):  # the limiter's storage sees a digest, never the key itself
        return "key:" + hashlib.sha256(given.encode()).hexdigest()[:32]
    return f"addr:{request.remote_addr}"


def _init_limiter(app: Flask) -> None:
    limiter = Limiter(key_func=_client_key, app=app, default_limits=[],
                      storage_uri=app.config.get("RATELIMIT_STORAGE_URI", "memory://"),
                      headers_enabled=True, enabled=app.config["RATELIMIT_ENABLED"])
    # Applies to every /v1 route; kept per limiter, so each app made by the factory has its own.
    limiter.limit(app.config["RATE_LIMIT"])(api.bp)


def _register_site(app: Flask) -> None:
    @app.get("/healthz")
    @documented(summary="Alive", responses={200: (HealthResponse, "The process is up")})
    def healthz():
        return {"status": "ok"}

    @app.get("/readyz")
    @documented(summary="Model loaded and verified",
                responses={200: (HealthResponse, "Ready"), 503: (HealthResponse, "Not ready, with the reason")})
    def readyz():
        state = app.extensions["redflags"]
        if state["predictor"] is None:  # the reason (with file paths) is in the server log, not shown here
            return jsonify(status="not ready", detail="No verified model is loaded; the server log says why."), 503
        return {"status": "ready", "model_version": state["predictor"].version}

    @app.get("/openapi.json")
    @documented(summary="This document", hidden=True, responses={200: (None, "OpenAPI 3.1")})
    def openapi():
        return build_openapi(app, auth=bool(app.config["API_KEYS"]))

    @app.get("/docs")
    @documented(summary="Readable API documentation (Swagger UI over /openapi.json)", hidden=True,
                responses={200: (None, "HTML")})
    def docs():
        return render_template("docs.html")

    @app.get("/docs/assets/<path:filename>")
    @documented(summary="Swagger UI's files", hidden=True, responses={200: (None, "A static file")})
    def docs_asset(filename):
        return send_from_directory(str(SWAGGER_UI_DIST), filename, max_age=86400)

    @app.get("/")
    @documented(summary="The web page", hidden=True, responses={200: (None, "HTML")})
    def index():
        return render_template("index.html", max_chars=MAX_TEXT_CHARS, needs_key=bool(app.config["API_KEYS"]),
                               max_csv_rows=app.config["MAX_CSV_ROWS"], categories=CATEGORY_LIST)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if response.mimetype == "text/html":
            response.headers["Content-Security-Policy"] = CSP
        if request.path.startswith("/v1/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
