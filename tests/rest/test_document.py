"""The OpenAPI document itself: valid OpenAPI 3.1, the routes of
docs/rest-api.md, the proto messages' fields, and what the node serves."""

import re

import pytest
from openapi_spec_validator import validate

import openapi_check
from conftest import CHECKER

REPO = openapi_check.REPO
DOC = CHECKER.doc
METHODS = ("get", "post", "put", "delete", "patch")


def test_document_is_valid_openapi_31():
    assert DOC["openapi"].startswith("3.1")
    validate(DOC)


def doc_routes():
    """(METHOD, path) of every row of the route table in docs/rest-api.md."""
    text = (REPO / "docs" / "rest-api.md").read_text()
    routes = set()
    for line in text.splitlines():
        match = re.match(r"^\|\s*(GET|POST|PUT|DELETE|PATCH)\s*\|\s*`([^`]+)`", line)
        if match:
            routes.add((match.group(1), match.group(2).split("?")[0]))
    return routes


def test_every_route_of_the_docs_is_in_the_document_and_back():
    documented = {(m.upper(), p) for p, item in DOC["paths"].items() for m in item if m in METHODS}
    table = doc_routes()
    assert len(table) >= 20
    assert table - documented == set(), "in docs/rest-api.md, not in openapi.json"
    assert documented - table == set(), "in openapi.json, not in docs/rest-api.md"


def operations():
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method.upper(), path, op


def test_every_operation_documents_its_errors():
    for method, path, op in operations():
        codes = set(op["responses"])
        if op.get("security") == []:
            continue  # the document itself: open
        assert "401" in codes, f"{method} {path}: 401"
        if method in ("POST", "PUT", "DELETE"):
            assert {"400", "403", "415"} <= codes, f"{method} {path}: 400/403/415"
            assert "requestBody" in op, f"{method} {path}: a JSON body (or an optional one) so clients send the content type"
        if "{taskId}" in path or "{taskType}" in path:
            assert "400" in codes, f"{method} {path}: 400 for a malformed path parameter"
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")):
                target = CHECKER.resolve(response)
                assert list(target["content"]) == ["application/problem+json"], f"{method} {path} {code}"


def test_request_bodies_refuse_unknown_fields():
    schemas = DOC["components"]["schemas"]
    for method, path, op in operations():
        body = op.get("requestBody")
        if not body:
            continue
        ref = body["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        assert schemas[ref].get("additionalProperties") is False, f"{method} {path}: {ref}"


def test_sse_route_answers_an_event_stream():
    op = DOC["paths"]["/api/v1/tasks/{taskId}/events"]["get"]
    assert list(op["responses"]["200"]["content"]) == ["text/event-stream"]


# --- proto messages and their JSON schemas ----------------------------------------

def proto_messages():
    """{message: {jsonName: (label, type)}} of proto/baton/v1/*.proto (flat messages only)."""
    messages = {}
    for path in sorted((REPO / "proto" / "baton" / "v1").glob("*.proto")):
        text = re.sub(r"//[^\n]*", "", path.read_text())
        for name, body in re.findall(r"\bmessage\s+(\w+)\s*\{([^{}]*)\}", text):
            fields = {}
            for label, ftype, fname in re.findall(
                    r"(repeated\s+|optional\s+)?(map<\s*\w+\s*,\s*[\w.]+\s*>|[\w.]+)\s+(\w+)\s*=\s*\d+\s*;", body):
                camel = re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), fname)
                fields[camel] = (label.strip(), ftype.replace(" ", ""))
            messages[name] = fields
    return messages


# schema -> (proto message, fields the REST shape leaves out: the path carries them)
MIRRORS = {
    "Task": ("Task", set()),
    "CreateTaskRequest": ("CreateTaskRequest", set()),
    "CreateTaskResponse": ("CreateTaskResponse", set()),
    "BatchCreateTasksRequest": ("BatchCreateTasksRequest", set()),
    "BatchCreateTasksResponse": ("BatchCreateTasksResponse", set()),
    "GetTaskResponse": ("GetTaskResponse", set()),
    "ListTasksResponse": ("ListTasksResponse", set()),
    "CancelTaskRequest": ("CancelTaskRequest", set()),
    "CancelTaskResponse": ("CancelTaskResponse", set()),
    "RetryTaskRequest": ("RetryTaskRequest", set()),
    "RetryTaskResponse": ("RetryTaskResponse", set()),
    "TaskFilter": ("TaskFilter", set()),
    "BulkTasksRequest": ("BulkTasksRequest", set()),
    "BulkTasksResponse": ("BulkTasksResponse", set()),
    "TaskLog": ("TaskLog", set()),
    "GetTaskLogsResponse": ("GetTaskLogsResponse", set()),
    "WorkerInfo": ("WorkerInfo", set()),
    "UnservedTaskType": ("UnservedTaskType", set()),
    "GetStatsResponse": ("GetStatsResponse", set()),
    "TaskConfig": ("TaskConfig", set()),
    "TaskConfigInput": ("TaskConfig", set()),
    "ListTaskConfigsResponse": ("ListTaskConfigsResponse", set()),
    "Schedule": ("Schedule", set()),
    "ScheduleInput": ("Schedule", set()),
    "ListSchedulesResponse": ("ListSchedulesResponse", set()),
}
SCALARS = {"string": "string", "bool": "boolean", "int32": "integer", "int64": "Int64", "uint64": "Int64",
           "google.protobuf.Timestamp": "Timestamp", "Priority": "Priority", "TaskStatus": "TaskStatus",
           # Typed arguments: any JSON object (the document's Args schema).
           "google.protobuf.Struct": "Args"}


def compatible(got, want):
    return got == want or (want == "string" and got in ("string", "TaskId", "TaskType", "ScheduleId"))


def kind(schema):
    """'Int64', 'Timestamp', 'Task', ... for a $ref (through allOf), else the JSON type."""
    if "allOf" in schema:
        schema = schema["allOf"][0]
    if "$ref" in schema:
        return schema["$ref"].split("/")[-1]
    return schema.get("type")


@pytest.mark.parametrize("schema_name", sorted(MIRRORS))
def test_schema_mirrors_its_proto_message(schema_name):
    messages = proto_messages()
    message, left_out = MIRRORS[schema_name]
    fields = messages[message]
    props = DOC["components"]["schemas"][schema_name]["properties"]
    assert set(props) == set(fields) - left_out, f"{schema_name} vs {message}"
    for name, (label, ftype) in fields.items():
        if name in left_out:
            continue
        schema = props[name]
        if ftype.startswith("map<"):
            assert kind(schema) in ("object", "StringMap", "Payload"), f"{schema_name}.{name}: a map is an object"
            value = ftype[:-1].split(",")[1]
            inner = schema if "additionalProperties" in schema else DOC["components"]["schemas"][kind(schema)]
            assert compatible(kind(inner["additionalProperties"]), SCALARS.get(value, value)), f"{schema_name}.{name} values"
        elif label == "repeated":
            assert kind(schema) == "array", f"{schema_name}.{name}: repeated is an array"
            assert compatible(kind(schema["items"]), SCALARS.get(ftype, ftype)), f"{schema_name}.{name} items"
        else:
            got, want = kind(schema), SCALARS.get(ftype, ftype)
            assert compatible(got, want), f"{schema_name}.{name}: {got}, want {want}"
        # Proto JSON omits defaults: nothing in a response is required.
        assert name not in DOC["components"]["schemas"][schema_name].get("required", []) or schema_name.endswith(
            ("Request", "Input", "Body")), f"{schema_name}.{name} required"


# --- what the node serves ---------------------------------------------------------

def test_node_serves_this_document_without_a_key(cluster):
    response = cluster.anonymous.get("/api/v1/openapi.json", check=False)
    if response.status_code == 404 and "no OpenAPI document in this build" in response.text:
        pytest.skip("this build embeds no OpenAPI document yet (scripts/embed-web.py)")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == DOC, "the node's embedded copy differs from openapi/openapi.json (scripts/embed-web.py?)"
