"""A realistic synthetic roster of a Singapore-style school system, for demos, tests and bench.

Names follow the four main naming traditions (Chinese, Malay, Indian, Eurasian), with the
connector words (bin, binte, s/o, d/o) the login-ID rules drop, natural duplicates, a few very
long names, and staff and HQ officers beside the students. The same seed gives the same file.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

HEADER = (
    "external_id",
    "full_name",
    "role",
    "school",
    "level",
    "class",
    "given_name",
    "family_name",
)

_CHINESE_SURNAMES = (
    "Tan Lim Lee Ng Ong Wong Goh Chua Chan Koh Teo Ang Yeo Tay Ho Low Toh Sim Chong Chia".split()
)
_CHINESE_GIVEN = (
    "Wei Jun Hui Ling Mei Xin Yi Jia Hao Zhi Kai Min Qi Yu Rui En Xuan Han Ting Shu".split()
)
_MALAY_MALE = (
    "Muhammad Ahmad Irfan Hakim Haziq Danial Aiman Syafiq Faris Amir Rizwan Iskandar".split()
)
_MALAY_FEMALE = (
    "Nur Aisyah Siti Nurul Farah Aqilah Hidayah Sofea Alya Balqis Syahirah Nadia".split()
)
_MALAY_FATHERS = (
    "Abdullah Rahman Ismail Hassan Osman Yusof Ibrahim Salleh Hamid Kassim Rahim".split()
)
_INDIAN_MALE = "Rajesh Arjun Karthik Vikram Suresh Pranav Harish Naveen Ravi Dinesh Ganesh".split()
_INDIAN_FEMALE = (
    "Priya Kavya Divya Anjali Meena Lakshmi Shalini Deepa Nisha Revathi Sangeetha".split()
)
_INDIAN_FATHERS = (
    "Kumar Subramaniam Raman Krishnan Pillai Nair Menon Rajan Naidu Govindasamy".split()
)
_EURASIAN_GIVEN = (
    "Daniel Sarah Joshua Rachel Matthew Nicole Ryan Michelle Aaron Chloe Gabriel".split()
)
_EURASIAN_SURNAMES = (
    "De Souza|Pereira|Fernandez|D'Cruz|Rodrigues|De Silva|Oliveira|Schooling|Aeria".split("|")
)
_SCHOOL_WORDS = (
    "Clementi|Shuqun|Bukit Timah|Yishun|Tampines|Jurong|Bedok|Punggol|Sengkang|Woodlands|"
    "Pasir Ris|Ang Mo Kio|Hougang|Queenstown|Serangoon|Bishan|Kranji|Admiralty|Nanyang|Radin Mas"
).split("|")
_PRIMARY_LEVELS = ("P1", "P2", "P3", "P4", "P5", "P6")
_SECONDARY_LEVELS = ("S1", "S2", "S3", "S4")
_CLASS_LETTERS = "ABCDEFG"


def _name(rng: random.Random) -> tuple[str, str, str]:
    """Return (full name, given name, family name) from one of the four traditions."""
    tradition = rng.random()
    if tradition < 0.55:
        family = rng.choice(_CHINESE_SURNAMES)
        given = " ".join(rng.sample(_CHINESE_GIVEN, 2))
        return f"{family} {given}", given, family
    if tradition < 0.75:
        if rng.random() < 0.5:
            given = rng.choice(_MALAY_MALE) + " " + rng.choice(_MALAY_MALE)
            connector = "Bin"
        else:
            given = rng.choice(_MALAY_FEMALE) + " " + rng.choice(_MALAY_FEMALE)
            connector = rng.choice(("Binte", "Binti"))
        father = rng.choice(_MALAY_FATHERS)
        if rng.random() < 0.03:  # a long name: two fathers' names, as some families write them
            father += " " + rng.choice(_MALAY_FATHERS) + " " + rng.choice(_MALAY_FATHERS)
        return f"{given} {connector} {father}", given, father
    if tradition < 0.92:
        male = rng.random() < 0.5
        given = rng.choice(_INDIAN_MALE if male else _INDIAN_FEMALE)
        father = rng.choice(_INDIAN_FATHERS)
        connector = "s/o" if male else "d/o"
        return f"{given} {connector} {father}", given, father
    given = rng.choice(_EURASIAN_GIVEN)
    family = rng.choice(_EURASIAN_SURNAMES)
    return f"{given} {family}", given, family


def _schools(count: int, rng: random.Random) -> list[tuple[str, tuple[str, ...]]]:
    schools: list[tuple[str, tuple[str, ...]]] = []
    for index in range(count):
        primary = index % 3 != 2
        word = _SCHOOL_WORDS[index % len(_SCHOOL_WORDS)]
        kind = "Primary School" if primary else "Secondary School"
        name = f"{word} {kind}" if index < len(_SCHOOL_WORDS) else f"{word} {kind} {index}"
        schools.append((name, _PRIMARY_LEVELS if primary else _SECONDARY_LEVELS))
    rng.shuffle(schools)
    return schools


def rows(people: int, seed: int = 2026) -> Iterator[tuple[str, ...]]:
    """Yield roster rows (see HEADER): about 92% students, 7% school staff, 1% HQ."""
    rng = random.Random(seed)
    schools = _schools(max(1, people // 800), rng)
    for number in range(1, people + 1):
        full, given, family = _name(rng)
        school, levels = rng.choice(schools)
        draw = rng.random()
        if draw < 0.92:
            level = rng.choice(levels)
            group = f"{level[1]}{rng.choice(_CLASS_LETTERS[:5])}"
            yield (f"T{number:07d}", full, "student", school, level, group, given, family)
        elif draw < 0.99:
            yield (f"F{number:07d}", full, "staff", school, "", "", given, family)
        else:
            yield (f"H{number:07d}", full, "hq", "", "", "", given, family)
