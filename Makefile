# The two commands of the README: `make run` and `make test`. Each bootstraps everything it needs from a
# fresh clone: virtualenv, Python and Node packages, PostgreSQL/Redis check, database, migrations.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
PYTEST_ARGS ?=
# make test runs the suite in this many pytest-xdist worker processes (0: in one process, as before).
TEST_WORKERS ?= 2

.PHONY: run test bench soak bootstrap browser migrate lint check clean deps

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + ")")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools
	$(PIP) install --quiet -e '.[dev]'
	@touch $@

node_modules/.installed: package.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20+) is needed: Debian 'apt-get install nodejs npm'"; exit 2; }
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(VENV)/.installed node_modules/.installed

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot work offline), with a CJK
# font so the Chinese pages and their screenshots show characters, not boxes.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "The browser tests need Chromium: sudo apt-get install chromium chromium-driver"; exit 2; fi; }
	@fc-list 2>/dev/null | grep -qi cjk || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's fonts-noto-cjk for the Chinese pages"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null \
	      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null; }; \
	  else echo "Chinese pages need a CJK font: sudo apt-get install fonts-noto-cjk (the tests run without it)"; fi; }

bootstrap: deps
	$(PY) -m finance_portal.bootstrap

migrate: bootstrap
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py runstack

test: bootstrap browser
	$(PY) -m pytest --durations=25 -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: bootstrap
	$(PY) -m pytest -m bench -p no:cacheprovider -s tests/bench $(PYTEST_ARGS)

# The same benchmark code on small data (under 3 minutes); its figures are not comparable with `make bench`.
# `make test` runs it once more with tiny sizes (tests/bench/test_smoke.py) so the benchmark code cannot rot.
.PHONY: bench-quick
bench-quick: bootstrap
	BENCH_MODE=quick $(PY) -m pytest -m bench -p no:cacheprovider -s tests/bench $(PYTEST_ARGS)

# The soak, under 30 minutes (README "Tests, benchmarks, soak"): first the fault scenarios of issue 13
# (tests/soak) once at full size (SOAK_SCALE=full: 20,000 transitions with 20 worker SIGKILLs, Redis restarted
# and flushed, Anvil stopped 30 s and reorganized, gunicorn workers killed mid-purchase, a dump restored), each
# printing its figures; then the shorter reliability runs of SOAK_TESTS repeated SOAK_ROUNDS times to shake
# out what fails once in a while. `make test` runs a fast slice of each scenario and one round of SOAK_TESTS.
# The API fuzz run (tests/api_fuzz) tries FUZZ_EXAMPLES examples per operation, role and mode in each round
# (4, derandomized, in `make test`), seeded with the round's number: new inputs each round, each reproducible
# with FUZZ_SEED=<round>.
SOAK_ROUNDS   ?= 2
SOAK_FAULTS   ?= tests/soak
SOAK_TESTS    ?= tests/chain_adapter/test_reliability.py tests/anchoring tests/bills/test_concurrency.py tests/foundation/test_api_races.py tests/api_fuzz
FUZZ_EXAMPLES ?= 10
soak: bootstrap
	@echo "== soak: fault scenarios at full size ($(SOAK_FAULTS))"
	SOAK_SCALE=full $(PY) -m pytest -q -p no:cacheprovider $(SOAK_FAULTS) $(PYTEST_ARGS)
	@for round in $$(seq 1 $(SOAK_ROUNDS)); do \
	  echo "== soak round $$round of $(SOAK_ROUNDS): $(SOAK_TESTS)"; \
	  FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$$round $(PY) -m pytest -q -p no:cacheprovider $(SOAK_TESTS) $(PYTEST_ARGS) || exit 1; \
	done

# ruff; the layering of DESIGN §2 ([tool.importlinter] in pyproject.toml); mypy with django-stubs on every app.
lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

check: migrate
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf .run/logs .run/staticfiles .pytest_cache
