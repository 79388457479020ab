"""Real servers for end-to-end tests: gunicorn on a free loopback port, with the model given."""
import pytest

from tests.e2e.server import running


@pytest.fixture(scope="session")
def server(tiny_model_path, tmp_path_factory):
    yield from running(tiny_model_path, tmp_path_factory.mktemp("gunicorn") / "server.log")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (rep_setup, rep_call, rep_teardown), so a fixture can tell
    whether the test failed, e.g. to save a screenshot of the browser."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
