"""flaskr-style fixture chain: app (tiny model handed in) -> client."""
import pytest

from redflags.service.app import create_app


@pytest.fixture
def app(tiny_predictor):
    return create_app({"PREDICTOR": tiny_predictor, "TESTING": True, "RATELIMIT_ENABLED": False})


@pytest.fixture
def client(app):
    return app.test_client()
