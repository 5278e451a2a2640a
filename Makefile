# m1 — common tasks. `make help` lists them.

GO      ?= go
BIN     ?= bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: help build install test vet demo bench fuzz clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build bin/m1 and the scripted model server
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/m1 ./cmd/m1
	$(GO) build -trimpath -o $(BIN)/scripted-model ./cmd/scripted-model

install: ## install m1 from this checkout into GOBIN (default ~/go/bin), as go install ./cmd/m1 does
	$(GO) install -trimpath -ldflags '$(LDFLAGS)' ./cmd/m1

vet: ## go vet and gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: vet ## vet, then every test with the race detector
	@image=$${M1_IMAGE:-m1-sandbox:latest}; \
	if ! docker info >/dev/null 2>&1; then \
		echo "note: no Docker engine answers: the tests that run code in Docker skip (with CI=true they fail)"; \
	elif ! docker image inspect "$$image" >/dev/null 2>&1; then \
		echo "note: no image $$image: the tests that run code in Docker skip; make sandbox-image builds it (with CI=true they fail)"; \
	fi
	$(GO) test -race -count=1 -timeout 30m ./...

demo: ## build, then run m1 on a demo task against the bundled SCRIPTED model (no API key, no network)
	@GO='$(GO)' BIN='$(BIN)' LDFLAGS='$(LDFLAGS)' ./scripts/demo.sh

bench: build ## measure m1's own cost: a table, bench/results.json, bench/latest.txt (docs/performance.md)
	$(GO) run ./bench -go '$(GO)' -m1 $(BIN)/m1 -out bench/results.json -raw bench/latest.txt

fuzz: ## fuzz the ledger parser for 30 s
	$(GO) test -run '^$$' -fuzz FuzzParseLedger -fuzztime 30s ./orchestrator

clean: ## remove build output
	rm -rf $(BIN)

include terminal/sandbox.mk
