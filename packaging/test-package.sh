#!/usr/bin/env bash
# Builds the Debian package from the release binary, installs it on this
# machine, checks what it installed, and runs the systemd unit's own command
# as the cordon user, with the unit's capability, long enough to pass one
# message and reload its rules; then purges the package. Run as root from
# the repository root after `cargo build --release --bin cordon` (.ci/run
# does). Needs cargo-deb (installed here if missing), python3 and setpriv.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-deb >/dev/null || cargo install cargo-deb --locked --version '^3'
command -v setpriv >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq util-linux; }

fail() { echo "package test: $*" >&2; exit 1; }

deb=$(cargo deb --no-build --locked | tail -1)
[[ -f $deb ]] || fail "cargo deb made no package"
echo "package test: built $deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$(realpath "$deb")" >/dev/null
echo "package test: installed"

pid=
log=$(mktemp)
cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq cordon >/dev/null 2>&1 || true
    rm -rf /var/lib/cordon "$log"
}
trap cleanup EXIT

# What the package put in place.
getent passwd cordon >/dev/null || fail "no cordon user"
[[ $(stat -c %U:%G:%a /var/lib/cordon) == cordon:cordon:750 ]] || fail "/var/lib/cordon is $(stat -c %U:%G:%a /var/lib/cordon)"
[[ $(stat -c %U:%G:%a /etc/cordon/cordon.toml) == root:cordon:640 ]] || fail "cordon.toml is $(stat -c %U:%G:%a /etc/cordon/cordon.toml)"
for f in /etc/cordon/cordon.toml /etc/cordon/rules/decisions.toml /etc/cordon/rules/notices/held.txt; do
    dpkg-query -W -f='${Conffiles}\n' cordon | grep -q " $f " || fail "$f is not a configuration file"
done
unit=$(dpkg -L cordon | grep '/systemd/system/cordon.service$') || fail "no systemd unit"
for setting in NoNewPrivileges=true ProtectSystem=strict ReadWritePaths=/var/lib/cordon PrivateTmp=true \
    AmbientCapabilities=CAP_NET_BIND_SERVICE LimitNOFILE= 'ExecReload=/bin/kill -HUP $MAINPID' User=cordon; do
    grep -qF "$setting" "$unit" || fail "the unit lacks $setting"
done
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
    echo "package test: systemd-analyze verify passed"
fi

# The unit's command, as the unit runs it: user cordon, port 25 by the
# ambient capability, no new privileges.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
echo "package test: running $exec_start"
cd /var/lib/cordon
# shellcheck disable=SC2086
setpriv --reuid=cordon --regid=cordon --init-groups --no-new-privs \
    --inh-caps=+net_bind_service --ambient-caps=+net_bind_service \
    env RUST_LOG=info $exec_start >"$log" 2>&1 &
pid=$!
cd - >/dev/null
for _ in $(seq 100); do
    grep -q "cordon is running" "$log" && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "cordon serve exited"; }
    sleep 0.2
done
grep -q "cordon is running" "$log" || { cat "$log" >&2; fail "cordon serve did not start"; }
python3 - <<'PY'
import smtplib
with smtplib.SMTP("127.0.0.1", 25, timeout=30) as s:
    s.sendmail("sam.okafor@northshire.police.uk", ["k.hughes@northshire.police.uk"],
               b"From: sam.okafor@northshire.police.uk\r\nTo: k.hughes@northshire.police.uk\r\n"
               b"Subject: package test\r\n\r\nSent through the installed package.\r\n")
PY
for _ in $(seq 100); do
    compgen -G '/var/lib/cordon/outbox/*.eml' >/dev/null && break
    sleep 0.2
done
out=$(compgen -G '/var/lib/cordon/outbox/*.eml' | head -1) || { cat "$log" >&2; fail "the message was not delivered to the outbox"; }
grep -q "Subject: package test" "$out" || fail "the outbox holds another message"
[[ $(stat -c %U "$out") == cordon ]] || fail "the outbox file is not the cordon user's"
echo "package test: one message passed, delivered to $out"

kill -HUP "$pid"
for _ in $(seq 50); do
    grep -q "rules and notice templates reloaded" "$log" && break
    sleep 0.2
done
grep -q "rules and notice templates reloaded" "$log" || { cat "$log" >&2; fail "SIGHUP did not reload the rules"; }
echo "package test: SIGHUP reloaded the rules"
kill -TERM "$pid"
wait "$pid" || fail "cordon serve did not stop cleanly on SIGTERM"
pid=
grep -q "stopped" "$log" || fail "no clean stop in the log"
echo "package test: passed"
