#!/usr/bin/env bash
# Peak memory of `cordon serve` while many clients send large messages at once.
#
#   bench/intake_memory.sh                   # 50 sessions x 30 MB, at once
#   SESSIONS=10 SIZE_MB=5 bench/intake_memory.sh
#   BASELINE_BIN=/path/to/older/cordon CORDON_BIN=target/release/cordon bench/intake_memory.sh
#
# Starts `cordon serve` on free loopback ports with the shipped rules and no
# smarthost (deliveries go to the outbox), has SESSIONS python smtplib clients
# send one SIZE_MB message each, all at once, and prints the peak resident set
# of the cordon process (VmHWM in /proc/PID/status) when the last client has
# its reply, and again once every message is delivered. With BASELINE_BIN, the
# baseline binary is measured the same way first and the ratio is printed.
#
# Environment (defaults in brackets):
#   SESSIONS [50]   concurrent clients, one message each
#   SIZE_MB [30]    message size in MiB (plain text lines)
#   CORDON_BIN      binary to test [$CARGO_TARGET_DIR or target, debug/cordon]
#   BASELINE_BIN    an older build to compare with, in the same run [none]
#   KEEP_TMP=1      leave the temporary directories in place
set -euo pipefail

SESSIONS=${SESSIONS:-50}
SIZE_MB=${SIZE_MB:-30}
for v in SESSIONS SIZE_MB; do
    [[ ${!v} =~ ^[0-9]+$ ]] && ((${!v} > 0)) || { echo "$v must be a number > 0" >&2; exit 2; }
done

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
CORDON_BIN=${CORDON_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/cordon}
for bin in "$CORDON_BIN" ${BASELINE_BIN:+"$BASELINE_BIN"}; do
    [[ -x $bin ]] || { echo "no cordon binary at $bin (cargo build --bin cordon)" >&2; exit 2; }
done

TMPS=()
PID=
cleanup() {
    if [[ -n $PID ]]; then
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    if ((${#TMPS[@]})); then
        if [[ ${KEEP_TMP:-} == 1 ]]; then echo "kept ${TMPS[*]}" >&2; else rm -rf "${TMPS[@]}"; fi
    fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hwm_mib() { awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$PID/status"; }

# The clients: SESSIONS threads, one message of SIZE_MB each, started together.
CLIENTS='
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
print(f"  {sessions} x {len(body) / 2**20:.1f} MiB sent in {time.monotonic() - began:.1f} s, {len(failures)} failed")
for failure in failures: print(f"  {failure}")
sys.exit(1 if failures else 0)
'

# measure LABEL BIN: runs the load against BIN and sets PEAK to its peak
# resident set in MiB once every message is delivered.
measure() {
    local label=$1 bin=$2 tmp smtp_port console_port delivered=0
    tmp=$(mktemp -d)
    TMPS+=("$tmp")
    smtp_port=$(free_port)
    console_port=$(free_port)
    cat >"$tmp/cordon.toml" <<EOF
[server]
listen = "127.0.0.1:$smtp_port"
max_message_size = $(((SIZE_MB + 1) << 20))
[console]
listen = "127.0.0.1:$console_port"
[paths]
rules = "$ROOT/rules"
data = "$tmp/data"
EOF
    RUST_LOG=warn "$bin" serve --config "$tmp/cordon.toml" 2>"$tmp/cordon.log" &
    PID=$!
    for _ in $(seq 200); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $smtp_port), 1).close()" 2>/dev/null && break
        sleep 0.1
    done
    echo "$label ($bin): started, VmHWM $(hwm_mib) MiB"
    python3 -c "$CLIENTS" "$smtp_port" "$SESSIONS" "$SIZE_MB"
    echo "  all accepted: VmHWM $(hwm_mib) MiB"
    for _ in $(seq 1200); do
        delivered=$(find "$tmp/data/outbox" -type f 2>/dev/null | wc -l)
        ((delivered >= SESSIONS)) && break
        sleep 0.5
    done
    PEAK=$(hwm_mib)
    echo "  $delivered delivered: VmHWM $PEAK MiB"
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
}

if [[ -n ${BASELINE_BIN:-} ]]; then
    measure baseline "$BASELINE_BIN"
    BASE_PEAK=$PEAK
fi
measure cordon "$CORDON_BIN"
if [[ -n ${BASELINE_BIN:-} ]]; then
    awk -v c="$PEAK" -v b="$BASE_PEAK" \
        'BEGIN { printf "peak RSS: cordon %d MiB, baseline %d MiB, ratio %.2f\n", c, b, c / b }'
fi
