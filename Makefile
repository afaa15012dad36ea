# waitboard - the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
HOST   ?= 127.0.0.1

.PHONY: run test lint typecheck bench browser-deps oidc-deps compose-check screenshots clean i18n pot

# The virtual environment is rebuilt when the dependencies change.
$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/waitboard serve --demo --host $(HOST) --port $(PORT)

# Browser tests drive Debian's Chromium (never a browser download of Playwright's own);
# the compose file is validated offline by Debian's docker-compose. Printed tickets are
# drawn with Debian's DejaVu Sans (fonts-dejavu-core: Latin, Cyrillic, Arabic), laid out
# by the libraqm inside Pillow's wheel, which loads Debian's libfribidi0 when it starts.
FONT := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
browser-deps:
	@command -v chromium >/dev/null 2>&1 && command -v docker-compose >/dev/null 2>&1 \
	  && test -f $(FONT) && ls /usr/lib/*/libfribidi.so.0 >/dev/null 2>&1 || { \
	  echo "installing chromium, docker-compose, fonts-dejavu-core and libfribidi0 from Debian (needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends chromium docker-compose fonts-dejavu-core libfribidi0 >/dev/null; }

# The tests' OpenID provider (tests/oidc/provider.mjs) is Node's oidc-provider, installed from
# its lock file by `npm ci` when node_modules is missing or older than the lock file; once it is
# there, nothing is fetched. Node.js and npm come with the machine (Node.js 20 or later).
OIDC := tests/oidc
oidc-deps: $(OIDC)/node_modules/.package-lock.json
$(OIDC)/node_modules/.package-lock.json: $(OIDC)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  echo "npm is missing: the tests' OpenID provider needs Node.js 20 or later with npm"; exit 1; }
	npm ci --prefix $(OIDC) --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

# The suite runs on every core (pytest-xdist): each worker has its own Redis and ports.
test: $(BIN)/.installed browser-deps oidc-deps
	$(BIN)/ruff check waitboard sensors tests benchmarks
	$(BIN)/ruff format --check waitboard sensors tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -n auto

# The texts' gettext catalogs (kiosk_templates/locale): the German source texts extracted
# from the Python code, the templates and the JS modules (babel.cfg) into waitboard.pot,
# each language's .po updated from it - without fuzzy matching, which would guess a
# translation for a changed text - and compiled to the .mo the service reads. A new
# language: `pybabel init -D waitboard -d $(LOCALE) -i $(POT) -l <code>`, then its code in
# waitboard/i18n.py's LANGUAGES. tests/test_catalogs.py fails on what a person must still do.
LOCALE := kiosk_templates/locale
POT    ?= $(LOCALE)/waitboard.pot
I18N_KEYWORDS := --no-default-keywords -k t -k gettext -k ngettext:1,2 -k pgettext:1c,2 \
                 -k N_ -k NP_:1c,2

pot:
	$(BIN)/pybabel -q extract -F babel.cfg $(I18N_KEYWORDS) --sort-output --add-location=file \
	  --project waitboard --copyright-holder waitboard --msgid-bugs-address "" -o $(POT) .

i18n: $(BIN)/.installed pot
	$(BIN)/pybabel -q update -D waitboard -d $(LOCALE) -i $(POT) --no-fuzzy-matching
	$(BIN)/pybabel -q compile -D waitboard -d $(LOCALE)

# The measurements written down in docs/estimates.md and benchmarks/RESULTS.md. The real
# office's year (benchmarks/replay.py) runs where its data are (MUENSTER; not in the
# repository but for the two days the tests use).
MUENSTER ?= ../shared/data/muenster-buergerbuero
bench: $(BIN)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,bench]'
	$(BIN)/python benchmarks/estimates.py --days 20 --out docs
	if [ -d "$(MUENSTER)" ]; then $(BIN)/python benchmarks/replay.py --data "$(MUENSTER)" \
	  --out docs --json benchmarks/replay.json; fi
	$(BIN)/python benchmarks/live_latency.py
	$(BIN)/python benchmarks/fanout.py --json benchmarks/fanout.json

# The browser tests write the README's screenshots into docs/screenshots when asked to.
screenshots: $(BIN)/.installed browser-deps
	WAITBOARD_SCREENSHOTS=1 $(BIN)/pytest -q -m browser

lint: $(BIN)/.installed
	$(BIN)/ruff check waitboard sensors tests benchmarks
	$(BIN)/ruff format --check waitboard sensors tests benchmarks
	$(BIN)/lint-imports

typecheck: $(BIN)/.installed
	$(BIN)/mypy

compose-check:
	docker-compose -f docker-compose.yml config --quiet

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(OIDC)/node_modules
