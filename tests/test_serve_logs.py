"""`idp serve` with [logging] format = "json" and the access log on: every line on
stderr is one JSON object, and each response's request id is in its access line."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx

from tests.servers.idp_nodes import IdpNode, idp_environ


def test_json_logs_have_an_access_line_per_request(tmp_path: Path) -> None:
    node = IdpNode(
        "json-logs",
        tmp_path,
        idp_environ(tmp_path, {"IDP_LOGGING_FORMAT": "json"}),
        access_log=True,
    )
    stderr = tmp_path / "stderr.log"
    with open(stderr, "wb") as out:
        process = subprocess.Popen(
            node.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=out,
            **node.popen_options(),
        )
    try:
        deadline = time.monotonic() + 30
        while not node.ready():
            assert process.poll() is None and time.monotonic() < deadline, stderr.read_text()
            time.sleep(0.05)
        with httpx.Client(base_url=node.url) as client:
            answers = [
                client.get("/jwks"),
                client.get("/no/such/page", headers={"Accept-Language": "nl"}),
                client.post("/token", data={"grant_type": "client_credentials"}),  # fast path
            ]
    finally:
        process.terminate()
        process.wait(15)

    entries = [json.loads(line) for line in stderr.read_text().splitlines()]
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys(), entry
    access = {e["request_id"]: e for e in entries if e["logger"] == "idp.access"}
    for answer in answers:
        request_id = answer.headers["x-request-id"]
        line = access[request_id]
        assert (line["method"], line["path"], line["status"]) == (
            answer.request.method,
            answer.request.url.path,
            answer.status_code,
        )
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert "Referentie: " + answers[1].headers["x-request-id"] in answers[1].text
    assert any(e["logger"].startswith("uvicorn") for e in entries)  # uvicorn's own lines too
