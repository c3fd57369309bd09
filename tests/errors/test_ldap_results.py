"""Every LDAP result code -> domain error row, walked through each way the bridge meets it.

The rows are read from ``bridge.directory.errors.RESULTS``; the test checks that every code
either LDAP library can report has a row, that ldap3 exceptions, python-ldap details and ldap3
result dicts all land on that row, and that no driver text reaches an error's words. The
second half provokes the refusals a real slapd gives and checks the domain error it becomes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import ldap
import ldap3
import pytest
from ldap3.core import exceptions as ldap3_errors

from bridge.directory import controls, dn, ppolicy
from bridge.directory.client import LdapClient
from bridge.directory.errors import (
    PPOLICY_FAILURES,
    PPOLICY_REFUSALS,
    RESULTS,
    UNIQUE,
    UNKNOWN,
    DirectoryError,
    Row,
    error_for_code,
    error_for_result,
    raise_for_password_result,
    translated,
)
from bridge.directory.passwords import write_password
from bridge.errors import (
    AlreadyExists,
    BridgeError,
    InvalidValue,
    NameTaken,
    NotFound,
    PolicyViolation,
    PreconditionFailed,
)
from tests.support.directory import SUFFIX

DRIVER_TEXT = "slapd-internal-diagnostic 0xdeadbeef"
# RFC 4511 section 4.1.9 and appendix A: every result code a server may send (0 is success).
RFC_4511 = {
    1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 32, 33, 34, 36, 48,
    49, 50, 51, 52, 53, 54, 64, 65, 66, 67, 68, 69, 71, 80,
}  # fmt: skip
SLAPD_EXTRAS = {118, 119, 120, 121, 122, 123, 4096}  # cancel, assertion, proxy authz, syncrepl
ROWS = sorted(RESULTS.items())


def _python_ldap_codes() -> set[int]:
    return {
        kind.errnum
        for kind in vars(ldap).values()
        if isinstance(kind, type) and issubclass(kind, ldap.LDAPError) and hasattr(kind, "errnum")
    }


def test_every_code_either_library_can_report_has_a_row() -> None:
    known = RFC_4511 | SLAPD_EXTRAS | set(ldap3_errors.exception_table) | _python_ldap_codes()
    assert sorted(known - {0} - set(RESULTS)) == []


def _words_are_clean(error: BridgeError) -> bool:
    """No server diagnostic and no library class name (ldap3's all start with LDAP)."""
    text = str(error)
    return DRIVER_TEXT not in text and "LDAP" not in text and "Exception" not in text


@pytest.mark.parametrize(("code", "row"), ROWS, ids=[f"{c}-{r.name}" for c, r in ROWS])
def test_a_result_code_is_the_same_domain_error_from_every_library(code: int, row: Row) -> None:
    expected = row.error
    from_code = error_for_code(code, DRIVER_TEXT)
    python_ldap = error_for_result({"result": code, "info": DRIVER_TEXT, "desc": "x"})
    ldap3_result = error_for_result({"result": code, "message": DRIVER_TEXT})
    with pytest.raises(BridgeError) as raised, translated():
        raise ldap3_errors.LDAPOperationResult(result=code, message=DRIVER_TEXT)
    for error in (from_code, python_ldap, ldap3_result, raised.value):
        assert type(error) is expected
        assert _words_are_clean(error)


def test_a_unique_overlay_refusal_is_already_exists_and_other_constraints_invalid() -> None:
    unique = error_for_code(19, "some attributes not unique; non-unique attributes found")
    assert (type(unique), str(unique)) == (UNIQUE.error, UNIQUE.words)
    assert type(error_for_code(19, DRIVER_TEXT)) is InvalidValue


def test_an_unknown_code_is_an_internal_error_without_driver_text() -> None:
    error = error_for_code(999, DRIVER_TEXT)
    assert type(error) is UNKNOWN.error is DirectoryError
    assert error.status == 500 and _words_are_clean(error)


def test_connection_failures_and_library_refusals_have_rows_too() -> None:
    with pytest.raises(BridgeError) as gone, translated():
        raise ldap3_errors.LDAPSocketOpenError(DRIVER_TEXT)
    with pytest.raises(BridgeError) as refused, translated():
        raise ldap3_errors.LDAPAttributeError(DRIVER_TEXT)
    assert (gone.value.status, refused.value.status) == (503, 500)
    assert _words_are_clean(gone.value) and _words_are_clean(refused.value)


@pytest.mark.parametrize("name", sorted(ppolicy.ERRORS.values()))
def test_every_ppolicy_error_has_a_row(name: str) -> None:
    with pytest.raises(BridgeError) as raised:
        raise_for_password_result({"result": 19, "message": DRIVER_TEXT}, name)
    if name in PPOLICY_FAILURES:
        assert isinstance(raised.value, PolicyViolation)
        assert raised.value.failures == [PPOLICY_FAILURES[name]]
    else:
        assert type(raised.value) is PPOLICY_REFUSALS[name].error
    assert _words_are_clean(raised.value)


def test_a_password_result_without_ppolicy_goes_by_the_code() -> None:
    with pytest.raises(PreconditionFailed):
        raise_for_password_result({"result": 122, "message": DRIVER_TEXT}, None)
    raise_for_password_result({"result": 0}, None)  # success raises nothing


# -- real refusals from the session's slapd ----------------------------------------------------

PEOPLE = f"ou=students,ou=people,{SUFFIX}"
ANN = f"uid=ann_lee,{PEOPLE}"
Operation = Callable[[ldap3.Connection], object]


PERSON = ["top", "person", "organizationalPerson", "inetOrgPerson", "mimsPerson"]


def _add(entry: str, mail: str) -> Operation:
    attributes = {"cn": "Ann Lee", "sn": "Lee", "mail": mail, "mimsRole": "student"}
    return lambda c: c.add(entry, PERSON, attributes)


def _modify(entry: str, attribute: str, how: str, *values: str, version: str = "") -> Operation:
    asserted = [controls.assertion(dn.equals("entryCSN", version))] if version else None
    return lambda c: c.modify(entry, {attribute: [(how, list(values))]}, controls=asserted)


@pytest.fixture
def ann(directory: LdapClient) -> Iterator[str]:
    directory.run(_add(ANN, "ann_lee@students.edu.sg"), retry=False)
    yield ANN


REPLACE, ADD, DELETE = ldap3.MODIFY_REPLACE, ldap3.MODIFY_ADD, ldap3.MODIFY_DELETE
REFUSALS: list[tuple[str, type[BridgeError], Operation]] = [
    ("noSuchObject", NotFound, _modify(f"uid=nobody,{PEOPLE}", "sn", REPLACE, "x")),
    ("entryAlreadyExists", NameTaken, _add(ANN, "another@students.edu.sg")),
    ("unique overlay", AlreadyExists, _add(f"uid=ann2,{PEOPLE}", "ann_lee@students.edu.sg")),
    (
        "invalidAttributeSyntax",
        InvalidValue,
        _modify(ANN, "mimsRecoveryEmail", REPLACE, "zoë@x.org"),
    ),
    ("objectClassViolation", InvalidValue, _modify(ANN, "sn", DELETE)),
    ("noSuchAttribute", InvalidValue, _modify(ANN, "displayName", DELETE, "absent")),
    ("attributeOrValueExists", InvalidValue, _modify(ANN, "objectClass", ADD, "person")),
    ("notAllowedOnRDN", InvalidValue, _modify(ANN, "uid", DELETE, "ann_lee")),
    ("invalidDNSyntax", InvalidValue, _modify(f"mimsNoSuchThing=x,{PEOPLE}", "sn", REPLACE, "x")),
    ("undefinedAttributeType", DirectoryError, _modify(ANN, "mimsNoSuchThing", REPLACE, "x")),
    ("notAllowedOnNonLeaf", DirectoryError, lambda c: c.delete(f"ou=people,{SUFFIX}")),
    ("assertionFailed", PreconditionFailed, _modify(ANN, "sn", REPLACE, "x", version="stale")),
]


@pytest.mark.parametrize(
    ("error", "operation"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_a_real_refusal_through_ldap3_is_its_row(
    directory: LdapClient, ann: str, error: type[BridgeError], operation: Operation
) -> None:
    with pytest.raises(BridgeError) as raised:
        directory.run(operation, retry=False)
    assert type(raised.value) is error
    assert _words_are_clean(raised.value)


def test_the_same_refusal_through_python_ldap_is_the_same_row(
    directory: LdapClient, ann: str
) -> None:
    """The syntax refusal that was 500 through ldap3 and 400 through the bulk writer."""
    connection = ldap.initialize(directory.settings.urls[0])
    connection.simple_bind_s(directory.settings.bind_dn, directory.settings.password)
    try:
        with pytest.raises(ldap.LDAPError) as refused:
            connection.modify_s(
                ANN, [(ldap.MOD_REPLACE, "mimsRecoveryEmail", ["zoë@x.org".encode()])]
            )
    finally:
        connection.unbind_s()
    with pytest.raises(BridgeError) as through_ldap3:
        directory.run(_modify(ANN, "mimsRecoveryEmail", REPLACE, "zoë@x.org"), retry=False)
    from_python_ldap = error_for_result(refused.value.args[0])
    assert type(from_python_ldap) is type(through_ldap3.value) is InvalidValue
    assert str(from_python_ldap) == str(through_ldap3.value)


def test_a_stale_version_on_a_password_write_is_precondition_failed(
    directory: LdapClient, ann: str
) -> None:
    """The password path sends the assertion control too: a stale entryCSN is 412, not 500."""
    stale = [controls.assertion(dn.equals("entryCSN", "20000101000000.000000Z#000000#000#000000"))]
    with pytest.raises(PreconditionFailed):
        write_password(directory, ann, {"userPassword": [(REPLACE, ["Sunny7Garden42"])]}, stale)
