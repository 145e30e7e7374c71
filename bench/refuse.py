#!/usr/bin/env python3
"""SESS-8 by hand: with one connection held open, N sequential connects to
a server on 127.0.0.1:PORT started with `--connections-max 1` (refused
at the door) or `--naming-max 1 --address-connections-max 0` (refused by
the room); prints how many got `! server-full` then EOF, the time per
refusal and the server's RSS (from /proc/PID) before and after.
Usage: bench/refuse.py PORT SERVER_PID N"""
import socket, sys, time, os
port=int(sys.argv[1]); pid=int(sys.argv[2]); n=int(sys.argv[3])
def rss(): 
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1])
keep=socket.create_connection(("127.0.0.1",port)); keep.recv(100)
r0=rss(); t0=time.time(); ok=0; first=None
socks=[]
for i in range(n):
    s=socket.create_connection(("127.0.0.1",port)); s.settimeout(5)
    data=b""
    while True:
        d=s.recv(200)
        if not d: break
        data+=d
    if data.startswith(b"! server-full"): ok+=1
    first=first or data
    s.close()
dt=time.time()-t0
print(f"{n} refused connects: {ok} got '! server-full' then EOF; {dt/n*1e6:.0f} us each (connect+read+close, sequential); server RSS {r0} KiB before, {rss()} KiB after")
