"""The cost model: what each flow costs on AWS, from the requests and CPU the benchmarks measured
(`bench-e2e` for imports, campaigns and replies; `bench-events` for tracked events), priced with
`prices.json`, beside the tools a team would otherwise pay for. Writes the `e2e` and `cost`
sections of BENCHMARKS.md.

usage: python cost.py E2E.jsonl EVENTS.jsonl FUNCTIONS.json BENCHMARKS.md
       (FUNCTIONS.json: `devstack env --per-function`, for each function's memory)
"""

import json
import math
import sys
from pathlib import Path

from report import lines_of, stamp, write_section

PRICES = json.loads((Path(__file__).parent / "prices.json").read_text())
AWS = {name: entry["usd"] for name, entry in PRICES["aws"].items()}
LATENCY_MS = {k: v for k, v in PRICES["latency_ms"].items() if k != "note"}
FULL_VCPU_MB = PRICES["lambda_full_vcpu_mb"]["value"]

# The function each e2e stage's CPU is charged to (the stage's heaviest).
FUNCTION_OF = {
    "import": "import-upload",
    "campaign": "email-send",
    "delivery events": "ses-events",
    "replies": "email-inbound",
}
# The stages priced per unit (delivery events are priced from `bench events`' richer stream).
STAGES = {
    "import": {"per": 100_000, "unit": "contacts imported", "api_calls": 2},
    "campaign": {"per": 1_000, "unit": "emails sent", "api_calls": 2},
    "replies": {"per": 1_000, "unit": "replies received", "api_calls": 0},
}
# Read units, which requests alone do not give, at a bound for what our reads fetch (eventually
# consistent: half a unit per 4 KB): a GetItem the size of the largest item we read, a campaign
# carrying its newsletter (22 KB, 3 units); a Query page of 500 contacts (256 KB, 32); a
# BatchGetItem of 100 keys of 4 KB (50); a Scan page at its 1 MB limit (128).
READ_UNITS_BOUND = {"GetItem": 3, "Query": 32, "Scan": 128, "BatchGetItem": 50}
WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


def split(requests: dict) -> dict:
    """Requests by service, with DynamoDB's write units (1 a write of at most 1 KB, 2 a
    transaction's item) and its read units' upper bound."""
    by_service, write_units, read_bound = {}, 0, 0
    for key, count in requests.items():
        service, operation = key.split(":", 1)
        if operation == "TransactWriteItems.items":
            write_units += 2 * count
            continue
        by_service[service] = by_service.get(service, 0) + count
        if service == "dynamodb":
            write_units += count if operation in WRITES else 0
            read_bound += READ_UNITS_BOUND.get(operation, 0) * count
    return {"by_service": by_service, "write_units": write_units, "read_units_bound": read_bound}


def lambda_seconds(cpu_seconds: float, by_service: dict, memory_mb: int) -> float:
    """Billed duration: the CPU at the function's share of a vCPU, plus every request awaited in
    turn (the functions await their requests one after another)."""
    waiting = sum(LATENCY_MS.get(service, 0) * count for service, count in by_service.items()) / 1000
    return cpu_seconds * max(1.0, FULL_VCPU_MB / memory_mb) + waiting


def flow_cost(stage: dict, memory: dict) -> dict:
    meta = STAGES[stage["stage"]]
    scale = meta["per"] / stage["units"]
    counted = split(stage["requests"])
    by_service = {s: n * scale for s, n in counted["by_service"].items()}
    invocations = stage["requests"].get("sqs:DeleteMessageBatch", 0) * scale + meta["api_calls"]
    mb = memory[FUNCTION_OF[stage["stage"]]]
    seconds = lambda_seconds(stage["cpu_seconds"] * scale, by_service, mb)
    gb_seconds = seconds * mb / 1024
    s3 = stage["requests"]
    s3_puts = sum(n for k, n in s3.items() if k.startswith("s3:") and k != "s3:GetObject") * scale
    s3_gets = s3.get("s3:GetObject", 0) * scale
    usd = {
        "Lambda": invocations * AWS["lambda_request_per_million"] / 1e6
        + gb_seconds * AWS["lambda_gb_second_x86_64"],
        "DynamoDB": counted["write_units"] * scale * AWS["dynamodb_write_unit_per_million"] / 1e6
        + counted["read_units_bound"] * scale * AWS["dynamodb_read_unit_per_million"] / 1e6,
        "SQS": by_service.get("sqs", 0) * AWS["sqs_request_per_million"] / 1e6,
        "SES": by_service.get("sesv2", 0) * AWS["ses_email_per_thousand"] / 1e3,
        "S3": s3_puts * AWS["s3_put_per_thousand"] / 1e3 + s3_gets * AWS["s3_get_per_thousand"] / 1e3,
        "API Gateway": meta["api_calls"] * AWS["api_gateway_http_request_per_million"] / 1e6,
    }
    if stage["stage"] == "replies":
        # Each reply is received (and is one 256 KB chunk or less).
        usd["SES"] += meta["per"] * (AWS["ses_inbound_email_per_thousand"]
                                     + AWS["ses_inbound_chunk_per_thousand"]) / 1e3
    return {
        "label": f"per {meta['per']:,} {meta['unit']}",
        "requests": by_service,
        "write_units": counted["write_units"] * scale,
        "read_units_bound": counted["read_units_bound"] * scale,
        "invocations": invocations,
        "gb_seconds": gb_seconds,
        "memory": mb,
        "usd": usd,
    }


def events_cost(run: dict, memory: dict) -> dict:
    """Per 1,000 events, from `bench-events`: the SNS publish SES makes, the SQS message it
    lands as and its share of a receive and delete per batch of 100, `ses-events`' DynamoDB
    requests and write units; plus, for the 90 % of that stream that are opens and clicks, the
    tracking endpoint each came through (one API request, one invocation, one Query, one
    SendMessage: `tracking::the_pixel_and_the_redirect_answer_from_the_token_with_one_read_and_no_write`)."""
    per, batch, tracked = 1000, 100, 900
    dynamodb = run["dynamodb_requests_per_1000_events"] + tracked
    sqs = per + 2 * per / batch + tracked
    mb = memory["ses-events"]
    consumer = lambda_seconds(run["cpu_micros_per_event"] * per / 1e6,
                              {"dynamodb": run["dynamodb_requests_per_1000_events"], "sqs": 2 * per / batch}, mb)
    endpoints = lambda_seconds(0, {"dynamodb": tracked, "sqs": tracked}, memory["track-open"])
    gb_seconds = consumer * mb / 1024 + endpoints * memory["track-open"] / 1024
    invocations = per / batch + tracked
    # The consumer reads its batch's sends in one BatchGetItem; each endpoint its send in a Query.
    read_bound = per / batch * READ_UNITS_BOUND["BatchGetItem"] + tracked * READ_UNITS_BOUND["Query"]
    usd = {
        "Lambda": invocations * AWS["lambda_request_per_million"] / 1e6 + gb_seconds * AWS["lambda_gb_second_x86_64"],
        "DynamoDB": run["write_units_per_1000_events"] * AWS["dynamodb_write_unit_per_million"] / 1e6
        + read_bound * AWS["dynamodb_read_unit_per_million"] / 1e6,
        "SQS": sqs * AWS["sqs_request_per_million"] / 1e6,
        "SES": 0.0,
        "S3": 0.0,
        "API Gateway": tracked * AWS["api_gateway_http_request_per_million"] / 1e6,
        "SNS": per * AWS["sns_publish_per_million"] / 1e6,
    }
    return {
        "label": "per 1,000 events tracked",
        "requests": {"dynamodb": dynamodb, "sqs": sqs},
        "write_units": run["write_units_per_1000_events"],
        "read_units_bound": read_bound,
        "invocations": invocations,
        "gb_seconds": gb_seconds,
        "memory": mb,
        "usd": usd,
    }


def money(usd: float) -> str:
    return f"${usd:.4f}" if usd < 1 else f"${usd:,.2f}"


def e2e_table(stages: list[dict], memory: dict) -> str:
    lines = [
        "| stage | units | local wall | our CPU | DynamoDB | of which transactions (items) | SQS | SES | S3 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in stages:
        r = s["requests"]
        total = lambda service: sum(n for k, n in r.items() if k.startswith(service + ":") and not k.endswith(".items"))
        lines.append(
            f"| {s['stage']} | {s['units']:,} | {s['wall_seconds']:,.1f} s | {s['cpu_seconds']:,.1f} s "
            f"| {total('dynamodb'):,} | {r.get('dynamodb:TransactWriteItems', 0):,} "
            f"({r.get('dynamodb:TransactWriteItems.items', 0):,}) | {total('sqs'):,} | {total('sesv2'):,} | {total('s3'):,} |")
    lines += ["", "| stage | request | count | per unit |", "|---|---|---|---|"]
    for s in stages:
        for key, count in sorted(s["requests"].items()):
            if count:
                lines.append(f"| {s['stage']} | `{key}` | {count:,} | {count / s['units']:.3f} |")
    lines += ["", projection(stages, memory)]
    return "\n".join(lines)


def projection(stages: list[dict], memory: dict) -> str:
    """Each stage's wall time on AWS: its requests awaited in turn at the latencies of
    prices.json, the CPU at its function's share of a vCPU; the campaign's senders run
    `SenderMaxConcurrency` (5) at once and SES takes 14 messages a second until the account's
    rate is raised."""
    rate = PRICES["ses_default_send_rate_per_second"]["value"]
    lines = ["| stage | requests awaited in turn | projected on AWS | bound by |", "|---|---|---|---|"]
    for s in stages:
        counted = split(s["requests"])["by_service"]
        serial = lambda_seconds(s["cpu_seconds"], counted, memory[FUNCTION_OF[s["stage"]]])
        if s["stage"] == "campaign":
            sending = s["units"] / rate
            parallel = serial / 5
            bound, seconds = ("the SES send rate (14/s)", sending) if sending > parallel else ("5 senders' requests", parallel)
        else:
            bound, seconds = "one function's requests in turn", serial
        lines.append(f"| {s['stage']} | {sum(counted.values()):,} | {duration(seconds)} | {bound} |")
    return "\n".join(lines)


def duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.1f} s"


def cost_table(flows: list[dict]) -> str:
    services = ["Lambda", "DynamoDB", "SQS", "SES", "S3", "API Gateway", "SNS"]
    lines = [
        "| flow | " + " | ".join(services) + " | total | invocations | GB-s | write units | read units (bound) |",
        "|---|" + "---|" * (len(services) + 5),
    ]
    for f in flows:
        cells = [money(f["usd"].get(s, 0.0)) for s in services]
        lines.append(f"| {f['label']} | " + " | ".join(cells) + f" | **{money(sum(f['usd'].values()))}** "
                     f"| {f['invocations']:,.0f} | {f['gb_seconds']:,.2f} | {f['write_units']:,.0f} "
                     f"| {f['read_units_bound']:,.0f} |")
    return "\n".join(lines)


def comparison(flows: dict) -> str:
    """A month of one artist's team: 10,000 contacts imported once, four campaigns to all of
    them, 2 events tracked per email, 1 % of emails answered."""
    volumes = {"import": 10_000 / 100_000, "campaign": 40_000 / 1_000, "events": 80_000 / 1_000,
               "replies": 400 / 1_000}
    missing = [name for name in volumes if name not in flows]
    if missing:
        return f"No month is priced: the last runs measured no {', '.join(missing)}."
    contacts, emails, events, replies = 10_000, 40_000, 80_000, 400
    ours = sum(sum(flows[name]["usd"].values()) * volume for name, volume in volumes.items())
    ours += PRICES["fixed_month"]["secrets"] * PRICES["fixed_month"]["secret_usd"]
    alt = PRICES["alternatives"]
    listmonk = alt["listmonk_vm_month"]["usd"] + emails * AWS["ses_email_per_thousand"] / 1e3
    hubspot_extra = math.ceil(max(0, contacts - alt["hubspot_professional_included_contacts"]["value"]) / 1000) \
        * alt["hubspot_professional_per_1000_contacts_month"]["usd"]
    return "\n".join([
        f"A month of one team: {contacts:,} contacts imported once, four campaigns to all of them "
        f"({emails:,} emails), {events:,} events tracked, {replies:,} replies received.",
        "",
        "| | per month | what it includes |",
        "|---|---|---|",
        f"| ArtistHub Mailing on AWS (this model, x86_64, no free tier) | **{money(ours)}** | the flows above and the "
        f"{PRICES['fixed_month']['secrets']} secrets' monthly fee; per-artist and per-team contacts with consent, "
        "replies in the CRM, tracking, A/B tests; logs and API calls of people using the CRM not counted |",
        f"| listmonk on a small VM + SES | {money(listmonk)} | {alt['listmonk_vm_month']['what']}; no replies in a CRM, "
        "one tenant, the VM to run and patch |",
        f"| Mailchimp Standard | ${alt['mailchimp_standard_10000_month']['usd']:,} | "
        f"{alt['mailchimp_standard_10000_month']['what']} |",
        f"| HubSpot Marketing Hub Professional | more than ${hubspot_extra:,} | the contacts beyond the "
        f"{alt['hubspot_professional_included_contacts']['value']:,} included alone, at "
        f"${alt['hubspot_professional_per_1000_contacts_month']['usd']} per 1,000; the plan's base price on top |",
    ])


def sources() -> str:
    lines = [f"Prices read on {PRICES['read_on']} ({PRICES['region']}); {PRICES['note']}", ""]
    for name, entry in {**PRICES["aws"], **PRICES["alternatives"]}.items():
        value = f"${entry['usd']}" if "usd" in entry else f"{entry['value']:,}"
        lines.append(f"- `{name}` {value}: {entry['source']}")
    fixed = PRICES["fixed_month"]
    lines.append(f"- `secret_month` ${fixed['secret_usd']} each, {fixed['secrets']} secrets: {fixed['source']}")
    lines.append(f"- latencies (ms) {LATENCY_MS}: {PRICES['latency_ms']['note']}")
    return "\n".join(lines)


def main():
    e2e, events, functions, target = (Path(p) for p in sys.argv[1:5])
    stages = lines_of(e2e)
    memory = {f["binary"]: f["memory"] for f in json.loads(functions.read_text())}
    flows = {s["stage"]: flow_cost(s, memory) for s in stages if s["stage"] in STAGES}
    flows["events"] = events_cost(lines_of(events)[-1], memory)
    order = [name for name in ["campaign", "events", "replies", "import"] if name in flows]
    write_section(target, "e2e", f"{stamp()}\n\n{e2e_table(stages, memory)}")
    body = "\n\n".join([stamp(), cost_table([flows[name] for name in order]), comparison(flows), sources()])
    write_section(target, "cost", body)
    print(body)


if __name__ == "__main__":
    main()
