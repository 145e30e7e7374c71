#!/usr/bin/env bash
# Starts ngircd in the foreground on 127.0.0.1:PORT with bench/ngircd.conf
# (flood protection off, no connection limits); the process becomes ngircd
# (exec), so `chat-sim load --spawn` measures the daemon's own CPU and RSS.
# Usage: bench/ngircd-run.sh PORT
set -euo pipefail
port=${1:?usage: ngircd-run.sh PORT}
dir=$(mktemp -d /tmp/ngircd-bench.XXXXXX)
sed -e "s/@PORT@/$port/" -e "s,@PIDFILE@,$dir/ngircd.pid," \
  "$(dirname "$0")/ngircd.conf" > "$dir/ngircd.conf"
exec ngircd --nodaemon --config "$dir/ngircd.conf" > "$dir/ngircd.log" 2>&1
