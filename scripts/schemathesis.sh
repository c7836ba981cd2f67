#!/usr/bin/env bash
# Checks that the sandbox's OpenAPI document tells the truth: schemathesis (from PyPI)
# sends generated requests to a real `ito-sandbox serve` and fails on a server error, a
# status the document does not list for the route, or a body, content type or header
# that differs from the documented one.
#
# Three runs against the served /openapi.json: every route but /api/oauth/* with the
# merchant's access key, /api/oauth/merchant/* with a merchant token (client credentials),
# and /api/oauth/user/* with a user token (authorization code + PKCE). /sandbox/faults is
# left out: it makes the sandbox answer 5xx on purpose. POST /payment/process is signed by
# scripts/schemathesis_hooks.py, so generated payments really are created.
#
# Usage: scripts/schemathesis.sh [--max-examples N] [--binary PATH]
#   ITO_SCHEMATHESIS_EXAMPLES  examples per route and phase (default 50)
# Bounded and deterministic: a fixed seed, derandomized generation, no example database.
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
examples=${ITO_SCHEMATHESIS_EXAMPLES:-50}
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --max-examples) examples=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

venv=.tools/schemathesis
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
  echo "--- schemathesis: installing $ST_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi

if [ -z "$binary" ]; then
  cargo build --quiet --locked -p ito-sandbox --bin ito-sandbox
  binary="${CARGO_TARGET_DIR:-target}/debug/ito-sandbox"
fi

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A free port from the OS; the ready line says which.
"$binary" serve --addr 127.0.0.1:0 --db "$work/sandbox.db" >"$work/stdout" 2>"$work/stderr" &
server=$!
url=""
for _ in $(seq 1 600); do
  url=$(sed -n 's/^ito-sandbox listening on \(http:\/\/[^ ]*\)$/\1/p' "$work/stdout")
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$work/stderr" >&2; echo "the sandbox did not start" >&2; exit 1; }
  sleep 0.05
done
[ -n "$url" ] || { echo "no ready line from the sandbox" >&2; exit 1; }
echo "--- sandbox at $url"

# A merchant of its own, with a few users, cards and transactions for the links to reach.
creds=$("$binary" merchant create --name "Schemathesis" --db "$work/sandbox.db")
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
merchant_id=$(field merchant_id <<<"$creds")
"$binary" seed --users 3 --transactions-per-user 5 --merchant "$merchant_id" --db "$work/sandbox.db" >/dev/null
access_key=$(field access_key <<<"$creds")
export ITO_SANDBOX_SECRET_KEY
ITO_SANDBOX_SECRET_KEY=$(field secret_key <<<"$creds")
client_id=$(field client_id <<<"$creds")
client_secret=$(field client_secret <<<"$creds")
token=$(curl -fsS -X POST "$url/oauth/token" \
  --data-urlencode grant_type=client_credentials \
  --data-urlencode "client_id=$client_id" \
  --data-urlencode "client_secret=$client_secret" | field access_token)

# A user of that merchant signed in as an app would (authorization code + PKCE), for
# /api/oauth/user/*.
user_token=$(URL=$url TOKEN=$token PUBLIC_CLIENT=$(field public_client_id <<<"$creds") python3 - <<'PY'
import base64, hashlib, json, os, secrets, urllib.error, urllib.parse, urllib.request
url, token, client = os.environ["URL"], os.environ["TOKEN"], os.environ["PUBLIC_CLIENT"]
email, password, redirect = "schemathesis@example.com", "schemathesis-pass", "http://127.0.0.1:9/callback"
def post(path, data, headers, form=True):
    body = urllib.parse.urlencode(data).encode() if form else json.dumps(data).encode()
    kind = "application/x-www-form-urlencoded" if form else "application/json"
    req = urllib.request.Request(url + path, body, {"Content-Type": kind, **headers})
    return urllib.request.urlopen(req)
post("/api/oauth/merchant/users", {"email": email, "name": "Schema Thesis", "password": password},
     {"Authorization": "Bearer " + token}, form=False)
verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
class Keep(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None
opener = urllib.request.build_opener(Keep)
form = {"response_type": "code", "client_id": client, "redirect_uri": redirect, "state": "st",
        "code_challenge": challenge, "code_challenge_method": "S256", "email": email,
        "password": password, "decision": "approve"}
try:
    opener.open(urllib.request.Request(url + "/oauth/authorize", urllib.parse.urlencode(form).encode()))
    raise SystemExit("the sign-in did not redirect")
except urllib.error.HTTPError as e:
    location = e.headers["Location"]
code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]
tokens = json.load(post("/oauth/token", {"grant_type": "authorization_code", "client_id": client,
                                         "redirect_uri": redirect, "code": code, "code_verifier": verifier}, {}))
print(tokens["access_token"])
PY
)

# The hooks sign /payment/process; schemathesis keeps its caches in the scratch folder.
export SCHEMATHESIS_HOOKS=schemathesis_hooks
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}"
st="$PWD/$venv/bin/st"
cd "$work"
common=(
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance
  --max-examples "$examples"
  --seed 15
  --generation-deterministic
  --workers 1
  --request-timeout 10
  --phases examples,coverage,fuzzing,stateful
  --exclude-path /sandbox/faults
  --no-color
)

status=0
echo "--- schemathesis: every route but /api/oauth/*, with the access key"
"$st" run "$url/openapi.json" "${common[@]}" \
  --exclude-path-regex '^/api/oauth/' \
  -H "Authorization: Bearer $access_key" || status=1

echo "--- schemathesis: /api/oauth/merchant/*, with a merchant token"
"$st" run "$url/openapi.json" "${common[@]}" \
  --include-path-regex '^/api/oauth/merchant/' \
  -H "Authorization: Bearer $token" || status=1

echo "--- schemathesis: /api/oauth/user/*, with a user token"
"$st" run "$url/openapi.json" "${common[@]}" \
  --include-path-regex '^/api/oauth/user/' \
  -H "Authorization: Bearer $user_token" || status=1

# What the runs made the sandbox do, from its database.
python3 - "$work/sandbox.db" "$merchant_id" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for what, sql in [
    ("payments created", "SELECT count(*) FROM payments WHERE merchant_id = ?"),
    ("payments paid", "SELECT count(*) FROM payments WHERE merchant_id = ? AND status = 'paid'"),
    ("users", "SELECT count(*) FROM users WHERE merchant_id = ?"),
]:
    print(f"--- {what}: {db.execute(sql, (sys.argv[2],)).fetchone()[0]}")
PY

if ! kill -0 "$server" 2>/dev/null; then
  echo "the sandbox died during the run" >&2
  status=1
fi
exit "$status"
