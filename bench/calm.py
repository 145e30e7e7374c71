#!/usr/bin/env python3
"""LIMIT-3 and LIMIT-1 by hand: while aa pastes 5000 lines into a running
server on 127.0.0.1:PORT, cc says one line a second for 10 s; prints the
latency of cc's lines at bb and how many of aa's lines bb got meanwhile.
Bounded: 10 lines, reads time out after 20 s. Usage: bench/calm.py PORT"""
import socket, time, threading
port=int(__import__("sys").argv[1])
def conn(name):
    s=socket.create_connection(("127.0.0.1",port)); f=s.makefile("rb")
    f.readline(); s.sendall((name+"\n").encode()); f.readline(); return s,f
bb,bf=conn("bb"); aa,af=conn("aa"); cc,cf=conn("cc")
sent={}; lat=[]; flood=[0]
def rd():
    bb.settimeout(20)
    try:
        while len(lat)<10:
            l=bf.readline().decode().rstrip("\n")
            if l.startswith("cc: "): lat.append(time.time()-sent[l[4:]])
            elif l.startswith("aa: "): flood[0]+=1
    except Exception: pass
threading.Thread(target=rd,daemon=True).start()
threading.Thread(target=lambda: (af.read(1<<30)),daemon=True).start()
aa.sendall("".join(f"flood {i}\n" for i in range(5000)).encode())
for i in range(10):
    t=f"calm {i}"; sent[t]=time.time(); cc.sendall((t+"\n").encode()); time.sleep(1)
time.sleep(0.5)
print(f"calm member's 10 lines during a 5000-line paste: latency max {max(lat)*1000:.1f} ms, median {sorted(lat)[5]*1000:.1f} ms; flooder lines delivered meanwhile {flood[0]}")
