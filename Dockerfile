# The otlp-capture binary (with its component embedded) on a small Debian.
# Build: docker build -t otlp-capture .   Run: see examples/compose/.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# `make build` installs the wasm targets from rust-toolchain.toml, builds the component, then the host.
RUN make build

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/otlp-capture --create-home otlp-capture
COPY --from=build /src/target/release/otlp-capture /usr/local/bin/otlp-capture
USER otlp-capture
WORKDIR /var/lib/otlp-capture
# The journal and spool live here; keep it on a volume so a restart loses nothing acknowledged.
VOLUME /var/lib/otlp-capture
EXPOSE 4317 4318
ENTRYPOINT ["otlp-capture"]
CMD ["serve", "--store", "/var/lib/otlp-capture/otel-data", "--spool", "/var/lib/otlp-capture/otel-spool"]
