"""SCIM through `mims serve` (gunicorn, its own slapd) with a token from `mims token create`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

from bridge.directory.slapd import free_port
from tests.test_cli import MIMS, mims, wait_for


def test_mims_serve_answers_scim_with_a_token_it_made(tmp_path: Path) -> None:
    data = tmp_path / "d"
    http_port, ldap_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIMS_")} | {
        "HOME": str(tmp_path),
        "MIMS_DATA_DIR": str(data),
        "MIMS_LDAP_PORT": str(ldap_port),
    }
    process = subprocess.Popen(
        [*MIMS, "serve", "--port", str(http_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{http_port}"
        assert wait_for(f"{base}/readyz", timeout=30) == 200
        made = mims("token", "create", "--name", "smoke", env={**env, "HOME": str(tmp_path)})
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip()
        body = json.dumps(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "name": {"formatted": "Ann Lee"},
            }
        ).encode()
        request = urllib.request.Request(
            f"{base}/scim/v2/Users",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
            assert response.headers["Content-Type"] == "application/scim+json"
            assert json.load(response)["userName"] == "ann_lee@students.edu.sg"
        listing = urllib.request.Request(
            f"{base}/scim/v2/Users?filter=userName%20eq%20%22ann_lee@students.edu.sg%22",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(listing, timeout=10) as response:
            assert json.load(response)["totalResults"] == 1
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0
