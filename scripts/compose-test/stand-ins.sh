# shellcheck shell=bash
# Local stand-ins for the public base images of docker/*.Dockerfile, for
# scripts/compose-test.sh (sourced). The machine reaches no container
# registry, so both bases are made from Debian packages:
#   runtime: a debootstrap minbase root of bookworm (glibc, libgcc)
#   builder: that root plus gcc, libc6-dev and ca-certificates, the
#            machine's Rust toolchain, and a CARGO_HOME filled by
#            `cargo fetch --locked`, so the image builds offline.
# The two Debian roots are cached as tar files under $CACHE_DIR, keyed by
# nothing: delete them to pick up newer packages.

RUNTIME_STANDIN=mixer-proxy-test/runtime:bookworm
# Tagged further below with the toolchain and Cargo.lock it was made for.
BUILDER_STANDIN=mixer-proxy-test/builder

# Prints the Debian mirror apt uses here, so debootstrap reads the same one.
debian_mirror() {
    local uri
    uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources \
        | awk '{ print $2 }' | grep -E '/debian/?$' | head -n 1 || true)
    if [[ -z $uri ]]; then
        uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
            | awk '$3 == "bookworm" { print $2 }' | head -n 1 || true)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

# Writes $CACHE_DIR/bookworm-minbase.tar unless it exists (about 35 s).
cache_minbase_root() {
    local tar=$CACHE_DIR/bookworm-minbase.tar
    [[ -s $tar ]] && return 0

    local root=$WORK/minbase mirror
    mirror=$(debian_mirror)
    echo "==> debootstrap minbase bookworm from $mirror"
    if ! debootstrap --variant=minbase bookworm "$root" "$mirror" \
        >"$WORK/debootstrap.log" 2>&1; then
        tail -n 20 "$WORK/debootstrap.log" >&2
        echo "debootstrap failed; full log: $WORK/debootstrap.log" >&2
        return 1
    fi
    tar -C "$root" -cf "$tar.partial" .
    mv "$tar.partial" "$tar"
    rm -rf "$root"
}

# Writes $CACHE_DIR/bookworm-build.tar unless it exists: the minbase root
# with a C toolchain, which aws-lc-sys needs.
cache_build_root() {
    local tar=$CACHE_DIR/bookworm-build.tar
    [[ -s $tar ]] && return 0

    local root=$WORK/build-root
    echo "==> adding gcc, libc6-dev and ca-certificates to the builder root"
    mkdir -p "$root"
    tar -C "$root" -xf "$CACHE_DIR/bookworm-minbase.tar"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    if ! { chroot "$root" apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq \
            --no-install-recommends gcc libc6-dev ca-certificates; } \
        >"$WORK/build-root-apt.log" 2>&1; then
        tail -n 20 "$WORK/build-root-apt.log" >&2
        echo "apt-get inside $root failed" >&2
        return 1
    fi
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root/etc/resolv.conf"
    tar -C "$root" -cf "$tar.partial" .
    mv "$tar.partial" "$tar"
    rm -rf "$root"
}

# Imports both stand-ins into the engine unless it has them already (an
# engine whose data root is kept). The builder gets the toolchain of the
# `rustc` on PATH and the crates of Cargo.lock, fetched into a CARGO_HOME
# cached under $CACHE_DIR.
import_stand_ins() {
    cache_minbase_root
    cache_build_root

    if ! docker image inspect "$RUNTIME_STANDIN" >/dev/null 2>&1; then
        echo "==> importing $RUNTIME_STANDIN"
        docker import "$CACHE_DIR/bookworm-minbase.tar" "$RUNTIME_STANDIN" \
            >/dev/null
    fi

    local tag
    tag=$({ rustc -vV && cat Cargo.lock; } | sha256sum | cut -c 1-12)
    BUILDER_STANDIN=$BUILDER_STANDIN:$tag
    docker image inspect "$BUILDER_STANDIN" >/dev/null 2>&1 && return 0

    echo "==> fetching the crates of Cargo.lock"
    CARGO_HOME=$CACHE_DIR/cargo-home cargo fetch --locked --quiet

    local root=$WORK/builder sysroot
    sysroot=$(rustc --print sysroot)
    echo "==> importing $BUILDER_STANDIN with $(rustc --version)"
    mkdir -p "$root/usr/local/rust" "$root/usr/local/cargo"
    tar -C "$root" -xf "$CACHE_DIR/bookworm-build.tar"
    # rustc finds its libraries relative to its own path, so bin/ and lib/
    # move together; share/ holds only documentation.
    cp -a "$sysroot/bin" "$sysroot/lib" "$root/usr/local/rust/"
    cp -a "$CACHE_DIR/cargo-home/registry" "$root/usr/local/cargo/"
    tar -C "$root" -c . | docker import \
        -c 'ENV PATH=/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'ENV CARGO_HOME=/usr/local/cargo' \
        -c 'ENV CARGO_NET_OFFLINE=true' \
        - "$BUILDER_STANDIN" >/dev/null
    rm -rf "$root"
}
