# The two set-up commands of the README: `make demo` and `make test`.
# Each builds the virtual environment on first use, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
# The Spark session engine (docs/scale.md) needs Java 17+ and the Postgres JDBC driver; both
# come from Debian's packages (we run as root on CI and the dev machines).
JDBC_JAR := /usr/share/java/postgresql.jar
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

# Chinese charts need a CJK font; DejaVu Sans (matplotlib's own) has Latin, Cyrillic and Vietnamese.
# WenQuanYi Micro Hei is the small one (5 MB). Without apt-get the demo still runs: the charts log
# once that the glyphs are missing and the text digest is unaffected.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc

.PHONY: demo test bench run clean image image-smoke

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

$(JDBC_JAR):
	@command -v apt-get >/dev/null || { echo "install Java 17 and the Postgres JDBC driver (jar at $(JDBC_JAR)) for the Spark tests"; exit 1; }
	$(APT_INSTALL) libpostgresql-jdbc-java >/dev/null 2>&1 || { apt-get update -qq && $(APT_INSTALL) libpostgresql-jdbc-java; }
	@command -v java >/dev/null || $(APT_INSTALL) openjdk-17-jre-headless

$(CJK_FONT):
	@command -v apt-get >/dev/null || { echo "no apt-get: install a CJK font (fonts-wqy-microhei or fonts-noto-cjk) for Chinese charts"; exit 0; }
	-$(APT_INSTALL) fonts-wqy-microhei >/dev/null 2>&1 || { apt-get update -qq && $(APT_INSTALL) fonts-wqy-microhei; }

demo: $(STAMP) $(CJK_FONT)
	$(VENV)/bin/salespulse demo

run: $(STAMP)
	$(VENV)/bin/salespulse run

# SALESPULSE_REQUIRE_SPARK: the Spark tests fail, not skip, when PySpark or the driver is missing;
# SALESPULSE_REQUIRE_CJK_FONT: the Chinese chart test fails, not skips, without a CJK font.
test: $(STAMP) $(JDBC_JAR) $(CJK_FONT)
	SALESPULSE_REQUIRE_SPARK=1 SALESPULSE_REQUIRE_CJK_FONT=1 $(VENV)/bin/pytest $(PYTEST_ARGS)

# The container image (Containerfile) from a clean checkout of HEAD, on a base image made with
# debootstrap where no registry is reachable; image-smoke then runs `salespulse --version` and
# `salespulse demo` inside it against DATABASE_URL's server. Installs podman and debootstrap when
# missing (root, apt-get). Measured: 5.5 minutes on a fresh machine, 3.5 after (docs/operations.md).
image:
	bash deploy/image.sh build

image-smoke:
	bash deploy/image.sh smoke

bench: $(STAMP)
	$(VENV)/bin/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) out .pgdata
