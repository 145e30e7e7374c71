//! What the load generator says and how it reads what it hears, per
//! dialect: the chat protocol of SPEC.md, or IRC (RFC 2812: NICK/USER,
//! JOIN one channel, PRIVMSG, PING/PONG) for side-by-side runs against
//! an IRC daemon. Owns the join handshake of one connection and the
//! classification of one received line; it never counts or times
//! anything (that is `member`'s job).

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes the handshake reads before giving up on a server that never
/// welcomes (a bound on the buffer, not a protocol limit).
const HANDSHAKE_BYTES_MAX: usize = 1 << 20;
/// Lines of the handshake before giving up.
const HANDSHAKE_LINES_MAX: usize = 10_000;

/// The protocol the generator speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    /// The chat protocol of SPEC.md.
    Chat,
    /// IRC: NICK/USER, JOIN one channel, PRIVMSG, answer PING.
    Irc,
}

/// One received line, as the generator sees it.
#[derive(Debug, PartialEq, Eq)]
pub enum Heard<'a> {
    /// A chat message; its text.
    Chat(&'a [u8]),
    /// Another member joined.
    Joined,
    /// Another member left on its own.
    Left,
    /// The server removed a member (an announced eviction).
    Removed,
    /// The server wants a PONG with this token (IRC).
    Ping(&'a [u8]),
    /// An error meant for this connection, or the server closing it.
    Error,
    /// Anything else (replies, notices).
    Other,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl Dialect {
    /// Appends one message line with `text` to `out`.
    pub fn message(self, channel: &str, text: &[u8], out: &mut Vec<u8>) {
        match self {
            Dialect::Chat => {
                out.extend_from_slice(text);
                out.push(b'\n');
            }
            Dialect::Irc => {
                out.extend_from_slice(b"PRIVMSG ");
                out.extend_from_slice(channel.as_bytes());
                out.extend_from_slice(b" :");
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Classifies one line (without its LF or CR).
    pub fn hear(self, line: &[u8]) -> Heard<'_> {
        match self {
            Dialect::Chat => match line.first() {
                Some(b'*') => {
                    if line.ends_with(b" has joined the chat.") {
                        Heard::Joined
                    } else if line.ends_with(b" has left the chat.") {
                        Heard::Left
                    } else if find(line, b" was removed from the chat (").is_some() {
                        Heard::Removed
                    } else if line.starts_with(b"* Server shutting down") {
                        Heard::Error
                    } else {
                        Heard::Other
                    }
                }
                Some(b'!') => Heard::Error,
                Some(_) => match find(line, b": ") {
                    Some(i) => Heard::Chat(&line[i + 2..]),
                    None => Heard::Other,
                },
                None => Heard::Other,
            },
            Dialect::Irc => {
                if let Some(token) = line.strip_prefix(b"PING ") {
                    return Heard::Ping(token);
                }
                if line.starts_with(b"ERROR") {
                    return Heard::Error;
                }
                // ":prefix COMMAND params"
                let Some(rest) = line.strip_prefix(b":") else {
                    return Heard::Other;
                };
                let Some(sp) = rest.iter().position(|&b| b == b' ') else {
                    return Heard::Other;
                };
                let rest = &rest[sp + 1..];
                if rest.starts_with(b"PRIVMSG ") {
                    match find(rest, b" :") {
                        Some(i) => Heard::Chat(&rest[i + 2..]),
                        None => Heard::Other,
                    }
                } else if rest.starts_with(b"JOIN ") {
                    Heard::Joined
                } else if rest.starts_with(b"PART ") || rest.starts_with(b"QUIT ") {
                    Heard::Left
                } else if rest.starts_with(b"KICK ") || rest.starts_with(b"KILL ") {
                    Heard::Removed
                } else {
                    Heard::Other
                }
            }
        }
    }

    /// The PONG answering a PING with `token`.
    pub fn pong(self, token: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(b"PONG ");
        out.extend_from_slice(token);
        out.extend_from_slice(b"\r\n");
    }

    /// Joins as `name` on a connected `stream`: the name prompt and
    /// welcome (chat), or registration and, unless `idle_only`, JOIN of
    /// `channel` up to the end of its NAMES list (IRC). Returns the bytes
    /// read after the handshake's last line, which belong to the room.
    /// Bounded by `timeout` and by [`HANDSHAKE_BYTES_MAX`].
    pub async fn handshake(
        self,
        stream: &mut TcpStream,
        name: &str,
        channel: &str,
        idle_only: bool,
        timeout: Duration,
    ) -> io::Result<Vec<u8>> {
        tokio::time::timeout(
            timeout,
            self.handshake_inner(stream, name, channel, idle_only),
        )
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "handshake timed out"))?
    }

    async fn handshake_inner(
        self,
        stream: &mut TcpStream,
        name: &str,
        channel: &str,
        idle_only: bool,
    ) -> io::Result<Vec<u8>> {
        let mut buf: Vec<u8> = Vec::with_capacity(1024);
        let mut start = 0;
        // Chat: 0 = waiting for the prompt, 1 = for the welcome.
        // IRC: 0 = for 001, 1 = for 366 (end of NAMES).
        let mut step = 0;
        if self == Dialect::Irc {
            let reg = format!("NICK {name}\r\nUSER {name} 0 * :load\r\n");
            stream.write_all(reg.as_bytes()).await?;
        }
        let mut chunk = [0u8; 4096];
        for _ in 0..HANDSHAKE_LINES_MAX {
            let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') else {
                if buf.len() > HANDSHAKE_BYTES_MAX {
                    return Err(io::Error::other("handshake: too many bytes"));
                }
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("closed during the handshake: {}", tail(&buf)),
                    ));
                }
                buf.extend_from_slice(&chunk[..n]);
                continue;
            };
            let end = start + nl;
            let mut line = &buf[start..end];
            if let Some(l) = line.strip_suffix(b"\r") {
                line = l;
            }
            start = end + 1;
            match self {
                Dialect::Chat => {
                    if line.starts_with(b"! ") {
                        return Err(io::Error::other(format!(
                            "refused: {}",
                            String::from_utf8_lossy(line)
                        )));
                    }
                    if step == 0 && line == b"* Enter your name:" {
                        stream.write_all(format!("{name}\n").as_bytes()).await?;
                        step = 1;
                    } else if step == 1 && line.starts_with(b"* Welcome, ") {
                        return Ok(buf.split_off(start));
                    }
                }
                Dialect::Irc => {
                    if let Some(token) = line.strip_prefix(b"PING ") {
                        let mut out = Vec::new();
                        self.pong(token, &mut out);
                        stream.write_all(&out).await?;
                        continue;
                    }
                    if line.starts_with(b"ERROR") {
                        return Err(io::Error::other(String::from_utf8_lossy(line).into_owned()));
                    }
                    let numeric = line
                        .split(|&b| b == b' ')
                        .nth(1)
                        .filter(|w| w.len() == 3 && w.iter().all(u8::is_ascii_digit));
                    match numeric {
                        Some(b"001") if step == 0 => {
                            if idle_only {
                                return Ok(buf.split_off(start));
                            }
                            stream
                                .write_all(format!("JOIN {channel}\r\n").as_bytes())
                                .await?;
                            step = 1;
                        }
                        Some(b"366") if step == 1 => return Ok(buf.split_off(start)),
                        Some(n) if n[0] == b'4' || n[0] == b'5' => {
                            return Err(io::Error::other(format!(
                                "refused: {}",
                                String::from_utf8_lossy(line)
                            )));
                        }
                        _ => {}
                    }
                }
            }
        }
        Err(io::Error::other("handshake: too many lines"))
    }
}

fn tail(buf: &[u8]) -> String {
    let from = buf.len().saturating_sub(200);
    String::from_utf8_lossy(&buf[from..]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_lines_are_classified_by_first_byte() {
        let d = Dialect::Chat;
        assert_eq!(d.hear(b"m1: 0 1 2 xx"), Heard::Chat(b"0 1 2 xx"));
        assert_eq!(d.hear(b"* m1 has joined the chat."), Heard::Joined);
        assert_eq!(d.hear(b"* m1 has left the chat."), Heard::Left);
        assert_eq!(
            d.hear(b"* m1 was removed from the chat (too slow)."),
            Heard::Removed
        );
        assert_eq!(d.hear(b"! rate-limited: slow down"), Heard::Error);
        assert_eq!(d.hear(b"* Members (1): m1"), Heard::Other);
    }

    #[test]
    fn irc_lines_are_classified_by_command() {
        let d = Dialect::Irc;
        assert_eq!(
            d.hear(b":m1!~m1@localhost PRIVMSG #bench :0 1 2 xx"),
            Heard::Chat(b"0 1 2 xx")
        );
        assert_eq!(d.hear(b":m1!~m1@localhost JOIN :#bench"), Heard::Joined);
        assert_eq!(d.hear(b"PING :irc.example"), Heard::Ping(b":irc.example"));
        assert_eq!(d.hear(b"ERROR :Closing connection"), Heard::Error);
        let mut out = Vec::new();
        d.message("#bench", b"hi", &mut out);
        assert_eq!(out, b"PRIVMSG #bench :hi\r\n");
    }
}
