#!/usr/bin/env bash
# The installed-package test, run by CI after the end-to-end tests: packages the debug build
# those tests made (no second, release build) as the app's .deb and .rpm and the sandbox's
# tarball and .deb, then runs tests/e2e/tests/installed.rs, which installs them system-wide
# with apt-get, starts the installed app as a new user in Japanese under Xvfb with a real
# Secret Service, and removes them again. Needs root or sudo, and what
# `scripts/setup.sh --test` installs. PACKAGES_SKIP_UI_BUILD=1 reuses ui/dist as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

export TAURI_DRIVER="${TAURI_DRIVER:-$PWD/.tools/bin/tauri-driver}"
[ -x "$TAURI_DRIVER" ] || { echo "test-packages: tauri-driver missing; run scripts/setup.sh --test" >&2; exit 2; }
tauri=$PWD/ui/node_modules/.bin/tauri
[ -x "$tauri" ] || { echo "test-packages: the Tauri CLI is missing; run scripts/setup.sh" >&2; exit 2; }
for tool in apt-get rpm desktop-file-validate jq openssl curl localedef; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test-packages: $tool missing; run scripts/setup.sh --test" >&2; exit 2; }
done
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo -n true 2>/dev/null || { echo "test-packages: installs packages, so it needs root or sudo" >&2; exit 2; }
  sudo="sudo"
fi

# The new user's language (the locales package comes with setup.sh --test).
locale -a | grep -qix 'ja_JP.utf8' || $sudo localedef -i ja_JP -f UTF-8 ja_JP.UTF-8

[ "${PACKAGES_SKIP_UI_BUILD:-0}" = 1 ] || npm --prefix ui run build --silent
# The whole workspace, as scripts/test.sh builds it: after it, nothing is rebuilt.
cargo build --workspace --bins --locked
target=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
bundles="$target/debug/bundle"
rm -rf "$bundles"

echo "--- packages: the debug build as .deb and .rpm"
# --no-binary-patching: the bundler would otherwise write into the tests' binary.
(cd src-tauri && "$tauri" bundle --ci --debug --bundles deb,rpm --no-binary-patching)
debs=("$bundles"/deb/*.deb)
rpms=("$bundles"/rpm/*.rpm)
echo "--- packages: the sandbox's tarball and .deb"
sandbox=()
while IFS= read -r artefact; do sandbox+=("$artefact"); done \
  < <(scripts/package-sandbox.sh "$target/debug/ito-sandbox" "$bundles/sandbox")
ls -l "${debs[@]}" "${rpms[@]}" "${sandbox[@]}"

echo "--- packages: installed, started as a new user, removed"
ITO_DESK_DEB=${debs[0]} ITO_DESK_RPM=${rpms[0]} \
ITO_SANDBOX_TARBALL=${sandbox[0]} ITO_SANDBOX_DEB=${sandbox[1]} \
  xvfb-run -a -s '-screen 0 1280x800x24' \
  dbus-run-session -- sh scripts/with-keyring.sh \
  cargo test --workspace --locked --test installed -- --ignored --test-threads=1 "$@"
