#!/usr/bin/env python3
"""Simulator-only mutation testing of the server's shell (docs/testing.md,
"The shell, simulator only").

For each mutant that `cargo mutants --list --json` names, in a scratch
worktree: apply it, build the release `chat-sim`, and run the sweep of
`cargo test` (300 seeds, up to 12 clients, 3 s active) until its first
failing seed (caught) or its end (missed); then restore the file. Only
the simulator judges, no unit or duplex test, so the score says what
the simulator alone finds in the shell. It is what `cargo mutants
--test-package chat-tests -- --test sweep` measures, in a release build
that stops at the first failing seed: about 30 s a mutant instead of
two to four minutes.

Usage (the tree must be a scratch checkout: its files are rewritten):
  git worktree add --detach ../wt-mut HEAD
  cargo mutants --list --json -f server/src/outbox.rs > outbox.json
  bench/sim-mutants.py ../wt-mut outbox.json results.jsonl

Each result is one JSON line: name, outcome (caught, missed, timeout,
unviable), seconds, and the first failing seed's line when caught.
Bounded: one build (600 s) and one sweep (240 s) per mutant.
"""
import json
import os
import selectors
import subprocess
import sys
import time

BUILD_TIMEOUT_S = 600
SWEEP_TIMEOUT_S = 240
SWEEP = ['sweep', '--json', '--seeds', '300', '--clients-max', '12', '--active-ms-max', '3000']


def apply(tree, mutant):
    """Writes the mutant into its file; returns the path and the original."""
    path = os.path.join(tree, mutant['file'])
    with open(path) as f:
        src = f.read()
    lines = src.split('\n')

    def offset(pos):
        return sum(len(l) + 1 for l in lines[:pos['line'] - 1]) + pos['column'] - 1

    start, end = offset(mutant['span']['start']), offset(mutant['span']['end'])
    with open(path, 'w') as f:
        f.write(src[:start] + mutant['replacement'] + src[end:])
    return path, src


def sweep_outcome(tree):
    """Runs the sweep until the first failing seed; returns (outcome, line)."""
    sweep = subprocess.Popen(['./target/release/chat-sim'] + SWEEP, cwd=tree,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sel = selectors.DefaultSelector()
    sel.register(sweep.stderr, selectors.EVENT_READ)
    deadline = time.time() + SWEEP_TIMEOUT_S
    try:
        while True:
            left = deadline - time.time()
            if left <= 0:
                return 'timeout', ''
            if sel.select(timeout=min(left, 5)):
                line = sweep.stderr.readline()
                if line == '':
                    sweep.wait()
                    return ('caught' if sweep.returncode != 0 else 'missed'), ''
                if line.strip():
                    # With --json, failing seeds stream to stderr.
                    return 'caught', line.strip()[:200]
            elif sweep.poll() is not None:
                return ('caught' if sweep.returncode != 0 else 'missed'), ''
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.wait()


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    tree, listed, results = sys.argv[1:]
    with open(listed) as f:
        mutants = json.load(f)
    env = dict(os.environ, CARGO_PROFILE_RELEASE_DEBUG='0',
               CARGO_PROFILE_RELEASE_INCREMENTAL='true')
    with open(results, 'a') as out:
        for i, mutant in enumerate(mutants):
            path, original = apply(tree, mutant)
            started = time.time()
            first = ''
            try:
                build = subprocess.run(['cargo', 'build', '--release', '-p', 'chat-sim'],
                                       cwd=tree, env=env, capture_output=True,
                                       timeout=BUILD_TIMEOUT_S)
                if build.returncode != 0:
                    outcome = 'unviable'
                else:
                    outcome, first = sweep_outcome(tree)
            finally:
                with open(path, 'w') as f:
                    f.write(original)
            record = {'name': mutant['name'], 'outcome': outcome,
                      'secs': round(time.time() - started)}
            if first:
                record['first'] = first
            out.write(json.dumps(record) + '\n')
            out.flush()
            print(i + 1, len(mutants), record, flush=True)


if __name__ == '__main__':
    main()
