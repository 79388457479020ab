"""Real servers for end-to-end tests: gunicorn on a free loopback port, with the model given."""
import pytest

from tests.e2e.server import Server


@pytest.fixture(scope="session")
def server(tiny_model_path, tmp_path_factory):
    srv = Server(tiny_model_path, tmp_path_factory.mktemp("gunicorn") / "server.log")
    try:
        srv.wait()
        yield srv
    finally:
        srv.stop()
