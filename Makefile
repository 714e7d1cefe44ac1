# otlp-capture: build, run, test, lint, bench.
# Every target installs what it needs: the pinned toolchain and its wasm
# targets (rust-toolchain.toml), and for tests the s3s-fs server.

CARGO   ?= cargo
# The component is built with wasm SIMD (host/build.rs sets the same when it
# builds the guest itself); relaxed SIMD stays off, so every host computes
# the same bytes.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS := -C target-feature=+simd128
# The guest's core module; the host's build script makes it the component.
GUEST   := target/wasm32-unknown-unknown/release/otlp_capture_guest.wasm
BIN     := target/release/otlp-capture
STORE   ?= ./otel-data
S3S_FS_VERSION := 0.14.1
MOTO_VERSION := 5.2.1
# The OpenTelemetry Python SDK the encoding tests send with.
OTEL_PYTHON_VERSION := 1.38.0
# The collector tap_throughput compares with (its agent reports 0.0.1-alpha10).
ROTEL_VERSION := 0.0.1a15

.PHONY: all toolchain guest hostile build docs run test test-tools chromium proxy test-proxy lint fmt bench fuzz clean generate check-guest-edit

all: build

# rustup does not install a toolchain file's targets by itself on every
# version; this does, and is a no-op when they are there.
toolchain:
	@rustup toolchain install >/dev/null 2>&1 || rustup toolchain install
	@rustup target list --installed | grep -q wasm32-wasip2 || rustup target add wasm32-wasip2
	@rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# The component is built for wasm32-unknown-unknown, not wasip2, so that it
# imports only what its world declares (wasip2's std brings wasi:cli);
# host/build.rs turns the module into the component the binary embeds.
guest: toolchain
	$(CARGO) build --target wasm32-unknown-unknown --release -p otlp-capture-guest

# The whole workspace, so cargo resolves the same features as `make test`
# does (the test support crate is a member) and `make run` after `make test`
# reuses its build instead of compiling the host's dependencies again. Then
# the binary compiles its component once for this machine and keeps the
# compilation beside itself (target/release/otlp-capture.compiled/), so every
# start loads it in milliseconds; it does nothing when that is there already.
build: guest
	$(CARGO) build --release --workspace
	$(BIN) generate compilation >/dev/null

# Shell completions and the man page, generated from the command line's definition.
docs: build
	mkdir -p target/completions target/man
	for shell in bash zsh fish; do $(BIN) generate $$shell > target/completions/otlp-capture.$$shell; done
	$(BIN) generate man > target/man/otlp-capture.1

run: build
	$(BIN) serve --store $(STORE)

# The S3 server the end-to-end tests start on 127.0.0.1, the Python SDK, jco
# for the second-host test (tests/jco, versions in its package-lock.json), and
# Debian's Chromium with playwright-core for the web UI's browser tests
# (tests/browser; they are skipped, saying so, where Chromium cannot be installed).
test-tools:
	@test -d tests/jco/node_modules/@bytecodealliance/jco || npm ci --prefix tests/jco --no-audit --no-fund
	@test -d tests/browser/node_modules/playwright-core || npm ci --prefix tests/browser --no-audit --no-fund
	@command -v chromium >/dev/null 2>&1 || $(MAKE) --no-print-directory chromium
	@command -v s3s-fs >/dev/null 2>&1 || $(CARGO) install s3s-fs@$(S3S_FS_VERSION) --locked --features binary
	@python3 -c "import moto.server, flask, flask_cors" 2>/dev/null || \
		python3 -m pip install --quiet --disable-pip-version-check "moto[s3]==$(MOTO_VERSION)" flask flask-cors
	@python3 -c "import opentelemetry.exporter.otlp.proto.http, opentelemetry.exporter.otlp.proto.grpc" 2>/dev/null || \
		python3 -m pip install --quiet --disable-pip-version-check "opentelemetry-sdk==$(OTEL_PYTHON_VERSION)" \
			"opentelemetry-exporter-otlp-proto-http==$(OTEL_PYTHON_VERSION)" \
			"opentelemetry-exporter-otlp-proto-grpc==$(OTEL_PYTHON_VERSION)"

# Debian's Chromium, as root or through sudo; a machine where neither works
# runs the tests without the browser ones.
chromium:
	@if [ "$$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; \
	else echo "note: not root and no sudo: Chromium is not installed, the browser tests will be skipped"; exit 0; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$sudo apt-get install -y -q chromium >/dev/null 2>&1 || \
		{ $$sudo apt-get update -q >/dev/null && $$sudo apt-get install -y -q chromium >/dev/null; } || \
		echo "note: apt-get could not install Chromium; the browser tests will be skipped"

# The hostile component the sandbox tests load (tests/hostile).
hostile: toolchain
	$(CARGO) build --target wasm32-wasip2 --release -p otlp-capture-hostile

# After `build`, so the tests run the binary with its compilation installed
# beside it, as users do, and `make run` afterwards builds nothing.
test: build hostile test-tools
	$(CARGO) test --release --workspace

# The wasi:http proxy: the component the binary embeds, composed with the
# two adapters in proxy/ (their own workspace, built for wasm32-wasip2) into
# target/proxy/otlp-capture-proxy.wasm, for wasmtime serve, Spin and other
# wasi:http/proxy hosts (docs/hosting.md).
PROXY := target/proxy/otlp-capture-proxy.wasm

proxy: build
	cd proxy && $(CARGO) build --release --target wasm32-wasip2 --target-dir ../target \
		-p otlp-capture-proxy-services -p otlp-capture-proxy-front
	cd proxy && $(CARGO) build --release --target-dir ../target -p otlp-capture-proxy-compose
	mkdir -p target/proxy
	$(BIN) generate component > target/proxy/otlp-processor.wasm
	target/release/otlp-capture-proxy-compose target/proxy/otlp-processor.wasm \
		target/wasm32-wasip2/release/otlp_capture_proxy_services.wasm \
		target/wasm32-wasip2/release/otlp_capture_proxy_front.wasm $(PROXY)

# The proxy under two unmodified wasi:http hosts, wasmtime serve and jco serve
# (Node, from tests/jco), against s3s-fs and moto, fed by the Rust SDK and
# replayed by otlp-capture (tests/e2e/proxy.rs). A target of its
# own because installing wasmtime-cli takes about nine minutes on two cores
# (at opt-level 1, which builds it 2-3 minutes faster than 3 and still
# compiles the proxy in a second); its build is kept in target/tools so a
# second install reuses it.
WASMTIME_VERSION := 48.0.8
test-proxy: proxy test-tools
	@command -v wasmtime >/dev/null 2>&1 || CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
		$(CARGO) install wasmtime-cli@$(WASMTIME_VERSION) --locked \
		--no-default-features --features run,serve,component-model-async,cranelift,parallel-compilation,pooling-allocator \
		--target-dir target/tools
	cd proxy && $(CARGO) test --release --target-dir ../target -p otlp-capture-proxy-wasi-host \
		-p otlp-capture-proxy-services -p otlp-capture-proxy-front
	$(CARGO) test --release --workspace --test e2e -- --ignored proxy::

# The component's OTLP messages, from the .proto files in guest/proto (checked
# in; tools/otlp-gen is a workspace of its own, built only here and by lint).
generate:
	cd tools/otlp-gen && $(CARGO) run --release --quiet --target-dir ../../target/tools

lint: guest hostile
	cd tools/otlp-gen && $(CARGO) run --release --quiet --target-dir ../../target/tools -- --check
	cd tools/otlp-gen && $(CARGO) fmt -- --check
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	$(CARGO) clippy --release -p otlp-capture-guest --target wasm32-unknown-unknown -- -D warnings
	$(CARGO) clippy --release -p otlp-capture-hostile --target wasm32-wasip2 -- -D warnings
	cd proxy && $(CARGO) fmt --all -- --check
	cd proxy && $(CARGO) clippy --release --target-dir ../target --target wasm32-wasip2 \
		-p otlp-capture-proxy-services -p otlp-capture-proxy-front -- -D warnings
	cd proxy && $(CARGO) clippy --release --target-dir ../target --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# Benchmarks print their figures; see BENCHMARKS.md. The pipeline_speed
# WASI command (the component's code without its exports) is built natively
# and, in a target directory of its own, for wasm32-wasip2.
bench: build
	$(CARGO) build --release -p otlp-capture-guest --example pipeline_speed --features compare-zlib-rs
	$(CARGO) build --release -p otlp-capture-guest --example pipeline_speed --no-default-features \
		--features compare-zlib-rs --target wasm32-wasip2 --target-dir target/speed
	@python3 -c "import rotel" 2>/dev/null || \
		python3 -m pip install --quiet --disable-pip-version-check "rotel==$(ROTEL_VERSION)" || \
		echo "note: Rotel could not be installed; tap_throughput skips the comparison with it"
	$(CARGO) bench --workspace --bench component_speed
	$(CARGO) bench --workspace --bench tap_throughput
	$(CARGO) bench --workspace --bench durability_cost
	$(CARGO) bench --workspace --bench forward_latency
	$(CARGO) bench --workspace --bench replay_memory

# Fuzzes every decoder the network or the store reaches (guest/src/fuzzing.rs)
# and the control API's bodies and the CLI's number parsers (host/src/fuzzing.rs)
# for FUZZ_SECONDS each (default 600) on nightly; not part of CI. Inputs that
# break a property land in fuzz/artifacts/TARGET/: copy them to
# tests/fixtures/fuzz/TARGET/ so that `make test` replays them on stable.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS := otlp_protobuf otlp_json stored_object gzip_stream metadata_json object_key control_json cli_numbers

fuzz:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for target in $(FUZZ_TARGETS); do \
		mkdir -p corpus/$$target ../tests/fixtures/fuzz/$$target && \
		cargo +nightly fuzz run $$target corpus/$$target ../tests/fixtures/fuzz/$$target -- \
			-max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 || exit 1; \
	done

# Shows that an edit of guest/src reaches the component the binary embeds
# when cargo alone builds (no `make guest`): one of the guest's messages gets
# a marker, `cargo build` must embed it (host/build.rs builds the guest
# again, as it is newer than the module `make guest` built), and the edit is
# undone whatever happens (the next `make build` embeds the restored one).
# A few minutes: outside `make test`.
check-guest-edit: build
	@marker="edit-$$$$-$$(date +%s)"; file=guest/src/session_id.rs; \
	cp $$file target/session_id.rs.orig; \
	trap 'cp target/session_id.rs.orig '$$file'; rm -f target/session_id.rs.orig' EXIT; \
	sed -i "s/the session id is empty/the session id is empty $$marker/" $$file; \
	grep -q "$$marker" $$file || { echo "the marker was not placed"; exit 1; }; \
	$(CARGO) build --release -p otlp-capture; \
	if grep -q -a "$$marker" $(BIN); then echo "the edit of $$file reached the embedded component"; \
	else echo "the edit of $$file did NOT reach the embedded component"; exit 1; fi

clean:
	$(CARGO) clean
