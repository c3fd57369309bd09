"""Benchmark: checking 3 challenge answers against the raw Argon2id cost of 3 verifications.

Target (issue 7): ``verify_all`` costs no more than 10% over three raw
``Argon2id.verify_phc_encoded`` calls measured in the same run, with the production
parameters. Run: ``python -m bench.sspr_verify [--rounds N]``; exit 1 if over target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from bridge.core.challenges import DEFAULT_PARAMS, hash_answer, normalise, parse_stored, verify_all

ANSWERS = {"mother_maiden_name": "Lim", "favourite_colour": "Blue", "favourite_city": "Paris"}
TARGET = 1.10


def raw(phcs: list[str], answers: list[bytes]) -> None:
    for phc, answer in zip(phcs, answers, strict=True):
        try:
            Argon2id.verify_phc_encoded(answer, phc)
        except InvalidKey:
            pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds
    stored = [hash_answer(q, a, DEFAULT_PARAMS) for q, a in ANSWERS.items()]
    phcs = [parse_stored(value)[1] for value in stored]
    typed = [normalise(a).encode() for a in ANSWERS.values()]
    raw_times, bridge_times = [], []
    for _ in range(rounds):  # interleaved, so drift hits both alike
        started = time.perf_counter()
        raw(phcs, typed)
        raw_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert verify_all(stored, ANSWERS, 3, DEFAULT_PARAMS)
        bridge_times.append(time.perf_counter() - started)
    raw_ms = statistics.median(raw_times) * 1000
    bridge_ms = statistics.median(bridge_times) * 1000
    ratio = bridge_ms / raw_ms
    print(f"raw 3x Argon2id verify: {raw_ms:.1f} ms (median of {rounds})")
    print(f"verify_all, 3 answers:  {bridge_ms:.1f} ms")
    print(f"ratio: {ratio:.3f} (target <= {TARGET})")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
