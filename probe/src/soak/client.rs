//! One soak client slot: a loop of connections, each playing a role drawn
//! from the slot's seeded RNG, until the soak's end; every line received
//! is judged by the connection's [`View`].
//!
//! Roles (SPEC §6 departures): stayers chat until the end and `exit`;
//! leavers chat a while and `exit` or `/quit`; closers chat a while and
//! drop the socket (FIN or reset, sometimes after half a line); slow
//! readers shrink their receive buffer, stop reading and ask `/who` until
//! the server evicts them `too slow`; flooders write far past the token
//! bucket, are held back (LIMIT-3: every line they sent is delivered, in
//! order, at the rate) and evicted `flooding` once held back for the
//! server's `flood_held_ms_max`; idlers go silent until evicted `idle
//! timeout`. Every wait is bounded; a client never writes a forbidden
//! character; it must never touch the server's code or process.

use oracle::split::{Piece, Splitter};
use oracle::SpecId;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{sleep_until, timeout, Instant};

use super::view::{self, Heard, OwnEnd, Reason, Role, Shared, Tally, View};

/// Bytes of one client's read buffer (at least one longest server line).
const READ_BUFFER_BYTES: usize = 64 * 1024;
/// Receive buffer a slow reader asks the kernel for (the kernel raises it
/// to its minimum, about 2 KiB).
const SLOW_RCVBUF_BYTES: u32 = 1;
/// MSS a slow reader advertises. On loopback the MSS is about 64 KiB and
/// the server's kernel sizes its send buffer by it, so a reader that
/// stops reading would absorb megabytes before the server's outbox even
/// starts to fill; with a small MSS it absorbs a few KiB.
const SLOW_MSS_BYTES: u32 = 536;
/// A slow reader's pace of `/who` lines: under the default 20 lines/s.
const SLOW_WHO_EVERY_MS: u64 = 60;
/// `/who` lines a slow reader writes at once first: within the default
/// burst of 50, so none is rate-limited.
const SLOW_WHO_BURST_LINES: usize = 40;
/// Longest a slow reader waits to be evicted before it gives up.
const SLOW_MS_MAX: u64 = 20_000;
/// Time between an idler's or flooder's first messages.
const PREAMBLE_GAP_MS: u64 = 200;
/// Lines a flooder writes in one batch: more than the default burst (50),
/// so one batch is held back even when this process is starved of CPU
/// and cannot write often.
const FLOOD_BATCH_LINES: usize = 80;
/// Most lines one flooder writes: at the default 20 lines/s, 200 s of
/// lines, so the flooder is still held back when `flood_held_ms_max`
/// (at most [`super::FLOOD_HELD_MS_MAX`]) runs out.
const FLOOD_LINES_MAX: usize = 4_000;
/// Most time a flooder spends writing.
const FLOOD_MS_MAX: u64 = 10_000;
/// Time allowed for connect, prompt and welcome.
const HANDSHAKE_MS: u64 = 15_000;
/// Slack beyond the server's idle timeout before an idler that was not
/// removed counts as a LEAVE-4 violation (the machine is loaded).
pub const IDLE_SLACK_MS: u64 = 5_000;
/// Time to wait for the goodbye and the close after `exit`, beyond the
/// server's close linger.
const EXIT_WAIT_MS: u64 = 10_000;
/// Shortest time between two connections of one slot.
pub const CONNECT_BACKOFF_MS: u64 = 100;
/// Shortest life of a leaver or closer, ms (the longest is a flag).
const LIFE_MS_MIN: u64 = 500;
/// Time between a fragment and the close that follows it.
const FRAGMENT_PAUSE_MS: u64 = 30;

/// Everything every client of a run needs.
#[derive(Debug)]
pub struct Conf {
    /// The server.
    pub addr: SocketAddr,
    /// When churn stops and everyone leaves.
    pub end: Instant,
    /// Mean time between two messages of one chatting client, ms.
    pub chat_every_ms: u64,
    /// The server's idle timeout, ms (keep-alives and the idlers' bound).
    pub idle_timeout_ms: u64,
    /// The server's close linger, ms.
    pub close_linger_ms: u64,
    /// The server's flood_held_ms_max: how long a flooder is held back
    /// before it is removed `flooding`.
    pub flood_held_ms_max: u64,
    /// Longest life of a leaver or closer, ms.
    pub life_ms_max: u64,
    /// Relative weights of the roles, in [`Role::ALL`] order.
    pub weights: [u32; 6],
    /// Connections the registry has room for.
    pub connections_max: usize,
    /// Connections open now.
    pub live: AtomicUsize,
    /// The views' shared state.
    pub shared: Shared,
    /// What the clients counted.
    pub totals: Mutex<Totals>,
}

/// Counts of one role.
#[derive(Clone, Debug, Default)]
pub struct RoleCounts {
    /// Connections made.
    pub connections: u64,
    /// Welcomes received.
    pub members: u64,
    /// Ends as planned for the role.
    pub as_planned: u64,
    /// Other ends (each also listed in [`Totals::surprises`] for the first few).
    pub unplanned: u64,
    /// Members (not stayers) still there when the soak ended, so their
    /// role's departure did not happen (counted in `as_planned`).
    pub cut_at_end: u64,
}

/// What all clients counted.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    /// By role, in [`Role::ALL`] order.
    pub roles: [RoleCounts; 6],
    /// What they received.
    pub tally: Tally,
    /// Lines written (messages, commands, keep-alives, names).
    pub lines_sent: u64,
    /// Messages written.
    pub messages_sent: u64,
    /// Connects that failed or timed out.
    pub connect_failures: u64,
    /// Handshakes that did not end in a welcome.
    pub handshake_failures: u64,
    /// Closer variants used: FIN, reset, half line + FIN, half line + reset.
    pub closes: [u64; 4],
    /// The first few ends that were not the role's plan (load, not SPEC).
    pub surprises: Vec<String>,
    /// Longest time from an idler's last line to its `idle-timeout`, ms.
    pub idle_removal_ms_max: u64,
    /// Longest time from a message's publication (its number counted as
    /// sent) to the end of its write, or between two lines of a slow
    /// reader, ms: how late this process was.
    pub say_ms_max: u64,
}

/// Surprises kept in full.
const SURPRISES_MAX: usize = 20;

/// How a closer drops its connection.
#[derive(Clone, Copy, Debug)]
enum CloseKind {
    Fin = 0,
    Reset = 1,
    FragmentFin = 2,
    FragmentReset = 3,
}

/// What a client did and saw on one connection.
struct Outcome {
    role: Role,
    member: bool,
    planned: bool,
    tally: Tally,
    lines_sent: u64,
    messages_sent: u64,
    close: Option<CloseKind>,
    connect_failed: bool,
    cut: bool,
    surprise: Option<String>,
    idle_removal_ms: u64,
    say_ms_max: u64,
}

/// Runs one client slot until the end of the soak: connection after
/// connection, a role each drawn from `seed`; a witness slot is a stayer
/// that records its room lines. Returns the witness recording, if any.
pub async fn run_slot(
    conf: Arc<Conf>,
    seed: u64,
    witness: bool,
    start_at: Instant,
) -> Option<Vec<u64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    sleep_until(start_at).await;
    let mut record = None;
    // Bounded: each pass claims a registry slot, and there are
    // `connections_max` of them; each pass is itself bounded in time.
    while Instant::now() < conf.end {
        let Some(id) = conf.shared.registry.claim() else {
            break;
        };
        let role = if witness {
            Role::Stayer
        } else {
            pick_role(&mut rng, &conf.weights)
        };
        let conn_seed = rng.next_u64();
        let started = Instant::now();
        let (outcome, rec) = connection(&conf, id, role, conn_seed, witness).await;
        if rec.is_some() {
            record = rec;
        }
        let opened = started.elapsed();
        absorb(&conf, outcome);
        // At most one connection per CONNECT_BACKOFF_MS per slot, so a
        // refused connect or a failed handshake cannot spin.
        if opened < Duration::from_millis(CONNECT_BACKOFF_MS) {
            tokio::time::sleep(Duration::from_millis(CONNECT_BACKOFF_MS) - opened).await;
        }
    }
    record
}

fn pick_role(rng: &mut ChaCha8Rng, weights: &[u32; 6]) -> Role {
    let total: u32 = weights.iter().sum();
    if total == 0 {
        return Role::Stayer;
    }
    let mut x = rng.random_range(0..total);
    for (role, w) in Role::ALL.into_iter().zip(weights) {
        if x < *w {
            return role;
        }
        x -= w;
    }
    Role::Stayer
}

fn absorb(conf: &Conf, o: Outcome) {
    let mut t = match conf.totals.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let i = Role::ALL.iter().position(|r| *r == o.role).unwrap_or(0);
    let rc = &mut t.roles[i];
    rc.connections += 1;
    rc.members += u64::from(o.member);
    rc.cut_at_end += u64::from(o.cut);
    if o.member {
        if o.planned {
            rc.as_planned += 1;
        } else {
            rc.unplanned += 1;
        }
    }
    t.tally.merge(&o.tally);
    t.lines_sent += o.lines_sent;
    t.messages_sent += o.messages_sent;
    t.connect_failures += u64::from(o.connect_failed);
    t.handshake_failures += u64::from(!o.connect_failed && !o.member);
    if let Some(k) = o.close {
        t.closes[k as usize] += 1;
    }
    t.idle_removal_ms_max = t.idle_removal_ms_max.max(o.idle_removal_ms);
    t.say_ms_max = t.say_ms_max.max(o.say_ms_max);
    if let Some(s) = o.surprise {
        if t.surprises.len() < SURPRISES_MAX {
            t.surprises.push(s);
        }
    }
}

/// A member connection: the halves, the read buffer and the view.
struct Conn {
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    /// One read's bytes.
    buf: Vec<u8>,
    /// Server lines, bounded at WIRE-8's limit.
    split: Splitter,
    view: View,
    eof: bool,
    /// Longest time from publishing a message to its write completing, ms.
    say_ms_max: u64,
    /// When the last line (the name included) was written.
    last_sent: Instant,
    /// Whether the soak's end cut this member's role short.
    cut: bool,
    lines_sent: u64,
    messages_sent: u64,
}

/// What one read brought, beyond what the view judged.
#[derive(Default)]
struct Got {
    prompt: bool,
    welcome: bool,
    goodbye: bool,
    removed: Option<Reason>,
    server_full: bool,
    rate_limited: u64,
}

impl Conn {
    /// Waits for input once and judges every complete line. Cancel safe:
    /// the only await is the read.
    async fn read(&mut self, conf: &Conf) -> Got {
        let mut got = Got::default();
        if self.eof {
            return got;
        }
        let n = match self.rd.read(&mut self.buf).await {
            Ok(0) | Err(_) => {
                self.eof = true;
                return got;
            }
            Ok(n) => n,
        };
        let (view, shared) = (&mut self.view, &conf.shared);
        self.split.push_with(&self.buf[..n], |piece| {
            let Piece::Line(line) = piece else {
                view.on_overlong(shared);
                return;
            };
            match view.on_line(shared, line) {
                Heard::Prompt => got.prompt = true,
                Heard::Welcome => got.welcome = true,
                Heard::Goodbye => got.goodbye = true,
                Heard::Removed(r) => got.removed = Some(r),
                Heard::Error(code) if code == "server-full" => got.server_full = true,
                Heard::Error(code) if code == "rate-limited" => got.rate_limited += 1,
                Heard::Error(_) | Heard::Other | Heard::Bad => {}
            }
        });
        got
    }

    async fn send(&mut self, line: &str) -> io::Result<()> {
        self.last_sent = Instant::now();
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.lines_sent += 1;
        self.wr.write_all(&bytes).await
    }

    /// Publishes and writes this connection's next message.
    async fn say(&mut self, conf: &Conf, id: u32) -> io::Result<()> {
        let seq = match conf.shared.registry.get(id) {
            Some(slot) => slot.sent.fetch_add(1, Ordering::SeqCst),
            None => return Ok(()),
        };
        self.messages_sent += 1;
        let t = view::text(self.view.name(), seq, conf.shared.msg_bytes);
        let published = Instant::now();
        let r = self.send(&t).await;
        let ms = published.elapsed().as_millis() as u64;
        self.say_ms_max = self.say_ms_max.max(ms);
        r
    }
}

async fn open(addr: SocketAddr, slow: bool) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if slow {
        socket.set_recv_buffer_size(SLOW_RCVBUF_BYTES)?;
        socket2::SockRef::from(&socket).set_tcp_mss(SLOW_MSS_BYTES)?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Which end of a connection its role plans.
fn planned_reason(role: Role) -> Reason {
    match role {
        Role::Stayer | Role::Leaver => Reason::Left,
        Role::Closer => Reason::Lost,
        Role::Slow => Reason::Slow,
        Role::Flooder => Reason::Flood,
        Role::Idler => Reason::Idle,
    }
}

/// One connection from connect to close.
async fn connection(
    conf: &Conf,
    id: u32,
    role: Role,
    seed: u64,
    witness: bool,
) -> (Outcome, Option<Vec<u64>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Outcome {
        role,
        member: false,
        planned: false,
        tally: Tally::default(),
        lines_sent: 0,
        messages_sent: 0,
        close: None,
        connect_failed: false,
        cut: false,
        surprise: None,
        idle_removal_ms: 0,
        say_ms_max: 0,
    };
    let stream = match timeout(
        Duration::from_millis(HANDSHAKE_MS),
        open(conf.addr, role == Role::Slow),
    )
    .await
    {
        Ok(Ok(s)) => s,
        _ => {
            out.connect_failed = true;
            return (out, None);
        }
    };
    let close = (role == Role::Closer).then(|| match rng.random_range(0..4) {
        0 => CloseKind::Fin,
        1 => CloseKind::Reset,
        2 => CloseKind::FragmentFin,
        _ => CloseKind::FragmentReset,
    });
    if matches!(close, Some(CloseKind::Reset | CloseKind::FragmentReset)) {
        // SO_LINGER 0: the close sends a reset instead of a FIN.
        let _ = stream.set_zero_linger();
    }
    conf.live.fetch_add(1, Ordering::SeqCst);
    let (rd, wr) = stream.into_split();
    let mut c = Conn {
        rd,
        wr,
        buf: vec![0; READ_BUFFER_BYTES],
        split: Splitter::new(),
        view: View::new(id, role, witness),
        eof: false,
        say_ms_max: 0,
        last_sent: Instant::now(),
        cut: false,
        lines_sent: 0,
        messages_sent: 0,
    };
    let slot = conf.shared.registry.get(id);
    if let Some(s) = slot {
        s.set_role(role);
    }
    let welcomed = handshake(conf, &mut c).await;
    if welcomed {
        out.member = true;
        if let Some(s) = slot {
            s.member.store(true, Ordering::SeqCst);
        }
        let (end, planned, surprise, idle_ms) =
            member(conf, &mut c, id, role, close, &mut rng).await;
        out.planned = planned;
        out.surprise = surprise;
        out.idle_removal_ms = idle_ms;
        out.close = close.filter(|_| matches!(end, OwnEnd::Closed | OwnEnd::Unsure(Reason::Lost)));
        if let Some(s) = slot {
            s.set_own_end(end);
        }
    }
    out.lines_sent = c.lines_sent;
    out.messages_sent = c.messages_sent;
    out.cut = c.cut;
    out.say_ms_max = c.say_ms_max;
    let rec = c.view.take_record();
    out.tally = std::mem::take(&mut c.view.tally);
    let Conn { rd, wr, .. } = c;
    if matches!(out.close, Some(CloseKind::Reset | CloseKind::FragmentReset)) {
        // No FIN first: the close with SO_LINGER 0 is a bare reset.
        wr.forget();
    } else {
        drop(wr);
    }
    drop(rd);
    conf.live.fetch_sub(1, Ordering::SeqCst);
    (out, rec)
}

/// Prompt, name, welcome. Whether it became a member.
async fn handshake(conf: &Conf, c: &mut Conn) -> bool {
    let deadline = Instant::now() + Duration::from_millis(HANDSHAKE_MS);
    let mut named = false;
    // Bounded by the deadline and by EOF.
    while !c.eof {
        let got = match timeout(
            deadline.saturating_duration_since(Instant::now()),
            c.read(conf),
        )
        .await
        {
            Ok(g) => g,
            Err(_) => return false,
        };
        if got.welcome {
            return true;
        }
        if got.server_full {
            return false;
        }
        if got.prompt && !named {
            c.view.naming();
            let name = c.view.name().to_owned();
            if c.send(&name).await.is_err() {
                return false;
            }
            named = true;
        }
    }
    false
}

/// What a member's run ended as: its own view, whether that was the role's
/// plan, a note if not, and (idlers) how long the idle removal took.
type MemberEnd = (OwnEnd, bool, Option<String>, u64);

/// The member phase of one connection.
async fn member(
    conf: &Conf,
    c: &mut Conn,
    id: u32,
    role: Role,
    close: Option<CloseKind>,
    rng: &mut ChaCha8Rng,
) -> MemberEnd {
    let now = Instant::now();
    let life_end = match role {
        Role::Leaver | Role::Closer => {
            now + Duration::from_millis(
                rng.random_range(LIFE_MS_MIN..=conf.life_ms_max.max(LIFE_MS_MIN)),
            )
        }
        _ => conf.end,
    }
    .min(conf.end);
    let chat_gap = |rng: &mut ChaCha8Rng| {
        let mean = conf.chat_every_ms.max(1);
        Duration::from_millis(rng.random_range(mean / 2..=mean + mean / 2))
    };
    let keepalive = Duration::from_millis((conf.idle_timeout_ms / 3).max(1));
    // Idlers and flooders say one or two things first, PREAMBLE_GAP_MS
    // apart; chatters' first message comes soon, so that short lives chat
    // too. Every deadline is a fixed instant, never `now + x` recomputed
    // per pass: a busy stream (one pass per read) would push it back
    // forever.
    let mut preamble: u32 = match role {
        Role::Idler | Role::Flooder => rng.random_range(0..=2),
        _ => 0,
    };
    let mut next_chat = if preamble > 0 {
        now + Duration::from_millis(PREAMBLE_GAP_MS)
    } else {
        now + chat_gap(rng) / 4
    };
    let mut next_who = now;
    let mut preamble_first = true;
    let mut last_who = now;
    let mut last_write = now;
    let mut flood_lines = 0usize;
    let flood_until = now + Duration::from_millis(FLOOD_MS_MAX);
    let slow_until = now + Duration::from_millis(SLOW_MS_MAX);
    let idle_bound =
        Duration::from_millis(conf.idle_timeout_ms + conf.close_linger_ms + IDLE_SLACK_MS);
    let mut idler_last_write = now;
    let mut who_burst = true;
    let mut flood_turn = false;
    let planned = planned_reason(role);
    // Bounded: every branch either ends the loop or waits for input or a
    // timer, and every role has a deadline (life_end, the soak's end, the
    // slow/flood/idle bounds).
    loop {
        let now = Instant::now();
        // What to do next and when.
        let (when, act) = match role {
            Role::Slow => (next_who, Act::Who),
            Role::Flooder if preamble == 0 => (now, Act::Flood),
            Role::Idler if preamble == 0 => (idler_last_write + idle_bound, Act::IdleGiveUp),
            _ if preamble > 0 => (next_chat, Act::Preamble),
            _ => {
                let ka = last_write + keepalive;
                if next_chat <= ka {
                    (next_chat, Act::Chat)
                } else {
                    (ka, Act::KeepAlive)
                }
            }
        };
        let (when, act) = if life_end <= when && role != Role::Idler || conf.end <= when {
            (life_end.min(conf.end), Act::Leave)
        } else {
            (when, act)
        };
        // A due action goes first, so a busy stream cannot starve the
        // writes (keep-alives would stop and the member time out); a
        // flooder alternates one batch and one read.
        let due = when <= Instant::now() && (act != Act::Flood || flood_turn);
        flood_turn = !flood_turn;
        let reading = role != Role::Slow && !due;
        tokio::select! {
            biased;
            got = c.read(conf), if reading => {
                if let Some(r) = got.removed {
                    let idle_ms = if role == Role::Idler && r == Reason::Idle {
                        Instant::now().saturating_duration_since(idler_last_write).as_millis() as u64
                    } else {
                        0
                    };
                    drain(conf, c).await;
                    let ok = r == planned;
                    let note = (!ok).then(|| format!("{} {} was removed: {}", role.label(), c.view.name(), r.label()));
                    return (OwnEnd::Saw(r), ok, note, idle_ms);
                }
                if got.goodbye {
                    drain(conf, c).await;
                    let note = format!("{} {} got a goodbye it did not ask for", role.label(), c.view.name());
                    conf.shared.violation(SpecId::Cmd1, c.view.name(), "goodbye without exit or /quit".to_owned());
                    return (OwnEnd::Saw(Reason::Left), false, Some(note), 0);
                }
                if c.eof {
                    let note = format!("{} {}: the server closed without a final line", role.label(), c.view.name());
                    return (OwnEnd::Unsure(planned), false, Some(note), 0);
                }
            }
            () = sleep_until(when) => {
                let wrote = match act {
                    Act::Chat | Act::Preamble => {
                        if role == Role::Idler {
                            // Judgeable only while each message follows the
                            // line before it by well under the idle timeout
                            // (a starved client may write one just as the
                            // server decides it is idle: a legal race).
                            let gap_ms = Instant::now().saturating_duration_since(c.last_sent).as_millis() as u64;
                            if let Some(s) = conf.shared.registry.get(id) {
                                let ok = gap_ms < conf.idle_timeout_ms / 2
                                    && (s.idle_judgeable.load(Ordering::SeqCst) || preamble_first);
                                s.idle_judgeable.store(ok, Ordering::SeqCst);
                            }
                            preamble_first = false;
                        }
                        preamble = preamble.saturating_sub(1);
                        next_chat = Instant::now()
                            + if preamble > 0 {
                                Duration::from_millis(PREAMBLE_GAP_MS)
                            } else {
                                chat_gap(rng)
                            };
                        c.say(conf, id).await
                    }
                    Act::KeepAlive => c.send("").await,
                    Act::Who => {
                        let t = Instant::now();
                        if who_burst {
                            last_who = t;
                        }
                        c.say_ms_max = c.say_ms_max.max(t.saturating_duration_since(last_who).as_millis() as u64);
                        last_who = t;
                        next_who = t + Duration::from_millis(SLOW_WHO_EVERY_MS);
                        if Instant::now() >= slow_until {
                            drain(conf, c).await;
                            let note = format!("slow reader {} was not evicted within {SLOW_MS_MAX} ms", c.view.name());
                            return (OwnEnd::Unsure(planned), false, Some(note), 0);
                        }
                        if who_burst {
                            who_burst = false;
                            c.lines_sent += SLOW_WHO_BURST_LINES as u64;
                            c.wr.write_all("/who\n".repeat(SLOW_WHO_BURST_LINES).as_bytes()).await
                        } else {
                            c.send("/who").await
                        }
                    }
                    Act::Flood => {
                        if flood_lines >= FLOOD_LINES_MAX || Instant::now() >= flood_until {
                            // Stop writing and wait for the verdict: what
                            // was written is still held back.
                            let wait = conf.flood_held_ms_max + conf.close_linger_ms + EXIT_WAIT_MS;
                            let got = timeout(Duration::from_millis(wait), wait_end(conf, c)).await;
                            let note = format!("flooder {} was not evicted after {flood_lines} lines", c.view.name());
                            return match got {
                                Ok(Some(r)) => (OwnEnd::Saw(r), r == planned, (r != planned).then_some(note), 0),
                                _ => (OwnEnd::Unsure(planned), false, Some(note), 0),
                            };
                        }
                        flood_lines += FLOOD_BATCH_LINES;
                        flood(conf, c, id, rng).await
                    }
                    Act::IdleGiveUp => {
                        conf.shared.violation(
                            SpecId::Leave4,
                            c.view.name(),
                            format!(
                                "silent member not removed within idle_timeout_ms + {} ms",
                                conf.close_linger_ms + IDLE_SLACK_MS
                            ),
                        );
                        return leave(conf, c, false).await;
                    }
                    Act::Leave => {
                        c.cut = role != Role::Stayer && Instant::now() >= conf.end;
                        return match role {
                            Role::Stayer | Role::Leaver | Role::Idler => leave(conf, c, rng.random_bool(0.5)).await,
                            Role::Closer => {
                                // A closer silent for half the idle timeout
                                // (this process was starved) may have been
                                // removed `idle timeout` first (LEAVE-2):
                                // then any reason is right.
                                let silent_ms = Instant::now()
                                    .saturating_duration_since(c.last_sent)
                                    .as_millis() as u64;
                                drop_conn(c, close).await;
                                if silent_ms >= conf.idle_timeout_ms / 2 {
                                    (OwnEnd::Unsure(Reason::Lost), true, None, 0)
                                } else {
                                    (OwnEnd::Closed, true, None, 0)
                                }
                            }
                            Role::Slow | Role::Flooder => {
                                // Cut at the end of the soak: whatever the
                                // server decides first is right.
                                drop_conn(c, None).await;
                                (OwnEnd::Unsure(planned), true, None, 0)
                            }
                        };
                    }
                };
                last_write = Instant::now();
                if role == Role::Idler {
                    idler_last_write = last_write;
                }
                if wrote.is_err() {
                    // The server closed on us; read what it said.
                    let r = timeout(Duration::from_millis(conf.close_linger_ms + EXIT_WAIT_MS), wait_end(conf, c)).await;
                    return match r {
                        Ok(Some(r)) => (OwnEnd::Saw(r), r == planned, (r != planned).then(|| format!("{} {} removed: {}", role.label(), c.view.name(), r.label())), 0),
                        _ => (OwnEnd::Unsure(planned), role == Role::Slow, (role != Role::Slow).then(|| format!("{} {}: write failed", role.label(), c.view.name())), 0),
                    };
                }
            }
        }
    }
}

/// The next thing a member does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    Chat,
    Preamble,
    KeepAlive,
    Who,
    Flood,
    IdleGiveUp,
    Leave,
}

/// One batch of flood lines: some messages, the rest keep-alives (which
/// cost a token too, LIMIT-3, without costing the room a fan-out).
async fn flood(conf: &Conf, c: &mut Conn, id: u32, rng: &mut ChaCha8Rng) -> io::Result<()> {
    let mut bytes = Vec::with_capacity(FLOOD_BATCH_LINES * (conf.shared.msg_bytes + 1));
    for _ in 0..FLOOD_BATCH_LINES {
        if rng.random_bool(0.25) {
            if let Some(slot) = conf.shared.registry.get(id) {
                let seq = slot.sent.fetch_add(1, Ordering::SeqCst);
                c.messages_sent += 1;
                bytes.extend_from_slice(
                    view::text(c.view.name(), seq, conf.shared.msg_bytes).as_bytes(),
                );
            }
        }
        bytes.push(b'\n');
    }
    c.lines_sent += FLOOD_BATCH_LINES as u64;
    c.last_sent = Instant::now();
    c.wr.write_all(&bytes).await
}

/// Reads until the server's final line or EOF; the departure reason seen.
async fn wait_end(conf: &Conf, c: &mut Conn) -> Option<Reason> {
    let mut reason = None;
    // Bounded by EOF (callers add a timeout).
    while !c.eof {
        let got = c.read(conf).await;
        if let Some(r) = got.removed {
            reason = Some(r);
        }
        if got.goodbye {
            reason = Some(Reason::Left);
        }
    }
    reason
}

/// Reads to EOF, bounded by the close linger plus a margin.
async fn drain(conf: &Conf, c: &mut Conn) {
    let _ = timeout(
        Duration::from_millis(conf.close_linger_ms + EXIT_WAIT_MS),
        wait_end(conf, c),
    )
    .await;
}

/// `exit` (or `/quit`), then the goodbye and the close.
async fn leave(conf: &Conf, c: &mut Conn, quit: bool) -> MemberEnd {
    let line = if quit { "/quit" } else { "exit" };
    if c.send(line).await.is_err() {
        return (
            OwnEnd::Unsure(Reason::Left),
            false,
            Some(format!("{}: could not send {line}", c.view.name())),
            0,
        );
    }
    let r = timeout(
        Duration::from_millis(conf.close_linger_ms + EXIT_WAIT_MS),
        wait_end(conf, c),
    )
    .await;
    match r {
        Ok(Some(Reason::Left)) => (OwnEnd::Saw(Reason::Left), true, None, 0),
        Ok(Some(r)) => (
            OwnEnd::Saw(r),
            false,
            Some(format!(
                "{} was removed ({}) before its {line}",
                c.view.name(),
                r.label()
            )),
            0,
        ),
        Ok(None) => {
            conf.shared.violation(
                SpecId::Cmd1,
                c.view.name(),
                format!("no goodbye after {line}"),
            );
            (OwnEnd::Unsure(Reason::Left), false, None, 0)
        }
        Err(_) => {
            conf.shared.violation(
                SpecId::Cmd1,
                c.view.name(),
                format!(
                    "no goodbye and close within {} ms of {line}",
                    conf.close_linger_ms + EXIT_WAIT_MS
                ),
            );
            (OwnEnd::Unsure(Reason::Left), false, None, 0)
        }
    }
}

/// Closes the connection abruptly, as `kind` says (None: a plain close).
async fn drop_conn(c: &mut Conn, kind: Option<CloseKind>) {
    if matches!(
        kind,
        Some(CloseKind::FragmentFin | CloseKind::FragmentReset)
    ) {
        let frag = view::fragment(c.view.name());
        c.lines_sent += 1;
        let _ = c.wr.write_all(frag.as_bytes()).await;
        tokio::time::sleep(Duration::from_millis(FRAGMENT_PAUSE_MS)).await;
    }
    if matches!(kind, None | Some(CloseKind::Fin | CloseKind::FragmentFin)) {
        let _ = c.wr.shutdown().await;
    }
    c.eof = true;
}
