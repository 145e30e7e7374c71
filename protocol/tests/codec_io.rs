//! Goal: `LineCodec` under `FramedRead` yields the right lines when the
//! bytes arrive in awkward reads (WIRE-2, WIRE-4, WIRE-5, WIRE-9).
//!
//! Method: tokio-test `io::Builder` scripts the exact reads a socket would
//! return; each test collects every item until the stream ends.

use futures_util::StreamExt;
use protocol::codec::LineCodec;
use protocol::LineError;
use tokio_test::io::{Builder, Mock};
use tokio_util::codec::FramedRead;

type Item = Result<String, LineError>;

fn ok(s: &str) -> Item {
    Ok(s.to_owned())
}

/// Reads every item until EOF (at most 1000, so a bug cannot hang it).
async fn collect(mock: Mock, line_bytes_max: usize) -> Vec<Item> {
    let mut framed = FramedRead::new(mock, LineCodec::new(line_bytes_max));
    let mut items = Vec::new();
    for _ in 0..1000 {
        match framed.next().await {
            Some(item) => items.push(item.expect("scripted reads do not fail")),
            None => return items,
        }
    }
    panic!("more than 1000 items");
}

fn script(reads: &[&[u8]]) -> Mock {
    let mut builder = Builder::new();
    for read in reads {
        builder.read(read);
    }
    builder.build()
}

#[tokio::test]
async fn wire_2_line_split_across_reads() {
    let mock = script(&[b"hel", b"lo wor", b"ld\nsecond", b" line\n"]);
    assert_eq!(
        collect(mock, 1024).await,
        [ok("hello world"), ok("second line")]
    );
}

#[tokio::test]
async fn wire_2_crlf_split_between_reads() {
    let mock = script(&[b"telnet\r", b"\nuser\r", b"\n"]);
    assert_eq!(collect(mock, 1024).await, [ok("telnet"), ok("user")]);
}

#[tokio::test]
async fn wire_2_many_lines_in_one_read() {
    let mock = script(&[b"a\nb\r\n\nc\n"]);
    assert_eq!(
        collect(mock, 1024).await,
        [ok("a"), ok("b"), ok(""), ok("c")]
    );
}

#[tokio::test]
async fn wire_5_over_long_line_across_reads_then_a_good_line() {
    let long = vec![b'x'; 700];
    let mock = script(&[&long, &long, &long, b"xx\r", b"\ngood\n"]);
    assert_eq!(
        collect(mock, 1024).await,
        [Err(LineError::TooLong), ok("good")]
    );
}

#[tokio::test]
async fn wire_5_line_at_the_limit_with_crlf_split() {
    let line = vec![b'y'; 16];
    let mock = script(&[&line, b"\r", b"\n"]);
    assert_eq!(collect(mock, 16).await, [ok(&"y".repeat(16))]);
}

#[tokio::test]
async fn wire_4_fragment_at_eof_is_discarded() {
    let mock = script(&[b"whole\n", b"half a li", b"ne"]);
    assert_eq!(collect(mock, 1024).await, [ok("whole")]);
}

#[tokio::test]
async fn wire_4_cr_at_eof_is_discarded() {
    let mock = script(&[b"whole\nfrag\r"]);
    assert_eq!(collect(mock, 1024).await, [ok("whole")]);
}

#[tokio::test]
async fn wire_9_bad_lines_do_not_end_the_stream() {
    let mock = script(&[b"\xff\xfe\n\x1b[2J", b"clear\nok\n"]);
    assert_eq!(
        collect(mock, 1024).await,
        [
            Err(LineError::InvalidUtf8),
            Err(LineError::ControlChar),
            ok("ok")
        ]
    );
}

#[tokio::test]
async fn wire_6_utf8_character_split_between_reads() {
    let bytes = "caf\u{e9}\n".as_bytes();
    let mock = script(&[&bytes[..4], &bytes[4..]]);
    assert_eq!(collect(mock, 1024).await, [ok("caf\u{e9}")]);
}
