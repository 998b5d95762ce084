# The two set-up commands of the README: `make demo` and `make test`.
# Each builds the virtual environment on first use, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
# The Spark session engine (DESIGN section 11) needs Java 17+ and the Postgres JDBC driver; both
# come from Debian's packages (we run as root on CI and the dev machines).
JDBC_JAR := /usr/share/java/postgresql.jar
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

.PHONY: demo test bench run clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

$(JDBC_JAR):
	@command -v apt-get >/dev/null || { echo "install Java 17 and the Postgres JDBC driver (jar at $(JDBC_JAR)) for the Spark tests"; exit 1; }
	$(APT_INSTALL) libpostgresql-jdbc-java >/dev/null 2>&1 || { apt-get update -qq && $(APT_INSTALL) libpostgresql-jdbc-java; }
	@command -v java >/dev/null || $(APT_INSTALL) openjdk-17-jre-headless

demo: $(STAMP)
	$(VENV)/bin/salespulse demo

run: $(STAMP)
	$(VENV)/bin/salespulse run

# SALESPULSE_REQUIRE_SPARK: the Spark tests fail, not skip, when PySpark or the driver is missing.
test: $(STAMP) $(JDBC_JAR)
	SALESPULSE_REQUIRE_SPARK=1 $(VENV)/bin/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(VENV)/bin/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) out .pgdata
