# syntax=docker/dockerfile:1
# The cityform container image: `docker run --rm -v "$PWD:/work" IMAGE plan` plans the
# manifests of the current directory (docs/ci.md, "Installing cityform").
#
# Two stages: the first builds the release binary with the Rust toolchain, the second is a
# small Debian with only the binary and the CA certificates, run as an unprivileged user.

FROM rust:1-slim-bookworm AS builder
WORKDIR /src
# Cargo.toml names the benchmarks, so the manifest is complete only with them; tests/,
# docs/ and the fuzz targets are not needed to build the binary.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin cityform \
    && cp target/release/cityform /usr/local/bin/cityform

FROM debian:bookworm-slim
# cityform carries the public roots it trusts; ca-certificates gives images built on this
# one a system bundle to add a private CA to (for `sslrootcert=` of a PostgreSQL state).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 cityform \
    && useradd --system --uid 10001 --gid cityform --create-home --home-dir /home/cityform cityform
COPY --from=builder /usr/local/bin/cityform /usr/local/bin/cityform
# Numeric, so that the runtime need not resolve the name; a mounted directory the state is
# written to must be writable by this user, or run with `--user "$(id -u):$(id -g)"`.
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["cityform"]
CMD ["--help"]
