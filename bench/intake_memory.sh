#!/usr/bin/env bash
# Peak memory of `cordon serve` while many clients send large messages at once.
#
#   bench/intake_memory.sh                   # 50 sessions x 30 MB, at once
#   SESSIONS=10 SIZE_MB=5 bench/intake_memory.sh
#
# Starts `cordon serve` on free loopback ports with the shipped rules and no
# smarthost (deliveries go to the outbox), has SESSIONS python smtplib clients
# send one SIZE_MB message each, all at once, and prints the peak resident set
# of the cordon process (VmHWM in /proc/PID/status) when the last client has
# its reply, and again once every message is delivered.
#
# Environment (defaults in brackets):
#   SESSIONS [50]   concurrent clients, one message each
#   SIZE_MB [30]    message size in MiB (plain text lines)
#   CORDON_BIN      binary to test [$CARGO_TARGET_DIR or target, debug/cordon]
#   KEEP_TMP=1      leave the temporary directory in place
set -euo pipefail

SESSIONS=${SESSIONS:-50}
SIZE_MB=${SIZE_MB:-30}
for v in SESSIONS SIZE_MB; do
    [[ ${!v} =~ ^[0-9]+$ ]] && ((${!v} > 0)) || { echo "$v must be a number > 0" >&2; exit 2; }
done

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
CORDON_BIN=${CORDON_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/cordon}
[[ -x $CORDON_BIN ]] || { echo "no cordon binary at $CORDON_BIN (cargo build --bin cordon)" >&2; exit 2; }

TMP=$(mktemp -d)
PID=
cleanup() {
    if [[ -n $PID ]]; then
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    if [[ ${KEEP_TMP:-} == 1 ]]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SMTP_PORT=$(free_port)
CONSOLE_PORT=$(free_port)
cat >"$TMP/cordon.toml" <<EOF
[server]
listen = "127.0.0.1:$SMTP_PORT"
max_message_size = $(((SIZE_MB + 1) << 20))
[console]
listen = "127.0.0.1:$CONSOLE_PORT"
[paths]
rules = "$ROOT/rules"
data = "$TMP/data"
EOF

RUST_LOG=warn "$CORDON_BIN" serve --config "$TMP/cordon.toml" 2>"$TMP/cordon.log" &
PID=$!
for _ in $(seq 200); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $SMTP_PORT), 1).close()" 2>/dev/null && break
    sleep 0.1
done
hwm() { awk '/^VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$PID/status"; }
echo "cordon started: VmHWM $(hwm)"

python3 - "$SMTP_PORT" "$SESSIONS" "$SIZE_MB" <<'EOF'
import smtplib, sys, threading, time

port, sessions, size_mb = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
line = b"Minutes of the estates working group, nothing sensitive in this line.\r\n"
body = b"Subject: bulk test\r\nFrom: a@northshire.police.uk\r\n\r\n" + line * (size_mb * 2**20 // len(line))
start = threading.Barrier(sessions)
failures = []

def send(n):
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=600) as client:
            start.wait()
            client.sendmail("a@northshire.police.uk", [f"b{n}@kent.police.uk"], body)
    except Exception as error:  # reported below
        failures.append(f"session {n}: {error!r}")

began = time.monotonic()
threads = [threading.Thread(target=send, args=(n,)) for n in range(sessions)]
for t in threads: t.start()
for t in threads: t.join()
print(f"{sessions} x {len(body) / 2**20:.1f} MiB sent in {time.monotonic() - began:.1f} s, {len(failures)} failed")
for failure in failures: print(failure)
sys.exit(1 if failures else 0)
EOF
echo "all accepted: VmHWM $(hwm)"

for _ in $(seq 1200); do
    delivered=$(find "$TMP/data/outbox" -type f 2>/dev/null | wc -l)
    ((delivered >= SESSIONS)) && break
    sleep 0.5
done
echo "$delivered delivered: VmHWM $(hwm)"
