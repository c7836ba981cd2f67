#!/usr/bin/env bash
# Installs what building, running and testing need, idempotently: Debian packages
# (WebKitGTK, Xvfb, WebKitWebDriver, gnome-keyring), the UI's npm packages, cargo-about and,
# with --test, tauri-driver. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test_tools=0
[ "${1:-}" = "--test" ] && want_test_tools=1

packages=(build-essential pkg-config libwebkit2gtk-4.1-dev libssl-dev xvfb xauth dbus gnome-keyring fonts-noto-cjk)
[ "$want_test_tools" = 1 ] && packages+=(webkit2gtk-driver imagemagick rpm desktop-file-utils locales jq curl openssl)

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

if [ "$want_test_tools" = 1 ] && [ ! -x .tools/bin/tauri-driver ]; then
  cargo install tauri-driver --version '^2' --locked --root .tools --quiet
fi

# cargo-about lists the Rust crates' licences for the app's About panel (the UI build runs
# it) and the sandbox's packages.
if [ ! -x .tools/bin/cargo-about ]; then
  cargo install cargo-about --version '^0.9' --features cli --locked --root .tools --quiet
fi
