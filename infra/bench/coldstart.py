"""Cold starts as Lambda runs them: each function binary started in a clean environment with a
Lambda Runtime API served here on loopback, timed from exec to its first `next` call (init, as
Lambda reports Init Duration) and to its answer for a real event, its peak RSS read from the
kernel while it waits for its next event, where it is killed. Runs are interleaved (run 1 of every
function, then run 2...) so the machine's noise falls on all of them alike, the baseline too.

usage: python coldstart.py --settings FUNCTIONS.json --bin-dir DIR --events DIR --baseline BIN
                           --endpoint URL [--runs N] [--only NAME,...] [--against DIR]
                           [--runner COMMAND]
                           --logs DIR --out RESULTS.json
FUNCTIONS.json is `devstack env --per-function`: each function's binary, memory, timeout and
environment as the template gives them, resolved against the emulator.
"""

import argparse
import io
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PREFIX = "/2018-06-01/runtime"
# Where a custom resource's answer to CloudFormation goes here: the fixture's presigned S3 URL
# names AWS, and nothing here may reach a non-loopback address.
CLOUDFORMATION_ANSWER = "/cloudformation-answer"
SOURCES = ("apigw-", "sqs-", "eventbridge-", "cfn-")
BASELINE = "hello-lambda"


class Run:
    """One cold start: the event it is given and what the function did, in perf_counter ns."""

    def __init__(self, event: bytes, timeout_s: int):
        self.event = event
        self.timeout_s = timeout_s
        self.request_id = str(uuid.uuid4())
        self.started = 0
        self.pid = None
        self.first_next = None
        self.init_use = None
        self.answered = None
        self.outcome = None
        self.cloudformation = None
        self.done = threading.Event()
        self.released = threading.Event()


class RuntimeApi(BaseHTTPRequestHandler):
    """The Runtime API's four calls, against the server's current run."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        run = self.server.run
        if self.path != f"{PREFIX}/invocation/next":
            return self.reply(404, b"{}")
        if run.first_next is not None:
            # The function is ready for its second event: the measured part is over, and Lambda
            # would freeze it here; it is killed while it waits.
            run.done.set()
            run.released.wait(60)
            return
        run.first_next = time.perf_counter_ns()
        run.init_use = cpu_and_faults(run.pid)
        deadline = int(time.time() * 1000) + run.timeout_s * 1000
        self.reply(200, run.event, {
            "Lambda-Runtime-Aws-Request-Id": run.request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline),
            "Lambda-Runtime-Invoked-Function-Arn":
                f"arn:aws:lambda:us-east-1:000000000000:function:{self.server.function}",
            "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0",
        })

    def do_POST(self):
        run = self.server.run
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == f"{PREFIX}/invocation/{run.request_id}/response":
            run.answered = time.perf_counter_ns()
            run.outcome = describe(body)
            if run.cloudformation:
                run.outcome = f"{run.cloudformation} to CloudFormation"
        elif self.path == f"{PREFIX}/invocation/{run.request_id}/error":
            run.answered = time.perf_counter_ns()
            run.outcome = "error: " + error_type(body)
        elif self.path == f"{PREFIX}/init/error":
            run.outcome = "init error: " + error_type(body)
            run.done.set()
        else:
            return self.reply(404, b"{}")
        self.reply(202, b'{"status":"OK"}')

    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.path.startswith(CLOUDFORMATION_ANSWER):
            return self.reply(404, b"{}")
        try:
            self.server.run.cloudformation = json.loads(body).get("Status", "?")
        except ValueError:
            self.server.run.cloudformation = "unreadable"
        self.reply(200, b"")

    def reply(self, status, body, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def on_loopback(event: bytes, port: int) -> bytes:
    """The event as this harness can serve it: a custom resource's answer URL pointed here."""
    try:
        parsed = json.loads(event)
    except ValueError:
        return event
    if not isinstance(parsed, dict) or "ResponseURL" not in parsed:
        return event
    parsed["ResponseURL"] = f"http://127.0.0.1:{port}{CLOUDFORMATION_ANSWER}"
    return json.dumps(parsed).encode()


def error_type(body: bytes) -> str:
    try:
        return json.loads(body).get("errorType", "?")
    except ValueError:
        return "?"


def describe(body: bytes) -> str:
    """What the answer says, shortly: an HTTP status, or an SQS batch's failures."""
    try:
        answer = json.loads(body)
    except ValueError:
        return "answered"
    if isinstance(answer, dict) and "statusCode" in answer:
        return str(answer["statusCode"])
    if isinstance(answer, dict) and "batchItemFailures" in answer:
        return f"{len(answer['batchItemFailures'])} failed"
    return "answered"


def fixtures_by_function(functions, names: list[str]) -> dict[str, str]:
    """Each function's first events/ fixture: the one whose name, past its source, is the
    function's (`sqs-ses-events-bounce-permanent.json` is `ses-events`'), the longest name
    winning (`contacts-imports-get` is not `contacts-import`)."""
    found = {}
    for name in names:
        stem = name.removesuffix(".json")
        for source in SOURCES:
            if stem.startswith(source):
                stem = stem[len(source):]
                break
        owners = [f for f in functions if stem == f or stem.startswith(f + "-")]
        if owners:
            found.setdefault(max(owners, key=len), name)
    return found


def lambda_environment(name, setting, port, endpoint):
    """What Lambda sets, the template's variables, the emulator as every AWS endpoint."""
    env = {
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(setting["memory"]),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/02/[$LATEST]coldstart",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "_HANDLER": "bootstrap",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_ENDPOINT_URL": endpoint,
    }
    env.update(setting["environment"])
    return env


def cold_start(server, command: list[str], env, event: bytes, timeout_s, log) -> dict:
    run = Run(event, timeout_s)
    server.run = run
    run.started = time.perf_counter_ns()
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log,
                               stdin=subprocess.DEVNULL)
    run.pid = process.pid

    def reap():
        # A function that exits on its own (a failed init) ends the run too.
        os.waitpid(process.pid, 0)
        run.done.set()

    reaper = threading.Thread(target=reap)
    reaper.start()
    finished = run.done.wait(max(timeout_s, 10) + 5)
    peak = peak_rss_mib(process.pid)
    try:
        os.kill(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    reaper.join()
    process.returncode = -9
    run.released.set()
    ms = lambda at: None if at is None else (at - run.started) / 1e6
    cpu_ms, faults = run.init_use or (None, None)
    return {
        "init_ms": ms(run.first_next),
        "init_cpu_ms": cpu_ms,
        "init_faults": faults,
        "response_ms": ms(run.answered),
        "rss_mib": peak,
        "outcome": (run.outcome or "exited") if finished else "no answer in time",
    }


def cpu_and_faults(pid: int | None) -> tuple[float, int] | None:
    """The CPU the process has used so far, every thread's (`schedstat`, in ns, not the 10 ms
    ticks of `stat`), and its page faults: what an init spent beside how long it took, so a slow
    one shows whether it computed, faulted its binary in, or waited."""
    if pid is None:
        return None
    try:
        cpu_ns = 0
        for task in Path(f"/proc/{pid}/task").iterdir():
            cpu_ns += int((task / "schedstat").read_text().split()[0])
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        # After the command: state, ppid, pgrp, session, tty, tpgid, flags, minflt, cminflt, majflt.
        return cpu_ns / 1e6, int(fields[7]) + int(fields[9])
    except (FileNotFoundError, ProcessLookupError):
        return None


def peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident set since its exec (`VmHWM`), while it is still alive. Not
    `wait4`'s `ru_maxrss`: Linux carries the parent's peak across fork and exec, so a small
    child reports the Python harness's own."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return None


def zipped_size(binary: Path) -> int:
    """The archive SAM uploads: the binary as `bootstrap`, deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, binary.read_bytes(), compresslevel=9)
    return len(buffer.getvalue())


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--settings", required=True)
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--events", required=True)
    parser.add_argument("--baseline", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--only", default="")
    parser.add_argument("--logs", required=True)
    parser.add_argument("--out", required=True)
    # Another build of the same functions (say, from before a change), started interleaved with
    # this one and reported as NAME@against: an A/B comparison under the same noise.
    parser.add_argument("--against", default="")
    # A command the binaries are started through: `qemu-aarch64 -L ...` for another architecture's.
    parser.add_argument("--runner", default="")
    args = parser.parse_args()
    runner = shlex.split(args.runner)

    settings = {s["binary"]: s for s in json.loads(Path(args.settings).read_text())}
    wanted = [n for n in args.only.split(",") if n] or sorted(settings)
    fixtures = fixtures_by_function(settings, sorted(p.name for p in Path(args.events).glob("*.json")))
    # The baseline answers any JSON; it gets the API Gateway request most functions get.
    cases = {BASELINE: {
        "binary": Path(args.baseline),
        "setting": {"memory": 256, "timeout": 10, "environment": {}},
        "fixture": "apigw-contacts-list.json",
    }}
    for name in wanted:
        cases[name] = {
            "binary": Path(args.bin_dir) / name,
            "setting": settings[name],
            "fixture": fixtures.get(name),
        }
        if args.against:
            cases[f"{name}@against"] = {**cases[name], "binary": Path(args.against) / name}

    server = ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)

    measured = {name: [] for name in cases}
    for run in range(args.runs):
        for name, case in cases.items():
            server.function = name
            event = (Path(args.events) / case["fixture"]).read_bytes() if case["fixture"] else b"{}"
            event = on_loopback(event, port)
            env = lambda_environment(name, case["setting"], port, args.endpoint)
            with open(logs / f"{name}.log", "wb" if run == 0 else "ab") as log:
                measured[name].append(cold_start(server, runner + [str(case["binary"])], env, event,
                                                 case["setting"]["timeout"], log))
        print(f"run {run + 1}/{args.runs} done", file=sys.stderr)
    server.shutdown()

    results = []
    for name, case in cases.items():
        runs = measured[name]
        size = case["binary"].stat().st_size
        results.append({
            "function": name,
            "binary": str(case["binary"]),
            "fixture": case["fixture"],
            "memory_mb": case["setting"]["memory"],
            # The secrets its cold start reads (one Secrets Manager request each, two for the
            # signing key's current and previous values): what its init waits on beside its code.
            "secrets": sorted(v for v in case["setting"]["environment"] if v.endswith("_SECRET")),
            "binary_bytes": size,
            "zip_bytes": zipped_size(case["binary"]),
            "init_ms": summary([r["init_ms"] for r in runs]),
            "init_cpu_ms": summary([r["init_cpu_ms"] for r in runs]),
            "init_faults": summary([r["init_faults"] for r in runs]),
            "response_ms": summary([r["response_ms"] for r in runs]),
            "rss_mib": summary([r["rss_mib"] for r in runs]),
            "outcomes": sorted({r["outcome"] or "none" for r in runs}),
        })
    Path(args.out).write_text(json.dumps({"runs": args.runs, "results": results}, indent=2))


if __name__ == "__main__":
    main()
