# Renkei — the two commands in README: `make run` and `make test`. Both install what is missing.
SWIFT ?= swift
CTL = .build/debug/renkeictl
PACKAGES = libsqlite3-dev libsystemd-dev pkg-config
# The tests also need a real systemd-journald, journalctl and systemd-analyze (Debian's systemd),
# the sqlite3 shell (audit tampering) and headless Chromium (the HTML report).
TEST_PACKAGES = systemd sqlite3 chromium

.PHONY: all deps test-deps install-missing build run test check clean

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

test: test-deps build
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

check: build
	$(CTL) check --jobs Jobs

clean:
	rm -rf .build .renkei
