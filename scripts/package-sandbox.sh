#!/usr/bin/env bash
# The sandbox as a release artefact for merchants' CI, made from a built ito-sandbox binary:
#   ito-sandbox-VERSION-ARCH-linux.tar.gz  the binary, packaging/sandbox/README.md, LICENSE
#                                          and THIRD-PARTY-LICENSES.txt in one directory
#   ito-sandbox_VERSION_DEBARCH.deb        /usr/bin/ito-sandbox and those documents
# Usage: scripts/package-sandbox.sh BINARY OUT_DIR   (needs cargo-about: scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -eq 2 ] || { echo "usage: $0 BINARY OUT_DIR" >&2; exit 2; }
bin=$1
out=$2
[ -x "$bin" ] || { echo "package-sandbox: $bin is not an executable" >&2; exit 2; }
about=.tools/bin/cargo-about
[ -x "$about" ] || { echo "package-sandbox: $about missing; run scripts/setup.sh" >&2; exit 2; }

# "ito-sandbox 0.1.0"
version=$("$bin" --version | awk '$1 == "ito-sandbox" { print $2 }')
[ -n "$version" ] || { echo "package-sandbox: $bin --version does not name a version" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

"$about" about generate --fail --config packaging/about.toml \
    --manifest-path crates/ito-sandbox/Cargo.toml \
    packaging/sandbox/THIRD-PARTY-LICENSES.hbs > "$work/THIRD-PARTY-LICENSES.txt"
# What merchants download carries no debug symbols (as Debian's own packages).
strip --strip-unneeded -o "$work/ito-sandbox" "$bin"

name="ito-sandbox-$version-$(uname -m)-linux"
mkdir "$work/$name"
install -m 755 "$work/ito-sandbox" "$work/$name/ito-sandbox"
install -m 644 packaging/sandbox/README.md LICENSE "$work/THIRD-PARTY-LICENSES.txt" "$work/$name/"
tar -C "$work" --owner=0 --group=0 --numeric-owner -czf "$out/$name.tar.gz" "$name"

arch=$(dpkg --print-architecture)
# Laid out as a Debian source tree would, which is where dpkg-shlibdeps expects the files.
root="$work/src/debian/ito-sandbox"
install -D -m 755 "$work/ito-sandbox" "$root/usr/bin/ito-sandbox"
doc="$root/usr/share/doc/ito-sandbox"
install -D -m 644 packaging/sandbox/README.md "$doc/README.md"
install -D -m 644 LICENSE "$doc/copyright"
install -D -m 644 "$work/THIRD-PARTY-LICENSES.txt" "$doc/THIRD-PARTY-LICENSES.txt"
mkdir "$root/DEBIAN"
# dpkg-shlibdeps works out the shared libraries' packages and versions; it wants a
# debian/control to read, which is all this one is for.
printf 'Source: ito-sandbox\n\nPackage: ito-sandbox\nArchitecture: any\n' > "$work/src/debian/control"
depends=$(cd "$work/src" && dpkg-shlibdeps -O debian/ito-sandbox/usr/bin/ito-sandbox | sed -n 's/^shlibs:Depends=//p')
cat > "$root/DEBIAN/control" <<CONTROL
Package: ito-sandbox
Version: $version
Architecture: $arch
Maintainer: ITO-Japan
Installed-Size: $(du -sk --apparent-size "$root/usr" | cut -f1)
Depends: $depends
Section: devel
Priority: optional
Description: Local emulator of the ITO-Japan payment gateway
 A faithful, stateful emulator of the ITO-Japan payment gateway for testing
 merchants' backends offline: every documented endpoint, the OAuth 2.0 server,
 a checkout page, signed webhooks with retries and a control API for tests,
 over its own SQLite database.
CONTROL
dpkg-deb --root-owner-group --build "$root" "$out/ito-sandbox_${version}_$arch.deb" >/dev/null

echo "$out/$name.tar.gz"
echo "$out/ito-sandbox_${version}_$arch.deb"
