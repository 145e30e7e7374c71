//! A chat client written the way the networking course's report shows
//! its client, for the end-to-end test of quiet framing (SPEC WIRE-11).
//!
//! It is deliberately naive, as that client is: one socket; a thread
//! that prints whatever arrives, as it arrives; the main thread reads a
//! line from the keyboard (stdin) and sends it as one write *without* a
//! newline, the name first; after sending `exit` it closes the socket
//! and ends. It knows nothing of SPEC.md's prompt or lines. Killing the
//! process is the course's Ctrl-C: the kernel closes the socket.
//!
//! Usage: `course-client HOST:PORT`. Exit status 0 after `exit` or the
//! end of stdin, 2 without an address, 3 if it cannot connect.

use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(addr) = std::env::args().nth(1) else {
        eprintln!("usage: course-client HOST:PORT");
        return ExitCode::from(2);
    };
    let mut socket = match TcpStream::connect(&addr) {
        Ok(socket) => socket,
        Err(error) => {
            eprintln!("course-client: {addr}: {error}");
            return ExitCode::from(3);
        }
    };
    // The receiving thread, as in the report: print whatever arrives.
    let Ok(mut incoming) = socket.try_clone() else {
        eprintln!("course-client: cannot share the socket");
        return ExitCode::from(3);
    };
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        let mut out = io::stdout();
        loop {
            match incoming.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    // The sending side: one write per typed line, no newline.
    for line in io::stdin().lock().lines() {
        let Ok(message) = line else { break };
        if socket.write_all(message.as_bytes()).is_err() {
            break;
        }
        if message == "exit" {
            break;
        }
    }
    let _ = socket.shutdown(Shutdown::Both);
    ExitCode::SUCCESS
}
