"""Schemathesis fuzzes the OpenAPI document: no 500, no answer that breaks its own schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kiln.auth.roles import Role
from kiln.clock import ManualClock
from kiln.config import load_settings
from kiln.runtime import Runtime, build_runtime
from kiln.server import create_app
from tests.api.conftest import issue_token
from tests.conftest import NOW_MS, small_city


@pytest.fixture(scope="module")
def fuzz_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    path = Path(tmp_path_factory.mktemp("fuzz")) / "kiln.duckdb"
    s = load_settings(
        environ={}, overrides={"store": {"path": str(path)}, "simulator": {"enabled": False}}
    )
    rt = build_runtime(s, clock=ManualClock(NOW_MS), simulate=False)
    rt.store.import_assets(small_city())
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def fuzz_token(fuzz_runtime: Runtime) -> str:
    return issue_token(fuzz_runtime, Role.ENTERPRISE_ADMIN, "acme-auto")


# A schema-valid body may still break a business rule (an unknown equipment, a weak password):
# those answer 4xx by design, so the positive-data and negative-data probes are left out.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_no_route_fails_or_breaks_its_schema(fuzz_runtime: Runtime, fuzz_token: str) -> None:
    app = create_app(fuzz_runtime, manage_runtime=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"authorization": f"Bearer {fuzz_token}"}
    tried = []
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path == "/api/v1/session" and op.method.upper() == "DELETE":
            continue  # signing out is not a thing a bearer token does

        @given(case=op.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        fuzz()
        tried.append(f"{op.method.upper()} {op.path}")
    assert len(tried) >= 15
