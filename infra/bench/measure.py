"""Runs a command, then prints its wall time and peak resident memory as JSON on stderr's last
line; the command's own stdout passes through.

usage: python measure.py CMD [ARGS...]
"""

import json
import resource
import subprocess
import sys
import time

start = time.perf_counter()
completed = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)
elapsed = time.perf_counter() - start
sys.stdout.buffer.write(completed.stdout)
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": round(elapsed, 3), "max_rss_mib": round(peak_kib / 1024, 1),
                  "exit": completed.returncode}), file=sys.stderr)
sys.exit(completed.returncode)
