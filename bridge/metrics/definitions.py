"""Every metric the bridge exports, by name: the contract dashboards and alerts are built on.

Names, types and labels are fixed by issue 23 (docs/operations.md lists them). No label ever
carries a login ID, a name, a password, an answer or a token: labels are route templates,
methods, statuses, result names, outcomes and configured target or certificate names.

The objects live in ``REGISTRY`` (not prometheus_client's global one). Under ``mims serve``
they write to ``PROMETHEUS_MULTIPROC_DIR`` (each gunicorn worker its own files) and a scrape
sums them; the figures read from the directory at scrape time (sync, cn=Monitor, certificates)
are collectors of ``bridge.metrics.scrape``, named here too so every name is in one place.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

# Seconds: a cached lookup takes a millisecond, a SCIM bulk request or an import bind seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# --- HTTP (bridge/web/metrics.py) ---------------------------------------------------------
HTTP_REQUESTS = Counter(
    "mims_http_requests_total",
    "HTTP requests answered, by Flask route template, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "mims_http_request_duration_seconds",
    "Time from the request reaching the app to its response, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
SCIM_OPERATIONS = Counter(
    "mims_scim_operations_total",
    "SCIM requests by resource type (Users, Groups, Bulk, ...), method and status.",
    ["resource", "method", "status"],
    registry=REGISTRY,
)

# --- LDAP (bridge/directory/client.py reports through bridge/metrics/ldap.py) -------------
LDAP_OPERATIONS = Counter(
    "mims_ldap_operations_total",
    "LDAP operations by kind (bind, search, add, modify, delete, modify_dn, extended) and "
    "result name (success, invalidCredentials, ..., timeout, unavailable).",
    ["operation", "result"],
    registry=REGISTRY,
)
LDAP_DURATION = Histogram(
    "mims_ldap_operation_duration_seconds",
    "Time an LDAP operation took, connection wait included, by kind.",
    ["operation"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
LDAP_CONNECTIONS = Gauge(
    "mims_ldap_connections",
    "Open LDAP connections held by the bridge's pools, by client library (ldap3, libldap).",
    ["library"],
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
LDAP_FAILOVERS = Counter(
    "mims_ldap_failovers_total",
    "Connections opened to another server than the first one tried, after it failed.",
    registry=REGISTRY,
)
LDAP_QUARANTINED = Gauge(
    "mims_ldap_quarantined_servers",
    "Directory servers a bridge process currently skips after failures (the most any has).",
    multiprocess_mode="livemax",
    registry=REGISTRY,
)

# --- Sign-ins, resets, answers (reported by the core through core.ports.Outcomes) ---------
SIGN_INS = Counter(
    "mims_sign_ins_total",
    "Portal and console sign-ins by outcome (success, wrong, locked, throttled, disabled).",
    ["outcome"],
    registry=REGISTRY,
)
PASSWORD_RESETS = Counter(
    "mims_password_resets_total",
    "Self-service password resets by outcome (success, refused, throttled).",
    ["outcome"],
    registry=REGISTRY,
)
ANSWER_CHECKS = Counter(
    "mims_answer_checks_total",
    "Challenge-answer checks by outcome (right, wrong, locked, throttled).",
    ["outcome"],
    registry=REGISTRY,
)
LOCKOUTS = Counter(
    "mims_lockouts_total",
    "Accounts locked by the bridge's request: too many wrong passwords or answers.",
    registry=REGISTRY,
)
UNLOCKS = Counter(
    "mims_unlocks_total",
    "Accounts unlocked by an administrator or a reset.",
    registry=REGISTRY,
)

# --- Import (`mims import`, into the serve host's directory when there is one) ------------
IMPORT_ROWS = Counter(
    "mims_import_rows_total",
    "Roster rows imported, by result (added, updated, unchanged, failed).",
    ["result"],
    registry=REGISTRY,
)
IMPORT_PROGRESS = Gauge(
    "mims_import_progress_ratio",
    "How far the running import is, 0 to 1; absent when none runs.",
    multiprocess_mode="livemostrecent",
    registry=REGISTRY,
)

# --- Read at scrape time (bridge/metrics/scrape.py) ---------------------------------------
SYNC_LAG = "mims_sync_lag_seconds"  # {target}: now - the time of the last change applied
SYNC_CHANGES = "mims_sync_changes_total"  # {target}: changes applied, as the target counts them
SYNC_QUEUE_DEPTH = "mims_sync_queue_depth"  # {target}: changes waiting, where known
SYNC_DEAD_LETTERS = "mims_sync_dead_letters"  # {target}: changes given up on, to retry
SYNC_LAST_SUCCESS = "mims_sync_last_success_timestamp_seconds"  # {target}
SLAPD_CONNECTIONS = "mims_slapd_connections"  # slapd's open connections (cn=Monitor)
SLAPD_OPERATIONS = "mims_slapd_operations_total"  # {operation}: completed, since slapd started
SLAPD_WAITERS = "mims_slapd_waiters"  # {kind}: read, write
CERTIFICATE_EXPIRY = "mims_certificate_expiry_timestamp_seconds"  # {certificate}
REPLICATION_LAG = "mims_replication_lag_seconds"  # {peer}: where a replica exists

SCRAPED = (
    SYNC_LAG,
    SYNC_CHANGES,
    SYNC_QUEUE_DEPTH,
    SYNC_DEAD_LETTERS,
    SYNC_LAST_SUCCESS,
    SLAPD_CONNECTIONS,
    SLAPD_OPERATIONS,
    SLAPD_WAITERS,
    CERTIFICATE_EXPIRY,
    REPLICATION_LAG,
)
