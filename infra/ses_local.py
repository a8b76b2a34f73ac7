"""SES as the local stack needs it, beyond what moto does.

- Configuration-set event destinations (`CreateConfigurationSetEventDestination` and its list,
  get and delete): moto answers 404.
- Event publishing: for every message SES v2 accepts with a configuration set, a `Send` and a
  `Delivery` event are published to the set's enabled SNS destinations, shaped as AWS's
  configuration-set event publishing (`eventType`, `mail` with headers and tags, `send`,
  `delivery`). moto's SNS then wraps them as AWS does for an SQS subscription.
- A configuration set that does not exist is refused, as AWS refuses it.
- `GET /_local/ses/outbox`: what SES accepted, newest first, with envelope, tags and the whole
  MIME. Filters: `to` (an envelope address), `from_domain`, `limit`.
- `POST /_local/ses/throttle`: `{"from_domain": D, "count": N}` makes the next N SendEmail
  calls from domain D answer `TooManyRequestsException` (HTTP 429), as SES does past the
  account's send rate (per domain, so concurrent tests do not throttle each other).
- `POST /_local/ses/events`: publishes another event for an accepted message (a bounce, a
  complaint, an open...): `{"message_id", "event_type", "detail": {...}}`, where `detail`
  becomes the event's type-specific object.
"""

import base64
import datetime
import email.message
import email.parser
import email.policy
import email.utils
import json
import re
import sys
import threading
import urllib.parse

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.ses.models import ses_backends
from moto.sesv2 import responses as sesv2_responses
from moto.sns.models import sns_backends

DESTINATIONS = re.compile(
    r"^/v2/email/configuration-sets/([^/]+)/event-destinations(?:/([^/]+))?/?$"
)
CREDENTIAL_REGION = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")


class NotFoundException(JsonRESTError):
    code = 404

    def __init__(self, message):
        super().__init__("NotFoundException", message)


class TooManyRequestsException(JsonRESTError):
    code = 429

    def __init__(self):
        super().__init__("TooManyRequestsException", "Maximum sending rate exceeded.")


class LocalSes:
    def __init__(self):
        self.lock = threading.Lock()
        self.throttled = {}
        # (region, configuration set) → {destination name: EventDestination as AWS takes it}
        self.destinations = {}
        # In acceptance order; each with the `mail` object its events carry.
        self.accepted = []
        self.by_id = {}

    # -- configuration-set event destinations -------------------------------------------------

    def destinations_request(self, environ, start_response, set_name, destination):
        region = region_of(environ)
        if set_name not in core(DEFAULT_ACCOUNT_ID, region).config_sets:
            return answer(
                start_response,
                404,
                {"__type": "NotFoundException", "message": f"Configuration set <{set_name}> does not exist."},
            )
        method = environ["REQUEST_METHOD"]
        with self.lock:
            held = self.destinations.setdefault((region, set_name), {})
            if method == "POST" and destination is None:
                body = json.loads(read_body(environ) or b"{}")
                name = body.get("EventDestinationName", "")
                if name in held:
                    return answer(
                        start_response,
                        400,
                        {"__type": "AlreadyExistsException", "message": f"Event destination {name} already exists."},
                    )
                held[name] = body.get("EventDestination", {})
                return answer(start_response, 200, {})
            if method == "PUT" and destination is not None:
                body = json.loads(read_body(environ) or b"{}")
                held[destination] = body.get("EventDestination", {})
                return answer(start_response, 200, {})
            if method == "DELETE" and destination is not None:
                held.pop(destination, None)
                return answer(start_response, 200, {})
            if method == "GET" and destination is None:
                listed = [dict(Name=name, **value) for name, value in held.items()]
                return answer(start_response, 200, {"EventDestinations": listed})
        return answer(start_response, 405, {"message": "not supported locally"})

    # -- sending -----------------------------------------------------------------------------

    def accepted_message(self, account, region, params, message_id):
        raw = raw_mime(params)
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
        destination = params.get("Destination") or {}
        envelope = (
            destination.get("ToAddresses", [])
            + destination.get("CcAddresses", [])
            + destination.get("BccAddresses", [])
        ) or [address for _, address in email.utils.getaddresses(headers.get_all("To", []) + headers.get_all("Cc", []))]
        source = params.get("FromEmailAddress") or headers.get("From", "")
        from_domain = email.utils.parseaddr(source)[1].rpartition("@")[2].lower()
        set_name = params.get("ConfigurationSetName")
        now = timestamp()
        tags = {tag["Name"]: [tag["Value"]] for tag in params.get("EmailTags", [])}
        tags.update(
            {
                "ses:source-ip": ["127.0.0.1"],
                "ses:from-domain": [from_domain],
                "ses:caller-identity": ["local"],
                "ses:outgoing-ip": ["127.0.0.1"],
            }
        )
        if set_name:
            tags["ses:configuration-set"] = [set_name]
        mail = {
            "timestamp": now,
            "source": source,
            "sourceArn": f"arn:aws:ses:{region}:{account}:identity/{from_domain}",
            "sendingAccountId": account,
            "messageId": message_id,
            "destination": envelope,
            "headersTruncated": False,
            "headers": [{"name": name, "value": str(value)} for name, value in headers.items()],
            "commonHeaders": common_headers(headers, message_id),
            "tags": tags,
        }
        record = {
            "account": account,
            "region": region,
            "configuration_set": set_name,
            "mail": mail,
            "raw": raw,
            "from_domain": from_domain,
        }
        with self.lock:
            self.accepted.append(record)
            self.by_id[message_id] = record
        self.publish(record, "Send", {})
        self.publish(
            record,
            "Delivery",
            {
                "timestamp": timestamp(),
                "processingTimeMillis": 12,
                "recipients": envelope,
                "smtpResponse": "250 2.0.0 OK (local stack)",
                "reportingMTA": "local.smtp-out.amazonses.com",
                "remoteMtaIp": "127.0.0.1",
            },
        )

    def publish(self, record, event_type, detail):
        set_name = record["configuration_set"]
        if not set_name:
            return
        with self.lock:
            held = dict(self.destinations.get((record["region"], set_name), {}))
        wanted = upper_snake(event_type)
        # Each event carries its details under its own key; a rendering failure under `failure`.
        key = "failure" if event_type == "RenderingFailure" else event_type[0].lower() + event_type[1:]
        event = {"eventType": event_type, "mail": record["mail"], key: detail}
        for destination in held.values():
            types = [upper_snake(t) for t in destination.get("MatchingEventTypes", [])]
            topic = (destination.get("SnsDestination") or {}).get("TopicArn")
            if not destination.get("Enabled", False) or wanted not in types or not topic:
                continue
            topic_region = topic.split(":")[3]
            try:
                sns_backends[record["account"]][topic_region].publish(json.dumps(event), arn=topic)
            except Exception as error:  # AWS drops events for a missing topic too
                print(f"ses_local: no event to {topic}: {error}", file=sys.stderr)

    # -- local endpoints ---------------------------------------------------------------------

    def outbox(self, environ, start_response):
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        to = query.get("to", [""])[0].lower()
        from_domain = query.get("from_domain", [""])[0].lower()
        limit = int(query.get("limit", ["100"])[0] or 100)
        items = []
        with self.lock:
            newest_first = list(reversed(self.accepted))
        for record in newest_first:
            if len(items) >= limit:
                break
            if to and to not in (a.lower() for a in record["mail"]["destination"]):
                continue
            if from_domain and record["from_domain"] != from_domain:
                continue
            items.append(
                {
                    "message_id": record["mail"]["messageId"],
                    "timestamp": record["mail"]["timestamp"],
                    "source": record["mail"]["source"],
                    "destinations": record["mail"]["destination"],
                    "configuration_set": record["configuration_set"],
                    "tags": {k: v[0] for k, v in record["mail"]["tags"].items() if not k.startswith("ses:")},
                    "raw": base64.b64encode(record["raw"]).decode("ascii"),
                }
            )
        return answer(start_response, 200, {"items": items})

    def inject(self, environ, start_response):
        body = json.loads(read_body(environ) or b"{}")
        with self.lock:
            record = self.by_id.get(body.get("message_id", ""))
        if record is None:
            return answer(start_response, 404, {"message": "no accepted message with that id"})
        event_type = body.get("event_type", "")
        if not re.fullmatch(r"[A-Z][A-Za-z]+", event_type):
            return answer(start_response, 400, {"message": "event_type: e.g. Bounce, Complaint, Open"})
        self.publish(record, event_type, body.get("detail", {}))
        return answer(start_response, 200, {})


    def throttle(self, environ, start_response):
        try:
            body = json.loads(read_body(environ) or b"{}")
            domain, count = str(body["from_domain"]).lower(), int(body["count"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return answer(start_response, 400, {"message": 'expected {"from_domain": "...", "count": N}'})
        with self.lock:
            self.throttled[domain] = max(count, 0)
        return answer(start_response, 200, {})

    def take_throttle(self, params):
        domain = params.get("FromEmailAddress", "").rpartition("@")[2].lower()
        with self.lock:
            if self.throttled.get(domain, 0) > 0:
                self.throttled[domain] -= 1
                return True
            return False


class LocalSesApp:
    """WSGI middleware: the routes above, everything else to moto."""

    def __init__(self, app, ses):
        self.app = app
        self.ses = ses

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if path == "/_local/ses/outbox" and method == "GET":
            return self.ses.outbox(environ, start_response)
        if path == "/_local/ses/events" and method == "POST":
            return self.ses.inject(environ, start_response)
        if path == "/_local/ses/throttle" and method == "POST":
            return self.ses.throttle(environ, start_response)
        match = DESTINATIONS.match(path)
        if match:
            set_name = urllib.parse.unquote(match.group(1))
            destination = match.group(2) and urllib.parse.unquote(match.group(2))
            return self.ses.destinations_request(environ, start_response, set_name, destination)
        return self.app(environ, start_response)


def install(app):
    """Patches SES v2 SendEmail to publish events, and wraps `app` with the local routes."""
    ses = LocalSes()
    original = sesv2_responses.SESV2Response.send_email

    def send_email(self):
        params = json.loads(self.body)
        if ses.take_throttle(params):
            raise TooManyRequestsException()
        set_name = params.get("ConfigurationSetName")
        if set_name and set_name not in core(self.current_account, self.region).config_sets:
            raise NotFoundException(f"Configuration set <{set_name}> does not exist.")
        answered = original(self)
        ses.accepted_message(self.current_account, self.region, params, json.loads(answered)["MessageId"])
        return answered

    sesv2_responses.SESV2Response.send_email = send_email
    return LocalSesApp(app, ses)


def core(account, region):
    return ses_backends[account][region]


def raw_mime(params):
    content = params.get("Content") or {}
    if "Raw" in content:
        return base64.b64decode(content["Raw"]["Data"])
    simple = content.get("Simple") or {}
    message = email.message.EmailMessage()
    message["From"] = params.get("FromEmailAddress", "")
    message["To"] = ", ".join((params.get("Destination") or {}).get("ToAddresses", []))
    message["Subject"] = simple.get("Subject", {}).get("Data", "")
    body = simple.get("Body", {})
    message.set_content(body.get("Text", {}).get("Data", ""))
    if "Html" in body:
        message.add_alternative(body["Html"]["Data"], subtype="html")
    return message.as_bytes()


def common_headers(headers, message_id):
    common = {
        "from": [str(v) for v in headers.get_all("From", [])],
        "to": [str(v) for v in headers.get_all("To", [])],
        "messageId": message_id,
        "subject": str(headers.get("Subject", "")),
    }
    if headers.get("Date"):
        common["date"] = str(headers["Date"])
    return common


def upper_snake(name):
    """`renderingFailure` (CloudFormation) and `RenderingFailure` (an event) → `RENDERING_FAILURE`
    (the API); API names stay as they are."""
    if name.isupper():
        return name
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def timestamp():
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def region_of(environ):
    found = CREDENTIAL_REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
    return found.group(1) if found else "us-east-1"


def read_body(environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def answer(start_response, status, body):
    data = json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
