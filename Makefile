# Everything needs only Python 3.11+ on the machine; `make install` builds .venv/ from PyPI.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432
# Set REQUIRE_POSTGRES=1 to fail instead of skipping the PostgreSQL run when the server is down.
REQUIRE_POSTGRES ?= 0
# The GraphQL-over-HTTP audit (tests/test_conformance.py) runs the npm package graphql-http.
CONFORMANCE := tests/conformance
CONFORMANCE_INSTALLED := $(CONFORMANCE)/node_modules/.installed

.PHONY: install conformance run test test-sqlite test-postgres schema clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==25.3"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(INSTALLED)

# Without npm this step is skipped, and so is the audit, unless REQUIRE_CONFORMANCE=1 (as in CI).
conformance: $(CONFORMANCE_INSTALLED)

$(CONFORMANCE_INSTALLED): $(CONFORMANCE)/package.json $(CONFORMANCE)/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix $(CONFORMANCE) --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm is not installed; skipped the GraphQL-over-HTTP audit's setup."; \
	fi

# The embedded defaults: an SQLite file under var/ and mail written to the log, plus GraphiQL and
# introspection, which are off in production. The cookie is not Secure here because the
# development server speaks plain HTTP.
run: install
	SESSION_COOKIE_SECURE=false GRAPHIQL=true INTROSPECTION=true CONSOLE_URL=$${CONSOLE_URL:-http://localhost:3000} \
		$(BIN)/console-users serve --demo --host 127.0.0.1 --port $${PORT:-8000}

test: install conformance test-sqlite test-postgres

test-sqlite: install
	TEST_DATABASE=sqlite $(BIN)/pytest

test-postgres: install
	@if $(BIN)/python -m tests.postgres_probe "$(POSTGRES_URL)"; then \
		TEST_DATABASE=postgres TEST_POSTGRES_URL="$(POSTGRES_URL)" $(BIN)/pytest; \
	elif [ "$(REQUIRE_POSTGRES)" = "1" ]; then \
		echo "PostgreSQL at $(POSTGRES_URL) is not reachable and REQUIRE_POSTGRES=1" >&2; exit 1; \
	else \
		echo "PostgreSQL at $(POSTGRES_URL) is not reachable; skipped the PostgreSQL run."; \
	fi

# Regenerate schema.graphql after changing the schema code.
schema: install
	$(BIN)/console-users export-schema --output schema.graphql

clean:
	rm -rf $(VENV) var .pytest_cache
