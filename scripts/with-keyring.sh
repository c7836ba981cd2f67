#!/bin/sh
# Runs a command with an unlocked gnome-keyring Secret Service on the current D-Bus
# session bus. Use it inside a private session:
#   dbus-run-session -- sh scripts/with-keyring.sh cargo test -p ito-desk
set -eu

if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
    echo "with-keyring.sh: no D-Bus session; run it under dbus-run-session" >&2
    exit 2
fi
command -v gnome-keyring-daemon >/dev/null 2>&1 || {
    echo "with-keyring.sh: gnome-keyring-daemon not found (apt-get install gnome-keyring dbus)" >&2
    exit 2
}

# A throwaway keyring directory, so tests never touch a real login keyring.
KEYRING_HOME=$(mktemp -d)
export XDG_DATA_HOME="$KEYRING_HOME/data"
mkdir -p "$XDG_DATA_HOME"

# An empty password never unlocks; any non-empty one creates and unlocks the keyring.
eval "$(printf 'ci-keyring-password' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL

cleanup() {
    if [ -n "${GNOME_KEYRING_PID:-}" ]; then kill "$GNOME_KEYRING_PID" 2>/dev/null || true; fi
    rm -rf "$KEYRING_HOME"
}
trap cleanup EXIT INT TERM

# Without this wait, D-Bus may activate a second, locked daemon (1 run in 20-40).
i=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
        grep -q 'boolean true'; do
    i=$((i + 1))
    if [ "$i" -ge 100 ]; then
        echo "with-keyring.sh: org.freedesktop.secrets never appeared" >&2
        exit 2
    fi
    sleep 0.1
done

"$@"
