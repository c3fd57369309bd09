"""SimpleSAMLphp as a SAML identity provider, and a pysaml2 service provider that signs in.

SimpleSAMLphp runs under PHP's built-in server on a free port, as this test's child, with a
configuration folder of its own (opcache keeps an old configuration under ``php -S``: a new
folder and port for each configuration) and is stopped by its PID. The service provider is
pysaml2 inside the test: it makes the AuthnRequest, and the sign-in walks the IdP's pages as a
browser would (redirect, login form, the auto-posting form with the SAMLResponse), then hands
the response to pysaml2, which checks the signature (with Debian's ``xmlsec1``) and the
conditions and returns the assertion's attributes.
"""

from __future__ import annotations

import http.cookiejar
import os
import secrets
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS

from tests.support import programs
from tests.support.consumers import EXAMPLE_CA, EXAMPLE_SECRET, EXAMPLE_URI, for_site
from tests.support.ports import free_port

WWW = Path("/usr/share/simplesamlphp/www")
PHP = shutil.which("php")
XMLSEC1 = shutil.which("xmlsec1")
PHP_EXTENSIONS = ("ldap", "xml", "mbstring")

# The example values of docs/consumers/simplesamlphp.md that a test run replaces.
EXAMPLE_BASE_URL = "https://sso.school.example/simplesamlphp/"
EXAMPLE_CONFIG_DIR = "/etc/simplesamlphp/"
EXAMPLE_SALT = "SALT-FROM-OPENSSL-RAND"
EXAMPLE_SERVICE_DN = "cn=simplesamlphp,ou=services,dc=mims,dc=example"
SECURE_COOKIE = "'session.cookie.secure' => true"
# The app of saml20-sp-remote.php: the test's service provider takes its identity.
SP_ENTITY_ID = "https://app.school.example/saml/metadata"
SP_ACS = "https://app.school.example/saml/acs"


def missing() -> str | None:
    """Return what of SimpleSAMLphp, PHP and xmlsec1 is not installed, or None."""
    if PHP is None or not WWW.is_dir():
        return "SimpleSAMLphp or PHP is not installed (Debian simplesamlphp, php-cli)"
    modules = subprocess.run([PHP, "-m"], capture_output=True, text=True, check=True).stdout
    absent = [name for name in PHP_EXTENSIONS if name not in modules.lower().split()]
    if absent:
        return f"PHP lacks {', '.join(absent)} (Debian php-{' php-'.join(absent)})"
    if XMLSEC1 is None:
        return "xmlsec1 is not installed (Debian xmlsec1), which pysaml2 checks signatures with"
    return None


@dataclass(frozen=True)
class Site:
    """What this test's directory puts in place of the published example values."""

    ldaps_url: str
    ca_file: Path
    service_dn: str
    service_secret: str


def site_files(
    published: dict[str, str], site: Site, base_url: str, folder: Path
) -> dict[str, str]:
    """Return the published files with the example site's values replaced by this test's.

    Besides addresses, paths and secrets, only the session cookie's ``Secure`` flag changes:
    the test serves plain HTTP, over which a client never sends a Secure cookie back.
    """
    values = {
        "ldap.conf": {EXAMPLE_CA: str(site.ca_file)},
        "config.php": {
            EXAMPLE_BASE_URL: base_url,
            EXAMPLE_CONFIG_DIR: f"{folder}/",
            EXAMPLE_SALT: secrets.token_urlsafe(32),
            SECURE_COOKIE: "'session.cookie.secure' => false",
        },
        "authsources.php": {
            EXAMPLE_URI: site.ldaps_url,
            EXAMPLE_SERVICE_DN: site.service_dn,
            EXAMPLE_SECRET: site.service_secret,
        },
    }
    return {name: for_site(text, values.get(name, {})) for name, text in published.items()}


@dataclass(frozen=True)
class IdentityProvider:
    """A running SimpleSAMLphp: where it answers, its metadata, its folder and its log."""

    base_url: str
    metadata: str
    folder: Path

    def log(self) -> str:
        """Return what PHP's server and SimpleSAMLphp (``errorlog``) wrote until now."""
        return (self.folder / "php.log").read_text(errors="replace")


@contextmanager
def running_identity_provider(
    published: dict[str, str], site: Site, folder: Path
) -> Iterator[IdentityProvider]:
    """Run SimpleSAMLphp on the published configuration, on a free port, until the end."""
    assert PHP is not None
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/"
    for name, text in site_files(published, site, base_url, folder).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o600)
    _write_signing_key(folder / "cert")
    env = {
        "PATH": os.environ["PATH"],
        "SIMPLESAMLPHP_CONFIG_DIR": str(folder),
        "LDAPCONF": str(folder / "ldap.conf"),  # libldap's configuration: the CA to trust
        "TMPDIR": str(folder),  # SimpleSAMLphp's default tempdir
    }
    served: list[str] = []  # the metadata, once the IdP serves it
    command = [
        PHP,
        # PHP's sessions (SimpleSAMLphp's default store) in the folder, not /var/lib/php.
        *("-d", f"session.save_path={folder}"),
        *("-S", f"127.0.0.1:{port}", "-t", str(WWW)),
    ]
    with programs.running(
        command,
        folder / "php.log",
        ready=lambda: _metadata(base_url, served),
        env=env,
        cwd=folder,
    ):
        yield IdentityProvider(base_url, served[0], folder)


def _metadata(base_url: str, served: list[str]) -> bool:
    """Keep the IdP's metadata in ``served`` once it serves it: the body, since errors are 200s."""
    try:
        with urllib.request.urlopen(base_url + "saml2/idp/metadata.php", timeout=5) as answer:
            body: str = answer.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return False
    if "EntityDescriptor" in body:
        served.append(body)
    return bool(served)


def _write_signing_key(folder: Path) -> None:
    """Write idp.pem and idp.crt, as the page's openssl command makes them."""
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sso.school.example")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    (folder / "idp.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "idp.pem").chmod(0o600)
    (folder / "idp.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


@dataclass(frozen=True)
class SignIn:
    """What an app learns from one sign-in: the assertion's NameID and attributes, or none.

    ``page`` is the last page the IdP showed (the login page with its error when refused),
    ``links`` its links' texts by address.
    """

    name_id: str | None
    attributes: dict[str, list[str]]
    page: str
    links: dict[str, str]

    @property
    def signed_in(self) -> bool:
        """Say whether the app received a valid assertion."""
        return self.name_id is not None


class ServiceProvider:
    """A pysaml2 service provider, the app of saml20-sp-remote.php, trusting one IdP."""

    def __init__(self, idp: IdentityProvider) -> None:
        """Load the IdP's metadata as the app would, from its metadata URL."""
        assert XMLSEC1 is not None
        config = SPConfig()
        config.load(
            {
                "entityid": SP_ENTITY_ID,
                "xmlsec_binary": XMLSEC1,
                "service": {
                    "sp": {
                        "endpoints": {"assertion_consumer_service": [(SP_ACS, BINDING_HTTP_POST)]},
                        "name_id_format": NAMEID_FORMAT_EMAILADDRESS,
                        "allow_unsolicited": False,
                        "authn_requests_signed": False,
                        "want_assertions_signed": True,
                        "want_response_signed": False,
                    }
                },
                "metadata": {"inline": [idp.metadata]},
                "allow_unknown_attributes": True,
            }
        )
        self._client = Saml2Client(config)
        (self._idp_entity_id,) = self._client.metadata.identity_providers()

    def sign_in(self, login: str, password: str) -> SignIn:
        """Sign in as a person would from a fresh browser: no IdP session to reuse."""
        browser = _Browser()
        request_id, info = self._client.prepare_for_authenticate(
            entityid=self._idp_entity_id, binding=BINDING_HTTP_REDIRECT
        )
        location = dict(info["headers"])["Location"]
        page = browser.get(location)
        login_form = page.form_with("password")
        if login_form is None:
            return SignIn(None, {}, page.text, page.links)
        fields = login_form.fields | {"username": login, "password": password}
        page = browser.post(login_form.action, fields)
        answer = page.form_with("SAMLResponse")
        if answer is None:
            return SignIn(None, {}, page.text, page.links)
        assert answer.action == SP_ACS, f"the IdP posts to {answer.action}, not the app's ACS"
        response = self._client.parse_authn_request_response(
            answer.fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/"}
        )
        assert response is not None, page.text
        attributes = {name: [str(v) for v in values] for name, values in response.ava.items()}
        return SignIn(str(response.name_id.text), attributes, page.text, page.links)


@dataclass
class _Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Page:
    url: str
    text: str
    forms: list[_Form]
    links: dict[str, str]

    def form_with(self, name: str) -> _Form | None:
        """Return the first form with a field of this name."""
        return next((form for form in self.forms if name in form.fields), None)


class _PageReader(HTMLParser):
    """Collect each form's action and its inputs' names and values, and each link's text."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.forms: list[_Form] = []
        self.links: dict[str, str] = {}
        self._link: str | None = None

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self.links[self._link] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._link = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "a" and "href" in values:
            self._link = values["href"]
            self.links[self._link] = ""
        elif tag == "form":
            self.forms.append(_Form(urllib.parse.urljoin(self.url, values.get("action", ""))))
        elif tag == "input" and self.forms and "name" in values:
            if values.get("type") not in ("checkbox", "submit"):
                self.forms[-1].fields[values["name"]] = values.get("value", "")


class _Browser:
    """Cookies and redirects, as a browser keeps them over one sign-in."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, url: str) -> _Page:
        return self._open(urllib.request.Request(url))

    def post(self, url: str, fields: dict[str, str]) -> _Page:
        body = urllib.parse.urlencode(fields).encode()
        return self._open(urllib.request.Request(url, data=body, method="POST"))

    def _open(self, request: urllib.request.Request) -> _Page:
        try:
            with self._opener.open(request, timeout=30) as answer:
                url, text = answer.geturl(), answer.read().decode(errors="replace")
        except urllib.error.HTTPError as error:  # SimpleSAMLphp's error pages come with 500
            url, text = error.geturl(), error.read().decode(errors="replace")
        reader = _PageReader(url)
        reader.feed(text)
        return _Page(url, text, reader.forms, reader.links)
