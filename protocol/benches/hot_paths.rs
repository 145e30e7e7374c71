//! Criterion micro-benchmarks of the protocol's hot paths (issue 7): line
//! decoding (bytes/s), formatting one broadcast, formatting a welcome of
//! 100 names, and parsing chat lines. Figures and the command that
//! produced them are in `docs/testing.md`.
//!
//! Method: fixed, deterministic inputs built once outside the timed loop;
//! every result goes through `black_box`, and each decode loop asserts the
//! number of lines it saw so a broken decoder cannot look fast. Bounded:
//! short warm-up and measurement times, so the whole run takes about a
//! minute. Run with `cargo bench -p chat-protocol --bench hot_paths`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use protocol::server::write_chat;
use protocol::{LineDecoder, MemberList, Name, ServerLine};

/// Bytes of client input decoded per iteration.
const INPUT_BYTES: usize = 1 << 20;
/// The read size a socket typically hands the decoder.
const READ_BYTES: usize = 4096;
/// The default `line_bytes_max` (SPEC §8).
const LINE_BYTES_MAX: usize = 1024;

/// `INPUT_BYTES` of lines of `line_len` bytes each, LF included, and the
/// line count.
fn lines_of(line_len: usize) -> (Vec<u8>, usize) {
    let mut line: Vec<u8> = b"the quick brown fox jumps over the lazy dog "
        .iter()
        .copied()
        .cycle()
        .take(line_len - 1)
        .collect();
    line.push(b'\n');
    let count = INPUT_BYTES / line_len;
    (line.repeat(count), count)
}

/// Decodes `input` delivered in reads of `read_bytes`; returns the number
/// of good lines.
fn decode(input: &[u8], read_bytes: usize) -> usize {
    let mut decoder = LineDecoder::new(LINE_BYTES_MAX);
    let mut lines = 0;
    for read in input.chunks(read_bytes) {
        let mut rest = read;
        // Each call consumes at least one byte: bounded by the read size.
        for _ in 0..=read.len() {
            if rest.is_empty() {
                break;
            }
            let (consumed, item) = decoder.decode(rest);
            rest = &rest[consumed..];
            if let Some(Ok(line)) = item {
                black_box(&line);
                lines += 1;
            }
        }
    }
    lines
}

fn decoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(INPUT_BYTES as u64));
    for line_len in [64, 1024] {
        let (input, count) = lines_of(line_len);
        let bytes = input.len() as u64;
        group.throughput(Throughput::Bytes(bytes));
        for (reads, read_bytes) in [("whole", input.len()), ("4KiB_reads", READ_BYTES)] {
            let id = BenchmarkId::new(format!("{line_len}B_lines"), reads);
            group.bench_with_input(id, &input, |b, input| {
                b.iter(|| {
                    let lines = decode(black_box(input), read_bytes);
                    assert_eq!(lines, count, "every line decoded");
                });
            });
        }
    }
    group.finish();
}

fn name(s: &str) -> Name {
    Name::parse(s).expect("benchmark names are valid literals")
}

fn formatting(c: &mut Criterion) {
    let mut group = c.benchmark_group("format");
    group.throughput(Throughput::Elements(1));
    let from = name("alice");
    let text = "the quick brown fox jumps over the lazy dog, again and again!";
    let mut out = Vec::with_capacity(256);
    group.bench_function("write_chat_64B_reused_buffer", |b| {
        b.iter(|| {
            out.clear();
            write_chat(&mut out, black_box(&from), black_box(text));
            black_box(&out);
        });
    });
    let welcome = ServerLine::Welcome {
        name: name("member-99"),
        members: MemberList {
            total: 100,
            names: (0..100).map(|i| name(&format!("member-{i}"))).collect(),
        },
    };
    group.bench_function("welcome_100_names_format", |b| {
        b.iter(|| black_box(black_box(&welcome).format()));
    });
    let mut out = Vec::with_capacity(2048);
    group.bench_function("welcome_100_names_write_to_reused_buffer", |b| {
        b.iter(|| {
            out.clear();
            black_box(&welcome).write_to(&mut out);
            black_box(&out);
        });
    });
    group.finish();
}

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    for text_len in [62, 1000] {
        let text: String = "lorem ipsum dolor sit amet "
            .chars()
            .cycle()
            .take(text_len)
            .collect();
        let line = format!("alice: {text}");
        group.bench_with_input(
            BenchmarkId::new("chat_line", line.len()),
            &line,
            |b, line| {
                b.iter(|| {
                    let parsed = ServerLine::parse(black_box(line));
                    assert!(parsed.is_ok(), "a valid chat line");
                    black_box(parsed)
                });
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = decoding, formatting, parsing
}
criterion_main!(benches);
