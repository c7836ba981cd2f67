#!/usr/bin/env bash
# Release packages, into artifacts/packages/:
#   the app's .deb and .rpm (Tauri's bundler, release build),
#   the sandbox's tarball and .deb for merchants' CI (scripts/package-sandbox.sh),
# and their figures: sizes against a blank Tauri window's .deb built here with the same
# toolchain, the installed size, and, given root or sudo, the installed release app's start
# to Overview against the installed blank window (tests/e2e/src/bin/bench-app.rs).
# Windows (.msi, NSIS) and macOS (.app, .dmg) bundles are configured in tauri.conf.json and
# are built on those systems with `npx tauri build`. AppImage is not built: its bundler
# downloads tools at build time.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --test
tauri=$PWD/ui/node_modules/.bin/tauri
out=artifacts/packages
rm -rf "$out"
mkdir -p "$out"

echo "--- release builds: the app, a blank Tauri window, the sandbox, the benchmark"
npm --prefix ui run build --silent
cargo build --release --locked -p ito-merchant-desk -p blank-window -p ito-sandbox
cargo build --release --locked -p ito-desk-e2e --bin bench-app
target=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
bundles="$target/release/bundle"
rm -rf "$bundles"

echo "--- bundles"
(cd src-tauri && "$tauri" bundle --ci --bundles deb,rpm)
cp "$bundles"/deb/*.deb "$bundles"/rpm/*.rpm "$out/"
# The blank window is bundled only for comparison; its config leaves bundling off.
(cd tests/blank-window && "$tauri" bundle --ci --bundles deb --config '{"bundle":{"active":true}}')
blank_deb=("$bundles"/deb/Blank*.deb)
app_deb=("$out"/ITO*.deb)
app_rpm=("$out"/*.rpm)
scripts/package-sandbox.sh "$target/release/ito-sandbox" "$out" >/dev/null

size() { stat -c %s "$1"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
blank=$(size "${blank_deb[0]}")
{
  echo "Packages ($(rustc --version), $(date -u +%Y-%m-%d))"
  echo "  app .deb:           $(mib "$(size "${app_deb[0]}")")  = $(ratio "$(size "${app_deb[0]}")" "$blank") x the blank window's .deb (aim <= 3)"
  echo "  app .rpm:           $(mib "$(size "${app_rpm[0]}")")  = $(ratio "$(size "${app_rpm[0]}")" "$blank") x the blank window's .deb"
  echo "  blank window .deb:  $(mib "$blank")"
  echo "  app installed size: $(dpkg-deb --field "${app_deb[0]}" Installed-Size) KiB (blank window: $(dpkg-deb --field "${blank_deb[0]}" Installed-Size) KiB)"
  for f in "$out"/ito-sandbox*; do echo "  $(basename "$f"): $(mib "$(size "$f")")"; done
  echo "  sandbox .deb depends on: $(dpkg-deb --field "$out"/ito-sandbox_*.deb Depends)"
} | tee "$out/figures.txt"

sudo=""
[ "$(id -u)" -eq 0 ] || { sudo -n true 2>/dev/null && sudo="sudo"; } || {
  echo "package: no root or sudo, so the installed apps' start times are not measured" >&2
  exit 0
}
for p in ito-merchant-desk blank-window; do
  if dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
    echo "package: $p is installed already; not measuring start times over it" >&2
    exit 0
  fi
done
echo "--- installed release app vs installed blank window: start times"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "$PWD/${app_deb[0]}" "$(realpath "${blank_deb[0]}")" >/dev/null
trap '$sudo env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq ito-merchant-desk blank-window >/dev/null' EXIT
ITO_DESK_APP=/usr/bin/ito-merchant-desk BLANK_WINDOW_APP=/usr/bin/blank-window \
  xvfb-run -a -s '-screen 0 1280x800x24' \
  dbus-run-session -- sh scripts/with-keyring.sh \
  "$target/release/bench-app" | tee -a "$out/figures.txt"
