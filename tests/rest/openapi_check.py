"""Checks each response against openapi/openapi.json: its status is one the
operation documents, its content type is the documented one, and its body
validates against the documented schema — strictly: an object may hold only
the properties the document names (a snake_case name or a field the document
forgot fails), timestamps are in the proto JSON form."""

import copy
import json
import re
from pathlib import Path

import jsonschema
import referencing

REPO = Path(__file__).resolve().parents[2]
DOC_PATH = REPO / "openapi" / "openapi.json"
DOC_URI = "urn:baton:openapi"

# What the proto JSON mapping writes for a google.protobuf.Timestamp: UTC, 0, 3, 6 or 9 fractional digits.
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$")
STATUS_CODES = {400: {"INVALID_ARGUMENT", "OUT_OF_RANGE"}, 401: {"UNAUTHENTICATED"}, 403: {"PERMISSION_DENIED"},
                404: {"NOT_FOUND"}, 413: {"RESOURCE_EXHAUSTED"}, 415: {"INVALID_ARGUMENT"}, 409: {"FAILED_PRECONDITION", "ABORTED", "ALREADY_EXISTS"}, 429: {"RESOURCE_EXHAUSTED"},
                499: {"CANCELLED"}, 500: {"INTERNAL", "UNKNOWN", "DATA_LOSS"}, 501: {"UNIMPLEMENTED"}, 503: {"UNAVAILABLE"},
                504: {"DEADLINE_EXCEEDED"}}

format_checker = jsonschema.FormatChecker()


@format_checker.checks("date-time")
def _date_time(value):
    return not isinstance(value, str) or bool(TIMESTAMP.match(value))


def load():
    return json.loads(DOC_PATH.read_text())


def strict(doc):
    """The document with `additionalProperties: false` on every object schema that does not say otherwise."""
    doc = copy.deepcopy(doc)

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc["components"]["schemas"])
    return doc


class Checker:
    def __init__(self, doc=None):
        self.doc = doc or load()
        self.strict_doc = strict(self.doc)
        resource = referencing.Resource.from_contents(self.strict_doc, default_specification=referencing.jsonschema.DRAFT202012)
        self.registry = referencing.Registry().with_resource(DOC_URI, resource)
        self.routes = []
        for template, item in self.doc["paths"].items():
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            self.routes.append((re.compile(pattern), template, item))
        # Literal paths win over templates (/tasks/batch before /tasks/{taskId}).
        self.routes.sort(key=lambda route: route[1].count("{"))
        self.seen = set()  # (method, template, status) checked

    def operation(self, method, path):
        for pattern, template, item in self.routes:
            if pattern.match(path) and method.lower() in item:
                return template, item[method.lower()]
        return None, None

    def resolve(self, node):
        while "$ref" in node:
            pointer = node["$ref"].removeprefix("#/").split("/")
            target = self.doc
            for part in pointer:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def pointer(self, template, method, status, media):
        esc = lambda s: s.replace("~", "~0").replace("/", "~1")  # noqa: E731
        return f"#/paths/{esc(template)}/{method.lower()}/responses/{status}/content/{esc(media)}/schema"

    def check(self, method, path, status, content_type, body_text):
        """Returns a list of problems (empty when the response conforms)."""
        template, operation = self.operation(method, path)
        if operation is None:
            return [f"{method} {path}: no such operation in the document"]
        responses = operation["responses"]
        key = str(status)
        if key not in responses:
            return [f"{method} {template}: status {status} is not documented (documented: {', '.join(responses)})"]
        self.seen.add((method.upper(), template, status))
        response = self.resolve(responses[key])
        content = response.get("content", {})
        media = (content_type or "").split(";")[0].strip().lower()
        if not content:
            return [] if not body_text else [f"{method} {template} {status}: a body where none is documented"]
        if media not in content:
            return [f"{method} {template} {status}: content type {content_type!r}, documented {', '.join(content)}"]
        if media == "text/event-stream":
            return []
        try:
            body = json.loads(body_text)
        except ValueError as error:
            return [f"{method} {template} {status}: body is not JSON ({error}): {body_text[:200]!r}"]
        if responses[key].get("$ref"):
            ref = responses[key]["$ref"].removeprefix("#/")
            parts = ref.split("/")
            schema_ref = "#/" + "/".join(parts) + "/content/" + media.replace("/", "~1") + "/schema"
        else:
            schema_ref = self.pointer(template, method, key, media)
        validator = jsonschema.Draft202012Validator({"$ref": DOC_URI + schema_ref}, registry=self.registry,
                                                     format_checker=format_checker)
        problems = [f"{method} {template} {status}: {'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
                    for e in validator.iter_errors(body)]
        if media == "application/problem+json" and isinstance(body, dict):
            if body.get("status") != status:
                problems.append(f"{method} {template}: problem status {body.get('status')} != HTTP {status}")
            if status in STATUS_CODES and body.get("code") not in STATUS_CODES[status]:
                problems.append(f"{method} {template}: problem code {body.get('code')} does not map to HTTP {status}")
        return problems
