#!/usr/bin/env python3
"""LIMIT-3 by hand, as an nc user would: bb and aa join a running server
on 127.0.0.1:PORT; aa pastes N lines in one write ("paste") or writes N
lines at 60 per second and then exit ("rate"); prints how many reached bb,
whether in order, when the last arrived, and the first notices aa got.
Bounded: bb waits at most 40 s. Usage: bench/paste.py PORT paste|rate N
(with `target/release/chat-server --bind 127.0.0.1:PORT` running)."""
import socket, sys, time, threading
port=int(sys.argv[1]); mode=sys.argv[2]; n=int(sys.argv[3])
def conn(name):
    s=socket.create_connection(("127.0.0.1",port)); f=s.makefile("rb")
    f.readline(); s.sendall((name+"\n").encode()); f.readline(); return s,f
bb,bf=conn("bb"); aa,af=conn("aa"); bf.readline()  # aa joined
got=[]; t0=time.time()
def rd():
    bb.settimeout(40)
    try:
        while True:
            l=bf.readline()
            if not l: break
            l=l.decode().rstrip("\n")
            if l.startswith("aa: "): got.append((time.time()-t0,l))
            elif "aa was removed" in l or "aa has left" in l: got.append((time.time()-t0,l)); break
    except Exception as e: pass
th=threading.Thread(target=rd); th.start()
notes=[]
def ard():
    aa.settimeout(45)
    try:
        while True:
            l=af.readline()
            if not l: break
            notes.append((round(time.time()-t0,2),l.decode().strip()))
    except Exception: pass
ta=threading.Thread(target=ard); ta.start()
if mode=="paste":
    aa.sendall("".join(f"line {i}\n" for i in range(n)).encode())
else:  # rate: n lines at 60/s
    for i in range(n):
        aa.sendall(f"line {i}\n".encode()); time.sleep(1/60)
    aa.sendall(b"exit\n")
th.join(45)
msgs=[g for g in got if g[1].startswith("aa: ")]
inorder=all(m[1]==f"aa: line {i}" for i,m in enumerate(msgs))
print(f"{mode} {n}: delivered {len(msgs)} in order={inorder}, last at {msgs[-1][0]:.2f}s" if msgs else "none",
      "| end:", got[-1][1] if got and not got[-1][1].startswith("aa: ") else "-",
      "| aa got:", [x[1][:40] for x in notes][:4])
aa.close(); bb.close()
