//! The soak's live checks: what every connection receives is judged line
//! by line against SPEC §7 as it arrives, from what that connection and
//! the senders' own published counts alone can tell.
//!
//! Method. A connection's own session is the oracle's: each line goes
//! first to its [`Session`] (`oracle::check::session`), the same state
//! machine the batch checker walks recordings with, which judges the
//! grammar (SRV-1, WIRE-8), the prompt first (SESS-1), one response per
//! name line, the welcome (what it claimed, the new member last, no name
//! twice: SRV-1, INV-9), no room line before the welcome and nothing
//! after the connection's own final line (INV-6, LEAVE-3, SESS-6), and
//! no name twice in a `/who` (INV-9). What is left here is what only the
//! soak can know, for the room lines the session hands on:
//!
//! Every name is `<role letter><connection id>` and every message text is
//! a pure function of its sender's name and sequence number ([`text`]),
//! so a receiver can tell, without asking anyone, who must have sent a
//! chat line and whether that exact text was sent: the sender publishes
//! its count ([`Slot::sent`]) before it writes a message. Each receiver
//! keeps, per present peer, the next sequence number it expects. The
//! rules, with the SPEC ID each one reports:
//!
//! - a chat line names a sender of this run, its text is exactly that
//!   sender's message of that number, and the number was already sent
//!   (INV-1); the same line twice is INV-1; a half line (a fragment written
//!   before a close) delivered is WIRE-4;
//! - nobody hears its own message (INV-2);
//! - one sender's messages arrive in the order sent (INV-3);
//! - no gaps (INV-4, INV-8): once a receiver has a sender's message `k`,
//!   the next one it gets from that sender is `k + 1`; if it saw the
//!   sender's `joined`, the first one it gets is 0. The edges are exact,
//!   not guessed: the receiver starts judging only from a point it saw
//!   itself. Flooders are judged too: LIMIT-3 delays their lines, never
//!   drops them (only the lines still held back when a flooder is removed
//!   `flooding` are never sent, and those are its last). When a sender's departure is `left` (its `exit`
//!   came after its messages on the same stream) or, for an idler,
//!   `idle timeout` (its last message was a whole timeout earlier), a
//!   receiver that was tracking it must have had all of them (INV-4);
//! - notices: no `joined` or departure twice for one peer, none about
//!   oneself, the reason the same for everyone (INV-5, LEAVE-2); nothing
//!   from a peer after its departure notice, and, when the welcome listed
//!   every member, nothing from a peer before its `joined` (INV-6);
//! - error codes only for what the connection did (ERR-1).
//!
//! Not judged live: the relative order of lines from different senders
//! (INV-3 across members), which the driver checks afterwards on the
//! witnesses' recordings ([`order_violation`]).
//!
//! This module never touches a socket and never sleeps.

use oracle::check::session::{End, Event, Session, State};
use oracle::check::Violation;
use oracle::lines::SLine;
use oracle::transcript::quote;
use oracle::SpecId;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Violations kept with their detail; beyond this only counted.
pub const VIOLATION_DETAILS_MAX: usize = 40;
/// Violations of one ID kept with their detail.
pub const VIOLATION_DETAILS_PER_ID_MAX: u64 = 5;
/// Room lines one witness records for the order check.
pub const WITNESS_LINES_MAX: usize = 2_000_000;

/// A client's role; its letter starts the client's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Chats until the end, then `exit`.
    Stayer,
    /// Chats a while, then `exit` or `/quit`.
    Leaver,
    /// Chats a while, then drops the socket (FIN or reset, maybe mid-line).
    Closer,
    /// Stops reading (small receive buffer, asks `/who`) until evicted.
    Slow,
    /// Writes faster than the token bucket until evicted.
    Flooder,
    /// Goes silent until the idle timeout.
    Idler,
}

impl Role {
    /// Every role, in the order of the report.
    pub const ALL: [Role; 6] = [
        Role::Stayer,
        Role::Leaver,
        Role::Closer,
        Role::Slow,
        Role::Flooder,
        Role::Idler,
    ];

    /// The first letter of the names of this role.
    pub fn letter(self) -> char {
        match self {
            Role::Stayer => 's',
            Role::Leaver => 'l',
            Role::Closer => 'c',
            Role::Slow => 'r',
            Role::Flooder => 'f',
            Role::Idler => 'i',
        }
    }

    /// The role's name in reports.
    pub fn label(self) -> &'static str {
        match self {
            Role::Stayer => "stayer",
            Role::Leaver => "leaver",
            Role::Closer => "closer",
            Role::Slow => "slow reader",
            Role::Flooder => "flooder",
            Role::Idler => "idler",
        }
    }

    fn from_letter(c: u8) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.letter() as u8 == c)
    }
}

/// Bytes of every name: the longest the grammar allows, so that `/who`
/// replies are large and fill a slow reader's buffers quickly.
pub const NAME_BYTES: usize = 32;

/// The name of connection `id` playing `role`: `<letter><id>-xxx...`,
/// padded to [`NAME_BYTES`].
pub fn name(role: Role, id: u32) -> String {
    let mut n = format!("{}{id}-", role.letter());
    while n.len() < NAME_BYTES {
        n.push('x');
    }
    n
}

/// The role and connection id a name of this run encodes.
pub fn parse_name(name: &str) -> Option<(Role, u32)> {
    let bytes = name.as_bytes();
    let role = Role::from_letter(*bytes.first()?)?;
    let (digits, pad) = name[1..].split_once('-')?;
    if digits.is_empty()
        || (digits.len() > 1 && digits.starts_with('0'))
        || !pad.bytes().all(|b| b == b'x')
    {
        return None;
    }
    let id: u32 = digits.parse().ok()?;
    (self::name(role, id) == name).then_some((role, id))
}

/// Filler that pads message texts to their size.
const PAD: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The text of message `seq` of `name`: `<name> #<seq> ` padded with
/// `PAD` to `bytes` (longer if the header alone is longer).
pub fn text(name: &str, seq: u32, bytes: usize) -> String {
    let mut t = format!("{name} #{seq} ");
    let mut i = 0;
    while t.len() < bytes {
        t.push(PAD[i % PAD.len()] as char);
        i += 1;
    }
    t
}

/// The text of a fragment written without its LF just before a close:
/// never a message, so seeing it delivered breaks WIRE-4.
pub fn fragment(name: &str) -> String {
    format!("{name} #frag never-finished")
}

/// The sequence number a message text claims, if it has the shape of
/// [`text`] for sender `from`.
fn claimed_seq(from: &str, text: &str) -> Option<u32> {
    let rest = text.strip_prefix(from)?.strip_prefix(" #")?;
    let (digits, _) = rest.split_once(' ')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// How a membership ended, as a reason code shared by a departing
/// client's own view and the notices others heard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Reason {
    /// `exit` or `/quit`: `has left the chat`.
    Left = 1,
    /// `connection lost`.
    Lost = 2,
    /// `idle timeout`.
    Idle = 3,
    /// `too slow`.
    Slow = 4,
    /// `flooding`.
    Flood = 5,
}

impl Reason {
    /// Every reason, in report order.
    pub const ALL: [Reason; 5] = [
        Reason::Left,
        Reason::Lost,
        Reason::Idle,
        Reason::Slow,
        Reason::Flood,
    ];

    /// As in a notice.
    pub fn label(self) -> &'static str {
        match self {
            Reason::Left => "left",
            Reason::Lost => "connection lost",
            Reason::Idle => "idle timeout",
            Reason::Slow => "too slow",
            Reason::Flood => "flooding",
        }
    }

    fn of_notice(line: &SLine) -> Option<Reason> {
        match line {
            SLine::Left(_) => Some(Reason::Left),
            SLine::Removed { reason, .. } => match reason.as_str() {
                "connection lost" => Some(Reason::Lost),
                "idle timeout" => Some(Reason::Idle),
                "too slow" => Some(Reason::Slow),
                "flooding" => Some(Reason::Flood),
                _ => None,
            },
            _ => None,
        }
    }

    /// The reason a final error line gives (SPEC §6).
    pub fn of_final_error(code: &str) -> Option<Reason> {
        match code {
            "idle-timeout" => Some(Reason::Idle),
            "too-slow" => Some(Reason::Slow),
            "flooding" => Some(Reason::Flood),
            _ => None,
        }
    }

    fn from_u8(v: u8) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| *r as u8 == v)
    }
}

/// What a client knows of its own end, stored in [`Slot::own_end`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnEnd {
    /// Never became a member, or still running.
    None,
    /// Saw its final line (goodbye or a departure error): the reason
    /// everyone else must have heard.
    Saw(Reason),
    /// Closed its socket itself while a member and reading: everyone must
    /// hear `connection lost`.
    Closed,
    /// Its role makes a reason likely but it did not see it (a slow
    /// reader's final line may be lost); or it was cut at the end of the
    /// soak: any one reason is acceptable.
    Unsure(Reason),
}

impl OwnEnd {
    fn encode(self) -> u8 {
        match self {
            OwnEnd::None => 0,
            OwnEnd::Saw(r) => r as u8,
            OwnEnd::Closed => 0x10,
            OwnEnd::Unsure(r) => 0x20 | r as u8,
        }
    }

    fn decode(v: u8) -> OwnEnd {
        match (v & 0xf0, Reason::from_u8(v & 0x0f)) {
            (0x00, Some(r)) => OwnEnd::Saw(r),
            (0x10, _) => OwnEnd::Closed,
            (0x20, Some(r)) => OwnEnd::Unsure(r),
            _ => OwnEnd::None,
        }
    }
}

/// What the soak knows of one connection, shared by all tasks.
#[derive(Debug, Default)]
pub struct Slot {
    /// Messages this connection has published: it adds one before it
    /// writes each message, so a receiver may see only numbers below it.
    pub sent: AtomicU32,
    /// The first departure reason any other member heard (0: none yet).
    pub announced: AtomicU8,
    /// How many members heard its departure notice.
    pub heard: AtomicU32,
    /// Its own view of its end ([`OwnEnd`], encoded).
    own_end: AtomicU8,
    /// Whether it received its welcome.
    pub member: AtomicBool,
    /// Its role, as an index in [`Role::ALL`] plus one (0: not yet set).
    pub role: AtomicU8,
    /// An idler whose messages were all written soon after the line
    /// before them (well within the idle timeout), so that its idle
    /// removal cannot have raced its last message: only then is a missing
    /// message at its `idle timeout` notice a loss.
    pub idle_judgeable: AtomicBool,
}

impl Slot {
    /// Stores the client's own view of its end.
    pub fn set_own_end(&self, end: OwnEnd) {
        self.own_end.store(end.encode(), Ordering::SeqCst);
    }

    /// The client's own view of its end.
    pub fn own_end(&self) -> OwnEnd {
        OwnEnd::decode(self.own_end.load(Ordering::SeqCst))
    }

    /// Records the connection's role.
    pub fn set_role(&self, role: Role) {
        let i = Role::ALL.iter().position(|r| *r == role).unwrap_or(0);
        self.role.store(i as u8 + 1, Ordering::SeqCst);
    }

    /// The connection's role, once set.
    pub fn role(&self) -> Option<Role> {
        let v = self.role.load(Ordering::SeqCst);
        v.checked_sub(1)
            .and_then(|i| Role::ALL.get(i as usize).copied())
    }

    /// The reason others heard first, if any.
    pub fn announced(&self) -> Option<Reason> {
        Reason::from_u8(self.announced.load(Ordering::SeqCst))
    }
}

/// Every connection of a run, by id; a fixed number of slots.
#[derive(Debug)]
pub struct Registry {
    slots: Vec<Slot>,
    next: AtomicUsize,
}

impl Registry {
    /// Room for `connections_max` connections.
    pub fn new(connections_max: usize) -> Self {
        Registry {
            slots: (0..connections_max).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// A fresh connection id, or `None` when every slot is used.
    pub fn claim(&self) -> Option<u32> {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        if id < self.slots.len() {
            u32::try_from(id).ok()
        } else {
            None
        }
    }

    /// Connection `id`'s slot (`None` if no such connection was made).
    pub fn get(&self, id: u32) -> Option<&Slot> {
        let made = self.next.load(Ordering::SeqCst).min(self.slots.len());
        let i = id as usize;
        if i < made {
            self.slots.get(i)
        } else {
            None
        }
    }

    /// The slots of every connection made, by id.
    pub fn made(&self) -> &[Slot] {
        let made = self.next.load(Ordering::SeqCst).min(self.slots.len());
        &self.slots[..made]
    }
}

/// Violations of a run: counts by ID and the first few in full.
#[derive(Debug, Default)]
pub struct Violations {
    /// Count per SPEC ID.
    pub counts: BTreeMap<SpecId, u64>,
    /// The first few of them ([`VIOLATION_DETAILS_PER_ID_MAX`] per ID).
    pub first: Vec<Violation>,
}

impl Violations {
    /// Records one.
    pub fn add(&mut self, v: Violation) {
        let n = self.counts.entry(v.id).or_default();
        *n += 1;
        if *n <= VIOLATION_DETAILS_PER_ID_MAX && self.first.len() < VIOLATION_DETAILS_MAX {
            self.first.push(v);
        }
    }

    /// All violations counted.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

/// What the views share: the registry, the violations, the message size.
#[derive(Debug)]
pub struct Shared {
    /// Every connection.
    pub registry: Registry,
    /// What went wrong.
    pub violations: Mutex<Violations>,
    /// Bytes of a message text.
    pub msg_bytes: usize,
}

impl Shared {
    /// Records a violation.
    pub fn violation(&self, id: SpecId, at: &str, detail: String) {
        let v = Violation {
            id,
            clients: vec![at.to_owned()],
            detail,
        };
        match self.violations.lock() {
            Ok(mut g) => g.add(v),
            Err(poisoned) => poisoned.into_inner().add(v),
        }
    }
}

/// Counts of what one connection received.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Lines received.
    pub lines: u64,
    /// Chat lines received.
    pub chats: u64,
    /// Joined and departure notices received.
    pub notices: u64,
    /// Error lines received, by code.
    pub errors: BTreeMap<String, u64>,
}

impl Tally {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Tally) {
        self.lines += other.lines;
        self.chats += other.chats;
        self.notices += other.notices;
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }
}

/// Name lines one view remembers having sent (the soak sends one).
const NAMING_LINES_MAX: usize = 4;

/// What a received line means to the client task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Heard {
    /// `* Enter your name:`.
    Prompt,
    /// Its own welcome.
    Welcome,
    /// `* Goodbye, N.` (or `* Goodbye.`).
    Goodbye,
    /// A departure error (`idle-timeout`, `too-slow`, `flooding`).
    Removed(Reason),
    /// Any other error, by code.
    Error(String),
    /// A room line or reply, or a line its session had no place for
    /// (already reported).
    Other,
    /// The line broke the grammar (already reported).
    Bad,
}

/// A peer present in a receiver's view.
#[derive(Clone, Copy, Debug)]
struct Peer {
    /// The next sequence number expected from it, once known.
    next: Option<u32>,
}

/// A set of connection ids, one bit each, grown up to the highest id
/// inserted (bounded by the registry's size).
#[derive(Debug, Default)]
struct IdSet(Vec<u64>);

impl IdSet {
    fn insert(&mut self, id: u32) {
        let w = id as usize / 64;
        if self.0.len() <= w {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << (id % 64);
    }
    fn contains(&self, id: u32) -> bool {
        self.0
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }
}

/// A key of a room line for the order check: chats by (sender, number),
/// notices by (subject, kind).
fn order_key(id: u32, what: u32) -> u64 {
    (u64::from(id) << 32) | u64::from(what)
}
const KEY_JOINED: u32 = u32::MAX;
const KEY_DEPARTED: u32 = u32::MAX - 1;

/// One receiver's live view of the room.
#[derive(Debug)]
pub struct View {
    me: u32,
    my_name: String,
    my_role: Role,
    /// Its own session, walked by the oracle's state machine.
    session: Session,
    /// The name lines it sent, for the session walk.
    naming: Vec<Vec<u8>>,
    /// Present peers by id.
    peers: BTreeMap<u32, Peer>,
    /// Peers whose departure this receiver heard.
    gone: IdSet,
    /// Whether the welcome listed every member.
    complete: bool,
    /// The room lines, for a witness.
    record: Option<Vec<u64>>,
    /// What was received.
    pub tally: Tally,
}

impl View {
    /// The view of connection `me`, named `my_name`; `witness` records its
    /// room lines for the order check.
    pub fn new(me: u32, role: Role, witness: bool) -> Self {
        View {
            me,
            my_name: name(role, me),
            my_role: role,
            session: Session::new(),
            naming: Vec::new(),
            peers: BTreeMap::new(),
            gone: IdSet::default(),
            complete: false,
            record: witness.then(Vec::new),
            tally: Tally::default(),
        }
    }

    /// This connection's name.
    pub fn name(&self) -> &str {
        &self.my_name
    }

    /// The witness recording, if this is a witness.
    pub fn take_record(&mut self) -> Option<Vec<u64>> {
        self.record.take()
    }

    /// The client sent its name line (or is about to): the next naming
    /// response answers it.
    pub fn naming(&mut self) {
        if self.naming.len() < NAMING_LINES_MAX {
            self.naming.push(self.my_name.as_bytes().to_vec());
        }
    }

    fn bad(&self, shared: &Shared, id: SpecId, detail: String) {
        shared.violation(id, &self.my_name, detail);
    }

    fn keep(&mut self, k: u64) {
        if let Some(r) = &mut self.record {
            if r.len() < WITNESS_LINES_MAX {
                r.push(k);
            }
        }
    }

    /// A received line longer than WIRE-8 allows, which the splitter
    /// discarded.
    pub fn on_overlong(&mut self, shared: &Shared) {
        for (id, detail) in self.session.on_overlong().problems {
            self.bad(shared, id, detail);
        }
    }

    /// Judges one received line (without its LF) and says what it was:
    /// first by its session (the oracle's walk), then, for a room line,
    /// by this view of the room.
    pub fn on_line(&mut self, shared: &Shared, bytes: &[u8]) -> Heard {
        self.tally.lines += 1;
        let before = self.session.state();
        let (line, step) = self.session.on_bytes(bytes, &self.naming);
        for (id, detail) in step.problems {
            self.bad(shared, id, detail);
        }
        let Some(line) = line else {
            return Heard::Bad;
        };
        if before != State::Gone {
            self.count(&line);
        }
        match step.event {
            Event::Unreadable | Event::Stray | Event::End(End::Shutdown) => Heard::Other,
            Event::Prompt => Heard::Prompt,
            Event::Welcome { .. } => {
                self.welcome(&line);
                Heard::Welcome
            }
            Event::Room => {
                self.room_line(shared, &line, bytes);
                Heard::Other
            }
            Event::End(End::Goodbye) => Heard::Goodbye,
            Event::End(End::Error(code)) if before == State::Member => {
                match Reason::of_final_error(code.as_str()) {
                    Some(r) => Heard::Removed(r),
                    None => Heard::Error(code.as_str().to_owned()),
                }
            }
            Event::Rejected | Event::Reply | Event::End(End::Error(_)) => {
                self.reply(shared, &line, bytes, before)
            }
        }
    }

    fn count(&mut self, line: &SLine) {
        match line {
            SLine::Chat { .. } => self.tally.chats += 1,
            SLine::Joined(_) | SLine::Left(_) | SLine::Removed { .. } => self.tally.notices += 1,
            SLine::Error(code) => *self.tally.errors.entry(code.clone()).or_default() += 1,
            _ => {}
        }
    }

    /// Its welcome: every listed member is present.
    fn welcome(&mut self, line: &SLine) {
        let SLine::Welcome { list, .. } = line else {
            return;
        };
        self.complete = list.more == 0;
        for n in &list.names {
            if let Some((_, id)) = parse_name(n) {
                if id != self.me {
                    self.peers.insert(id, Peer { next: None });
                }
            }
        }
    }

    /// A reply, or an error that is not its own departure: ERR-1, only
    /// errors for what this connection does.
    fn reply(&self, shared: &Shared, line: &SLine, bytes: &[u8], before: State) -> Heard {
        let SLine::Error(code) = line else {
            return Heard::Other;
        };
        if !self.may_get(code, before) {
            self.bad(
                shared,
                SpecId::Err1,
                format!("error it did not cause: {}", quote(bytes)),
            );
        }
        Heard::Error(code.clone())
    }

    /// Whether this connection, in session state `st`, may get error
    /// `code` by what it does.
    fn may_get(&self, code: &str, st: State) -> bool {
        match code {
            "server-full" => st != State::Member,
            "name-taken" | "invalid-name" => st == State::Naming,
            "rate-limited" => self.my_role == Role::Flooder,
            _ => false,
        }
    }

    fn room_line(&mut self, shared: &Shared, line: &SLine, bytes: &[u8]) {
        match line {
            SLine::Chat { from, text } => self.on_chat(shared, from, text, bytes),
            SLine::Joined(who) => self.on_joined(shared, who, bytes),
            _ => self.on_departed(shared, line, bytes),
        }
    }

    /// INV-1, INV-2, WIRE-4: the sender of a chat line and the number of
    /// its message, if the line is one it sent.
    fn sender(
        &self,
        shared: &Shared,
        from: &str,
        text: &str,
        bytes: &[u8],
    ) -> Option<(Role, u32, u32)> {
        let problem = |id, what: String| {
            self.bad(shared, id, format!("{what}: {}", quote(bytes)));
            None
        };
        if from == self.my_name {
            return problem(SpecId::Inv2, "own message".into());
        }
        let Some((role, id)) =
            parse_name(from).filter(|(_, id)| shared.registry.get(*id).is_some())
        else {
            return problem(SpecId::Inv1, "sender never connected".into());
        };
        if text == fragment(from) {
            return problem(SpecId::Wire4, "a fragment without LF was delivered".into());
        }
        let sent = shared
            .registry
            .get(id)
            .map_or(0, |s| s.sent.load(Ordering::SeqCst));
        match claimed_seq(from, text) {
            Some(seq) if seq < sent && self::text(from, seq, shared.msg_bytes) == text => {
                Some((role, id, seq))
            }
            _ => problem(
                SpecId::Inv1,
                format!("text {from} never sent ({sent} sent)"),
            ),
        }
    }

    fn on_chat(&mut self, shared: &Shared, from: &str, text: &str, bytes: &[u8]) {
        let Some((_, id, seq)) = self.sender(shared, from, text, bytes) else {
            return;
        };
        if self.gone.contains(id) {
            self.bad(
                shared,
                SpecId::Inv6,
                format!(
                    "message after its sender's departure notice: {}",
                    quote(bytes)
                ),
            );
            return;
        }
        if !self.peers.contains_key(&id) && self.complete {
            self.bad(
                shared,
                SpecId::Inv6,
                format!(
                    "message from a member neither welcomed with nor joined: {}",
                    quote(bytes)
                ),
            );
        }
        let peer = self.peers.entry(id).or_insert(Peer { next: None });
        let problem = peer
            .next
            .and_then(|next| order_problem(next, seq, from, bytes));
        if problem.as_ref().is_none_or(|(id, _)| *id == SpecId::Inv4) {
            peer.next = Some(seq + 1);
        }
        if let Some((vid, detail)) = problem {
            self.bad(shared, vid, detail);
        }
        self.keep(order_key(id, seq));
    }

    fn on_joined(&mut self, shared: &Shared, who: &str, bytes: &[u8]) {
        let Some((_, id)) = parse_name(who) else {
            return;
        };
        if id == self.me {
            self.bad(
                shared,
                SpecId::Inv5,
                format!("own join announced to itself: {}", quote(bytes)),
            );
            return;
        }
        if self.peers.contains_key(&id) || self.gone.contains(id) {
            self.bad(
                shared,
                SpecId::Inv5,
                format!(
                    "joined of a member already present or gone: {}",
                    quote(bytes)
                ),
            );
            return;
        }
        self.peers.insert(id, Peer { next: Some(0) });
        self.keep(order_key(id, KEY_JOINED));
    }

    fn on_departed(&mut self, shared: &Shared, line: &SLine, bytes: &[u8]) {
        let (Some(who), Some(reason)) = (line.notice_subject(), Reason::of_notice(line)) else {
            return;
        };
        let Some((role, id)) = parse_name(who) else {
            return;
        };
        let problem = if id == self.me {
            Some("own departure announced to itself")
        } else if self.gone.contains(id) {
            Some("second departure notice")
        } else {
            None
        };
        if let Some(what) = problem {
            self.bad(shared, SpecId::Inv5, format!("{what}: {}", quote(bytes)));
            return;
        }
        self.gone.insert(id);
        let peer = self.peers.remove(&id);
        if peer.is_none() && self.complete {
            self.bad(
                shared,
                SpecId::Inv6,
                format!("departure of a member never present: {}", quote(bytes)),
            );
        }
        if let Some(slot) = shared.registry.get(id) {
            self.heard_departure(shared, slot, reason, bytes);
            let tracked = peer.and_then(|p| p.next);
            self.departed_complete(shared, slot, (who, role, reason), tracked, bytes);
        }
        self.keep(order_key(id, KEY_DEPARTED));
    }

    /// INV-5, LEAVE-2: every member hears one departure with one reason.
    fn heard_departure(&self, shared: &Shared, slot: &Slot, reason: Reason, bytes: &[u8]) {
        slot.heard.fetch_add(1, Ordering::SeqCst);
        let Err(first) =
            slot.announced
                .compare_exchange(0, reason as u8, Ordering::SeqCst, Ordering::SeqCst)
        else {
            return;
        };
        if first != reason as u8 {
            self.bad(
                shared,
                SpecId::Inv5,
                format!(
                    "departure reason differs from the one another member heard ({}): {}",
                    Reason::from_u8(first).map_or("?", Reason::label),
                    quote(bytes)
                ),
            );
        }
    }

    /// INV-4: a receiver tracking a departed sender (`next`, its next
    /// number expected) had all its messages, where that is sound.
    fn departed_complete(
        &self,
        shared: &Shared,
        slot: &Slot,
        (who, role, reason): (&str, Role, Reason),
        next: Option<u32>,
        bytes: &[u8],
    ) {
        // Sound only where the sender's last message surely reached the
        // server before the departure was decided: `exit` comes after
        // it on the same stream; an idler wrote it a whole idle timeout
        // before. (A chatter starved by a loaded machine can be removed
        // `idle timeout` with a message still in its socket: not judged.)
        let complete_expected = (reason == Reason::Left && role != Role::Flooder)
            || (reason == Reason::Idle
                && role == Role::Idler
                && slot.idle_judgeable.load(Ordering::SeqCst));
        let Some(next) = next.filter(|_| complete_expected) else {
            return;
        };
        let sent = slot.sent.load(Ordering::SeqCst);
        if next != sent {
            let idler = if reason == Reason::Idle {
                " (an idler: it wrote them an idle timeout before its \
                 removal, yet they were never relayed)"
            } else {
                ""
            };
            self.bad(
                shared,
                SpecId::Inv4,
                format!(
                    "{who} sent {sent} messages before its departure, {} of them missing here{idler}: {}",
                    sent.saturating_sub(next),
                    quote(bytes)
                ),
            );
        }
    }
}

/// INV-1, INV-3, INV-4 on one sender's numbers: message `seq` when `next`
/// was expected.
fn order_problem(next: u32, seq: u32, from: &str, bytes: &[u8]) -> Option<(SpecId, String)> {
    if seq + 1 == next {
        Some((
            SpecId::Inv1,
            format!("the same line twice: {}", quote(bytes)),
        ))
    } else if seq < next {
        Some((
            SpecId::Inv3,
            format!(
                "{from}'s message {seq} after its message {}: {}",
                next - 1,
                quote(bytes)
            ),
        ))
    } else if seq > next {
        Some((
            SpecId::Inv4,
            format!(
                "{} of {from}'s messages missing before: {}",
                seq - next,
                quote(bytes)
            ),
        ))
    } else {
        None
    }
}

/// INV-3 across members: the room lines two witnesses both received must
/// come in the same relative order. Returns the first disagreement.
pub fn order_violation(a: &[u64], b: &[u64]) -> Option<String> {
    let index: BTreeMap<u64, usize> = a.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let mut last: Option<(usize, u64)> = None;
    for k in b {
        if let Some(&i) = index.get(k) {
            if let Some((j, prev)) = last {
                if i < j {
                    return Some(format!(
                        "witness B got {} after {}, witness A the other way round",
                        describe_key(*k),
                        describe_key(prev)
                    ));
                }
            }
            last = Some((i, *k));
        }
    }
    None
}

fn describe_key(k: u64) -> String {
    let id = (k >> 32) as u32;
    match k as u32 {
        KEY_JOINED => format!("the join of connection {id}"),
        KEY_DEPARTED => format!("the departure of connection {id}"),
        seq => format!("message {seq} of connection {id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Shared {
        let registry = Registry::new(8);
        for _ in 0..4 {
            let _ = registry.claim();
        }
        Shared {
            registry,
            violations: Mutex::new(Violations::default()),
            msg_bytes: 48,
        }
    }

    /// Lines written with short names (`s0`, `l1`, `c2`) get the run's
    /// long names.
    fn long(line: &str) -> String {
        line.replace("s0", &name(Role::Stayer, 0))
            .replace("l1", &name(Role::Leaver, 1))
            .replace("c2", &name(Role::Closer, 2))
    }

    fn feed(v: &mut View, s: &Shared, lines: &[&str]) {
        for l in lines {
            let l = if l.contains('-') {
                (*l).to_owned()
            } else {
                long(l)
            };
            v.on_line(s, l.as_bytes());
        }
    }

    fn ids(s: &Shared) -> Vec<SpecId> {
        let g = s.violations.lock().unwrap_or_else(|p| p.into_inner());
        g.counts.keys().copied().collect()
    }

    fn send(s: &Shared, id: u32, n: u32) {
        s.registry.get(id).unwrap().sent.store(n, Ordering::SeqCst);
    }

    /// Message `seq` of the short-named sender, as a chat line.
    fn chat(from: &str, seq: u32) -> String {
        let from = long(from);
        format!("{from}: {}", text(&from, seq, 48))
    }

    #[test]
    fn names_and_texts_round_trip() {
        let n = name(Role::Slow, 42);
        assert_eq!(n.len(), NAME_BYTES);
        assert_eq!(parse_name(&n), Some((Role::Slow, 42)));
        assert_eq!(parse_name("x1-xx"), None);
        assert_eq!(parse_name("s01-xxxxxxxxxxxxxxxxxxxxxxxxxxxx"), None);
        let t = text(&n, 17, 48);
        assert_eq!(t.len(), 48);
        assert_eq!(claimed_seq(&n, &t), Some(17));
        assert_eq!(claimed_seq(&n, &fragment(&n)), None);
    }

    #[test]
    fn clean_stream_has_no_violation() {
        let s = shared();
        send(&s, 1, 2);
        send(&s, 2, 1);
        let mut v = View::new(0, Role::Stayer, true);
        v.naming();
        let lines = [
            "* Enter your name:".to_owned(),
            "* Welcome, s0! Members (2): l1, s0".to_owned(),
            chat("l1", 0),
            "* c2 has joined the chat.".to_owned(),
            chat("c2", 0),
            chat("l1", 1),
            "* l1 has left the chat.".to_owned(),
            "* c2 was removed from the chat (connection lost).".to_owned(),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        feed(&mut v, &s, &lines);
        assert_eq!(ids(&s), Vec::<SpecId>::new());
        assert_eq!(v.take_record().map(|r| r.len()), Some(6));
    }

    // INV-1, INV-2, INV-3, INV-4, INV-5, INV-6, WIRE-4, SRV-1: each rule
    // catches its own kind of bad line.
    #[test]
    fn each_rule_catches_its_violation() {
        let forged = format!("{}: {}", long("l1"), text(&long("l1"), 9, 48));
        let own = chat("s0", 0);
        let frag = format!("{}: {}", long("c2"), fragment(&long("c2")));
        let cases: [(SpecId, Vec<String>); 9] = [
            (SpecId::Inv1, vec![forged]),
            (SpecId::Inv2, vec![own]),
            (SpecId::Inv3, vec![chat("l1", 1), chat("l1", 0)]),
            (
                SpecId::Inv4,
                vec!["* c2 has joined the chat.".into(), chat("c2", 1)],
            ),
            (
                SpecId::Inv4,
                vec![chat("l1", 0), "* l1 has left the chat.".into()],
            ),
            (
                SpecId::Inv5,
                vec![
                    "* l1 has left the chat.".into(),
                    "* l1 has left the chat.".into(),
                ],
            ),
            (
                SpecId::Inv6,
                vec!["* l1 has left the chat.".into(), chat("l1", 0)],
            ),
            (SpecId::Wire4, vec![frag]),
            (SpecId::Srv1, vec!["* l1 has gone.".into()]),
        ];
        for (want, lines) in cases {
            let s = shared();
            send(&s, 1, 2);
            send(&s, 2, 2);
            send(&s, 0, 1);
            let mut v = View::new(0, Role::Stayer, false);
            feed(&mut v, &s, &["* Enter your name:"]);
            v.naming();
            feed(&mut v, &s, &["* Welcome, s0! Members (2): l1, s0"]);
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            feed(&mut v, &s, &lines);
            assert_eq!(ids(&s), vec![want], "{lines:?}");
        }
    }

    /// Feeds `lines` to a fresh stayer `s0` from its first line; `>`
    /// stands for its name line. Returns what each line was heard as.
    fn session(s: &Shared, lines: &[&str]) -> Vec<Heard> {
        let mut v = View::new(0, Role::Stayer, false);
        let mut heard = Vec::new();
        for l in lines {
            if *l == ">" {
                v.naming();
                continue;
            }
            let l = if *l == "chat" { chat("l1", 0) } else { long(l) };
            heard.push(v.on_line(s, l.as_bytes()));
        }
        heard
    }

    // SESS-1, SESS-6, SRV-1, INV-6, INV-9, ERR-1, LEAVE-3: the
    // connection's own session is judged by the oracle's session walk
    // (oracle::check::session), through the view.
    #[test]
    fn own_session_is_judged_by_the_oracle_walk() {
        let p = "* Enter your name:";
        let w = "* Welcome, s0! Members (2): l1, s0";
        let bye = "* Goodbye, s0.";
        let big_l1 = name(Role::Leaver, 1).to_uppercase();
        let who_twice = format!("* Members (3): l1, s0, {big_l1}");
        let cases: [(&[&str], Option<SpecId>); 11] = [
            (&[p, ">", w, "* Members (2): l1, s0", bye], None),
            (&["! server-full: x"], None),
            (&["* Members (1): s0", p, ">", w], Some(SpecId::Sess1)),
            (&[p, ">", "chat", w], Some(SpecId::Inv6)),
            (
                &[p, ">", "* Welcome, s0! Members (2): s0, l1"],
                Some(SpecId::Srv1),
            ),
            (
                &[p, ">", "* Welcome, l1! Members (1): l1"],
                Some(SpecId::Inv9),
            ),
            (&[p, ">", w, &who_twice], Some(SpecId::Inv9)),
            (&[p, ">", w, p], Some(SpecId::Srv1)),
            (&[p, ">", w, "! name-taken: x"], Some(SpecId::Err1)),
            (&[p, ">", w, bye, "chat"], Some(SpecId::Inv6)),
            (
                &[p, ">", w, bye, "* Server shutting down. Goodbye."],
                Some(SpecId::Sess6),
            ),
        ];
        for (lines, want) in cases {
            let s = shared();
            send(&s, 1, 1);
            session(&s, lines);
            assert_eq!(ids(&s), Vec::from_iter(want), "{lines:?}");
        }
        let s = shared();
        let heard = session(&s, &[p, ">", w, "* Members (2): l1, s0", "! too-slow: x"]);
        let want = [Heard::Prompt, Heard::Welcome, Heard::Other];
        assert_eq!(heard, [&want[..], &[Heard::Removed(Reason::Slow)]].concat());
        let full = session(&s, &["! server-full: x"]);
        assert_eq!(full, [Heard::Error("server-full".into())]);
        assert_eq!(session(&s, &[p, ">", w, bye]).last(), Some(&Heard::Goodbye));
    }

    #[test]
    fn inv_3_order_between_witnesses() {
        assert_eq!(order_violation(&[1, 2, 3], &[1, 3, 9]), None);
        assert!(order_violation(&[1, 2, 3], &[3, 1]).is_some());
    }
}
