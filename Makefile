# Two commands set up everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := demo
DEMO_CONFIG := $(DEMO)/config.yml
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false

.PHONY: install demo test ui docs clean bench

$(BIN)/tutoring-impact: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,engines]'
	cd dbt_project && ../$(BIN)/dbt parse --quiet --project-dir . --profiles-dir . >/dev/null
	touch $@

install: $(BIN)/tutoring-impact

$(DEMO_CONFIG): | install
	$(BIN)/tutoring-impact generate --students 6000 --schools 8 --seed 2026 --out $(DEMO)

demo: install $(DEMO_CONFIG)
	$(BIN)/tutoring-impact run --config $(DEMO_CONFIG) --all
	@echo ""
	@echo "Dagster UI with this demo's runs:  make ui   (then open http://127.0.0.1:3000)"

test: install
	$(BIN)/python -m pytest -q -n 2 --dist loadfile tests

ui: install
	@test -f $(DEMO_CONFIG) || (echo "run 'make demo' first (or set CONFIG=path/to/config.yml)"; exit 2)
	TUTORING_IMPACT_CONFIG=$(abspath $(or $(CONFIG),$(DEMO_CONFIG))) \
	DAGSTER_HOME=$(abspath $(DEMO))/data/dagster \
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(or $(PORT),3000)

docs: install
	cd dbt_project && ../$(BIN)/dbt docs generate --project-dir . --profiles-dir . && \
	../$(BIN)/dbt docs serve --project-dir . --profiles-dir . --host 127.0.0.1 --port $(or $(PORT),8080)

clean:
	rm -rf $(DEMO) dbt_project/target dbt_project/logs

bench: install
	$(BIN)/python bench/run.py $(or $(SCALE),demo)

# ---- role dashboards: Apache Superset in its own venv (README "Dashboards"); CONFIG=… for your district
DASH_VENV := dashboards/.venv
DASH_TEMPLATE := $(DASH_VENV)/superset-template/superset.db
.PHONY: dashboards dashboards-install dashboards-serve

$(DASH_VENV)/bin/superset: dashboards/requirements.txt
	$(PYTHON) -m venv $(DASH_VENV)
	$(DASH_VENV)/bin/pip install --quiet --no-deps -r dashboards/requirements.txt
	touch $@

$(DASH_TEMPLATE): $(DASH_VENV)/bin/superset
	SCARF_ANALYTICS=false $(DASH_VENV)/bin/python dashboards/build.py template

dashboards-install: $(DASH_TEMPLATE)

dashboards: dashboards-install
	@test -f $(or $(CONFIG),$(DEMO_CONFIG)) || (echo "run 'make demo' first (or set CONFIG=path/to/config.yml)"; exit 2)
	$(DASH_VENV)/bin/python dashboards/build.py build --config $(or $(CONFIG),$(DEMO_CONFIG))

dashboards-serve: dashboards-install
	$(DASH_VENV)/bin/python dashboards/build.py serve --config $(or $(CONFIG),$(DEMO_CONFIG)) \
	  --output $(or $(OUTPUT),public) --port $(or $(PORT),8088)
