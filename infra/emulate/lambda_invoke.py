"""Invoking an emulated function through `cargo lambda watch`'s Invoke API, as the
Lambda service does for API Gateway (api_gateway.py) and for SQS event-source
mappings (event_sources.py)."""

import json
import sys
import urllib.error
import urllib.request


def invoke(invoke_url, function, event, caller):
    """The function's response, or None when the invocation failed (logged as `caller`)."""
    request = urllib.request.Request(
        f"{invoke_url}/2015-03-31/functions/{function}/invocations",
        data=json.dumps(event).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            if response.headers.get("X-Amz-Function-Error"):
                return None
            return json.loads(response.read() or b"null")
    except (urllib.error.URLError, ValueError, TimeoutError) as e:
        print(f"{caller}: invoking {function} failed: {e}", file=sys.stderr, flush=True)
        return None
