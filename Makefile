# tenantsync: make test (what CI runs), make bench, make soak, make fuzz, make lint.
GO       ?= go
PKGS     ?= ./...
FUZZTIME ?= 5s

.PHONY: test lint vet fmt-check staticcheck apicheck api unit fuzz-short fuzz bench soak crash

test: lint unit fuzz-short

lint: fmt-check vet staticcheck apicheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# staticcheck is pinned in go.mod as a tool, so its version lives in go.sum and nothing is
# installed by hand.
staticcheck:
	$(GO) tool staticcheck $(PKGS)

# The public API must match api/v1.export: a change to it is deliberate (make api, then a
# CHANGELOG.md entry naming it).
apicheck:
	bash scripts/apicheck.sh

api:
	bash scripts/api.sh

# The unit and integration suite, with a throwaway PostgreSQL for store/postgres
# (or the server named by TENANTSYNC_TEST_POSTGRES). store/postgres runs on its own with -v so
# the log shows its suite ran against the server rather than skipping.
PGPKG := github.com/tenantsync/tenantsync/store/postgres
unit:
	bash scripts/with-postgres.sh bash -c 'pkgs=$$($(GO) list $(PKGS)) || exit 1; rc=0; \
	$(GO) test -race -count=1 -timeout 30m $$(echo "$$pkgs" | grep -vx "$(PGPKG)") || rc=1; \
	if echo "$$pkgs" | grep -qx "$(PGPKG)"; then $(GO) test -race -count=1 -timeout 30m -v $(PGPKG) || rc=1; fi; \
	exit $$rc'

# Each fuzz target for a short fixed time.
fuzz-short:
	bash scripts/fuzz.sh $(FUZZTIME)

fuzz:
	bash scripts/fuzz.sh 2m

# The figures of BENCHMARKS.md: sync efficiency against the lower bound at 20 ms and 100 ms (three
# runs each, the fake in its own process on its own core), graph vs msgraph-sdk-go, the CIPP
# route live and in bulk mode, memory, and 1, 2 and 4 engine processes on one PostgreSQL
# (internal/bench, BENCHFLAGS=-full for the issue's full partner; the PostgreSQL is the one
# TENANTSYNC_BENCH_POSTGRES or TENANTSYNC_TEST_POSTGRES names, else a throwaway one from
# scripts/with-postgres.sh, and without PostgreSQL the scale-out figure says it was skipped),
# then match's precision/recall report and the store's apply benchmark.
BENCHFLAGS ?=
# The goal lines (goal <name>: <value> (target <op> <target>) met|missed) are printed last.
bench:
	@goals=$$(mktemp); rc=0; \
	if [ -n "$${TENANTSYNC_BENCH_POSTGRES:-}" ]; then export TENANTSYNC_TEST_POSTGRES="$$TENANTSYNC_BENCH_POSTGRES"; fi; \
	bash scripts/with-postgres.sh $(GO) run ./internal/bench -goals $$goals $(BENCHFLAGS) || rc=1; \
	$(GO) run ./match/internal/matchbench -goals $$goals || rc=1; \
	$(GO) test -run '^$$' -bench . -benchtime 3x ./store/sqlite || rc=1; \
	echo; cat $$goals; rm -f $$goals; exit $$rc

# Reliability: faults throughout a few minutes of syncing, then SIGKILLs during sync on SQLite.
SOAKFLAGS ?=
soak:
	@rc=0; $(GO) run ./internal/bench -soak $(SOAKFLAGS) || rc=1; \
	$(GO) run ./internal/bench -crash || rc=1; exit $$rc

crash:
	$(GO) run ./internal/bench -crash
