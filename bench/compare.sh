#!/usr/bin/env bash
# Side-by-side load benchmark: chat-server (release) against ngircd, cases
# A-D of the performance issue plus how the cost grows with members and with
# message size, all with `chat-sim load --spawn`, so each server's CPU time
# and RSS are read from /proc. Prints one JSON line per run (to
# $OUT, default bench/results.jsonl) and a summary table with ratios.
#
# Usage: bench/compare.sh [quick]   ("quick" skips the scaling sweeps)
# Needs: cargo, python3; installs ngircd from the Debian packages if it is
# missing (apt-get, as root). Every run is bounded by --timeout-s.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${OUT:-$root/bench/results.jsonl}
tgt=${CARGO_TARGET_DIR:-$root/target}

if ! command -v ngircd >/dev/null; then
  echo "installing ngircd ..." >&2
  apt-get update >/dev/null && apt-get install -y ngircd >/dev/null
  # The package starts a system daemon on port 6667; it is not used here.
  (systemctl stop ngircd || service ngircd stop) >/dev/null 2>&1 || true
fi

cargo build --release -p chat-server -p chat-sim >&2
load="$tgt/release/chat-sim load"
# Benchmark flags: no token bucket (the default 20 lines/s would throttle),
# room for every member, and an outbox (LIMIT-2) larger than one run's
# backlog, so that a generator that falls behind is measured, not evicted
# as "too slow" (ngircd's send queue plays the same part).
chat="$tgt/release/chat-server --bind 127.0.0.1:{port} --rate-lines-per-s 0 --members-max 100000 --naming-max 1024 --outbox-lines-max 32768"
irc="$root/bench/ngircd-run.sh {port}"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

: > "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# run LABEL SERVER(chat|irc) ARGS...
run() {
  local label=$1 server=$2; shift 2
  local spawn dialect
  case $server in
    chat) spawn=$chat; dialect=chat ;;
    # The same server with one runtime worker per core (its default is
    # one thread; C's tail, below).
    chatN) spawn="$chat --threads 0"; dialect=chat; server=chat ;;
    *) spawn=$irc; dialect=irc ;;
  esac
  echo "== $label / $server: $*" >&2
  local json
  if json=$($load --json --dialect "$dialect" --spawn "$spawn" --timeout-s 240 "$@"); then :; fi
  if [ -z "$json" ]; then json='{"passed":false,"failure":"no report"}'; fi
  echo "{\"label\":\"$label\",\"server\":\"$server\",\"load\":\"$(cut -d' ' -f1 /proc/loadavg)\",\"report\":$json}" >> "$out"
}

for s in chat irc; do
  run A "$s" --members 100 --senders 10 --messages 2000
  run B "$s" --members 1000 --senders 4 --messages 200 --connect-parallel 32
  run C "$s" --members 100 --senders 10 --messages 500 --rate 100
done
# D: 10,000 members. The chat room is quiet above presence_members_max
# (1000), so joins are not announced; two members then chat. ngircd's
# members only register (no JOIN): 10,000 joins of one channel take it
# minutes (every JOIN is sent to every member).
run D chat --members 10000 --senders 2 --messages 10 --presence-members-max 1000
run D irc --members 10000 --senders 0 --messages 0 --no-join
# C's p99 moves by a few tenths of a millisecond from run to run: five
# more runs of each server, summarised as a median after the table.
for i in 2 3 4 5 6; do
  for s in chat irc; do
    run "C run $i" "$s" --members 100 --senders 10 --messages 500 --rate 100
  done
done
# C again with one runtime worker per core instead of the default one
# thread: on 2 shared cores the hops between two workers cost more than
# they gain.
run "C threads=per-core" chatN --members 100 --senders 10 --messages 500 --rate 100
# The largest room this machine allows: each process may hold at most
# `ulimit -Hn` (20,000 here) descriptors, and the generator holds one
# socket per member as the server does, so 19,000 members leave both some
# spare descriptors. Issue 7 asks for 50,000 (see docs/performance.md).
run "D largest" chat --members 19000 --senders 2 --messages 10 --presence-members-max 1000

if [ "${1:-}" != quick ]; then
  for n in 1 10 100 1000 10000; do
    senders=$(( n < 4 ? n : 4 ))
    msgs=$(( n >= 10000 ? 20 : (n >= 1000 ? 200 : 2000) ))
    run "members=$n" chat --members "$n" --senders "$senders" --messages "$msgs"
    if [ "$n" -le 1000 ]; then
      run "members=$n" irc --members "$n" --senders "$senders" --messages "$msgs" --connect-parallel 32
    fi
  done
  for b in 16 64 256 400; do
    run "size=$b" chat --members 100 --senders 10 --messages 2000 --size "$b"
    run "size=$b" irc --members 100 --senders 10 --messages 2000 --size "$b"
  done
fi

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 "$root/bench/summary.py" "$out"
