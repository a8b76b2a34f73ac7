# Sourced by the scripts that need a running `infra/dev up` (the README walkthrough, the API
# fuzzer): starts it on a free port with its own emulator, waits for READY, and sets
# up_pid, ARTIST, TOKEN and API. The caller stops it (kill $up_pid).
start_up() {
  local log=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  env -u AWS_ENDPOINT_URL "$ROOT/infra/dev" up --port "$port" >"$log" 2>&1 &
  up_pid=$!
  for _ in $(seq 1 600); do
    grep -q '^READY ' "$log" && break
    kill -0 $up_pid 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.2
  done
  grep -q '^READY ' "$log" || { echo "infra/dev up did not print READY" >&2; cat "$log" >&2; return 1; }
  eval "$(grep -E '^(ARTIST|TOKEN)=' "$log")"
  export ARTIST TOKEN API="http://127.0.0.1:$port"
}
