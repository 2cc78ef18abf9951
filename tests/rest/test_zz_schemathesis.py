"""A bounded property-based run of schemathesis against the node's own
/api/v1/openapi.json with the admin key: no 5xx, every status documented,
every body and content type as documented. Runs last (it creates, cancels and
retries at random). REST_ST_EXAMPLES (default 50) bounds the cases per
operation, REST_ST_SEED (default fixed) makes it reproducible; REST_ST_SEED=random
draws a new one."""

import os
import subprocess
import sys
from pathlib import Path

import harness

# Left out: the SSE route (a stream that lasts as long as its task; its
# schema is a string) — test_events.py covers it.
EXCLUDED = ["/api/v1/tasks/{taskId}/events"]
# One worker: with two, hypothesis's lambda-description cache races between
# the threads now and then (a KeyError inside hypothesis, not a finding).
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_schemathesis_run(cluster):
    st = Path(sys.executable).parent / "st"
    report = harness.LOG_DIR / "schemathesis"
    report.mkdir(parents=True, exist_ok=True)
    # The repository's document (test_document.py checks the node serves the same).
    argv = [str(st), "--config-file", str(Path(__file__).parent / "schemathesis.toml"), "run", str(harness.REPO / "openapi" / "openapi.json"), "--url", cluster.base,
            "-H", f"Authorization: Bearer {cluster.keys.admin}",
            "--checks", CHECKS, "--mode", "all", "--phases", "examples,coverage,fuzzing,stateful",
            "--max-examples", os.environ.get("REST_ST_EXAMPLES", "50"),
            "--workers", "1", "--request-timeout", "15",
            "--generation-database", "none", "--generation-with-security-parameters", "false",
            "--suppress-health-check", "all", "--no-color", "--output-truncate", "true",
            "--report", "junit", "--report-dir", str(report)]
    seed = os.environ.get("REST_ST_SEED", "20260501")
    if seed != "random":
        argv += ["--seed", seed]
    excluded = list(EXCLUDED)
    served = cluster.anonymous.get("/api/v1/openapi.json", check=False)
    if served.status_code == 404 and "no OpenAPI document" in served.text:
        excluded.append("/api/v1/openapi.json")  # a build without the embedded document (test_document.py skips too)
    for path in excluded:
        argv += ["--exclude-path", path]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=int(os.environ.get("REST_ST_TIMEOUT", "300")), cwd=str(report),
                            env=harness.child_env(SCHEMATHESIS_HOOKS=""))
    (report / "output.txt").write_text(result.stdout + result.stderr)
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-80:])
    assert result.returncode == 0, f"schemathesis failed (full output: {report / 'output.txt'}):\n{tail}"
