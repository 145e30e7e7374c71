//! Criterion micro-benchmark of the room core (issue 7): room events per
//! second and deliveries per second when one member's message fans out to
//! a room of 10, 100 and 1,000 members, and a join + leave cycle in a room
//! of 1,000. The room is driven directly (no sockets, no runtime) with an
//! outbox that only counts, so this is the core's own cost, the ceiling of
//! what the tokio shell can relay.
//!
//! Method: the room is filled once outside the timed loop; every iteration
//! is one `Room::line` call from a fixed sender with a fixed 64-byte text.
//! The counting outbox is checked after each benchmark, so a room that
//! stopped delivering cannot look fast. Bounded: short warm-up and
//! measurement. Run with `cargo bench -p chat-server --bench room`.

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use server::room::{Full, InputFlow, Outbox, Room};
use server::Limits;

/// An outbox that counts the lines pushed to it and never fills.
struct Counting(Rc<Cell<u64>>);

impl Outbox for Counting {
    fn push(&mut self, line: &Bytes) -> Result<(), Full> {
        black_box(line);
        self.0.set(self.0.get() + 1);
        Ok(())
    }

    fn close(&mut self, _last: Option<Bytes>, _linger_ms: u64) {}

    fn input(&mut self, _flow: InputFlow) {}
}

fn limits(members: usize) -> Limits {
    Limits {
        rate_lines_per_s: 0,
        members_max: members + 16,
        presence_members_max: members + 16,
        ..Limits::default()
    }
}

/// An address of its own for connection `id` (no per-address limit bites).
fn own_address(id: u64) -> std::net::IpAddr {
    std::net::IpAddr::from((id as u32).to_be_bytes())
}

/// A room of `members` named members `m0..`, and the shared line count.
fn room_of(members: usize) -> (Room<Counting>, Rc<Cell<u64>>) {
    let count = Rc::new(Cell::new(0));
    let mut room = Room::new(limits(members));
    for i in 0..members as u64 {
        room.accepted(i, own_address(i), Counting(Rc::clone(&count)), 0);
        let name = format!("m{i}");
        room.line(i, Ok(&name), 0);
    }
    assert_eq!(room.member_count(), members, "every member joined");
    (room, count)
}

fn broadcast(c: &mut Criterion) {
    let text = "x".repeat(64);
    let mut group = c.benchmark_group("room_message");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for members in [10usize, 100, 1000] {
        let (mut room, count) = room_of(members);
        // Deliveries per iteration: everyone but the sender (MSG-2).
        group.throughput(Throughput::Elements(members as u64 - 1));
        let before = count.get();
        let mut iterations = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(members), &members, |b, _| {
            b.iter(|| {
                room.line(0, Ok(black_box(&text)), 0);
                iterations += 1;
            });
        });
        assert_eq!(
            count.get() - before,
            iterations * (members as u64 - 1),
            "every message reached every other member"
        );
    }
    group.finish();
}

fn join_leave(c: &mut Criterion) {
    let members = 1000usize;
    let (mut room, _count) = room_of(members);
    let mut next = members as u64;
    let mut group = c.benchmark_group("room_join_leave");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    // Three room events per iteration: accept, name, exit.
    group.throughput(Throughput::Elements(3));
    group.bench_function("1000", |b| {
        b.iter(|| {
            let id = next;
            next += 1;
            room.accepted(id, own_address(id), Counting(Rc::new(Cell::new(0))), 0);
            room.line(id, Ok("newcomer"), 0);
            room.line(id, Ok("exit"), 0);
            room.closed(id);
        });
    });
    group.finish();
    assert_eq!(room.member_count(), members, "every newcomer left again");
}

criterion_group!(benches, broadcast, join_leave);
criterion_main!(benches);
