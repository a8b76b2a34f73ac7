"""DNS as the local stack needs it: a resolver stub that answers TXT lookups the way a public
DNS-over-HTTPS resolver does (Google's and Cloudflare's JSON API), from records a developer or a
test publishes. A domain's ownership proof (`_artisthub-challenge.{domain}` TXT) is checked
through it, so the proof can be shown to pass and to fail without a real zone.

- `GET /_local/dns-query?name=&type=TXT`: `{"Status": 0, "Answer": [{"name", "type": 16,
  "TTL", "data": "\"text\""}]}`; a name with no record answers NXDOMAIN (`Status` 3), as a
  resolver does.
- `POST /_local/dns`: `{"name", "value"}` publishes a TXT record; `DELETE /_local/dns?name=`
  withdraws every record of the name.
"""

import json
import threading
import urllib.parse

TXT = 16


class LocalDns:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.records = {}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if path == "/_local/dns-query" and method == "GET":
            return self.query(environ, start_response)
        if path == "/_local/dns" and method == "POST":
            return self.publish(environ, start_response)
        if path == "/_local/dns" and method == "DELETE":
            return self.withdraw(environ, start_response)
        return self.app(environ, start_response)

    def query(self, environ, start_response):
        params = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        name = normalize(params.get("name", [""])[0])
        kind = params.get("type", ["TXT"])[0].upper()
        if not name or kind not in ("TXT", str(TXT)):
            return answer(start_response, 400, {"Status": 1, "Comment": "name and type=TXT are required"})
        with self.lock:
            values = list(self.records.get(name, []))
        if not values:
            return answer(start_response, 200, {"Status": 3, "Question": [{"name": name, "type": TXT}]})
        return answer(start_response, 200, {
            "Status": 0,
            "Question": [{"name": name, "type": TXT}],
            "Answer": [{"name": name, "type": TXT, "TTL": 300, "data": quoted(v)} for v in values],
        })

    def publish(self, environ, start_response):
        try:
            body = json.loads(read_body(environ) or b"{}")
            name, value = normalize(body["name"]), str(body["value"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return answer(start_response, 400, {"message": 'expected {"name": "...", "value": "..."}'})
        with self.lock:
            values = self.records.setdefault(name, [])
            if value not in values:
                values.append(value)
        return answer(start_response, 200, {})

    def withdraw(self, environ, start_response):
        params = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        with self.lock:
            self.records.pop(normalize(params.get("name", [""])[0]), None)
        return answer(start_response, 200, {})


def normalize(name):
    return name.strip().rstrip(".").lower()


def quoted(value):
    """A TXT record's data as resolvers print it: quoted strings of at most 255 bytes each."""
    chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    return " ".join('"' + chunk.replace("\\", "\\\\").replace('"', '\\"') + '"' for chunk in chunks)


def read_body(environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def answer(start_response, status, body):
    data = json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/dns-json"), ("Content-Length", str(len(data)))])
    return [data]
