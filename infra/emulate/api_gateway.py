#!/usr/bin/env python3
"""API Gateway (HTTP API, payload format 2.0) in front of the emulated functions.

Usage: api_gateway.py TEMPLATE_JSON INVOKE_URL HOST PORT

Routes each request as the template's AWS::ApiGatewayV2::Route resources say (route
keys `ANY /path`, `ANY /path/{param}`, `$default`), builds the event API Gateway
would send, and invokes the function through `cargo lambda watch`'s Invoke API
(INVOKE_URL/2015-03-31/functions/NAME/invocations). The function's response becomes
the HTTP response.

Why not watch's own router: it reports every client as `sourceIp` 127.0.0.1, and it
answers 500 for a JSON body that is not UTF-8 instead of passing it on. API Gateway
reports the client's address, and delivers a body that is not UTF-8 text
base64-encoded with `isBase64Encoded`, which the function must then refuse as bad
input. Both matter to the contract (per-client throttling, no 5xx for bad input).

Also as API Gateway does: `X-Forwarded-For` gets the client's address appended; a
body over 10 MiB is refused 413 before any function runs; a function that fails is
500 `{"message": "Internal Server Error"}`. A header value with a control character
(a NUL, say) is refused 400 before any function runs, as HTTP front ends do (hyper
in the local server, the Functions front end on Azure); Python's parser would pass
it on, and lambda_http cannot decode such an event. Every method reaches an `ANY`
route, TRACE and unregistered ones included, so the function answers what it does
not serve (405). Runs
until killed.
"""

import base64
import json
import re
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lambda_invoke import invoke

MAX_BODY = 10 * 1024 * 1024
# Control characters other than tab: no valid header value holds one (RFC 9110 §5.5).
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
TEXT_TYPES = re.compile(r"^(text/.*|application/(.+\+)?json|application/xml|application/x-www-form-urlencoded)$")


def routes_of(template):
    """[(route key, compiled path pattern or None for $default, function binary)]."""
    resources = template["Resources"]

    def logical(target):
        text = target["Fn::Sub"] if isinstance(target, dict) else target
        return re.fullmatch(r"integrations/\$\{(\w+)\}", text).group(1)

    routes = []
    for resource in resources.values():
        if resource["Type"] != "AWS::ApiGatewayV2::Route":
            continue
        props = resource["Properties"]
        integration = resources[logical(props["Target"])]["Properties"]
        uri = integration["IntegrationUri"]
        # The function's ARN, or (AutoPublishAlias) its alias: {"Ref": "Name.Alias"}.
        attribute = uri["Fn::GetAtt"] if "Fn::GetAtt" in uri else uri["Ref"]
        function = attribute[0] if isinstance(attribute, list) else attribute.split(".")[0]
        binary = resources[function]["Metadata"]["BuildProperties"]["Binary"]
        key = props["RouteKey"]
        if key == "$default":
            routes.append((key, None, binary))
            continue
        method, path = key.split(" ", 1)
        if method != "ANY":
            sys.exit(f"api_gateway.py: route {key}: only ANY routes are emulated")
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"
        routes.append((key, re.compile(pattern), binary))
    # Literal routes before parameterised ones, $default last.
    routes.sort(key=lambda r: (r[1] is None, "{" in r[0]))
    return routes


def match(routes, path):
    for key, pattern, binary in routes:
        if pattern is None:
            return key, binary, {}
        found = pattern.match(path)
        if found:
            return key, binary, found.groupdict()
    return None


def body_of(raw, content_type):
    """The event's body and isBase64Encoded."""
    if not raw:
        return None, False
    essence = (content_type or "").split(";")[0].strip().lower()
    if TEXT_TYPES.match(essence) or not essence:
        try:
            return raw.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(raw).decode(), True


class Gateway(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    routes = []
    invoke_url = ""

    def log_message(self, *args):
        pass

    def answer(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        try:
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client went away (a browser leaving the page mid-request).
            self.close_connection = True

    def gateway_error(self, status, message):
        self.answer(status, [("Content-Type", "application/json")],
                    json.dumps({"message": message}).encode())

    def handle_any(self):
        if any(CONTROL.search(value) for value in self.headers.values()):
            self.close_connection = True
            return self.gateway_error(400, "Bad Request")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return self.gateway_error(413, "Request Entity Too Large")
        raw = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        found = match(self.routes, path)
        if found is None:
            return self.gateway_error(404, "Not Found")
        route_key, function, parameters = found
        client = self.client_address[0]
        headers = {}
        for name in self.headers.keys():
            values = self.headers.get_all(name)
            headers[name.lower()] = ",".join(values)
        headers.pop("cookie", None)
        forwarded = headers.get("x-forwarded-for")
        headers["x-forwarded-for"] = f"{forwarded}, {client}" if forwarded else client
        headers["x-forwarded-proto"] = "http"
        cookies = [c.strip() for c in ";".join(self.headers.get_all("cookie") or []).split(";") if c.strip()]
        body, encoded = body_of(raw, self.headers.get("content-type"))
        now = time.time()
        event = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "domainName": self.headers.get("host", "localhost"),
                "domainPrefix": "local",
                "http": {"method": self.command, "path": path, "protocol": self.request_version,
                         "sourceIp": client, "userAgent": self.headers.get("user-agent", "")},
                "requestId": str(uuid.uuid4()),
                "routeKey": route_key,
                "stage": "$default",
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "timeEpoch": int(now * 1000),
            },
            "isBase64Encoded": encoded,
        }
        if cookies:
            event["cookies"] = cookies
        if parameters:
            event["pathParameters"] = parameters
        if query:
            event["queryStringParameters"] = dict(p.partition("=")[::2] for p in query.split("&") if p)
        if body is not None:
            event["body"] = body
        response = invoke(self.invoke_url, function, event, "api_gateway")
        if response is None:
            return self.gateway_error(500, "Internal Server Error")
        status = int(response.get("statusCode", 200))
        out = [(k, v) for k, v in (response.get("headers") or {}).items() if k.lower() != "content-length"]
        for name, values in (response.get("multiValueHeaders") or {}).items():
            out.extend((name, v) for v in values)
        out.extend(("Set-Cookie", c) for c in response.get("cookies") or [])
        payload = response.get("body") or ""
        payload = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
        self.answer(status, out, payload)

    def __getattr__(self, name):
        # http.server dispatches to do_<METHOD> and answers 501 where none exists.
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)


def main():
    template_path, invoke_url, host, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    Gateway.routes = routes_of(json.load(open(template_path)))
    Gateway.invoke_url = invoke_url.rstrip("/")
    server = ThreadingHTTPServer((host, port), Gateway)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
