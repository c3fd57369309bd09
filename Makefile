# The two commands of README: `make run` and `make test`. Both install what they need first.
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTHON  ?= python3

.PHONY: run test test-ha fuzz lint bench bench-smoke bench-ha system system-test clean

run: system $(STAMP)
	$(BIN)/mims serve

# First the tests marked `alone`, one at a time, on the still quiet machine: their short
# timeouts and 1 ms timing comparisons mean something only there (run after the parallel run,
# its after-effects slowed one path more than another). Then pytest on one pytest-xdist worker
# per core, a test file per worker at a time (a module's costly fixture, such as the
# 10,000-person backup, is built once), the longest files first (tests/conftest.py's order,
# kept by --no-loadscope-reorder), adding to the same coverage, whose floor is checked on
# the whole. Plain `pytest` stays serial.
test: system-test $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest --cov --cov-fail-under=0 -m alone
	$(BIN)/pytest --cov --cov-append -n auto --dist loadfile --no-loadscope-reorder -m "not alone and not ha and not bench"

# The long high-availability tests (marker `ha`, tests/ha/): real provider pairs killed with -9
# during a 10,000-person import, partitions in network namespaces (as root; skipped otherwise).
# `make test` runs the short ones of tests/ha/.
test-ha: system-test $(STAMP)
	$(BIN)/pytest -p no:cacheprovider -m ha tests/

# schemathesis against bridge/web/openapi.json (tests/api/test_fuzz.py): `make test` runs a small
# run; this a long one from a fresh seed. FUZZ_EXAMPLES: generated cases per operation.
FUZZ_EXAMPLES ?= 200
fuzz: system $(STAMP)
	MIMS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -p no:cacheprovider tests/api/test_fuzz.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The benchmark (bench/README.md): every phase at 100,000 and 500,000 people in one record;
# BENCH_ARGS="--people 10000" for a quick check.
bench: system $(STAMP)
	$(BIN)/python bench/run $(BENCH_ARGS)

# The small runs of the phases beyond make test's one smoke run (marker `bench`: peer, console,
# observability...), each a minute or two: run them after changing bench/.
bench-smoke: system $(STAMP)
	$(BIN)/pytest -p no:cacheprovider -m bench tests/

# Its phase `ha` (bench/README.md): two providers, replication lag, catch-up, failover pause.
# BENCH_ARGS="--ha-kills 3 --ha-down-seconds 10 --ha-lag-seconds 3" for a quick run.
bench-ha: system $(STAMP)
	$(BIN)/python bench/run --only ha $(BENCH_ARGS)

system:
	@scripts/ensure-system

# The browser tests drive Debian's chromium (never `playwright install`); card tests read PDFs;
# tests/deploy runs the shipped nginx configuration with Debian's nginx; tests/consumers runs
# the LDAP consumers of docs/consumers/ (SSSD, Apache, SimpleSAMLphp, FreeRADIUS) for real.
# SimpleSAMLphp's LDAP source needs php-ldap; xmlsec1 checks signatures for the test's pysaml2.
CONSUMERS := sssd-ldap sssd-tools libpam-sss libnss-sss pamtester apache2 \
	simplesamlphp php-cli php-xml php-mbstring php-ldap xmlsec1 \
	freeradius freeradius-ldap freeradius-utils eapoltest cracklib-runtime
system-test:
	@scripts/ensure-system chromium poppler-utils fonts-dejavu-core nginx $(CONSUMERS)

# Rebuilt only when pyproject.toml changes, so a second `make test` starts at once.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
