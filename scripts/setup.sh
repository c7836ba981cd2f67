#!/usr/bin/env bash
# Installs what building, running and testing need, idempotently: Debian packages
# (WebKitGTK, Xvfb, WebKitWebDriver, gnome-keyring; with --test, Python's venv for
# schemathesis too), the UI's npm packages, cargo-about and, with --test, tauri-driver.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test_tools=0
[ "${1:-}" = "--test" ] && want_test_tools=1

packages=(build-essential mold pkg-config libwebkit2gtk-4.1-dev libssl-dev xvfb xauth dbus gnome-keyring fonts-noto-cjk)
[ "$want_test_tools" = 1 ] && packages+=(webkit2gtk-driver imagemagick rpm desktop-file-utils locales jq curl openssl python3 python3-venv)

if command -v apt-get >/dev/null 2>&1 && [ -f /etc/debian_version ]; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  cat >&2 <<'MSG'
setup: this is not Debian or Ubuntu, so system packages are not installed automatically.
  Linux (other distributions): WebKitGTK 4.1 development files, pkg-config, a C compiler,
    and a Secret Service provider (gnome-keyring or KeePassXC) — see https://tauri.app/start/prerequisites/
  macOS: Xcode Command Line Tools (xcode-select --install).
  Windows: Microsoft C++ Build Tools and WebView2 (preinstalled on Windows 11).
  All: Rust (rustup) and Node.js 20 or newer.
Continuing with what is installed.
MSG
fi

for tool in cargo node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "setup: $tool is required but not installed" >&2; exit 1; }
done

# The lock file is npm 11's and Vite 8 does not install with an older npm: a machine
# left on one installs with npm 11 fetched for this run only.
npm_ci=(npm ci)
[ "$(npm --version | cut -d. -f1)" -ge 11 ] || npm_ci=(npx --yes npm@11 ci)

if [ -f ui/package-lock.json ]; then
  stamp=ui/node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ ui/package-lock.json -nt "$stamp" ]; then
    (cd ui && "${npm_ci[@]}" --no-audit --no-fund --loglevel=error)
  fi
fi

# Rust tools, at pinned versions, built once per machine into a cache outside the
# checkout (a clean clone then links them instead of compiling them for minutes each),
# with a light release profile: they are test and build helpers, not shipped.
tools_cache="${ITO_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ito-merchant-desk/tools}"
install_tool() {
  local name=$1 version=$2
  shift 2
  local root="$tools_cache/$name-$version"
  if [ ! -x "$root/bin/$name" ]; then
    echo "setup: building $name $version (once per machine, into $tools_cache)"
    rm -rf "$root.partial"
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=false \
      CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=false \
      cargo install "$name" --version "=$version" --locked --root "$root.partial" --quiet "$@"
    rm -rf "$root"
    mv "$root.partial" "$root"
  fi
  mkdir -p .tools/bin
  ln -sf "$root/bin/$name" ".tools/bin/$name"
}

[ "$want_test_tools" = 1 ] && install_tool tauri-driver 2.1.0

# cargo-about lists the Rust crates' licences for the app's About panel (the UI build runs
# it) and the sandbox's packages.
install_tool cargo-about 0.9.3 --features cli
