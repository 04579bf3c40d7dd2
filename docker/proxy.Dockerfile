# Image of the mutual-TLS proxy.
#
# mixer.Dockerfile, proxy.Dockerfile and service.Dockerfile differ only in
# stage 3: their build stages are the same instructions, so the layer cache
# builds the workspace once for all three images.
#
# The base images are build arguments, so a machine without access to a
# registry can pass local images of the same kind:
#   BUILDER_IMAGE: a Rust toolchain on Debian bookworm (cargo, a C compiler)
#   RUNTIME_IMAGE: glibc and libgcc of Debian 12, nothing else needed
ARG BUILDER_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# Stage 1: the workspace manifests with every lib.rs and main.rs emptied, so
# that the dependency layer in stage 2 changes only when a Cargo.toml or
# Cargo.lock does.
FROM ${BUILDER_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN find . -type f ! -name Cargo.toml ! -name Cargo.lock \
        ! -path '*/src/lib.rs' ! -path '*/src/main.rs' -delete \
 && find . -path '*/src/lib.rs' -exec truncate -s 0 {} + \
 && echo 'fn main() {}' > /tmp/main.rs \
 && find . -path '*/src/main.rs' -exec cp /tmp/main.rs {} \;

# Stage 2: dependencies first, then our sources. cargo decides freshness by
# modification time and the copied sources keep their original times, so
# they are touched to be newer than the empty stand-ins built before.
FROM ${BUILDER_IMAGE} AS build
WORKDIR /src
COPY --from=manifests /src ./
RUN cargo build --release --locked -p mixer -p proxy -p service
COPY . .
RUN find crates -name '*.rs' -exec touch {} + \
 && cargo build --release --locked -p mixer -p proxy -p service

# Stage 3: the one binary, run as an unprivileged numeric user. The image
# holds no certificate or key of ours: they are mounted at run time.
FROM ${RUNTIME_IMAGE}
COPY --from=build /src/target/release/proxy /usr/local/bin/proxy
USER 65532:65532
EXPOSE 9000 9001 18510
ENTRYPOINT ["/usr/local/bin/proxy"]
