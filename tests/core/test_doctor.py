"""The doctor's own checks with plain values: replication lag from CSNs, certificate dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.core import doctor
from tests.support.certificates import make_certificates

A = "20261205100000.000000Z#000000#001#000000"
A_LATER = "20261205100130.500000Z#000002#001#000000"
B = "20261205090000.000000Z#000000#002#000000"


@pytest.mark.parametrize(
    ("own", "theirs", "lag"),
    [
        ([A, B], [A, B], 0.0),
        ([A_LATER, B], [A, B], 90.5),
        ([A, B], [A_LATER, B], 90.5),
        ([A, B], [A], None),  # server 002's changes never reached the peer
        ([], [], 0.0),
    ],
)
def test_replication_lag_is_the_widest_gap_per_server(
    own: list[str], theirs: list[str], lag: float | None
) -> None:
    assert doctor.replication_lag(own, theirs) == lag


def test_replication_past_a_minute_is_a_warning() -> None:
    assert doctor.replication("ldaps://peer", [A, B], [A, B]).verdict == "ok"
    late = doctor.replication("ldaps://peer", [A_LATER, B], [A, B])
    assert (late.verdict, late.detail) == ("warn", "ldaps://peer: 90 s apart")
    assert doctor.replication("ldaps://peer", [A, B], [A]).verdict == "warn"


def test_a_certificate_by_its_days_left(tmp_path: Path) -> None:
    made = make_certificates(tmp_path, days=90)
    now = datetime.now(UTC)
    assert doctor.certificate("https", made.cert, now).verdict == "ok"
    assert doctor.certificate("https", made.cert, now + timedelta(days=70)).verdict == "warn"
    gone = doctor.certificate("https", made.cert, now + timedelta(days=91))
    assert (gone.verdict, gone.ok) == ("fail", False)
    assert doctor.certificate("https", made.key, now).detail.endswith("is not a PEM certificate")
    assert doctor.certificate("https", tmp_path / "none.pem", now).verdict == "fail"


def test_secret_files_by_their_mode(tmp_path: Path) -> None:
    tight, loose = tmp_path / "a.secret", tmp_path / "b.secret"
    tight.write_text("x")
    loose.write_text("x")
    tight.chmod(0o600)
    loose.chmod(0o640)
    assert doctor.secrets([tight, tmp_path / "absent.secret"]).verdict == "ok"
    found = doctor.secrets([tight, loose])
    assert (found.verdict, found.fix) == ("fail", f"chmod 600 {loose}")
