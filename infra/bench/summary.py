"""Prints the import benchmark's results as the table BENCHMARKS.md keeps.

usage: python summary.py DIR ROWS
"""

import glob
import json
import os
import sys

out, rows = sys.argv[1], int(sys.argv[2])


def measures(path):
    with open(path) as f:
        return [json.loads(line) for line in f.read().splitlines() if line.startswith("{")]


def measure(path):
    return measures(path)[-1]


# Ours runs five times on this noisy machine: the median run stands for it, the range is shown.
runs = sorted(measures(f"{out}/ours.measure"), key=lambda m: m["seconds"])
ours, base = runs[len(runs) // 2], measure(f"{out}/baseline.measure")
ours_counts = json.load(open(f"{out}/ours.json"))
base_counts = json.load(open(f"{out}/baseline.json"))
print(f"| pipeline ({rows:,} rows, one core) | rows/s | wall | peak RSS | valid | invalid | duplicates |")
print("|---|---|---|---|---|---|---|")
for name, m, c in [("ArtistHub dry run", ours, ours_counts), ("Python + email-validator + set", base, base_counts)]:
    print(f"| {name} | {rows / m['seconds']:,.0f} | {m['seconds']:.2f} s | {m['max_rss_mib']} MiB "
          f"| {c['valid']:,} | {c['invalid']:,} | {c['duplicates']:,} |")
print(f"\nours: median of {len(runs)} runs; range {rows / runs[-1]['seconds']:,.0f} to "
      f"{rows / runs[0]['seconds']:,.0f} rows/s")
print(f"speed-up: {base['seconds'] / ours['seconds']:.1f}x")
print("\n| hostile file | outcome | peak RSS |\n|---|---|---|")
for path in sorted(glob.glob(f"{out}/hostile-measures/*.measure")):
    m = measure(path)
    name = os.path.basename(path)[: -len(".measure")]
    outcome = "refused" if m["exit"] != 0 else "read (bad rows reported)"
    print(f"| {name} | {outcome} | {m['max_rss_mib']} MiB |")

print("\n| real import of 1,000 generated rows (emulator) | DynamoDB requests | created | updated | unchanged |")
print("|---|---|---|---|---|")
for run in ("fresh", "again"):
    report = json.load(open(f"{out}/requests-{run}.json"))
    requests = open(f"{out}/requests-{run}.txt").read().split()[0]
    print(f"| {run} | {requests} | {report['created']} | {report['updated']} | {report['unchanged']} |")
