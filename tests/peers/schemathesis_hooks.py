"""Schemathesis hooks for Skiff: every generated request carries a real access token.

Loaded by SCHEMATHESIS_HOOKS=schemathesis_hooks (tests/peers on PYTHONPATH). The
account is made by the test that runs Schemathesis (tests/tests/fuzz.rs), which passes
its email and password in SKIFF_FUZZ_EMAIL / SKIFF_FUZZ_PASSWORD.

Fuzzing calls POST /auth/logout and POST /auth/refresh with whatever it holds, so a
token does not live long: a fresh login every two seconds keeps most requests
authenticated, and the ones sent with a revoked token get the documented 401.
"""
import json
import os
import urllib.request

import schemathesis


@schemathesis.auth(refresh_interval=2)
class SkiffLogin:
    def get(self, case, context):
        base = os.environ["SKIFF_FUZZ_BASE_URL"]
        body = json.dumps({"email": os.environ["SKIFF_FUZZ_EMAIL"],
                           "password": os.environ["SKIFF_FUZZ_PASSWORD"]}).encode()
        request = urllib.request.Request(f"{base}/auth/login", data=body,
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["access_token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
