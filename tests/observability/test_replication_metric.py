"""`mims_replication_lag_seconds`: how far the other provider is behind the write target.

Read at scrape time from each configured provider's contextCSN, so it needs a real pair and a
bridge configured with both URLs (not the managed single server).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridge.app import create_app
from bridge.config import load_config
from bridge.directory.client import LdapClient
from bridge.directory.settings import client_settings
from tests.support.write_pair import Pair, add_entry, replicated_pair

LAG = "mims_replication_lag_seconds"
SECRET = {"MIMS_SECRET_KEY": "k" * 40}  # the portal's, which an external directory needs


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with replicated_pair() as made:
        yield made


def scrape(env: dict[str, str]) -> str:
    """Return the /metrics page of a bridge configured by ``env``, as loopback sees it."""
    config = load_config(env=env | SECRET)
    directory = LdapClient(client_settings(config))
    try:
        app = create_app(config, directory)
        page = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    finally:
        directory.close()
    assert page.status_code == 200
    return page.get_data(as_text=True)


def lags(pair: Pair) -> dict[str, float]:
    """Scrape a bridge over both providers; return the lag samples by peer."""
    found = {}
    for family in text_string_to_metric_families(scrape(pair.env())):
        for sample in family.samples:
            if sample.name == LAG:
                found[sample.labels["peer"]] = sample.value
    return found


def test_the_other_provider_has_a_lag_once_both_took_changes(pair: Pair) -> None:
    writer = pair.bridge()
    add_entry(writer, "lag-one")
    pair.wait_in_step()
    found = lags(pair)
    assert set(found) == {pair.second.url}  # the target itself is not a peer
    assert found[pair.second.url] >= 0


def test_a_provider_that_does_not_answer_has_no_lag(pair: Pair) -> None:
    pair.second.stop()
    try:
        assert lags(pair) == {}
    finally:
        pair.second.start()
        pair.wait_in_step()


def test_one_server_exports_no_lag(pair: Pair) -> None:
    page = scrape(pair.env() | {"MIMS_LDAP_URL": pair.first.url})
    assert "mims_http_requests_total" in page  # a real page, without the lag
    assert not re.search(rf"^{LAG}", page, re.M)
