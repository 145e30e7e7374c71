//! Goal: a micro sanity check of the decoder and the chat-line formatter
//! on bulk input, with the numbers printed for the record. Not a
//! benchmark and not timed: the assertions are on the items produced.
//!
//! Method: decode 32 MiB of 64-byte lines, fed in 8 KiB reads as a socket
//! would deliver them, and format as many chat lines. Run with
//! `cargo test -p chat-protocol --test throughput -- --ignored --nocapture`.

use std::time::Instant;

use protocol::server::write_chat;
use protocol::{LineDecoder, Name, ServerLine};

const LINE: &[u8] = b"the quick brown fox jumps over the lazy dog, again and again!!\r\n";
const TOTAL_BYTES: usize = 32 << 20;
const READ_BYTES: usize = 8192;

#[test]
#[ignore = "prints throughput; run on demand"]
fn decoder_and_formatter_bulk_sanity() {
    assert_eq!(LINE.len(), 64);
    let lines = TOTAL_BYTES / LINE.len();
    let input: Vec<u8> = LINE.repeat(lines);
    let mut decoder = LineDecoder::new(1024);
    let start = Instant::now();
    let mut decoded = 0usize;
    for read in input.chunks(READ_BYTES) {
        let mut rest = read;
        for _ in 0..=read.len() {
            if rest.is_empty() {
                break;
            }
            let (consumed, item) = decoder.decode(rest);
            rest = &rest[consumed..];
            if let Some(item) = item {
                assert_eq!(item.as_deref().map(str::len), Ok(62));
                decoded += 1;
            }
        }
    }
    let decode_s = start.elapsed().as_secs_f64();
    assert_eq!(decoded, lines);

    let from = Name::parse("someone").expect("valid name");
    let text = std::str::from_utf8(&LINE[..62]).expect("ASCII");
    let mut out = Vec::with_capacity(lines * 72);
    let start = Instant::now();
    for _ in 0..lines {
        write_chat(&mut out, &from, text);
    }
    let format_s = start.elapsed().as_secs_f64();
    assert_eq!(out.len(), lines * (7 + 2 + 62 + 1));

    let start = Instant::now();
    let mut parsed = 0usize;
    for line in out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .take(lines / 4)
    {
        let line = std::str::from_utf8(line).expect("formatted as UTF-8");
        assert!(matches!(
            ServerLine::parse(line),
            Ok(ServerLine::Chat { .. })
        ));
        parsed += 1;
    }
    let parse_s = start.elapsed().as_secs_f64();

    let mib = TOTAL_BYTES as f64 / (1 << 20) as f64;
    println!(
        "decode: {lines} lines, {:.0} MiB/s, {:.1} M lines/s",
        mib / decode_s,
        lines as f64 / decode_s / 1e6
    );
    println!("write_chat: {:.1} M lines/s", lines as f64 / format_s / 1e6);
    println!(
        "ServerLine::parse (chat): {:.1} M lines/s",
        parsed as f64 / parse_s / 1e6
    );
}
