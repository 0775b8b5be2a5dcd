#!/usr/bin/env python3
"""Walks the tutorial's app over HTTP, as its page does.

Usage: walk.py SERVER_STDOUT

Waits for the server's first line (its URL), then registers, logs in, writes a
draft into the session, publishes it and waits for the note. Any unexpected answer
fails with what came back.
"""

import json
import sys
import time
import urllib.error
import urllib.request

deadline = time.time() + 60
url = None
while time.time() < deadline and url is None:
    with open(sys.argv[1]) as out:
        first = out.readline()
    if first.strip():
        url = first.strip().rsplit(" ", 1)[-1]
    else:
        time.sleep(0.1)
if not url or not url.startswith("http://"):
    sys.exit(f"walk.py: the server printed no URL (first line {first!r})")


def call(method, path, body=None, token=None):
    request = urllib.request.Request(url + path, method=method)
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def expect(status, answer, what):
    if answer[0] != status:
        sys.exit(f"walk.py: {what}: expected {status}, got {answer}")
    return answer[1]


login = {"email": "reader@example.com", "password": "correct horse battery staple"}
expect(201, call("POST", "/auth/register", login), "register")
token = expect(200, call("POST", "/auth/login", login), "login")["access_token"]
expect(401, call("GET", "/draft"), "a draft without a token")
draft = expect(200, call("PUT", "/draft", {"text": "hello"}, token), "write the draft")
if draft["text"] != "hello":
    sys.exit(f"walk.py: the draft came back as {draft}")
session = expect(200, call("GET", "/session", token=token), "the session")
if session["data"].get("draft") != {"text": "hello"}:
    sys.exit(f"walk.py: the draft is not in the session: {session}")
expect(400, call("PUT", "/draft", {"text": 5}, token), "a draft that is not text")
job = expect(200, call("POST", "/draft/publish", token=token), "publish")["job_id"]
while time.time() < deadline:
    notes = expect(200, call("GET", "/notes", token=token), "the notes")["items"]
    if notes:
        break
    time.sleep(0.1)
else:
    sys.exit(f"walk.py: no note appeared (job {job}: {call('GET', f'/jobs/{job}', token=token)})")
if [n["text"] for n in notes] != ["hello"] or notes[0]["id"] != job:
    sys.exit(f"walk.py: unexpected notes {notes}")
