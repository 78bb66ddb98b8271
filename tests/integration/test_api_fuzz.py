"""A bounded property-based fuzz of the whole JSON API (issue 12): schemathesis generates requests
for every operation of the OpenAPI document, valid and invalid ones, and sends them to the WSGI app
in-process. Pass: no 5xx, and every status code, content type, header and body the server answers
is one the document declares. Bounded and repeatable: EXAMPLES per operation, derandomized (the
same requests on every run), as a caller who reaches every route (a national admin, auditor and
designer), on one world of two organizations with a running plan each."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.api.blueprint import OPENAPI
from service.auth import SYSTEM_ROLES, actor_for_token
from service.commands import admin

from .world import World, build

#: Examples per operation: 20 keeps the run near 30 s of CPU (under a minute on a loaded 2-core
#: machine); PHAEN_FUZZ_EXAMPLES=200 digs deeper, by hand, with the same derandomized start.
EXAMPLES = int(os.environ.get("PHAEN_FUZZ_EXAMPLES", "20"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def world(tmp_path_factory, postgres) -> Iterator[World]:
    made = build(tmp_path_factory.mktemp("fuzz"), postgres)
    admin.add_user(made.ctx, "fuzzer", None, list(SYSTEM_ROLES))
    yield made
    made.ctx.db.dispose()


@pytest.fixture(scope="module")
def credential(world):
    """The fuzzer's bearer header; a new token when a generated DELETE /tokens/{id} revoked its own."""
    token = {"value": admin.issue_token(world.ctx, "fuzzer")}

    def headers() -> dict[str, str]:
        with world.ctx.db.read() as session:
            if actor_for_token(session, token["value"], world.clock.now()) is None:
                token["value"] = admin.issue_token(world.ctx, "fuzzer")
        return {"Authorization": f"Bearer {token['value']}"}

    return headers


#: The document as served (test_openapi.py checks that it is), read eagerly: schemathesis's lazy
#: loading from a fixture does not run on this pytest. Each case is bound to the world's app.
schema = schemathesis.openapi.from_path(OPENAPI)
schemathesis.serializer.alias("application/zip", "application/octet-stream")  # a bundle's zip: bytes as they are


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented_and_never_5xx(case, world, credential):
    case.call_and_validate(headers=credential(), checks=CHECKS, app=world.app)  # in-process: no network
