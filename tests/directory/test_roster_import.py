"""The roster importer's namesakes, against the session's slapd, batch by batch."""

from __future__ import annotations

import ldap3
import pytest

from bridge.core import roster
from bridge.core.people import NewPerson
from bridge.directory import dn, roster_import
from bridge.directory.bulk import BulkWriter
from bridge.directory.client import LdapClient
from bridge.directory.people import PeopleStore
from bridge.directory.roster_import import Importer

HEADER = "external_id,full_name,role,school,level,class,login_id\n"


def _rows(store: PeopleStore, lines: str) -> list[roster.Row | roster.Rejected]:
    return list(roster.read((HEADER + lines).splitlines(keepends=True), store.rules))


@pytest.mark.parametrize("read_all_at", [100, 1], ids=["searched by name", "all uids read"])
def test_namesakes_across_batches_runs_and_a_concurrent_add_get_distinct_login_ids(
    people_store: PeopleStore,
    directory: LdapClient,
    monkeypatch: pytest.MonkeyPatch,
    read_all_at: int,
) -> None:
    # Batches of two, one worker: the importer remembers each name's suffixes from one batch
    # to the next, and must not trust that memory over the directory, whether it read the
    # names it needed or every uid at once.
    monkeypatch.setattr(roster_import, "READ_ALL_AT", read_all_at)
    importer = Importer(people_store, BulkWriter(directory), workers=1, batch_size=2)
    pupil = "Tan Mei Ling,student,Clementi Primary School,P4,4A"
    batches = 0

    def between_batches(_: int) -> None:
        # The first report comes once the second batch is written (its groups are joined
        # while the next batch is): another writer (SCIM) then takes the suffix the third
        # batch would guess.
        nonlocal batches
        batches += 1
        if batches == 1:
            teacher = NewPerson(
                full_name="Tan Mei Ling", role="staff", school="Clementi Primary School"
            )
            assert str(people_store.create(teacher).login_id) == "tan_mei_ling_4@schools.gov.sg"

    chosen = "Chosen One,student,Clementi Primary School,P4,4A,tan_mei_ling_8@students.edu.sg"
    rows = _rows(
        people_store,
        f"S1,{pupil},\nS2,{pupil},\n"  # tan_mei_ling, tan_mei_ling_1
        f"S3,{pupil},\nS4,{pupil},\n"  # _2, _3
        f"S5,{pupil},\nS6,{pupil},\n"  # _4 was taken meanwhile (refused, then retried)
        f"S7,{chosen}\nS8,{pupil},\n",  # a chosen ID above the count: namesakes go past it
    )
    summary = importer.run(rows, on_progress=between_batches)
    assert (summary.created, summary.rejected) == (8, 0)
    again = Importer(people_store, BulkWriter(directory), workers=1, batch_size=2)
    assert again.run(_rows(people_store, f"S9,{pupil},\n")).created == 1

    logins = {str(p.external_id): p.login_id.local for p in people_store.iter_people()}
    assert logins.pop("None") == "tan_mei_ling_4"  # the teacher
    assert {logins.pop("S5"), logins.pop("S6")} == {"tan_mei_ling_5", "tan_mei_ling_6"}
    assert logins == {
        "S1": "tan_mei_ling",
        "S2": "tan_mei_ling_1",
        "S3": "tan_mei_ling_2",
        "S4": "tan_mei_ling_3",
        "S7": "tan_mei_ling_8",
        "S8": "tan_mei_ling_9",
        "S9": "tan_mei_ling_10",
    }


def test_a_namesake_in_a_later_batch_is_not_sent_under_a_login_id_this_run_took(
    people_store: PeopleStore, directory: LdapClient, admin: ldap3.Connection
) -> None:
    # slapd refused the second Quek Boon Hwa's first choice, taken by the first a batch earlier:
    # one refused add per repeated name (8,081 in an import of 40,000).
    importer = Importer(people_store, BulkWriter(directory), workers=1, batch_size=2)
    school = "student,Clementi Primary School,P4,4A"
    rows = _rows(
        people_store,
        f"Q1,Quek Boon Hwa,{school},\nQ2,Ong Li Ting,{school},\n"
        f"Q3,Quek Boon Hwa,{school},\nQ4,Quek Boon Hwa,{school},\n",
    )
    assert importer.run(rows).created == 4
    logins = {str(p.external_id): p.login_id.local for p in people_store.iter_people()}
    assert [logins[q] for q in ("Q1", "Q3", "Q4")] == [
        "quek_boon_hwa",
        "quek_boon_hwa_1",
        "quek_boon_hwa_2",
    ]
    first_choice = dn.person_dn("quek_boon_hwa", "student", people_store.suffix)
    admin.search(
        "cn=accesslog",
        f"(&(objectClass=auditAdd){dn.equals('reqDN', first_choice)})",
        ldap3.LEVEL,
        attributes=["reqResult"],
    )
    assert [entry["attributes"]["reqResult"] for entry in admin.response] == [["0"]]


def _member_modifies(admin: ldap3.Connection, group: str) -> list[int]:
    """Return, for each modify of the group's members the accesslog holds, its member count."""
    admin.search(
        "cn=accesslog",
        f"(&(objectClass=auditModify){dn.equals('reqDN', group)})",
        ldap3.LEVEL,
        attributes=["reqMod"],
    )
    return [
        sum(1 for change in entry["attributes"]["reqMod"] if change.startswith("member:+"))
        for entry in admin.response
    ]


def _members(admin: ldap3.Connection, group: str) -> int:
    admin.search(group, "(objectClass=*)", ldap3.BASE, attributes=["member"])
    return len(admin.response[0]["attributes"].get("member", []))


def test_a_class_spread_over_batches_joins_its_group_in_one_modify_before_the_last_report(
    people_store: PeopleStore, directory: LdapClient, admin: ldap3.Connection
) -> None:
    # (Schools of their own: the accesslog keeps the other tests' modifies.)
    # A roster in no set order gives a class one pupil per batch; one modify per group per
    # batch cost slapd ~0.3 ms each (38,636 of them for 40,000 people).
    importer = Importer(people_store, BulkWriter(directory), workers=1, batch_size=2)
    level = "student,Woodgrove Primary School,P4"
    rows = _rows(
        people_store,
        "".join(f"A{i},Pupil A{i},{level},4A,\nB{i},Pupil B{i},{level},4B,\n" for i in range(3)),
    )
    class_4a = dn.group_dn("Woodgrove Primary School / P4 / 4A", people_store.suffix)
    seen_at_reports: list[int] = []
    summary = importer.run(
        rows, on_progress=lambda _: seen_at_reports.append(_members(admin, class_4a))
    )
    assert summary.created == 6
    assert seen_at_reports == [0, 0, 3]  # held, and all in before the last batch is reported
    assert _member_modifies(admin, class_4a) == [3]
    school = dn.group_dn("Woodgrove Primary School", people_store.suffix)
    assert _member_modifies(admin, school) == [6]


def test_a_group_with_a_modify_s_worth_of_new_members_joins_them_at_once(
    people_store: PeopleStore, directory: LdapClient, admin: ldap3.Connection
) -> None:
    # Held members wait for a full modify (50), not for the end of the run.
    importer = Importer(people_store, BulkWriter(directory), workers=2, batch_size=60)
    level = "student,Bukit Batok West Primary School,P4,4A"
    rows = _rows(people_store, "".join(f"P{i},Pupil Number {i},{level},\n" for i in range(70)))
    class_4a = dn.group_dn("Bukit Batok West Primary School / P4 / 4A", people_store.suffix)
    seen_at_reports: list[int] = []
    summary = importer.run(
        rows, on_progress=lambda _: seen_at_reports.append(_members(admin, class_4a))
    )
    assert summary.created == 70
    assert seen_at_reports == [60, 70]
    assert sorted(_member_modifies(admin, class_4a)) == [10, 10, 50]


def test_one_read_of_every_uid_finds_the_suffixes_already_in_use(
    people_store: PeopleStore,
    directory: LdapClient,
    admin: ldap3.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # From READ_ALL_AT names at once the importer reads every uid instead of searching by name:
    # the suffixes made before the run (by SCIM, another import) must be in that read.
    monkeypatch.setattr(roster_import, "READ_ALL_AT", 2)
    school = "Clementi Primary School"
    for name in ("Lim Wei Jie", "Lim Wei Jie", "Lim Wei Jie", "Goh Siew Ling", "Goh Siew Ling"):
        people_store.create(NewPerson(full_name=name, role="staff", school=school))
    pupils = "".join(
        f"{name[:3].upper()}{n},{name},student,{school},P4,4A,\n"
        for name in ("Lim Wei Jie", "Goh Siew Ling")
        for n in range(2)
    )
    importer = Importer(people_store, BulkWriter(directory), workers=1, batch_size=10)
    assert importer.run(_rows(people_store, pupils)).created == 4
    logins = {str(p.external_id): p.login_id.local for p in people_store.iter_people()}
    assert [logins[k] for k in ("LIM0", "LIM1", "GOH0", "GOH1")] == [
        "lim_wei_jie_3",
        "lim_wei_jie_4",
        "goh_siew_ling_2",
        "goh_siew_ling_3",
    ]
    # Each guess landed: none was sent under a suffix the read should have shown taken.
    taken_before = ("lim_wei_jie_1", "lim_wei_jie_2", "goh_siew_ling_1")
    sent = [
        dn.equals("reqDN", dn.person_dn(uid, "student", people_store.suffix))
        for uid in taken_before
    ]
    admin.search("cn=accesslog", f"(&(objectClass=auditAdd)(|{''.join(sent)}))", ldap3.LEVEL)
    assert admin.response == []
