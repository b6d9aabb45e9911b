"""schemathesis against `/openapi.json`: every operation, bounded, over a real socket.

Each operation gets a few generated cases (the API's own bodies and invalid ones); every
answer must match the document and none may be a server error. Bounded to a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from e2e.support import Platforms

from .support import HEADERS, Served, serve_config

pytestmark = pytest.mark.slow
EXAMPLES = 6  # per operation: enough to cross every branch's validation, seconds in all


def test_the_api_keeps_its_openapi_document(tmp_path: Path, platforms: Platforms) -> None:
    config = serve_config(tmp_path, platforms, serve={"rate_per_second": 10_000})
    with config.open("a", encoding="utf-8") as out:
        out.write("\n[serve.sms]\n")  # its webhook and listing are in the document too
    served = Served(config, env={"TWILIO_AUTH_TOKEN": "schema-test-sms-token"})
    try:
        schema = schemathesis.openapi.from_url(f"{served.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 9
        for operation in operations:
            _check(operation, served.url)
    finally:
        code = served.stop()
    assert code == 0, served.stderr()
    assert "Traceback" not in served.stderr()


def _check(operation: object, base_url: str) -> None:
    strategy = operation.as_strategy()  # type: ignore[attr-defined]

    @given(case=strategy, data=st.data())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case, data: st.DataObject) -> None:
        response = case.call(base_url=base_url, headers=HEADERS)
        assert response.status_code < 500, (case.method, case.path, response.text)
        # A schema cannot say which strings are valid phone numbers: a well-formed body may
        # be refused (422 invalid_phone), so that one check is left out.
        case.validate_response(response, excluded_checks=[positive_data_acceptance])

    run()
