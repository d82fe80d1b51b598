# Deyor Escalations — `make run` serves the app, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app run.py

.PHONY: run test bench screenshots setup install install-dev clean

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Schema, permissions, roles, default teams and the first admin (idempotent).
setup: install
	$(FLASK) db upgrade
	$(FLASK) setup

run: setup
	$(PY) run.py

# Two pytest processes (pytest-xdist); each builds its own apps and databases.
PYTEST_ARGS ?= -n 2
test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

# Performance figures in docs/PERFORMANCE.md, one section per bench. The page bench seeds its
# databases once and reuses them (SQLite in the temp directory; PostgreSQL databases
# deyor_bench_<size> on the server of BENCH_DATABASE_URL, skipped with a message when none answers).
# The first run takes a few minutes more (seeding 1M tickets); measuring is capped per dataset.
# It also writes docs/performance.json and the p95 plot docs/performance-p95.png. The load bench
# then runs gunicorn (render.yaml's command) on the same datasets and drives the ticket list, two
# queues and the framework floor with wrk (installed with apt when missing and run as root): six
# pages × (5 s warm-up + 3 connection counts × BENCH_LOAD_SECONDS), about 4 minutes per dataset.
BENCH_SIZES    ?= sqlite:100000,postgresql:100000,postgresql:1000000
BENCH_REQUESTS ?= 200
BENCH_LOAD_SECONDS ?= 12
# The SLA bench (scheduler pass, policy change, the clocks' cost per request) on the same 1M database.
BENCH_SLA_SIZES ?= postgresql:1000000
# The bulk bench (one request changing 25 selected rows) on the same 1M database.
BENCH_BULK_SIZES ?= postgresql:1000000
# The dashboard bench (agent, lead, admin) on a copy of the same 1M database (made once).
BENCH_DASHBOARD_SIZES ?= postgresql:1000000
# The export bench (100,000 rows to CSV and Excel, memory and first bytes) on the same 1M database.
BENCH_EXPORT_SIZES ?= postgresql:1000000
# The attachments bench (a 10 MB file through gunicorn: upload, download, worker memory) makes
# its own small databases.
bench: install-dev
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing wrk (the load bench's HTTP load generator) with apt-get"; \
	    export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
	  else \
	    echo "wrk is missing: the load bench will stop at its start (Debian/Ubuntu: sudo apt-get install wrk)." >&2; \
	  fi; }
	$(PY) -m bench.smtp_latency --report docs/PERFORMANCE.md
	$(PY) -m bench.pages --sizes $(BENCH_SIZES) --requests $(BENCH_REQUESTS) --max-seconds 600 --report docs/PERFORMANCE.md
	$(PY) -m bench.load --sizes $(BENCH_SIZES) --duration $(BENCH_LOAD_SECONDS) --max-seconds 300 --report docs/PERFORMANCE.md
	$(PY) -m bench.sla --sizes $(BENCH_SLA_SIZES) --report docs/PERFORMANCE.md
	$(PY) -m bench.bulk --sizes $(BENCH_BULK_SIZES) --report docs/PERFORMANCE.md
	$(PY) -m bench.dashboard --sizes $(BENCH_DASHBOARD_SIZES) --report docs/PERFORMANCE.md
	$(PY) -m bench.export --sizes $(BENCH_EXPORT_SIZES) --report docs/PERFORMANCE.md
	$(PY) -m bench.attachments --report docs/PERFORMANCE.md

# Refresh the README's pictures in docs/screenshots/ from the browser test.
screenshots: install-dev
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest tests/test_browser*.py

clean:
	rm -rf $(VENV) .pytest_cache
