"""Phase "sspr": the portal's ``reset/verify`` rate against raw Argon2id checks of three answers.

Set-up (untimed): `mims answers preset` gives every child of one P1-P3 school level pre-set
answers (the school's own tool; Argon2id hashes in the directory), and each of those children
gets a reset ticket from ``POST /sspr/api/reset/start``.

Timed, 8 concurrent clients on each side, up to 50 children (fewer in small directories),
each once (at 4-10 verifies a second on two cores, that is a few seconds a side):

- bridge: ``POST /sspr/api/reset/verify`` with the three right answers (200 and a reset
  token): the JSON API reads the person's answers from the directory, checks all three, reads
  the entry again for the token's version, and signs the token;
- raw: three ``Argon2id.verify_phc_encoded`` calls (the `cryptography` package, the same
  stored hashes and parameters the bridge uses: ``bench.sspr_verify.raw``), in threads of one
  process (Argon2id releases the GIL, so both cores work, as the bridge's two workers do).

Informative: the bridge's own check is held to 10% over raw by ``python -m bench.sspr_verify``
(issue 7); this row shows what HTTP, the directory and the portal add around it.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load import drive
from bench.phases.context import Context, PhaseResult
from bench.population import Populated
from bench.raw_ldap import RawLdap
from bench.report import Measurement, Samples
from bench.scim_client import ScimClient
from bench.sspr_verify import raw as raw_verify
from bench.workspace import BenchError
from bridge.config import load_config
from bridge.core.challenges import normalise, parse_stored

CLIENTS = 8
PRESET_LEVELS = ("P1", "P2", "P3")


@dataclass(frozen=True)
class Asked:
    """A child with pre-set answers: the ticket to verify and the answers by question id."""

    login_id: str
    ticket: str
    answers: dict[str, str]


@dataclass(frozen=True)
class Stored:
    """The same child as the raw side sees them: PHC strings and the typed answers."""

    phcs: list[str]
    typed: list[bytes]


def wanted(people: int) -> int:
    """Return how many children to verify: 50, fewer in small directories."""
    return max(20, min(50, people // 200))


def run(ctx: Context) -> PhaseResult:
    """Preset answers for one school level, then time verifies through the portal and raw."""
    pop = ctx.population.ready(ctx)
    count = wanted(len(pop.people))
    school, level, size = _level(ctx.workspace.root / "roster.csv", count)
    ctx.progress(f"sspr: mims answers preset for {school} {level} ({size} children)")
    answers = list(_preset(ctx, pop, school, level).items())[:count]
    portal = _portal(pop)
    try:
        asked = [_ask(portal, login, given) for login, given in answers]
    finally:
        portal.close()
    stored = _stored(pop, asked)
    bridge = drive(asked, _verify, lambda: _portal(pop), CLIENTS)
    raw = drive(stored, _raw, _NoConnection, CLIENTS)
    ctx.progress(f"sspr: reset/verify bridge {bridge.rate:.1f}/s, raw {raw.rate:.1f}/s")
    row = Measurement(
        "sspr",
        f"SSPR reset/verify (3 answers), {CLIENTS} clients",
        Samples((bridge.rate,)),
        Samples((raw.rate,)),
        "3 Argon2id verifies",
        unit="/s",
        extra={
            "bridge_p50_ms": round(bridge.percentile_ms(0.5), 2),
            "raw_p50_ms": round(raw.percentile_ms(0.5), 2),
        },
    )
    details: dict[str, Any] = {
        "school": school,
        "level": level,
        "people": len(asked),
        "preset_children": size,
        "bridge": bridge.as_json(),
        "raw": raw.as_json(),
    }
    return PhaseResult([row], details)


def _level(roster: Path, least: int) -> tuple[str, str, int]:
    """Return the smallest P1-P3 school level with at least ``least`` children (the largest
    if none has that many): preset hashes every child of the level, which takes a while.
    """
    sizes: Counter[tuple[str, str]] = Counter()
    with roster.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["role"] == "student" and row["level"] in PRESET_LEVELS and row["school"]:
                sizes[(row["school"], row["level"])] += 1
    if not sizes:
        raise BenchError(f"{roster} has no P1-P3 children to give answers to")
    enough = [(n, key) for key, n in sizes.items() if n >= least]
    n, (school, level) = min(enough) if enough else max((n, key) for key, n in sizes.items())
    return school, level, n


def _preset(ctx: Context, pop: Populated, school: str, level: str) -> dict[str, dict[str, str]]:
    """Run `mims answers preset`; return {login ID: {question id: answer}} from its CSV."""
    ws = ctx.workspace
    out = ws.root / "answers.csv"
    command = ctx.mims("answers", "preset", "--school", school, "--level", level, "--out", str(out))
    ws.check(ws.run(command, ws.root / "preset.log", env=pop.bridge.env), "mims answers preset")
    ids = {q.text: q.id for q in load_config(env=pop.bridge.env).sspr.questions}
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    questions = [ids[text] for text in rows[0][3:]]
    return {row[0]: dict(zip(questions, row[3:], strict=True)) for row in rows[1:] if row}


def _portal(pop: Populated) -> ScimClient:
    return ScimClient(pop.bridge.url("/sspr/api"), {})


def _ask(portal: ScimClient, login_id: str, answers: dict[str, str]) -> Asked:
    """Start a reset as the child would; keep the ticket and the answers it asks for."""
    started = portal.post("/reset/start", {"loginId": login_id}).expect(200)
    asked = [question["id"] for question in started["questions"]]
    if sorted(asked) != sorted(answers):
        raise BenchError(f"{login_id} was asked {asked}, but has answers for {list(answers)}")
    return Asked(login_id, started["ticket"], answers)


def _verify(portal: ScimClient, asked: Asked) -> None:
    found = portal.post("/reset/verify", {"ticket": asked.ticket, "answers": asked.answers})
    if not found.expect(200).get("resetToken"):
        raise BenchError(f"no reset token for {asked.login_id}")


def _stored(pop: Populated, asked: list[Asked]) -> list[Stored]:
    """Read each child's stored hashes as the bridge does, and pair them with the answers."""
    raw = RawLdap(pop.account)
    try:
        found = []
        for one in asked:
            [entry] = raw.find_person("mail", one.login_id, ["mimsChallengeAnswer"])
            values = [v.decode() for v in entry["raw_attributes"]["mimsChallengeAnswer"]]
            pairs = [parse_stored(value) for value in values]
            found.append(
                Stored(
                    phcs=[phc for _, phc in pairs],
                    typed=[normalise(one.answers[question]).encode() for question, _ in pairs],
                )
            )
        return found
    finally:
        raw.close()


def _raw(_: _NoConnection, stored: Stored) -> None:
    raw_verify(stored.phcs, stored.typed)


class _NoConnection:
    """Raw verification needs no connection; the load driver wants something to close."""

    def close(self) -> None:
        pass
