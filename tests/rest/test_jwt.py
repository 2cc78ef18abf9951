"""JWTs (HS256, the node's --jwt-hs256-secret-file) over REST: role and
tenant from the claims, and the tokens a node must refuse — expired, not yet
valid, badly signed, unsigned, without exp or sub, an unknown role: 401."""

import base64
import hashlib
import hmac
import json
import time

import pytest


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(secret, claims, alg="HS256", sign=True):
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = b64(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()) if sign else ""
    return f"{header}.{payload}.{signature}"


def claims(**extra):
    now = int(time.time())
    return {"sub": "alice", "role": "admin", "tenant": "default", "exp": now + 300, "iat": now, **extra}


def test_a_valid_token_names_its_caller(cluster):
    secret = cluster.keys.jwt_secret
    me = cluster.admin.with_key(token(secret, claims())).get("/api/v1/whoami", expect=200).json()
    assert me == {"role": "admin", "tenant": "default", "keyId": "jwt:alice"}
    me = cluster.admin.with_key(token(secret, claims(sub="bob", role="submitter", tenant="other"))).get(
        "/api/v1/whoami", expect=200).json()
    assert me == {"role": "submitter", "tenant": "other", "keyId": "jwt:bob"}


def test_token_roles_and_tenants_hold(cluster):
    secret = cluster.keys.jwt_secret
    viewer = cluster.admin.with_key(token(secret, claims(role="viewer")), "jwt viewer")
    before = cluster.task_total()
    viewer.post("/api/v1/tasks", {"taskType": "noop"}, expect=403)
    assert cluster.task_total() == before
    submitter = cluster.admin.with_key(token(secret, claims(role="submitter", tenant="other")), "jwt submitter")
    submitter.put("/api/v1/task-types/noop", {"executor": "local", "timeoutSeconds": 5}, expect=403)
    task_id = submitter.create("noop")["task"]["taskId"]
    cluster.viewer.get(f"/api/v1/tasks/{task_id}", expect=404)  # tenant default does not see it
    cluster.other_viewer.get(f"/api/v1/tasks/{task_id}", expect=200)


@pytest.mark.parametrize("make,what", [
    (lambda s: token(s, claims(exp=int(time.time()) - 120)), "expired"),
    (lambda s: token(s, claims(nbf=int(time.time()) + 3600)), "not yet valid"),
    (lambda s: token(s + "x", claims()), "signed with another secret"),
    (lambda s: token(s, claims(), alg="none", sign=False), "alg none, unsigned"),
    (lambda s: token(s, {k: v for k, v in claims().items() if k != "exp"}), "no exp"),
    (lambda s: token(s, {k: v for k, v in claims().items() if k != "sub"}), "no sub"),
    (lambda s: token(s, claims(role="root")), "unknown role"),
    (lambda s: token(s, {k: v for k, v in claims().items() if k != "tenant"}), "no tenant"),
    (lambda s: token(s, claims())[:-2], "truncated signature"),
    (lambda s: "eyJhbGciOiJIUzI1NiJ9.e30.", "garbage"),
])
def test_bad_tokens_are_401(cluster, make, what):
    api = cluster.admin.with_key(make(cluster.keys.jwt_secret), what)
    problem = api.get("/api/v1/whoami", expect=401).json()
    assert problem["code"] == "UNAUTHENTICATED", what
    before = cluster.task_total()
    api.post("/api/v1/tasks", {"taskType": "noop"}, expect=401)
    assert cluster.task_total() == before
