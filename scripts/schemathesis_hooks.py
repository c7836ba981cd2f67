"""schemathesis hooks for scripts/schemathesis.sh: signs POST /payment/process.

The gateway checks X-Signature = hex(HMAC-SHA256(secret_key, "{timestamp}.{raw body}"))
over the exact bytes sent, so the signature is made by a requests auth hook, which runs
after the body is serialised. A case generated without X-Signature stays unsigned, so
missing-header cases still reach the server as such.
"""

import hashlib
import hmac
import os
import time

import requests
import schemathesis

SECRET = os.environ["ITO_SANDBOX_SECRET_KEY"].encode()


class Sign(requests.auth.AuthBase):
    def __call__(self, request):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        timestamp = str(int(time.time()))
        request.headers["X-Timestamp"] = timestamp
        request.headers["X-Signature"] = hmac.new(
            SECRET, timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        return request


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.path == "/payment/process" and "X-Signature" in (case.headers or {}):
        kwargs["auth"] = Sign()
