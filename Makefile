# Paved: make test runs every test (it builds the pinned test tools once per
# version into $(PAVED_TOOLS_CACHE) first); make demo signs and verifies a real
# artifact on the local Sigstore stack; make bench prints performance ratios.
SHELL := /bin/bash
export PAVED_TOOLS_CACHE ?= $(HOME)/.cache/paved-tools
export PAVED_TOOLS_BIN := $(PAVED_TOOLS_CACHE)/bin
export GOFLAGS := -buildvcs=false
TEST_TIMEOUT ?= 40m
FUZZTIME ?= 20s

.PHONY: build tools test fuzz demo bench lint

build:
	go build -o bin/paved .

tools:
	tools/install.sh

test: tools build
	go vet ./...
	PATH="$(PAVED_TOOLS_BIN):$$PATH" go test -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) fuzz

fuzz:
	go test -run '^$$' -fuzz FuzzBundleJSON -fuzztime $(FUZZTIME) ./shared/verify/
	go test -run '^$$' -fuzz FuzzPolicyFile -fuzztime $(FUZZTIME) ./shared/verify/
	go test -run '^$$' -fuzz FuzzChecksums -fuzztime $(FUZZTIME) ./shared/subject/

demo: build
	tools/install.sh fulcio tsa rekor
	test/demo.sh

bench: tools build
	PATH="$(PAVED_TOOLS_BIN):$$PATH" go run ./test/cmd/paved-bench
