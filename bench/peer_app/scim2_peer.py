"""The WSGI application gunicorn serves for `bench/peer_server.py`: scim2-server over memory.

This file runs inside the peer's own venv (scim2-server and gunicorn only), never in the
project's: it imports nothing from mims-bridge. It is what scim2-server's own `scim2-server`
command builds (the RFC 7643 schemas and resource types, User with the enterprise extension,
every feature but cursors announced, one in-memory storage), with the static bearer token of
``PEER_TOKEN``, so the peer checks a token on every request as the bridge does.
"""

import os

from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

config = load_default_service_provider_config()
config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
provider = ScimProvider.from_discovery(
    load_default_schemas().values(), load_default_resource_types().values(), config=config
)
application = BearerTokenApplication(
    InMemoryStorage(), provider, bearer_tokens=[os.environ["PEER_TOKEN"]]
)
