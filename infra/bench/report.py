"""Writes one benchmark's tables into BENCHMARKS.md, between the markers of its section
(`<!-- bench:NAME -->` … `<!-- /bench:NAME -->`), stamped with the machine, date and profile.

usage: python report.py coldstart|arm64 RESULTS.json BENCHMARKS.md
       python report.py profiles DIR BENCHMARKS.md
       python report.py render|send|events RUNS.jsonl BENCHMARKS.md
       python report.py section NAME TABLE.md BENCHMARKS.md   (a table a benchmark printed)
"""

import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

INIT_RATIO_TARGET = 2.0
RSS_TARGET_MIB = 64
ZIP_TARGET_BYTES = 10 * 1000 * 1000


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.machine())
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} × {cpu}, {rustc}"


def profile(name: str) -> dict:
    profiles = tomllib.loads((ROOT / "Cargo.toml").read_text())["profile"]
    settings = dict(profiles["release"])
    if name != "release":
        settings.update({k: v for k, v in profiles[name].items() if k != "inherits"})
    return settings


def release_profile() -> str:
    return ", ".join(f"{key} = {json.dumps(value)}" for key, value in profile("release").items())


def stamp() -> str:
    today = datetime.date.today().isoformat()
    return f"*Written by `infra/dev bench` on {today}; {machine()}; release profile: {release_profile()}.*"


def span(summary, digits=1) -> str:
    if summary is None:
        return "–"
    return f"{summary['median']:.{digits}f} ({summary['min']:.{digits}f}–{summary['max']:.{digits}f})"


def coldstart(results: dict) -> str:
    rows = results["results"]
    baseline = next(r for r in rows if r["function"] == "hello-lambda")
    floor = baseline["init_ms"]["median"]
    lines = [
        stamp(),
        "",
        f"{results['runs']} cold starts of each, interleaved; median (range). Init: exec to the first "
        "`next` call; init CPU and faults: the CPU its threads had used by then and its page "
        "faults (`/proc`), what the init spent beside how long it took; answer: exec to the "
        "response of the first event; RSS: peak resident set (`VmHWM`) while it waits for the "
        "second event.",
        "",
        "| function | event (`events/`) | answer | keys read at init | init ms | × hello | init CPU ms | init faults | answer ms | peak RSS MiB | binary MB | zip MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        init = row["init_ms"]
        ratio = init["median"] / floor if init else None
        fixture = f"`{row['fixture']}`" if row["fixture"] else "none: `{}` (init only)"
        lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2f} | {:.2f} |".format(
            f"`{row['function']}`", fixture, ", ".join(row["outcomes"]), keys_read(row),
            span(init), f"{ratio:.2f}" if ratio else "–", span(row.get("init_cpu_ms")),
            span(row.get("init_faults"), 0), span(row["response_ms"]), span(row["rss_mib"]),
            row["binary_bytes"] / 1e6, row["zip_bytes"] / 1e6))
    functions = [r for r in rows if r["function"] != "hello-lambda"]
    ratios = {r["function"]: r["init_ms"]["median"] / floor for r in functions if r["init_ms"]}
    never = [r["function"] for r in functions if not r["init_ms"] or not r["rss_mib"]]
    slow = sorted((f for f, x in ratios.items() if x > INIT_RATIO_TARGET), key=ratios.get)
    keyless = [r["function"] for r in functions if not r.get("secrets") and r["function"] in ratios]
    heavy = [r["function"] for r in functions if r["rss_mib"] and r["rss_mib"]["median"] > RSS_TARGET_MIB]
    large = [r["function"] for r in functions if r["zip_bytes"] > ZIP_TARGET_BYTES]
    verdict = lambda names: "met" if not names else f"{len(names)} over ({', '.join(f'`{n}`' for n in names)})"
    lines += [
        "",
        f"Against the targets, for {len(functions)} functions: init ≤ {INIT_RATIO_TARGET:g}× hello world "
        + ("met" if not slow else
           f"not met by {len(slow)} (from {ratios[slow[0]]:.1f}× `{slow[0]}` to {ratios[slow[-1]]:.1f}× `{slow[-1]}`)")
        + f"; peak RSS ≤ {RSS_TARGET_MIB} MiB {verdict(heavy)} (largest "
        f"{max(r['rss_mib']['median'] for r in functions if r['rss_mib']):.1f} MiB); zip ≤ 10 MB "
        f"{verdict(large)} (largest {max(r['zip_bytes'] for r in functions) / 1e6:.2f} MB)"
        + (f"; never ready: {', '.join(never)}" if never else "") + ".",
        "",
        init_by_keys(functions, ratios, keyless),
    ]
    return "\n".join(lines)


KEY_NAMES = {"SIGNING_KEY_SECRET": "signing", "EMAIL_HASH_KEY_SECRET": "email hash",
             "PROVIDER_KEYS_SECRET": "providers"}


def keys_read(row) -> str:
    names = [KEY_NAMES.get(v, v) for v in row.get("secrets", [])]
    return ", ".join(names) if names else "none"


def init_by_keys(functions, ratios, keyless) -> str:
    """The init target split by what a cold start must fetch before it can answer: the functions
    that read no key against those waiting on Secrets Manager."""
    def band(names):
        values = sorted(ratios[n] for n in names)
        if not values:
            return "none"
        met = sum(1 for v in values if v <= INIT_RATIO_TARGET)
        middle = values[len(values) // 2]
        return (f"{met} of {len(values)} within {INIT_RATIO_TARGET:g}× (median {middle:.2f}×, "
                f"{values[0]:.2f}× – {values[-1]:.2f}×)")
    keyed = [n for n in ratios if n not in keyless]
    return (f"Init against hello world, by what a cold start reads before its first `next`: "
            f"reading no key, {band(keyless)}; reading one or more keys from Secrets Manager, "
            f"{band(keyed)}.")


ELF_MACHINES = {0x3E: "x86-64", 0xB7: "AArch64"}


def arm64(results: dict) -> str:
    """What `cargo lambda build --release --arm64` makes, and whether each binary, started under
    qemu's user-mode emulation against the emulator, answers its event as the x86-64 build does."""
    lines = [
        stamp(),
        "",
        "`cargo lambda build --release --arm64` (zig as the linker, from PyPI). Each binary started "
        f"{results['runs']} times under `qemu-aarch64` with Debian's arm64 glibc, given its `events/` "
        "fixture through the local Runtime API against the emulator: its answer is the check that the "
        "arm64 build works; times and memory under emulation say nothing of Graviton's and are left out.",
        "",
        "| function | ELF machine | newest glibc symbol it needs | binary MB | zip MB | event (`events/`) | answer |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["results"]:
        binary = Path(row["binary"]).read_bytes()
        machine_code = int.from_bytes(binary[18:20], "little")
        versions = re.findall(rb"GLIBC_(2\.[0-9]+(?:\.[0-9]+)?)", binary)
        glibc = max((tuple(int(part) for part in v.split(b".")) for v in versions), default=None)
        fixture = f"`{row['fixture']}`" if row["fixture"] else "none"
        lines.append("| `{}` | {} | {} | {:.2f} | {:.2f} | {} | {} |".format(
            row["function"], ELF_MACHINES.get(machine_code, hex(machine_code)),
            ".".join(map(str, glibc)) if glibc else "–", row["binary_bytes"] / 1e6,
            row["zip_bytes"] / 1e6, fixture, ", ".join(row["outcomes"])))
    return "\n".join(lines)


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def profiles(out: Path) -> str:
    """The release profile's opt-level against the other, from `infra/dev bench profiles`."""
    names = ["release", "release-other"]
    level = {name: json.dumps(profile(name)["opt-level"]) for name in names}
    measured = {}
    for name in names:
        imports = [m["seconds"] for m in lines_of(out / f"import-{name}.measure")]
        renders = [r["messages_per_second"] for r in lines_of(out / f"render-{name}.jsonl")]
        send = lines_of(out / f"send-{name}.jsonl")[-1]
        cold = {r["function"]: r for r in json.loads((out / f"coldstart-{name}.json").read_text())["results"]}
        # Each throughput as (median, range); the send benchmark runs once per build.
        measured[name] = {
            "import": (1_000_000 / median(imports), (1_000_000 / max(imports), 1_000_000 / min(imports))),
            "render": (median(renders), (min(renders), max(renders))),
            "send": (send["sender_cpu_micros_per_recipient"], None),
            "cold": cold,
        }
    ours, other = (measured[name] for name in names)
    rows = [
        ("import dry run, rows/s (1M rows, median of 5)", "import"),
        ("render, messages/s (20,000, median of 5)", "render"),
        ("sender CPU per recipient, µs (2,500 replayed)", "send"),
    ]

    def cell(value, spread):
        return f"{value:,.0f}" + (f" ({spread[0]:,.0f}–{spread[1]:,.0f})" if spread else "")

    lines = [
        stamp(),
        "",
        f"| measure | opt-level {level['release']} (ships) | opt-level {level['release-other']} | ratio |",
        "|---|---|---|---|",
    ]
    for label, key in rows:
        a, b = ours[key], other[key]
        lines.append(f"| {label} | {cell(*a)} | {cell(*b)} | {b[0] / a[0]:.2f} |")
    for function in ["email-send", "contacts-list", "hello-lambda"]:
        a, b = ours["cold"][function], other["cold"][function]
        for label, key, fmt in [("binary MB", "binary_bytes", "{:.2f}"), ("zip MB", "zip_bytes", "{:.2f}")]:
            lines.append(f"| `{function}` {label} | {fmt.format(a[key] / 1e6)} | {fmt.format(b[key] / 1e6)} "
                         f"| {b[key] / a[key]:.2f} |")
        for label, key in [("init ms", "init_ms"), ("init CPU ms", "init_cpu_ms"),
                           ("answer ms", "response_ms"), ("peak RSS MiB", "rss_mib")]:
            if a.get(key) and b.get(key):
                lines.append(f"| `{function}` {label} (median of 10) | {a[key]['median']:.1f} "
                             f"| {b[key]['median']:.1f} | {b[key]['median'] / a[key]['median']:.2f} |")
    lines += ["", "Ratio: the other opt-level's figure over the shipped one's."]
    return "\n".join(lines)


def render(runs: list[dict]) -> str:
    rates = sorted(r["messages_per_second"] for r in runs)
    micros = sorted(r["micros_per_message"] for r in runs)
    last = runs[-1]
    return "\n".join([
        f"| runs of {last['messages']:,} messages, one core | messages/s | µs per message | MIME bytes |",
        "|---|---|---|---|",
        f"| median of {len(runs)} (range) | {median(rates):,.0f} ({rates[0]:,.0f}–{rates[-1]:,.0f}) "
        f"| {median(micros):.1f} ({micros[0]:.1f}–{micros[-1]:.1f}) | {last['mime_bytes_per_message']:,} |",
    ])


# Lambda gives a function CPU in proportion to its memory, a whole vCPU at 1,769 MB.
FULL_VCPU_MB = 1769
SENDER_MB, SENDER_TIMEOUT_S, SENDER_TARGET = 256, 60, 500


def send(runs: list[dict]) -> str:
    runs = sorted(runs, key=lambda r: r["sender_cpu_micros_per_recipient"])
    mid, low, high = runs[len(runs) // 2], runs[0], runs[-1]
    cpu = "sender_cpu_micros_per_recipient"
    worst = high[cpu] * FULL_VCPU_MB / SENDER_MB
    capacity = int(SENDER_TIMEOUT_S * 1e6 / worst)
    return "\n".join([
        f"| {int(mid['recipients']):,} replayed recipients, median of {len(runs)} runs | µs |",
        "|---|---|",
        f"| sender CPU per recipient, network excluded (range) | {mid[cpu]} ({low[cpu]}–{high[cpu]}) |",
        f"| renderer alone per message (baseline, same run) | {mid['render_micros_per_message']} |",
        f"| sender ÷ renderer | {mid['sender_over_render']}× |",
        f"| SES `SendEmail` alone per message (the floor, same run) | {mid['ses_call_alone_micros_per_message']} |",
        f"| the recording pass through loopback HTTP to the emulator | "
        f"{mid['with_loopback_http_cpu_micros_per_recipient']} |",
        "",
        f"At {SENDER_MB} MB a function has {SENDER_MB}/{FULL_VCPU_MB} of a vCPU: the slowest run's "
        f"{high[cpu]} µs a recipient take {worst / 1000:.1f} ms there, so one invocation could send "
        f"**{capacity:,} recipients in {SENDER_TIMEOUT_S} s**, SES's latency excluded (target ≥ "
        f"{SENDER_TARGET}: {'met' if capacity >= SENDER_TARGET else 'not met'}). It is given 50, one "
        "SQS batch, so a failure retries 50 and the campaign spreads over concurrent senders.",
    ])


def events(runs: list[dict]) -> str:
    r = runs[-1]
    return "\n".join([
        "| | per event | per 1,000 events |",
        "|---|---|---|",
        f"| CPU of the consumer (one core) | {r['cpu_micros_per_event']} µs "
        f"({r['events_per_core_second']:,.0f} events per core-second) | |",
        f"| parsing alone (baseline) | {r['parse_only_cpu_micros_per_event']} µs | |",
        f"| ratio | {r['over_parse_only']}× | |",
        f"| DynamoDB requests | | {r['dynamodb_requests_per_1000_events']:,} |",
        f"| of which transactions | | {r['transactions_per_1000_events']:,} |",
        f"| DynamoDB write units | | {r['write_units_per_1000_events']:,} |",
    ])


def write_section(path: Path, name: str, body: str):
    text = path.read_text()
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    if begin not in text or end not in text:
        sys.exit(f"{path} has no {begin} … {end} section")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{body}\n{end}{tail}")


def main():
    kind = sys.argv[1]
    if kind == "section":
        name, table, target = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
        body = f"{stamp()}\n\n{table.read_text().strip()}"
    else:
        results, target = Path(sys.argv[2]), Path(sys.argv[3])
        name = kind
        if kind == "profiles":
            body = profiles(results)
        elif kind == "coldstart":
            body = coldstart(json.loads(results.read_text()))
        elif kind == "arm64":
            body = arm64(json.loads(results.read_text()))
        else:
            table = {"render": render, "send": send, "events": events}[kind](lines_of(results))
            body = f"{stamp()}\n\n{table}"
    write_section(target, name, body)
    print(body)


if __name__ == "__main__":
    main()
