# Renkei — the two commands in README: `make run` and `make test`. Both install what is missing.
SWIFT ?= swift
CTL = .build/debug/renkeictl
PACKAGES = libsqlite3-dev libsystemd-dev pkg-config

.PHONY: all deps build run test check clean

all: build

# Debian packages the build links against; installed only when missing (needs root).
deps:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -ne 0 ]; then echo "missing packages:$$missing — run: sudo apt-get update && sudo apt-get install -y$$missing" >&2; exit 1; fi; \
	  echo "installing:$$missing"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

build: deps
	$(SWIFT) build

# Until the scheduler daemon lands, `make run` runs each example job once by hand, exactly as the
# daemon will record it, and shows the history. nenkin-to-kaigo fails on purpose (see its file).
run: build
	$(CTL) check --jobs Jobs
	@for job in juki-to-fukushi kokuho-shikaku-copy nenkin-to-kaigo; do \
	  $(CTL) run $$job --local --jobs Jobs --state .renkei || echo "($$job did not succeed: see 'renkeictl show' above)"; \
	done
	$(CTL) history --state .renkei
	@echo
	@echo "Next: $(CTL) show RUN   ·   the README's five-minute tour goes on from here."

test: build
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

check: build
	$(CTL) check --jobs Jobs

clean:
	rm -rf .build .renkei
