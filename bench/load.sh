#!/usr/bin/env bash
# Throughput and latency of `cordon serve` (full inspection) against a bare
# Postfix relay, measured in the same run on the same machine.
#
#   bench/load.sh                       # 3 interleaved runs of 5000 x 20 KB, 20 sessions
#   MESSAGES=1000 RUNS=1 bench/load.sh  # quick check
#
# Load: Postfix's smtp-source. Smarthost of both targets: Postfix's smtp-sink.
# Latency: bench/probe.py (one session, sequential) against each target, with
# its own sink so that arrival times are exact. See bench/README.md.
#
# Environment (defaults in brackets):
#   MESSAGES [5000]  messages per throughput run and target
#   SESSIONS [20]    parallel smtp-source sessions
#   SIZE [20480]     message body bytes
#   RUNS [3]         runs per target, interleaved postfix, cordon, postfix, ...
#   BODY [filler]    filler: smtp-source's own body (-l SIZE, lines of X);
#                    prose: plain English text of SIZE bytes (-F FILE), which
#                    gives cordon's detectors real words to scan
#   WARMUP [200]     messages sent to each target once before the first run
#   LATENCY_MESSAGES [200]  latency probes per target and run (0: skip)
#   CORDON_CONFIG    a cordon.toml to use instead of the generated one
#   CORDON_BIN       binary to test [target/release/cordon, built if stale]
#   RESULTS_DIR      where logs and figures are kept [bench/results/<time>]
#   KEEP_TMP=1       leave the temporary directory in place
#   SYSCALLS=1       count fsync, open, rename, unlink and context switches on
#                    the whole machine during each throughput run (perf stat)
#   PERF=1|graph|dwarf profile cordon with perf record during its throughput runs
#                    (flat, or with DWARF call graphs); writes perf-cordon-N.txt
#                    to the results. Profiled runs are slower: not for figures.
set -euo pipefail

MESSAGES=${MESSAGES:-5000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-20480}
RUNS=${RUNS:-3}
BODY=${BODY:-filler}
WARMUP=${WARMUP:-200}
LATENCY_MESSAGES=${LATENCY_MESSAGES:-200}
SENDER=${SENDER:-sam.okafor@northshire.police.uk}
RCPT=${RCPT:-j.bell@bellandco-solicitors.co.uk}

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
PROBE="python3 $BENCH/probe.py"
CORDON_BIN_FROM_ENV=${CORDON_BIN:+yes}
CORDON_BIN=${CORDON_BIN:-$ROOT/target/release/cordon}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS_DIR=${RESULTS_DIR:-$BENCH/results/$STAMP}

case $BODY in filler | prose) ;; *) echo "BODY must be filler or prose" >&2; exit 2 ;; esac
for v in MESSAGES SESSIONS SIZE RUNS WARMUP LATENCY_MESSAGES; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "$v must be a number" >&2; exit 2; }
done
((MESSAGES > 0 && SESSIONS > 0 && RUNS > 0)) || { echo "MESSAGES, SESSIONS and RUNS must be > 0" >&2; exit 2; }

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

PIDS=()        # background processes this script started and has not reaped
PF_DIRS=()     # Postfix instances this script started
CORDON_PIDS=() # cordon processes this script started
forget() { # pid: reaped, so no longer ours to stop
    local p keep=()
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
# Runs "$@" in the background and waits for it: bash runs traps only between
# commands, so a long foreground command would hold off Ctrl-C and SIGTERM.
fg_wait() {
    "$@" &
    local pid=$! rc=0
    PIDS+=("$pid")
    wait "$pid" || rc=$?
    forget "$pid"
    return "$rc"
}

# ------------------------------------------------------------------ set-up

PATH=$PATH:/usr/sbin:/sbin # smtp-source, smtp-sink, postfix

need_root_install() {
    [[ $(id -u) == 0 ]] || die "$1 is missing; run as root or install it: $2"
}

if ! command -v smtp-source >/dev/null || ! command -v smtp-sink >/dev/null || ! command -v postfix >/dev/null; then
    need_root_install "postfix (smtp-source, smtp-sink)" "apt-get install postfix"
    log "installing postfix (smtp-source, smtp-sink); the system instance is left unconfigured"
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y postfix >/dev/null ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y postfix >/dev/null; }
fi
command -v python3 >/dev/null || die "python3 is needed"
command -v curl >/dev/null || die "curl is needed"

if [[ -z $CORDON_BIN_FROM_ENV ]]; then
    stale=
    if [[ ! -x $CORDON_BIN ]]; then
        stale="missing"
    elif [[ -n $(cd "$ROOT" && find src crates Cargo.toml Cargo.lock -newer "$CORDON_BIN" \
        \( -name '*.rs' -o -name 'Cargo.*' \) -not -path '*/target/*' -print -quit 2>/dev/null) ]]; then
        stale="older than the sources"
    fi
    if [[ -n $stale ]]; then
        log "building cordon ($stale): cargo build --release --bin cordon"
        fg_wait cargo build --manifest-path "$ROOT/Cargo.toml" --release --bin cordon >&2 || die "the build failed"
    fi
fi
[[ -x $CORDON_BIN ]] || die "no cordon binary at $CORDON_BIN"

TMP=$(mktemp -d /tmp/cordon-bench.XXXXXX)
chmod 755 "$TMP"
mkdir -p "$RESULTS_DIR"

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${CORDON_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for d in "${PF_DIRS[@]}"; do
        postfix -c "$d/etc" stop >/dev/null 2>&1
    done
    for pid in "${CORDON_PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    for d in "${PF_DIRS[@]}"; do
        local mpid
        mpid=$(tr -dc 0-9 <"$d/queue/pid/master.pid" 2>/dev/null)
        if [[ -n $mpid ]]; then
            for _ in $(seq 100); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$mpid" 2>/dev/null && postfix -c "$d/etc" abort >/dev/null 2>&1
        fi
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    if [[ -d $TMP ]]; then
        # keep the logs with the results
        for f in "$TMP"/*.log; do
            [[ -f $f ]] && cp "$f" "$RESULTS_DIR/" 2>/dev/null
        done
        for f in "$TMP"/*/postfix.log; do
            [[ -f $f ]] && cp "$f" "$RESULTS_DIR/$(basename "$(dirname "$f")").log" 2>/dev/null
        done
        if [[ -n ${KEEP_TMP:-} ]]; then log "temporary files kept in $TMP"; else rm -rf "$TMP"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Free TCP ports on 127.0.0.1, all held open at once so that they differ.
read -r SINK_PORT PF_PORT PFL_PORT CD_PORT CD_CONSOLE CDL_PORT CDL_CONSOLE PROBE_PORT < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(8):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)

wait_port() { # port seconds
    local deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1',$1),1); s.close()" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

# --- the smarthost of both targets
SINK_OUT=$TMP/smtp-sink.out
smtp-sink -c -u nobody -m 1000 "127.0.0.1:$SINK_PORT" 1000 >"$SINK_OUT" 2>"$TMP/smtp-sink.err" &
PIDS+=($!)
wait_port "$SINK_PORT" 10 || die "smtp-sink did not start: $(cat "$TMP/smtp-sink.err")"

# --- bare Postfix relays, private instances (the system configuration is not touched)
pf_start() { # name smtpd-port relay-port
    local d=$TMP/$1
    mkdir -p "$d/etc" "$d/queue" "$d/data"
    chown postfix "$d/data"
    cat >"$d/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.bench.localdomain
mydomain = bench.localdomain
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 no local delivery
alias_maps =
alias_database =
relayhost = [127.0.0.1]:$3
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
default_process_limit = 150
maillog_file = $d/postfix.log
maillog_file_prefixes = $d
smtp_tls_security_level = none
smtpd_tls_security_level = none
biff = no
append_dot_mydomain = no
readme_directory = no
EOF
    {
        echo "127.0.0.1:$2 inet n - n - - smtpd"
        grep -v '^#' "$ROOT/scripts/postfix/services.cf"
    } >"$d/etc/master.cf"
    # postfix reports on stderr only to a terminal; otherwise see $d/postfix.log
    postfix -c "$d/etc" check >"$d/check.out" 2>&1 || die "postfix check ($1): $(tail -3 "$d/postfix.log" 2>/dev/null)"
    postfix -c "$d/etc" start >"$d/start.out" 2>&1 || die "postfix start ($1): $(tail -3 "$d/postfix.log" 2>/dev/null)"
    PF_DIRS+=("$d")
    wait_port "$2" 20 || die "postfix ($1) does not listen on $2: $(tail -5 "$d/postfix.log" 2>/dev/null)"
}

pf_queue_count() { # name: messages still in the instance's queue
    find "$TMP/$1/queue/"{maildrop,incoming,active,deferred,hold} -type f 2>/dev/null | wc -l
}

# --- cordon
if [[ -n ${CORDON_CONFIG:-} ]]; then
    CONF=$CORDON_CONFIG
else
    CONF=$TMP/cordon.toml
    cat >"$CONF" <<'EOF'
# Generated by bench/load.sh: the defaults, except no STARTTLS to smtp-sink.
[relay]
starttls = "never"
EOF
fi

cordon_start() { # name listen-port console-port relay-port
    local d=$TMP/$1
    mkdir -p "$d/data"
    RUST_LOG=${RUST_LOG:-info} "$CORDON_BIN" serve --config "$CONF" --rules "$ROOT/rules" --data "$d/data" \
        --listen "127.0.0.1:$2" --console "127.0.0.1:$3" --relay "127.0.0.1:$4" \
        >"$TMP/$1.log" 2>&1 &
    local pid=$!
    wait_port "$2" 30 || die "cordon ($1) did not start: $(tail -5 "$TMP/$1.log")"
    echo "$pid"
}

metric() { # console-port metric-line-prefix: the value, 0 if absent
    curl -s --max-time 5 "http://127.0.0.1:$1/metrics" |
        awk -v m="$2" 'index($0, m) == 1 { v = $NF } END { print (v == "" ? 0 : v) }'
}

cpu_ticks() { # pid: utime + stime in clock ticks
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# --- the test message
if [[ $BODY == prose ]]; then
    MSGFILE=$TMP/message.eml
    $PROBE message --size "$SIZE" --body prose --from "$SENDER" --to "$RCPT" >"$MSGFILE"
    SOURCE_BODY=(-F "$MSGFILE")
else
    SOURCE_BODY=(-l "$SIZE" -S "Regional working group meeting")
fi
# What cordon would decide for it (the throughput runs also check the metrics).
$PROBE message --size "$SIZE" --body "$BODY" --from "$SENDER" --to "$RCPT" >"$TMP/check.eml"
verdict=$("$CORDON_BIN" check --rules "$ROOT/rules" --compact --mail-from "$SENDER" --rcpt "$RCPT" "$TMP/check.eml")
grep -q '"action":"deliver"' <<<"$verdict" || die "cordon would not deliver the test message: $verdict"

log "ports: sink $SINK_PORT, postfix $PF_PORT (latency $PFL_PORT), cordon $CD_PORT/$CD_CONSOLE (latency $CDL_PORT/$CDL_CONSOLE), probe sink $PROBE_PORT"
pf_start postfix "$PF_PORT" "$SINK_PORT"
pf_start postfix-lat "$PFL_PORT" "$PROBE_PORT"
CD_PID=$(cordon_start cordon "$CD_PORT" "$CD_CONSOLE" "$SINK_PORT")
CORDON_PIDS+=("$CD_PID")
CDL_PID=$(cordon_start cordon-lat "$CDL_PORT" "$CDL_CONSOLE" "$PROBE_PORT")
CORDON_PIDS+=("$CDL_PID")

# ------------------------------------------------------------------ the runs

RUNS_TSV=$RESULTS_DIR/runs.tsv
echo "# target run messages accept_secs e2e_secs host_cpu_ms_per_msg cordon_cpu_ms_per_msg" >"$RUNS_TSV"
LIMIT=$((120 + MESSAGES / 5)) # seconds any one load or drain may take
SYSCALL_EVENTS=syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync,syscalls:sys_enter_sync_file_range,syscalls:sys_enter_openat,syscalls:sys_enter_rename,syscalls:sys_enter_renameat2,syscalls:sys_enter_unlink,syscalls:sys_enter_unlinkat,context-switches

host_busy() { # busy jiffies of the whole machine (user, nice, system, irq, softirq)
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat
}

load() { # target port messages: prints "accept_secs e2e_secs"
    local target=$1 port=$2 n=$3 base t0 t1 done_at wpid
    base=$($PROBE sink-count "$SINK_OUT")
    $PROBE wait-sink "$SINK_OUT" $((base + n)) "$LIMIT" >"$TMP/done.out" &
    wpid=$!
    PIDS+=("$wpid")
    sleep 0.3 # let the waiter start
    t0=$(date +%s.%N)
    if ! fg_wait timeout "$LIMIT" smtp-source -s "$SESSIONS" -m "$n" "${SOURCE_BODY[@]}" \
        -f "$SENDER" -t "$RCPT" -M bench.localdomain "127.0.0.1:$port" >"$TMP/source.out" 2>&1; then
        kill "$wpid" 2>/dev/null || true
        die "smtp-source against $target failed: $(tail -3 "$TMP/source.out")"
    fi
    t1=$(date +%s.%N)
    wait "$wpid" 2>/dev/null || true
    forget "$wpid"
    [[ -s $TMP/done.out ]] || die "$target did not deliver all $n messages to the sink within ${LIMIT}s (queue: $(
        [[ $target == postfix ]] && pf_queue_count postfix || metric "$CD_CONSOLE" cordon_queue_depth))"
    done_at=$(cat "$TMP/done.out")
    if grep -qi 'error\|fatal\|warning' "$TMP/source.out"; then log "smtp-source said: $(head -3 "$TMP/source.out")"; fi
    python3 -c "print(f'{$t1 - $t0:.3f} {$done_at - $t0:.3f}')"
}

measure() { # target port run: one throughput run, appended to runs.tsv
    local target=$1 port=$2 run=$3 h0 h1 c0=0 c1=0 stat_pid= perf_pid= acc e2e host cpu=-
    [[ $target == cordon ]] && c0=$(cpu_ticks "$CD_PID")
    if [[ -n ${SYSCALLS:-} ]]; then
        perf stat -a -x, -e "$SYSCALL_EVENTS" -o "$RESULTS_DIR/syscalls-$target-$run.csv" >/dev/null 2>&1 &
        stat_pid=$!
        PIDS+=("$stat_pid")
    fi
    if [[ -n ${PERF:-} && $target == cordon ]]; then
        local perf_args=(-F 999)
        [[ $PERF == dwarf ]] && perf_args=(-F 199 --call-graph dwarf,16384)
        [[ $PERF == graph ]] && perf_args=(-F 999 -g)
        perf record "${perf_args[@]}" -p "$CD_PID" -o "$RESULTS_DIR/perf-cordon-$run.data" >"$TMP/perf.out" 2>&1 &
        perf_pid=$!
        PIDS+=("$perf_pid")
    fi
    [[ -n $stat_pid$perf_pid ]] && sleep 0.5
    h0=$(host_busy)
    load "$target" "$port" "$MESSAGES" >"$TMP/load.out"
    h1=$(host_busy)
    read -r acc e2e <"$TMP/load.out"
    for p in $stat_pid $perf_pid; do
        kill -INT "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
        forget "$p"
    done
    host=$(python3 -c "print(f'{($h1 - $h0) * 1000 / $(getconf CLK_TCK) / $MESSAGES:.3f}')")
    if [[ $target == cordon ]]; then
        c1=$(cpu_ticks "$CD_PID")
        cpu=$(python3 -c "print(f'{($c1 - $c0) * 1000 / $(getconf CLK_TCK) / $MESSAGES:.3f}')")
    fi
    echo "$target $run $MESSAGES $acc $e2e $host $cpu" >>"$RUNS_TSV"
    if [[ -n $perf_pid ]]; then
        perf report -i "$RESULTS_DIR/perf-cordon-$run.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
            grep -v '^#' | grep -v '^$' | head -60 >"$RESULTS_DIR/perf-cordon-$run.txt" || true
        log "run $run/$RUNS cordon profile: $RESULTS_DIR/perf-cordon-$run.txt (profiled runs are slower: not for figures)"
    fi
    if [[ -n $stat_pid ]]; then
        awk -F, -v n="$MESSAGES" -v t="$target" '$1 ~ /^[0-9]+$/ { sub(/^syscalls:sys_enter_/, "", $3); s = s sprintf(" %s=%.2f", $3, $1 / n) }
            END { print "syscalls per message, whole machine, " t ":" s }' \
            "$RESULTS_DIR/syscalls-$target-$run.csv" >>"$RESULTS_DIR/syscalls.txt"
    fi
    local extra=
    [[ $target == postfix ]] && extra=", $(pf_queue_count postfix) left in the queue"
    [[ $target == cordon ]] && extra=", cordon process ${cpu} ms CPU per message"
    log "run $run/$RUNS $target: accepted in ${acc}s, delivered in ${e2e}s, host ${host} ms CPU per message$extra"
}

log "warm-up: $WARMUP messages to each target"
if ((WARMUP > 0)); then
    load postfix "$PF_PORT" "$WARMUP" >/dev/null
    load cordon "$CD_PORT" "$WARMUP" >/dev/null
fi

LAT_FILES=()
for run in $(seq "$RUNS"); do
    measure postfix "$PF_PORT" "$run"
    measure cordon "$CD_PORT" "$run"

    # latency: one sequential session per target, with the probe's own sink
    if ((LATENCY_MESSAGES > 0)); then
        lf=$RESULTS_DIR/latency-$run.jsonl
        # rotate the order so that no target always goes first
        targets=("direct=127.0.0.1:$PROBE_PORT" "postfix=127.0.0.1:$PFL_PORT" "cordon=127.0.0.1:$CDL_PORT")
        k=$(((run - 1) % 3))
        targets=("${targets[@]:k}" "${targets[@]:0:k}")
        targs=()
        for t in "${targets[@]}"; do targs+=(--target "$t"); done
        fg_wait timeout $((60 + LATENCY_MESSAGES * 3)) $PROBE latency --sink-listen "127.0.0.1:$PROBE_PORT" "${targs[@]}" \
            --messages "$LATENCY_MESSAGES" --size "$SIZE" --body "$BODY" --from "$SENDER" --to "$RCPT" \
            --max-seconds $((20 + LATENCY_MESSAGES)) >"$lf" || die "the latency probe failed"
        LAT_FILES+=("$lf")
        log "run $run/$RUNS latency probe done"
    fi
done

# ------------------------------------------------------------------ report

{
    echo "cordon throughput and latency against a bare Postfix relay ($STAMP)"
    echo "host: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); postfix $(postconf -c "$TMP/postfix/etc" -h mail_version); cordon $("$CORDON_BIN" --version 2>/dev/null | awk '{print $2}') ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && [[ -n $(git status --porcelain -- src crates 2>/dev/null) ]] && echo ', modified'))"
    echo "load: smtp-source -s $SESSIONS -m $MESSAGES, body $BODY $SIZE bytes, one message per connection; $RUNS runs per target, interleaved; figures are medians over runs"
    echo
    $PROBE summary --runs "$RUNS_TSV" --latency ${LAT_FILES[@]+"${LAT_FILES[@]}"} --sessions "$SESSIONS" --size "$SIZE"
    [[ -f $RESULTS_DIR/syscalls.txt ]] && cat "$RESULTS_DIR/syscalls.txt"
    echo
    echo "cordon metrics (throughput instance):"
    curl -s --max-time 5 "http://127.0.0.1:$CD_CONSOLE/metrics" |
        grep -E '^cordon_(messages_accepted|recipient_decisions|deliveries|queue_depth|quarantine_held)' | sed 's/^/  /' || true
    grep -o 'inspect_ms="[0-9.]*' "$TMP/cordon.log" | tr -dc '0-9.\n' | sort -n |
        awk '{ a[NR] = $1 } END { if (NR) printf "cordon inspection time per message (its log, throughput instance, n=%d): median %s ms, p95 %s ms\n", NR, a[int((NR + 1) / 2)], a[int(NR * 0.95)] }' || true
    echo "cordon logs: $(cat "$TMP"/cordon.log "$TMP"/cordon-lat.log | grep -c -E ' (ERROR|WARN) ') errors/warnings, $(cat "$TMP"/cordon.log "$TMP"/cordon-lat.log | grep -c -E 'deferred|held in quarantine|refused') deferred/held/refused lines"
    cat "$TMP"/cordon.log "$TMP"/cordon-lat.log | grep -E ' (ERROR|WARN) |deferred|held in quarantine|refused' | head -5 | sed 's/^/  /' || true
    echo "postfix logs: $(cat "$TMP"/postfix*/postfix.log | grep -c 'status=sent') sent, $(cat "$TMP"/postfix*/postfix.log | grep -c -E 'status=(deferred|bounced)') deferred/bounced, $(cat "$TMP"/postfix*/postfix.log | grep -c -E '(warning|error|fatal|panic):') warnings/errors"
    cat "$TMP"/postfix*/postfix.log | grep -E 'status=(deferred|bounced)|(warning|error|fatal|panic):' | head -5 | sed 's/^/  /' || true
    echo
    echo "logs and raw figures: $RESULTS_DIR"
} | tee "$RESULTS_DIR/summary.txt"
