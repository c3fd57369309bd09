"""Put the directory-backed services together from the configuration, in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bridge.config import Config
from bridge.core import passwords
from bridge.core.group_address import AddressRules
from bridge.core.naming import NamingRules
from bridge.core.policy_book import PolicyBook, Rule
from bridge.directory import settings
from bridge.directory.answers import AnswerStore
from bridge.directory.client import LdapClient
from bridge.directory.passwords import CredentialStore
from bridge.directory.people import PeopleStore


@dataclass(frozen=True)
class Services:
    """What the front doors use: people, passwords and challenge answers, over one client."""

    directory: LdapClient
    people: PeopleStore
    passwords: CredentialStore
    answers: AnswerStore


def policy_book(config: Config) -> PolicyBook:
    """Return the configured password policies and the rules that choose among them."""
    policies = {
        name: passwords.Policy(name=name, **asdict(policy))
        for name, policy in config.policies.items()
    }
    rules = [
        Rule(policy=r.policy, role=r.role, school=r.school, level=r.level)
        for r in config.passwords.rules
    ]
    return PolicyBook(policies, rules, config.passwords.default_policy)


def naming_rules(config: Config) -> NamingRules:
    """Return the configured login-ID naming rules."""
    return NamingRules(frozenset(config.naming.connector_words), config.naming.max_local_length)


def address_rules(config: Config) -> AddressRules:
    """Return the configured rule for groups' e-mail addresses."""
    return AddressRules(config.naming.group_domain)


def build(config: Config, directory: LdapClient | None = None) -> Services:
    """Return the services over ``directory`` (default: the configured one, not yet connected)."""
    directory = directory or LdapClient(settings.client_settings(config))
    suffix = config.directory.suffix
    book = policy_book(config)
    people = PeopleStore(
        directory, suffix, config.naming.domains, naming_rules(config), book, address_rules(config)
    )
    return Services(
        directory,
        people,
        CredentialStore(directory, suffix, book),
        AnswerStore(directory, suffix),
    )
