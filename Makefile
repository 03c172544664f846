# Renkei — the two commands in README: `make run` and `make test`. Both install what is missing.
SWIFT ?= swift
CTL = .build/debug/renkeictl
PACKAGES = libsqlite3-dev libsystemd-dev pkg-config
# The tests also need a real systemd-journald, journalctl and systemd-analyze (Debian's systemd),
# the sqlite3 shell (audit tampering), headless Chromium (the HTML report) and GNU time (the
# peak memory of a check or convert of a big file), Prometheus' node_exporter and the Zabbix agent
# (each started by its test on loopback, never as the package's service), promtool (from Debian's
# prometheus: the metrics file and the shipped alert rules checked), exim (the mail tests) and
# PostgreSQL 15 for the PostgreSQL store (Tests/Support/scratch-postgres.sh starts a private one
# per test, Unix socket only).
TEST_PACKAGES = systemd sqlite3 chromium time prometheus-node-exporter prometheus zabbix-agent exim4-daemon-light postgresql-15

PREFIX ?= /usr/local
DESTDIR ?=
MANIFEST = $(DESTDIR)$(PREFIX)/share/renkei/installed-files

.PHONY: all deps test-deps install-missing build run test test-postgres check clean lint-units install uninstall man e2e bench bench-smoke

all: build

# Debian packages the build links against; installed only when missing (needs root).
deps:
	@$(MAKE) --no-print-directory install-missing NEEDED="$(PACKAGES)"

test-deps:
	@$(MAKE) --no-print-directory install-missing NEEDED="$(PACKAGES) $(TEST_PACKAGES)"

install-missing:
	@missing=""; for p in $(NEEDED); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -ne 0 ]; then echo "missing packages:$$missing — run: sudo apt-get update && sudo apt-get install -y$$missing" >&2; exit 1; fi; \
	  echo "installing:$$missing"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

build: deps
	$(SWIFT) build

# Runs renkeid in the foreground on the example jobs, state in ./.renkei, logging to the console.
# fukushi-inbox-status runs every 30 seconds; Ctrl-C stops the daemon (running runs may finish).
run: build
	$(CTL) check --jobs Jobs
	@echo "Starting renkeid (Ctrl-C to stop). In another terminal: $(CTL) history"
	.build/debug/renkeid --jobs Jobs --state .renkei

test: test-deps build lint-units
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip '^RenkeiPostgresTests\.'
	$(MAKE) --no-print-directory test-postgres

# The PostgreSQL store's tests, in their own process: each starts a private PostgreSQL 15 and awaits
# it through PostgresNIO, and beside the hundreds of tests that block their threads on child
# processes they were starved of the few threads Swift's concurrency has on a 2-core machine. One
# suite at a time (--no-parallel): each starts its own PostgreSQL, and nine at once on 2 cores
# stalled a session past the server's 10 s limit for an idle transaction.
test-postgres:
	$(SWIFT) test --skip-build --no-parallel --filter '^RenkeiPostgresTests\.'
	$(MAKE) --no-print-directory e2e
	$(MAKE) --no-print-directory bench-smoke

# Boots a real systemd as PID 1 of private namespaces with the units and binaries installed, and
# checks start/STATUS, scheduling, the journal, operators vs others, reload, the watchdog, stop and
# the report timer's service (Tests/Support/systemd-e2e.sh; root only).
e2e: build
	Tests/Support/systemd-e2e.sh

# The units, checked by systemd itself: `verify` must print nothing (it exits 0 on unknown keys),
# and renkeid.service's exposure must stay at or under 3.0 (systemd-analyze security).
lint-units: build
	@root=$$(mktemp -d); trap 'rm -rf "$$root"' EXIT; \
	mkdir -p "$$root/lib/systemd" "$$root/etc/systemd/system" "$$root/usr/local/bin" "$$root/bin"; \
	cp -r /lib/systemd/system "$$root/lib/systemd/"; cp /bin/kill "$$root/bin/"; \
	cp .build/debug/renkeid .build/debug/renkeictl "$$root/usr/local/bin/"; \
	cp Units/renkeid.service Units/renkei-report.service Units/renkei-report.timer "$$root/etc/systemd/system/"; \
	out=$$(systemd-analyze verify --man=no --root="$$root" renkeid.service renkei-report.service renkei-report.timer 2>&1); \
	if [ -n "$$out" ]; then echo "systemd-analyze verify complained:"; echo "$$out"; exit 1; fi; \
	systemd-analyze security --offline=yes --root="$$root" --threshold=30 renkeid.service | tail -1; \
	systemd-analyze security --offline=yes --root="$$root" --threshold=30 renkeid.service > /dev/null || { echo "renkeid.service is exposed above 3.0"; exit 1; }; \
	echo "units: verify clean, exposure within 3.0"

# Man pages from the argument parser (its generate-manual plugin) and Units/man.
man:
	mkdir -p .build/man
	$(SWIFT) package --allow-writing-to-package-directory generate-manual --output-directory .build/man --section 1
	mkdir -p .build/man8 && $(SWIFT) package --allow-writing-to-package-directory generate-manual --output-directory .build/man8 --section 8
	cp .build/man8/renkeid.8 .build/man/ && rm -f .build/man/renkeid.1 && cp Units/man/renkei.job.5 .build/man/

# `make install [PREFIX=/usr/local] [DESTDIR=…]`: binaries, units, sysusers/tmpfiles, catalog,
# man pages, example jobs (never over existing files). What it installed is listed in
# $(PREFIX)/share/renkei/installed-files, which is what `make uninstall` removes.
# The Swift runtime is linked into the binaries: they start in half the time, take less memory
# and do not depend on the toolchain's shared libraries.
# Product by product: linked statically, GRDB's dynamic-library product would not link.
install: deps man
	$(SWIFT) build -c release --static-swift-stdlib --product renkeid
	$(SWIFT) build -c release --static-swift-stdlib --product renkeictl
	@set -e; m="$(MANIFEST)"; mkdir -p "$$(dirname "$$m")"; : > "$$m.new"; \
	put() { mode=$$1 src=$$2 dst="$(DESTDIR)$$3"; mkdir -p "$$(dirname "$$dst")"; \
	  if [ -n "$$4" ] && [ -e "$$dst" ]; then echo "kept existing $$3"; return; fi; \
	  install -m "$$mode" "$$src" "$$dst"; echo "$$3" >> "$$m.new"; echo "installed $$3"; }; \
	put 755 .build/release/renkeid $(PREFIX)/bin/renkeid; \
	put 755 .build/release/renkeictl $(PREFIX)/bin/renkeictl; \
	for u in renkeid.service renkei-report.service renkei-report.timer; do \
	  sed "s|/usr/local/bin/|$(PREFIX)/bin/|g" Units/$$u > .build/$$u; put 644 .build/$$u $(PREFIX)/lib/systemd/system/$$u; done; \
	put 644 Units/renkei.sysusers $(PREFIX)/lib/sysusers.d/renkei.conf; \
	put 644 Units/renkei.tmpfiles $(PREFIX)/lib/tmpfiles.d/renkei.conf; \
	put 644 Units/renkei.catalog $(PREFIX)/lib/systemd/catalog/renkei.catalog; \
	put 644 .build/man/renkeictl.1 $(PREFIX)/share/man/man1/renkeictl.1; \
	put 644 .build/man/renkeid.8 $(PREFIX)/share/man/man8/renkeid.8; \
	put 644 .build/man/renkei.job.5 $(PREFIX)/share/man/man5/renkei.job.5; \
	sed "s|/usr/local/bin/|$(PREFIX)/bin/|g" Units/zabbix/renkei.conf > .build/zabbix-renkei.conf; \
	put 644 .build/zabbix-renkei.conf /etc/zabbix/zabbix_agentd.conf.d/renkei.conf keep; \
	put 644 Units/zabbix/renkei-template.yaml $(PREFIX)/share/renkei/zabbix/renkei-template.yaml; \
	put 644 Units/prometheus/renkei-alerts.yml $(PREFIX)/share/renkei/prometheus/renkei-alerts.yml; \
	for f in Jobs/*.yaml Jobs/*.txt; do put 644 "$$f" /etc/renkei/jobs/$$(basename "$$f") keep; done; \
	for f in Jobs/bin/*; do put 755 "$$f" /etc/renkei/jobs/bin/$$(basename "$$f") keep; done; \
	cat "$$m.new" >> "$$m"; rm "$$m.new"; sort -u -o "$$m" "$$m"; \
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	  systemd-sysusers; systemd-tmpfiles --create; journalctl --update-catalog; systemctl daemon-reload; \
	  echo "next: systemctl enable --now renkeid renkei-report.timer"; fi

uninstall:
	@m="$(MANIFEST)"; [ -f "$$m" ] || { echo "nothing recorded in $$m"; exit 0; }; \
	while read -r f; do rm -f "$(DESTDIR)$$f" && echo "removed $$f"; done < "$$m"; rm -f "$$m"; \
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; journalctl --update-catalog; fi

# Benchmarks (release build; a table printed, figures in .build/bench/results.json; see README,
# "Performance"). Python's venv module is only for the APScheduler peer.
bench: deps
	@$(MAKE) --no-print-directory install-missing NEEDED="sqlite3 python3-venv time"
	Benchmarks/bench.sh

# Every scenario of the benchmark at tiny sizes on the debug build: proves they run, asserts no timing.
bench-smoke: build
	@$(MAKE) --no-print-directory install-missing NEEDED="time"
	BENCH_SMOKE=1 Benchmarks/bench.sh

check: build
	$(CTL) check --jobs Jobs

clean:
	rm -rf .build .renkei
