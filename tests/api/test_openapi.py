"""The OpenAPI document is honest (issue 9 item 11, R-OPS-8): unique schema names, every error
response declared with the problem schema, each operation's permission stated, limits as the
server enforces them."""

from __future__ import annotations

import json
import typing
from collections import defaultdict

import pytest
from ninja.responses import NinjaJSONEncoder
from pydantic import BaseModel

from safeguard.accounts import rbac
from safeguard.accounts.api_guards import Access
from safeguard.api import api, error_statuses
from safeguard.web.pagination import MAX_LIMIT

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _operations():
    return [(op, method.lower())
            for router in api._get_bound_routers()
            for view in router.path_operations.values()
            for op in view.operations
            for method in op.methods]


def _models(tp, seen):
    """Every pydantic model reachable from a type annotation."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp in seen:
            return
        seen.add(tp)
        for field in tp.model_fields.values():
            _models(field.annotation, seen)
        return
    for arg in typing.get_args(tp):
        _models(arg, seen)


@pytest.fixture(scope="module")
def document():
    """The document as clients read it (JSON: status keys are strings)."""
    return json.loads(json.dumps(api.get_openapi_schema(path_prefix="/api/v1/"),
                                 cls=NinjaJSONEncoder))


def test_no_two_schemas_share_a_name():
    # given every model an operation reads or answers with (ninja's wrappers excluded)
    seen: set[type[BaseModel]] = set()
    for op, _ in _operations():
        for model in op.models:
            _models(model, seen)
        for response in op.response_models.values():
            _models(response, seen)
    by_name: dict[str, set[str]] = defaultdict(set)
    for model in seen:
        if model.__module__.startswith("safeguard."):
            by_name[model.__name__].add(f"{model.__module__}.{model.__qualname__}")
    # then each name names one class: the document's components cannot silently overwrite one
    assert len(by_name) > 30
    assert {name: where for name, where in by_name.items() if len(where) > 1} == {}


def test_api_tokens_document_the_api_token_schema(document):
    schemas = document["components"]["schemas"]
    listing = document["paths"]["/api/v1/tokens"]["get"]["responses"]["200"]
    assert listing["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiTokenPage"}
    assert schemas["ApiTokenPage"]["properties"]["items"]["items"] == {
        "$ref": "#/components/schemas/ApiTokenOut"}
    assert {"prefix", "scopes", "user_email", "status"} <= set(
        schemas["ApiTokenOut"]["properties"])
    assert "prefix" not in schemas["TokenOut"]["properties"]  # the vault's token, unchanged


def test_every_operation_declares_its_errors_with_the_problem_schema(document):
    operations = {api.get_openapi_operation_id(op): op for op, _ in _operations()}
    assert len(operations) >= 25
    checked = 0
    for path, methods in document["paths"].items():
        for method, details in methods.items():
            op = operations[details["operationId"]]
            declared = {int(s) for s in details["responses"] if int(s) >= 400}
            # every operation can be refused (401, 403) and every refusal is a problem
            assert {400, 401, 403} <= declared, (path, method)
            assert declared >= error_statuses(op, method, path)
            if details.get("requestBody"):
                assert {404, 409, 413, 422} <= declared, (path, method)
            for status in declared:
                content = details["responses"][str(status)]["content"]
                assert content == {"application/problem+json": {"schema": PROBLEM_REF}}
            checked += 1
    assert checked == len(operations)
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status"}
    assert problem["additionalProperties"] is True


def test_every_operation_states_its_permission(document):
    # given each operation's declaration (the one the deny-by-default test checks)
    declared = {api.get_openapi_operation_id(op): op.auth_callbacks[0] for op, _ in _operations()}
    for methods in document["paths"].values():
        for details in methods.values():
            access = declared[details["operationId"]]
            assert isinstance(access, Access)
            # then the document names it in its description, security and x-permission
            assert details["x-permission"] == access.permission
            assert rbac.is_known(access.permission)
            if access.permission != rbac.AUTHENTICATED:
                assert details["description"].startswith(
                    f"**Permission:** `{access.permission}`")
            assert all(list(req.values()) == [[access.permission]]
                       for req in details["security"])
            assert details["x-step-up"] is access.needs_step_up
            assert ("**step-up:**" in details["description"]) is access.needs_step_up
            if access.people_only:
                assert details["security"] == [{"staffSession": [access.permission]}]


def test_sensitive_operations_document_their_step_up(document):
    paths = document["paths"]
    assert paths["/api/v1/tokens"]["post"]["x-step-up"] is True
    assert paths["/api/v1/customers/{customer_id}/reveal"]["post"]["x-step-up"] is True
    assert paths["/api/v1/customers/approvals/{approval_id}/decide"]["post"]["x-step-up"] is True
    assert paths["/api/v1/protection/keys/rotate"]["post"]["x-step-up"] is True
    assert paths["/api/v1/protection/tokens/{token}/detokenize"]["post"]["x-step-up"] is True
    assert paths["/api/v1/cases/"]["get"]["x-step-up"] is False


def test_page_sizes_are_documented_as_enforced(document):
    # every "limit" parameter of a cursor listing is bounded as web.pagination refuses
    limits = {path: p["schema"] for path, methods in document["paths"].items()
              for details in methods.values() for p in details["parameters"]
              if p["name"] == "limit"}
    assert set(limits) >= {"/api/v1/tokens", "/api/v1/customers/approvals", "/api/v1/cases/",
                           "/api/v1/audit/events"}
    for path, schema in limits.items():
        assert schema["minimum"] == 1, path
        assert schema["maximum"] == (500 if path == "/api/v1/audit/events" else MAX_LIMIT), path


@pytest.mark.django_db
def test_a_malformed_uuid_in_an_api_path_is_a_problem_not_an_html_page(client):
    # ninja's uuid converter does not match, so Django answers 404 itself
    response = client.get("/api/v1/customers/null,null/verifications")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/not-found")
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
