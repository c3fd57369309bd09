"""Domain errors: what went wrong, in words a school administrator can act on.

Each class carries its HTTP status and SCIM ``scimType`` so that every front door (SCIM, the
portal, the ``mims`` command) renders the same meaning in its own wire format. Messages never
contain a password, an answer or a driver's internal text.
"""

from __future__ import annotations


class BridgeError(Exception):
    """Base of every error the bridge reports to a person or a client."""

    status: int = 500
    scim_type: str | None = None


class Refused(BridgeError):
    """A refusal a page door shows as it is: its status, a stable code and plain words.

    The portal's and the console's own refusals are kinds of it, with their words as class
    attributes; ``detail`` is the words shown (given ones, or the class's).
    """

    status = 400
    code = "error"
    words = "Something went wrong. Please try again."

    def __init__(self, words: str | None = None) -> None:
        super().__init__(words or self.words)
        self.detail = words or self.words


class ConfigError(BridgeError):
    """A configuration value is missing or not allowed."""


class DirectoryUnavailable(BridgeError):
    """The directory cannot be reached or does not answer in time."""

    status = 503


class SlapdError(BridgeError):
    """The managed slapd could not be initialised, started or stopped."""


class NotFound(BridgeError):
    """The person, group or entry does not exist."""

    status = 404


class Forbidden(BridgeError):
    """The signed-in administrator's role may not do that (a form teacher disabling someone).

    Only for people the administrator may see: someone out of scope is NotFound instead, as a
    missing id is, so scope cannot be probed.
    """

    status = 403


class AlreadyExists(BridgeError):
    """An entry with that identity already exists."""

    status = 409
    scim_type = "uniqueness"


class NameTaken(AlreadyExists):
    """An entry already has that DN: for a login ID, try the next suffix."""


class InvalidValue(BridgeError):
    """A value was refused by the rules."""

    status = 400
    scim_type = "invalidValue"


class PolicyViolation(InvalidValue):
    """A new password breaks the rules; every broken rule is listed, in plain words."""

    def __init__(self, failures: list[tuple[str, str]]) -> None:
        self.failures = failures
        super().__init__(" ".join(message for _, message in failures))


class Locked(BridgeError):
    """The account is locked after too many failed sign-ins; the school can unlock it."""

    status = 423


class PreconditionFailed(BridgeError):
    """The entry changed since the version the client named (HTTP If-Match, RFC 7232)."""

    status = 412


class NumbersExhausted(ConfigError):
    """Every uidNumber (or gidNumber) of the configured range is taken: the range must widen.

    507 (Insufficient Storage, RFC 4918 section 11.5), not a 500: the words name the setting
    to widen, which a SCIM client's operator must see, where a 500 says only its request id.
    """

    status = 507
