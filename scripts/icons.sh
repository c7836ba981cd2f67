#!/usr/bin/env bash
# Regenerates every app icon from the one source, icons/app-icon.png (square, at least
# 512 px), with the Tauri CLI: its desktop set (.ico, .icns, icon.png at 512 px, 32, 64 and
# 128 px) and the other hicolor sizes Linux desktops look for. tauri.conf.json lists icon.png
# first: Linux windows take the first PNG listed as their icon.
set -euo pipefail
cd "$(dirname "$0")/.."

tauri=ui/node_modules/.bin/tauri
[ -x "$tauri" ] || { echo "icons: the Tauri CLI is missing; run scripts/setup.sh" >&2; exit 2; }

"$tauri" icon icons/app-icon.png --output icons
"$tauri" icon icons/app-icon.png --output icons --png 16,24,48,256
# Not shipped: mobile icons and Windows Store logos (no .msix), and 128x128@2x.png, which
# the Linux bundler would file under hicolor's 256x256@2 although it has 256 px, not 512.
rm -rf icons/android icons/ios icons/Square*Logo.png icons/StoreLogo.png icons/128x128@2x.png
