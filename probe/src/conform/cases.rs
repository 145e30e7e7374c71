//! The conformance cases as data: each has a name, the SPEC IDs it
//! checks, the server profile it needs, and a script of steps whose waits
//! are protocol barriers (a line that must arrive, a `/who` round trip).
//!
//! This module only describes cases; it must never touch the network or
//! the clock (the driver runs them, the checker judges the recording).
//! Scripts are sequential: a step starts when the one before it has
//! completed, so "the next line" is well defined wherever a step says
//! [`Step::Expect`]; concurrent effects use [`Step::WaitFor`] and
//! [`Step::ExpectAll`], and the checker judges the rest.

use oracle::SpecId;
use std::fmt;

use protocol::Limits;

/// The limits a server under test must run with for a case. Every profile
/// is given as flags of the reference server (SPEC §8 names them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Profile {
    /// SPEC §8 defaults: the server started with no limit flags.
    Default,
    /// Small room limits to reach them with a few connections; no token
    /// bucket so that a slow reader's outbox can be filled quickly.
    Limits,
    /// Short handshake and idle timeouts, to see them fire in a second.
    Timeouts,
    /// `presence_members_max` 1: every room of two is quiet (LEAVE-6).
    Quiet,
    /// Three connections and one naming slot per address (SESS-8, SESS-1).
    Door,
    /// Quiet framing on: `fragment_quiet_ms` 300 (WIRE-11).
    Framing,
    /// Defaults, and the driver stops the server itself (LEAVE-5), so the
    /// case needs a server of its own (`--spawn` only).
    Shutdown,
}

/// `fragment_quiet_ms` of the `framing` profile: long enough that a
/// loopback write never arrives in parts that far apart, short enough
/// that a case takes well under a second per quiet.
pub const FRAMING_QUIET_MS: u64 = 300;

/// Every profile, in the order they run.
pub const PROFILES: [Profile; 7] = [
    Profile::Default,
    Profile::Limits,
    Profile::Timeouts,
    Profile::Quiet,
    Profile::Door,
    Profile::Framing,
    Profile::Shutdown,
];

impl Profile {
    /// The name used by `--profile` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::Limits => "limits",
            Profile::Timeouts => "timeouts",
            Profile::Quiet => "quiet",
            Profile::Door => "door",
            Profile::Framing => "framing",
            Profile::Shutdown => "shutdown",
        }
    }

    /// The profile called `name`.
    pub fn by_name(name: &str) -> Option<Profile> {
        PROFILES.into_iter().find(|p| p.name() == name)
    }

    /// The reference server's flags for this profile: the limits that
    /// differ from the defaults, spelled by the limits table itself.
    pub fn flags(self) -> String {
        self.limits().to_flags_changed().join(" ")
    }

    /// The limits of this profile (what the server is started with and
    /// what the judge needs to know).
    pub fn limits(self) -> Limits {
        let d = Limits::default();
        match self {
            Profile::Default | Profile::Shutdown => d,
            Profile::Limits => Limits {
                members_max: 3,
                naming_max: 3,
                who_names_max: 2,
                outbox_lines_max: 16,
                rate_lines_per_s: 0,
                ..d
            },
            Profile::Timeouts => Limits {
                handshake_timeout_ms: 1_000,
                idle_timeout_ms: 2_000,
                idle_warning_ms: 1_000,
                ..d
            },
            Profile::Quiet => Limits {
                presence_members_max: 1,
                ..d
            },
            Profile::Door => Limits {
                address_connections_max: 3,
                address_naming_max: 1,
                ..d
            },
            Profile::Framing => Limits {
                fragment_quiet_ms: FRAMING_QUIET_MS,
                ..d
            },
        }
    }
}

/// What a received line must look like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pat {
    /// Exactly this line.
    Exact(String),
    /// A line that starts with this.
    Prefix(String),
    /// `! <code>: <some text>` (ERR-1).
    Error(&'static str),
    /// A line that starts with the prefix and contains every word.
    PrefixWith(&'static str, &'static [&'static str]),
    /// Any of these.
    Any(Vec<Pat>),
}

impl Pat {
    /// [`Pat::Exact`].
    pub fn exact(s: &str) -> Pat {
        Pat::Exact(s.to_owned())
    }

    /// [`Pat::Prefix`].
    pub fn prefix(s: &str) -> Pat {
        Pat::Prefix(s.to_owned())
    }

    /// Whether `line` (without its LF) matches.
    pub fn matches(&self, line: &[u8]) -> bool {
        match self {
            Pat::Exact(s) => line == s.as_bytes(),
            Pat::Prefix(s) => line.starts_with(s.as_bytes()),
            Pat::Error(code) => line
                .strip_prefix(format!("! {code}: ").as_bytes())
                .is_some_and(|text| !text.is_empty()),
            Pat::PrefixWith(prefix, words) => {
                let s = String::from_utf8_lossy(line);
                s.starts_with(prefix) && words.iter().all(|w| s.contains(w))
            }
            Pat::Any(pats) => pats.iter().any(|p| p.matches(line)),
        }
    }
}

impl fmt::Display for Pat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pat::Exact(s) => write!(f, "{s:?}"),
            Pat::Prefix(s) => write!(f, "{s:?}..."),
            Pat::Error(code) => write!(f, "\"! {code}: ...\""),
            Pat::PrefixWith(p, words) => write!(f, "{p:?}... naming {}", words.join(" ")),
            Pat::Any(pats) => {
                let shown: Vec<String> = pats.iter().map(ToString::to_string).collect();
                write!(f, "one of {}", shown.join(" or "))
            }
        }
    }
}

/// One step of a script; `usize` is a client index.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// The steps after this check these SPEC IDs: a failure there is
    /// reported against them.
    Section(&'static [SpecId]),
    /// Opens a new connection for the client.
    Connect(usize),
    /// Connect, expect the prompt, send the name, expect this welcome.
    Join(usize, String, String),
    /// These bytes as one write.
    Send(usize, Vec<u8>),
    /// This text and LF as one write.
    Line(usize, String),
    /// These bytes one byte per write.
    Drip(usize, Vec<u8>),
    /// The next line received must match.
    Expect(usize, Pat),
    /// The next lines received must be these, in any order.
    ExpectAll(usize, Vec<Pat>),
    /// Skips lines until one matches.
    WaitFor(usize, Pat),
    /// Skips lines until each of these has arrived, in any order.
    WaitForAll(usize, Vec<Pat>),
    /// The server must close the connection before sending any other line.
    Closed(usize),
    /// Skips lines until the server closes the connection.
    WaitClosed(usize),
    /// `/who`, and the next line must be its reply: nothing else arrived
    /// before it (SRV-4 makes it a barrier).
    Barrier(usize),
    /// `/who`, skipping lines until its reply.
    Sync(usize),
    /// The client closes its socket (a process killed, Ctrl-C).
    Close(usize),
    /// The client resets its socket (RST).
    Reset(usize),
    /// The client stops reading.
    StopReading(usize),
    /// The client reads again.
    ResumeReading(usize),
    /// Chat from `from` in rounds of `per_round` lines of `text_bytes`
    /// bytes, each round read in full by `watcher` before the next, until
    /// `until` arrives (at most `rounds_max` rounds).
    Pump {
        /// The sender.
        from: usize,
        /// A member that reads every round.
        watcher: usize,
        /// Bytes of filler per line.
        text_bytes: usize,
        /// Lines per round.
        per_round: usize,
        /// Most rounds.
        rounds_max: usize,
        /// The client and line that end the pumping.
        until: (usize, Pat),
    },
    /// SIGTERM to the spawned server (LEAVE-5).
    Shutdown,
    /// A remark in the transcript.
    Note(&'static str),
}

/// One conformance case.
#[derive(Clone, Debug)]
pub struct Case {
    /// Short unique name (`--case`).
    pub name: &'static str,
    /// One line on what it shows.
    pub about: &'static str,
    /// The server limits it needs.
    pub profile: Profile,
    /// SPEC IDs checked before the first [`Step::Section`].
    pub ids: &'static [SpecId],
    /// Client labels (their names, usually).
    pub clients: Vec<String>,
    /// The script.
    pub steps: Vec<Step>,
    /// Clients that send a keep-alive this often (ms) while the driver
    /// waits (LEAVE-4).
    pub keepalive: Vec<(usize, u64)>,
    /// Clients whose socket asks for a small receive buffer (LIMIT-2).
    pub small_rcvbuf: Vec<usize>,
    /// Clients that all connect from one address (SESS-8); every other
    /// client has an address of its own (on IPv4 loopback).
    pub one_address: Vec<usize>,
    /// The client whose view is the room order, if not the first member.
    pub witness: Option<usize>,
    /// Whether the checker may take the settled end as quiesced (INV-7):
    /// false where the room order cannot be seen by one member (LEAVE-6).
    pub quiesced: bool,
    /// Why it cannot run over real TCP at all, if so.
    pub sim_only: Option<&'static str>,
}

impl Case {
    /// Every SPEC ID the case checks (its own and its sections'), sorted.
    pub fn all_ids(&self) -> Vec<SpecId> {
        let mut ids: Vec<SpecId> = self.ids.to_vec();
        for s in &self.steps {
            if let Step::Section(more) = s {
                ids.extend_from_slice(more);
            }
        }
        sort_ids(&mut ids);
        ids
    }
}

/// Sorts SPEC IDs in SPEC order, without repeats.
pub fn sort_ids(ids: &mut Vec<SpecId>) {
    ids.sort();
    ids.dedup();
}

/// Every SPEC ID with a MUST (SPEC §12), in SPEC order.
pub const ALL_IDS: &[SpecId] = SpecId::ALL;

/// IDs no case can observe over TCP, with the reason.
pub const NOT_OBSERVABLE: [(SpecId, &str); 2] = [
    (
        SpecId::Wire3,
        "how a line is displayed is not observable on the wire",
    ),
    (
        SpecId::Cli1,
        "a client requirement; the driver tests servers",
    ),
];

/// Builds a case step by step.
struct B(Case);

impl B {
    fn new<S: AsRef<str>>(name: &'static str, about: &'static str, clients: &[S]) -> B {
        B(Case {
            name,
            about,
            profile: Profile::Default,
            ids: &[],
            clients: clients.iter().map(|c| c.as_ref().to_owned()).collect(),
            steps: Vec::new(),
            keepalive: Vec::new(),
            small_rcvbuf: Vec::new(),
            one_address: Vec::new(),
            witness: None,
            quiesced: true,
            sim_only: None,
        })
    }
    fn profile(mut self, p: Profile) -> B {
        self.0.profile = p;
        self
    }
    fn ids(mut self, ids: &'static [SpecId]) -> B {
        self.0.ids = ids;
        self
    }
    fn step(mut self, s: Step) -> B {
        self.0.steps.push(s);
        self
    }
    fn section(self, ids: &'static [SpecId]) -> B {
        self.step(Step::Section(ids))
    }
    fn join(self, c: usize, name: &str, welcome: &str) -> B {
        self.step(Step::Join(c, name.to_owned(), welcome.to_owned()))
    }
    fn connect(self, c: usize) -> B {
        self.step(Step::Connect(c))
    }
    fn line(self, c: usize, text: &str) -> B {
        self.step(Step::Line(c, text.to_owned()))
    }
    fn send(self, c: usize, bytes: &[u8]) -> B {
        self.step(Step::Send(c, bytes.to_vec()))
    }
    fn expect(self, c: usize, line: &str) -> B {
        self.step(Step::Expect(c, Pat::exact(line)))
    }
    fn expect_each(mut self, cs: &[usize], line: &str) -> B {
        for &c in cs {
            self = self.expect(c, line);
        }
        self
    }
    fn expect_err(self, c: usize, code: &'static str) -> B {
        self.step(Step::Expect(c, Pat::Error(code)))
    }
    fn prompt(self, c: usize) -> B {
        self.expect(c, PROMPT)
    }
    fn wait_for(self, c: usize, line: &str) -> B {
        self.step(Step::WaitFor(c, Pat::exact(line)))
    }
    fn closed(self, c: usize) -> B {
        self.step(Step::Closed(c))
    }
    fn barrier(self, c: usize) -> B {
        self.step(Step::Barrier(c))
    }
    fn sync(self, c: usize) -> B {
        self.step(Step::Sync(c))
    }
    fn note(self, text: &'static str) -> B {
        self.step(Step::Note(text))
    }
    fn done(self) -> Case {
        self.0
    }
}

const PROMPT: &str = "* Enter your name:";

fn joined(n: &str) -> String {
    format!("* {n} has joined the chat.")
}
fn left(n: &str) -> String {
    format!("* {n} has left the chat.")
}
fn lost(n: &str) -> String {
    format!("* {n} was removed from the chat (connection lost).")
}

/// aa then bb join; aa is told.
fn pair(b: B) -> B {
    b.join(0, "aa", "* Welcome, aa! Members (1): aa")
        .join(1, "bb", "* Welcome, bb! Members (2): aa, bb")
        .expect(0, &joined("bb"))
}

/// Every case, in the order they run within a profile.
pub fn all() -> Vec<Case> {
    vec![
        course(),
        crlf(),
        telnet(),
        course_client(),
        fragment_at_eof(),
        byte_at_a_time(),
        over_long_line(),
        invalid_utf8(),
        control_chars(),
        no_forgery(),
        commands(),
        me_action(),
        nick_rename(),
        reply_order(),
        naming_errors(),
        naming_exit(),
        too_many_attempts(),
        name_free_again(),
        leave_quit(),
        leave_close(),
        leave_reset(),
        two_leave_at_once(),
        exit_racing_reset(),
        exit_racing_messages(),
        flood(),
        many_members(),
        connect_churn(),
        slow_reader(),
        member_limit(),
        naming_limit(),
        door(),
        who_cap(),
        handshake_timeout(),
        idle_timeout(),
        quiet_room(),
        shutdown(),
        sim_only(
            "partition",
            "a member vanishes behind a network partition (LEAVE-4)",
            &[SpecId::Leave4, SpecId::Inv7],
            "network partitions are simulation-only (chat-sim replay --canon partition_reconnect)",
        ),
        sim_only(
            "server_restart",
            "the server host crashes and restarts",
            &[SpecId::Sess7],
            "a server crash is simulation-only (chat-sim replay --canon server_restart)",
        ),
    ]
}

fn sim_only(
    name: &'static str,
    about: &'static str,
    ids: &'static [SpecId],
    why: &'static str,
) -> Case {
    let mut c = B::new::<&str>(name, about, &[]).ids(ids).done();
    c.sim_only = Some(why);
    c
}

/// SPEC §10: the course scenario as aa sees it.
fn course() -> Case {
    let (aa, bb, cc, dd) = (0, 1, 2, 3);
    B::new(
        "course",
        "SPEC §10: bb types exit, cc's terminal gets Ctrl-C, dd and aa stay",
        &["aa", "bb", "cc", "dd"],
    )
    .ids(&[SpecId::Wire1, SpecId::Sess1, SpecId::Sess4, SpecId::Srv3])
    .join(aa, "aa", "* Welcome, aa! Members (1): aa")
    .join(bb, "bb", "* Welcome, bb! Members (2): aa, bb")
    .expect(aa, &joined("bb"))
    .join(cc, "cc", "* Welcome, cc! Members (3): aa, bb, cc")
    .expect_each(&[aa, bb], &joined("cc"))
    .join(dd, "dd", "* Welcome, dd! Members (4): aa, bb, cc, dd")
    .expect_each(&[aa, bb, cc], &joined("dd"))
    .section(&[SpecId::Msg1, SpecId::Msg2])
    .line(aa, "hello everyone")
    .expect_each(&[bb, cc, dd], "aa: hello everyone")
    .line(bb, "hi aa")
    .expect_each(&[aa, cc, dd], "bb: hi aa")
    .line(cc, "hey")
    .expect_each(&[aa, bb, dd], "cc: hey")
    .section(&[SpecId::Cmd1, SpecId::Leave1, SpecId::Sess7])
    .line(bb, "exit")
    .expect(bb, "* Goodbye, bb.")
    .closed(bb)
    .expect_each(&[aa, cc, dd], &left("bb"))
    .step(Step::Close(cc))
    .expect_each(&[aa, dd], &lost("cc"))
    .section(&[SpecId::Msg1, SpecId::Msg2])
    .line(dd, "just us now")
    .expect(aa, "dd: just us now")
    .barrier(aa)
    .barrier(dd)
    .done()
}

/// WIRE-2: CRLF lines (telnet) work as LF lines.
fn crlf() -> Case {
    let (aa, bb) = (0, 1);
    B::new(
        "crlf",
        "a telnet client's CRLF lines: one CR before LF is removed",
        &["aa", "bb"],
    )
    .ids(&[SpecId::Wire2])
    .join(aa, "aa", "* Welcome, aa! Members (1): aa")
    .connect(bb)
    .prompt(bb)
    .send(bb, b"bb\r\n")
    .expect(bb, "* Welcome, bb! Members (2): aa, bb")
    .expect(aa, &joined("bb"))
    .send(bb, b"hello over telnet\r\n")
    .expect(aa, "bb: hello over telnet")
    .send(bb, b"/who\r\n")
    .expect(bb, "* Members (2): aa, bb")
    .send(bb, b"exit\r\n")
    .expect(bb, "* Goodbye, bb.")
    .closed(bb)
    .expect(aa, &left("bb"))
    .done()
}

/// WIRE-11: the original course client sends its name and each line as
/// one write without LF; with quiet framing each is a line once the
/// server heard nothing more for `fragment_quiet_ms`, and `exit` followed
/// at once by a FIN still leaves. aa, an LF client, is not affected.
fn course_client() -> Case {
    let (aa, cc, dd) = (0, 1, 2);
    B::new(
        "course_client",
        "writes without LF (the course client) are lines after a quiet; exit then FIN leaves",
        &["aa", "cc", "dd"],
    )
    .profile(Profile::Framing)
    .ids(&[SpecId::Wire11, SpecId::Wire4])
    .join(aa, "aa", "* Welcome, aa! Members (1): aa")
    .connect(cc)
    .prompt(cc)
    .send(cc, b"cc")
    .expect(cc, "* Welcome, cc! Members (2): aa, cc")
    .expect(aa, &joined("cc"))
    .send(cc, b"hello from the course")
    .expect(aa, "cc: hello from the course")
    .line(aa, "hi cc")
    .expect(cc, "aa: hi cc")
    .connect(dd)
    .prompt(dd)
    .send(dd, b"dd")
    .expect(dd, "* Welcome, dd! Members (3): aa, cc, dd")
    .expect_each(&[aa, cc], &joined("dd"))
    .send(dd, b"exit")
    .step(Step::Close(dd))
    .expect_each(&[aa, cc], &left("dd"))
    .send(cc, b"exit")
    .expect(cc, "* Goodbye, cc.")
    .closed(cc)
    .expect(aa, &left("cc"))
    .barrier(aa)
    .done()
}

/// WIRE-10: telnet's Ctrl-C between two lines is answered with IAC WONT
/// TIMING-MARK, an offer is refused with DONT, and the lines around them
/// go on as if the commands were not there.
fn telnet() -> Case {
    use oracle::split::telnet_marker;
    let (aa, bb) = (0, 1);
    pair(B::new(
        "telnet",
        "telnet's Ctrl-C (IAC IP, IAC DO TIMING-MARK) is answered WONT; lines around it arrive",
        &["aa", "bb"],
    ))
    .ids(&[SpecId::Wire10])
    .send(bb, b"hello\r\n\xff\xf4\xff\xfd\x06after\r\n")
    .expect(bb, &telnet_marker(0xFC, 6))
    .expect(aa, "bb: hello")
    .expect(aa, "bb: after")
    .send(bb, b"\xff\xfb\x01ok\xff\xfa\x18\x00xterm\xff\xf0\n")
    .expect(bb, &telnet_marker(0xFE, 1))
    .expect(aa, "bb: ok")
    .line(aa, "hi")
    .expect(bb, "aa: hi")
    .done()
}

/// WIRE-4: a line is complete only with its LF.
fn fragment_at_eof() -> Case {
    let (aa, bb) = (0, 1);
    pair(B::new(
        "fragment_at_eof",
        "bytes after the last LF at end of stream are discarded",
        &["aa", "bb"],
    ))
    .ids(&[SpecId::Wire4, SpecId::Leave1])
    .send(bb, b"half a line")
    .step(Step::Close(bb))
    .expect(aa, &lost("bb"))
    .barrier(aa)
    .done()
}

/// WIRE-4, NAME-1: a name and a line dripped one byte per write.
fn byte_at_a_time() -> Case {
    let (aa, bb) = (0, 1);
    B::new(
        "byte_at_a_time",
        "a name and a message written one byte at a time arrive whole",
        &["aa", "bb"],
    )
    .ids(&[SpecId::Wire4, SpecId::Wire2, SpecId::Name1])
    .join(aa, "aa", "* Welcome, aa! Members (1): aa")
    .connect(bb)
    .prompt(bb)
    .step(Step::Drip(bb, b"bb\n".to_vec()))
    .expect(bb, "* Welcome, bb! Members (2): aa, bb")
    .expect(aa, &joined("bb"))
    .step(Step::Drip(bb, b"one byte at a time\r\n".to_vec()))
    .expect(aa, "bb: one byte at a time")
    .barrier(bb)
    .done()
}

/// WIRE-5, WIRE-9: over-long lines, at and past the limit.
fn over_long_line() -> Case {
    let (aa, bb) = (0, 1);
    let max = Limits::default().line_bytes_max;
    let at_limit = "y".repeat(max);
    let at_limit_cr = "z".repeat(max);
    pair(B::new(
        "over_long_line",
        "an over-long line gets one line-too-long, is discarded, the connection goes on",
        &["aa", "bb"],
    ))
    .ids(&[SpecId::Wire5, SpecId::Wire9, SpecId::Err1, SpecId::Inv8])
    .line(bb, &"x".repeat(1500))
    .expect_err(bb, "line-too-long")
    .barrier(bb)
    .barrier(aa)
    .note("a long line in three writes, its LF in a fourth: one error")
    .send(bb, "w".repeat(1000).as_bytes())
    .send(bb, "w".repeat(1000).as_bytes())
    .send(bb, "w".repeat(1000).as_bytes())
    .send(bb, b"\n")
    .expect_err(bb, "line-too-long")
    .barrier(bb)
    .note("exactly line_bytes_max bytes (1024), with LF and with CRLF: delivered")
    .line(bb, &at_limit)
    .expect(aa, &format!("bb: {at_limit}"))
    .send(bb, format!("{at_limit_cr}\r\n").as_bytes())
    .expect(aa, &format!("bb: {at_limit_cr}"))
    .line(bb, "still here")
    .expect(aa, "bb: still here")
    .barrier(aa)
    .done()
}

/// WIRE-6: invalid UTF-8 is discarded with an error; a character split
/// between writes is fine.
fn invalid_utf8() -> Case {
    let (aa, bb) = (0, 1);
    pair(B::new(
        "invalid_utf8",
        "a line that is not UTF-8 gets invalid-utf8; the connection goes on",
        &["aa", "bb"],
    ))
    .ids(&[SpecId::Wire6, SpecId::Err1, SpecId::Inv8])
    .send(bb, b"caf\xe9\n")
    .expect_err(bb, "invalid-utf8")
    .send(bb, b"\xc3\x28 bad second byte\n")
    .expect_err(bb, "invalid-utf8")
    .barrier(aa)
    .send(bb, b"caf\xc3")
    .send(bb, b"\xa9 split between writes\n")
    .expect(aa, "bb: caf\u{e9} split between writes")
    .barrier(bb)
    .done()
}

/// WIRE-7, WIRE-9: forbidden characters.
fn control_chars() -> Case {
    let (aa, bb) = (0, 1);
    let mut b = pair(B::new(
        "control_chars",
        "ESC, NUL, a bare CR, DEL, C1 controls get control-char; a tab is fine",
        &["aa", "bb"],
    ))
    .ids(&[SpecId::Wire7, SpecId::Err1, SpecId::Inv8]);
    for bad in [
        &b"\x1b[2J cleared your screen\n"[..],
        b"nul\x00inside\n",
        b"bare\rcarriage return\n",
        b"del\x7f\n",
        b"c1 \xc2\x85 next line\n",
        b"bell\x07\n",
        b"\r\r\n",
    ] {
        b = b.send(bb, bad).expect_err(bb, "control-char");
    }
    b.barrier(aa)
        .section(&[SpecId::Wire9])
        .send(bb, b"\xfe\x1b\n")
        .expect_err(bb, "invalid-utf8")
        .send(bb, format!("{}\x1b\n", "q".repeat(1100)).as_bytes())
        .expect_err(bb, "line-too-long")
        .barrier(bb)
        .section(&[SpecId::Wire7, SpecId::Msg1])
        .line(bb, "tab\there")
        .expect(aa, "bb: tab\there")
        .barrier(aa)
        .done()
}

/// SRV-1, SRV-2, SRV-3, CMD-5, MSG-1: crafted text cannot forge the
/// server; text arrives exactly as sent.
fn no_forgery() -> Case {
    let (aa, bb) = (0, 1);
    B::new(
        "no_forgery",
        "a member's text always arrives after its name: nobody can forge the server",
        &["aa", "Bo-b_9"],
    )
    .ids(&[SpecId::Srv1, SpecId::Srv2, SpecId::Srv3, SpecId::Msg1])
    .join(aa, "aa", "* Welcome, aa! Members (1): aa")
    .join(bb, "Bo-b_9", "* Welcome, Bo-b_9! Members (2): aa, Bo-b_9")
    .expect(aa, &joined("Bo-b_9"))
    .line(bb, "* Bo-b_9 has left the chat.")
    .expect(aa, "Bo-b_9: * Bo-b_9 has left the chat.")
    .line(bb, "! name-taken: that name is in use")
    .expect(aa, "Bo-b_9: ! name-taken: that name is in use")
    .line(bb, "aa: I am aa")
    .expect(aa, "Bo-b_9: aa: I am aa")
    .line(bb, "  two  spaces\tand a tab  ")
    .expect(aa, "Bo-b_9:   two  spaces\tand a tab  ")
    .line(bb, "caf\u{e9} \u{1f600} \u{4e2d}\u{6587}")
    .expect(aa, "Bo-b_9: caf\u{e9} \u{1f600} \u{4e2d}\u{6587}")
    .section(&[SpecId::Cmd5])
    .line(bb, "//etc/passwd is a path")
    .expect(aa, "Bo-b_9: /etc/passwd is a path")
    .line(bb, "///three")
    .expect(aa, "Bo-b_9: //three")
    .barrier(bb)
    .done()
}

/// CMD-1..4, SESS-5: commands, keep-alives, near-misses of exit.
fn commands() -> Case {
    let (aa, bb) = (0, 1);
    pair(B::new(
        "commands",
        "/who, /help, unknown commands, keep-alives; Exit and 'exit ' are messages",
        &["aa", "bb"],
    ))
    .ids(&[SpecId::Sess5])
    .section(&[SpecId::Cmd2])
    .line(bb, "/who")
    .expect(bb, "* Members (2): aa, bb")
    .section(&[SpecId::Cmd3])
    .line(bb, "/help")
    .step(Step::Expect(
        bb,
        Pat::PrefixWith("* Commands:", &["/who", "/quit", "exit", "/help", "//"]),
    ))
    .section(&[SpecId::Cmd4, SpecId::Err1])
    .line(bb, "/who with some words")
    .expect(bb, "* Members (2): aa, bb")
    .line(bb, "/frob x")
    .expect_err(bb, "unknown-command")
    .line(bb, "/WHO")
    .expect_err(bb, "unknown-command")
    .line(bb, "/quitting")
    .expect_err(bb, "unknown-command")
    .barrier(aa)
    .section(&[SpecId::Sess5])
    .line(bb, "")
    .line(bb, " \t ")
    .barrier(bb)
    .barrier(aa)
    .section(&[SpecId::Cmd1])
    .line(bb, "Exit")
    .expect(aa, "bb: Exit")
    .line(bb, "exit ")
    .expect(aa, "bb: exit ")
    .line(bb, " exit")
    .expect(aa, "bb:  exit")
    .barrier(bb)
    .done()
}

/// CMD-6, SRV-2: `/me` goes to the others as `N A`, exactly as typed,
/// never back; a blank action is a usage error; an action can only speak
/// about its own member.
fn me_action() -> Case {
    let (aa, bb, cc) = (0, 1, 2);
    pair(B::new(
        "me_action",
        "/me reaches the others as 'bb waves', never bb; blank /me is usage; no forged notices",
        &["aa", "bb", "cc"],
    ))
    .ids(&[SpecId::Cmd6])
    .join(cc, "cc", "* Welcome, cc! Members (3): aa, bb, cc")
    .expect_each(&[aa, bb], &joined("cc"))
    .section(&[SpecId::Cmd6, SpecId::Msg2])
    .line(bb, "/me waves")
    .expect_each(&[aa, cc], "bb waves")
    .barrier(bb)
    .line(bb, "/me \t two  spaces\tand a tab  ")
    .expect_each(&[aa, cc], "bb \t two  spaces\tand a tab  ")
    .barrier(bb)
    .section(&[SpecId::Cmd6, SpecId::Err1])
    .line(bb, "/me")
    .expect_err(bb, "usage")
    .line(bb, "/me ")
    .expect_err(bb, "usage")
    .line(bb, "/me  \t ")
    .expect_err(bb, "usage")
    .barrier(aa)
    .barrier(cc)
    .section(&[SpecId::Cmd4, SpecId::Err1])
    .line(bb, "/ME waves")
    .expect_err(bb, "unknown-command")
    .line(bb, "/mewaves")
    .expect_err(bb, "unknown-command")
    .barrier(aa)
    .barrier(cc)
    .section(&[SpecId::Cmd6, SpecId::Srv1, SpecId::Srv2])
    .note("the byte after the name decides: cc's action 'bb: hi', never bb's message")
    .line(cc, "/me bb: hi")
    .expect_each(&[aa, bb], "cc bb: hi")
    .barrier(cc)
    .line(bb, "/me : hi")
    .expect_each(&[aa, cc], "bb : hi")
    .line(bb, "/me has left the chat.")
    .expect_each(&[aa, cc], "bb has left the chat.")
    .line(bb, "/me * aa has left the chat.")
    .expect_each(&[aa, cc], "bb * aa has left the chat.")
    .line(bb, "/me ! name-taken: that name is in use")
    .expect_each(&[aa, cc], "bb ! name-taken: that name is in use")
    .line(bb, "/me is now known as aa.")
    .expect_each(&[aa, cc], "bb is now known as aa.")
    .barrier(bb)
    .section(&[SpecId::Cmd5, SpecId::Msg1])
    .line(bb, "//me waves")
    .expect_each(&[aa, cc], "bb: /me waves")
    .barrier(bb)
    .done()
}

/// CMD-7, NAME-2, NAME-3, NAME-5, SRV-3: `/nick` is announced to every
/// member, the renamer too; the old name is free at once; refusals reach
/// only the renamer.
fn nick_rename() -> Case {
    let (aa, bb, cc, dd) = (0, 1, 2, 3);
    let all = [aa, bb, cc, dd];
    let others = [aa, cc, dd];
    let mut b = pair(B::new(
        "nick_rename",
        "/nick is announced to all, bb too; the old name is free; taken, invalid, blank refused",
        &["aa", "bb", "cc", "dd"],
    ))
    .ids(&[SpecId::Cmd7, SpecId::Srv3])
    .join(cc, "cc", "* Welcome, cc! Members (3): aa, bb, cc")
    .expect_each(&[aa, bb], &joined("cc"))
    .line(bb, "/nick bob")
    .expect_each(&[bb, aa, cc], "* bb is now known as bob.")
    .section(&[SpecId::Cmd7, SpecId::Srv3, SpecId::Msg1])
    .line(bb, "hello")
    .expect_each(&[aa, cc], "bob: hello")
    .line(bb, "/me waves")
    .expect_each(&[aa, cc], "bob waves")
    .section(&[SpecId::Cmd7, SpecId::Cmd2])
    .line(aa, "/who")
    .expect(aa, "* Members (3): aa, bob, cc")
    .section(&[SpecId::Cmd7, SpecId::Name5])
    .note("the old name is free at once: a new connection claims it")
    .join(dd, "bb", "* Welcome, bb! Members (4): aa, bob, cc, bb")
    .expect_each(&[aa, bb, cc], &joined("bb"))
    .section(&[SpecId::Cmd7, SpecId::Name2, SpecId::Err1]);
    for taken in ["/nick aa", "/nick AA", "/nick bb", "/nick Cc", "/nick bob"] {
        b = b.line(bb, taken).expect_err(bb, "name-taken");
    }
    b = b.section(&[SpecId::Cmd7, SpecId::Name1, SpecId::Err1]);
    for bad in [
        "/nick bad name!".to_owned(),
        "/nick *aa".to_owned(),
        format!("/nick {}", "n".repeat(33)),
    ] {
        b = b.line(bb, &bad).expect_err(bb, "invalid-name");
    }
    b = b.section(&[SpecId::Cmd7, SpecId::Err1]);
    for blank in ["/nick", "/nick ", "/nick   ", "/nick \t "] {
        b = b.line(bb, blank).expect_err(bb, "usage");
    }
    b.note("refused renames reach nobody else, and bob is still bob")
        .barrier(bb)
        .barrier(aa)
        .barrier(cc)
        .barrier(dd)
        .section(&[SpecId::Cmd7, SpecId::Name2, SpecId::Srv3])
        .line(bb, "/nick Bob")
        .expect_each(&all, "* bob is now known as Bob.")
        .section(&[SpecId::Cmd7, SpecId::Name3])
        .line(bb, "/nick  carol \t")
        .expect_each(&all, "* Bob is now known as carol.")
        .section(&[SpecId::Cmd7, SpecId::Srv3, SpecId::Msg1])
        .line(dd, "/who")
        .expect(dd, "* Members (4): aa, carol, cc, bb")
        .line(bb, "bye")
        .expect_each(&others, "carol: bye")
        .barrier(bb)
        .done()
}

/// SRV-4: a reply comes after every room line handled before its request.
fn reply_order() -> Case {
    let (aa, bb, cc) = (0, 1, 2);
    pair(B::new(
        "reply_order",
        "a /who reply comes after the room lines ordered before it",
        &["aa", "bb", "cc"],
    ))
    .ids(&[SpecId::Srv4])
    .join(cc, "cc", "* Welcome, cc! Members (3): aa, bb, cc")
    .expect_each(&[aa, bb], &joined("cc"))
    .line(aa, "m1")
    .note("cc has m1, so the room handled it before bb asks")
    .expect(cc, "aa: m1")
    .line(bb, "/who")
    .expect(bb, "aa: m1")
    .expect(bb, "* Members (3): aa, bb, cc")
    .done()
}

/// NAME-1..4, SESS-2, SRV-3: naming errors as SPEC §10 shows them.
fn naming_errors() -> Case {
    let (aa, cc, dd) = (0, 1, 2);
    let long = "n".repeat(33);
    let max = "abcdefghijklmnopqrstuvwxyz_-0123";
    B::new(
        "naming_errors",
        "invalid and taken names get an error and a new prompt on the same connection",
        &["aa", "cc", "dd"],
    )
    .ids(&[SpecId::Name3, SpecId::Err1])
    .join(aa, "aa", "* Welcome, aa! Members (1): aa")
    .connect(cc)
    .prompt(cc)
    .section(&[SpecId::Sess2])
    .line(cc, "")
    .line(cc, " \t")
    .section(&[SpecId::Name1, SpecId::Name3])
    .line(cc, "bad name!")
    .expect_err(cc, "invalid-name")
    .prompt(cc)
    .line(cc, &long)
    .expect_err(cc, "invalid-name")
    .prompt(cc)
    .line(cc, "h\u{e9}llo")
    .expect_err(cc, "invalid-name")
    .prompt(cc)
    .line(cc, "*aa")
    .expect_err(cc, "invalid-name")
    .prompt(cc)
    .section(&[SpecId::Name2, SpecId::Name4])
    .line(cc, "AA")
    .expect_err(cc, "name-taken")
    .prompt(cc)
    .line(cc, " aA ")
    .expect_err(cc, "name-taken")
    .prompt(cc)
    .section(&[SpecId::Name3, SpecId::Sess4])
    .line(cc, "  ee\t")
    .expect(cc, "* Welcome, ee! Members (2): aa, ee")
    .expect(aa, &joined("ee"))
    .section(&[SpecId::Name1, SpecId::Srv3])
    .join(
        dd,
        max,
        &format!("* Welcome, {max}! Members (3): aa, ee, {max}"),
    )
    .expect_each(&[aa, cc], &joined(max))
    .line(dd, "Mixed")
    .expect_each(&[aa, cc], &format!("{max}: Mixed"))
    .barrier(aa)
    .done()
}

/// SESS-2: leaving while naming; a connection that never became a member
/// is announced to nobody.
fn naming_exit() -> Case {
    let (aa, n1, n2, n3, n4, n5) = (0, 1, 2, 3, 4, 5);
    B::new(
        "naming_exit",
        "exit and /quit while naming close with a goodbye; ' exit ' is a name",
        &["aa", "n1", "n2", "n3", "n4", "n5"],
    )
    .ids(&[SpecId::Sess2])
    .join(aa, "aa", "* Welcome, aa! Members (1): aa")
    .connect(n1)
    .prompt(n1)
    .line(n1, "exit")
    .expect(n1, "* Goodbye.")
    .closed(n1)
    .connect(n2)
    .prompt(n2)
    .line(n2, "/quit")
    .expect(n2, "* Goodbye.")
    .closed(n2)
    .connect(n3)
    .prompt(n3)
    .line(n3, "/quit now")
    .expect(n3, "* Goodbye.")
    .closed(n3)
    .connect(n5)
    .prompt(n5)
    .line(n5, "not a name!")
    .expect_err(n5, "invalid-name")
    .prompt(n5)
    .step(Step::Close(n5))
    .note("nobody is told about connections that never became members")
    .barrier(aa)
    .section(&[SpecId::Sess2, SpecId::Name3])
    .connect(n4)
    .prompt(n4)
    .line(n4, " exit ")
    .expect(n4, "* Welcome, exit! Members (2): aa, exit")
    .expect(aa, &joined("exit"))
    .line(n4, "exit")
    .expect(n4, "* Goodbye, exit.")
    .closed(n4)
    .expect(aa, &left("exit"))
    .barrier(aa)
    .done()
}

/// NAME-6: the tenth rejected name closes the connection.
fn too_many_attempts() -> Case {
    let (aa, cc) = (0, 1);
    let attempts = Limits::default().naming_attempts_max;
    let mut b = B::new(
        "too_many_attempts",
        "naming_attempts_max (10) rejected names: too-many-attempts and closed",
        &["aa", "cc"],
    )
    .ids(&[SpecId::Name6, SpecId::Err1])
    .join(aa, "aa", "* Welcome, aa! Members (1): aa")
    .connect(cc)
    .prompt(cc);
    for i in 1..attempts {
        if i == 3 {
            b = b
                .note("a bad line while naming is not a name attempt")
                .send(cc, b"\x01\n")
                .expect_err(cc, "control-char")
                .prompt(cc);
        }
        let (line, code) = if i % 2 == 0 {
            ("AA", "name-taken")
        } else {
            ("bad name!", "invalid-name")
        };
        b = b.line(cc, line).expect_err(cc, code).prompt(cc);
    }
    b.line(cc, "bad name!")
        .expect_err(cc, "too-many-attempts")
        .closed(cc)
        .barrier(aa)
        .done()
}

/// NAME-5, SESS-7: a name is free once its departure is announced; a
/// new connection is a new session.
fn name_free_again() -> Case {
    let (aa, bb, cc) = (0, 1, 2);
    pair(B::new(
        "name_free_again",
        "a departed member's name (any case) can be claimed again on a new connection",
        &["aa", "bb", "cc"],
    ))
    .ids(&[SpecId::Name5, SpecId::Sess7])
    .line(bb, "exit")
    .expect(bb, "* Goodbye, bb.")
    .closed(bb)
    .expect(aa, &left("bb"))
    .join(bb, "BB", "* Welcome, BB! Members (2): aa, BB")
    .expect(aa, &joined("BB"))
    .join(cc, "cc", "* Welcome, cc! Members (3): aa, BB, cc")
    .expect_each(&[aa, bb], &joined("cc"))
    .step(Step::Reset(cc))
    .expect_each(&[aa, bb], &lost("cc"))
    .join(cc, "cc", "* Welcome, cc! Members (3): aa, BB, cc")
    .expect_each(&[aa, bb], &joined("cc"))
    .barrier(aa)
    .done()
}

/// CMD-1, LEAVE-1: /quit, with and without words.
fn leave_quit() -> Case {
    let (aa, bb, cc) = (0, 1, 2);
    pair(B::new(
        "leave_quit",
        "/quit (with or without words) says goodbye, announces the departure, closes",
        &["aa", "bb", "cc"],
    ))
    .ids(&[SpecId::Cmd1, SpecId::Leave1, SpecId::Sess6, SpecId::Sess7])
    .join(cc, "cc", "* Welcome, cc! Members (3): aa, bb, cc")
    .expect_each(&[aa, bb], &joined("cc"))
    .line(bb, "/quit")
    .expect(bb, "* Goodbye, bb.")
    .closed(bb)
    .expect_each(&[aa, cc], &left("bb"))
    .line(cc, "/quit see you")
    .expect(cc, "* Goodbye, cc.")
    .closed(cc)
    .expect(aa, &left("cc"))
    .barrier(aa)
    .done()
}

/// LEAVE-1: the client closes its socket.
fn leave_close() -> Case {
    let (aa, bb, cc) = (0, 1, 2);
    pair(B::new(
        "leave_close",
        "a member whose socket closes is removed (connection lost), announced once",
        &["aa", "bb", "cc"],
    ))
    .ids(&[SpecId::Leave1])
    .join(cc, "cc", "* Welcome, cc! Members (3): aa, bb, cc")
    .expect_each(&[aa, bb], &joined("cc"))
    .step(Step::Close(bb))
    .expect_each(&[aa, cc], &lost("bb"))
    .barrier(aa)
    .barrier(cc)
    .done()
}

/// LEAVE-1: the client resets its socket.
fn leave_reset() -> Case {
    let (aa, bb) = (0, 1);
    pair(B::new(
        "leave_reset",
        "a member whose connection is reset (RST) is removed (connection lost)",
        &["aa", "bb"],
    ))
    .ids(&[SpecId::Leave1])
    .line(bb, "before the reset")
    .expect(aa, "bb: before the reset")
    .step(Step::Reset(bb))
    .expect(aa, &lost("bb"))
    .barrier(aa)
    .done()
}

/// LEAVE-1, LEAVE-2: two members leave in the same instant.
fn two_leave_at_once() -> Case {
    let (aa, bb, cc, dd) = (0, 1, 2, 3);
    pair(B::new(
        "two_leave_at_once",
        "bb types exit while cc's connection resets: each announced exactly once",
        &["aa", "bb", "cc", "dd"],
    ))
    .ids(&[SpecId::Leave1, SpecId::Leave2, SpecId::Inv5])
    .join(cc, "cc", "* Welcome, cc! Members (3): aa, bb, cc")
    .expect_each(&[aa, bb], &joined("cc"))
    .join(dd, "dd", "* Welcome, dd! Members (4): aa, bb, cc, dd")
    .expect_each(&[aa, bb, cc], &joined("dd"))
    .line(bb, "exit")
    .step(Step::Reset(cc))
    .note("cc's removal may reach bb before its goodbye")
    .wait_for(bb, "* Goodbye, bb.")
    .closed(bb)
    .step(Step::ExpectAll(
        aa,
        vec![Pat::Exact(left("bb")), Pat::Exact(lost("cc"))],
    ))
    .step(Step::ExpectAll(
        dd,
        vec![Pat::Exact(left("bb")), Pat::Exact(lost("cc"))],
    ))
    .barrier(aa)
    .barrier(dd)
    .done()
}

/// LEAVE-2: exit and a reset of the same member race; one notice.
fn exit_racing_reset() -> Case {
    let (aa, bb) = (0, 1);
    pair(B::new(
        "exit_racing_reset",
        "bb types exit and its connection resets at once: one departure, one notice",
        &["aa", "bb"],
    ))
    .ids(&[SpecId::Leave2, SpecId::Inv5])
    .line(bb, "exit")
    .step(Step::Reset(bb))
    .step(Step::Expect(
        aa,
        Pat::Any(vec![Pat::Exact(left("bb")), Pat::Exact(lost("bb"))]),
    ))
    .barrier(aa)
    .done()
}

/// LEAVE-3, INV-4, INV-6: exit pipelined between messages, while
/// another member sends.
fn exit_racing_messages() -> Case {
    let (aa, bb, cc, dd) = (0, 1, 2, 3);
    let mut burst = Vec::new();
    for i in 0..20 {
        burst.extend_from_slice(format!("cc line {i}\n").as_bytes());
    }
    pair(B::new(
        "exit_racing_messages",
        "bb pipelines a line, exit, and a line after exit while cc sends a burst",
        &["aa", "bb", "cc", "dd"],
    ))
    .ids(&[SpecId::Leave3, SpecId::Inv4, SpecId::Inv6])
    .join(cc, "cc", "* Welcome, cc! Members (3): aa, bb, cc")
    .expect_each(&[aa, bb], &joined("cc"))
    .join(dd, "dd", "* Welcome, dd! Members (4): aa, bb, cc, dd")
    .expect_each(&[aa, bb, cc], &joined("dd"))
    .send(cc, &burst)
    .send(bb, b"last words\nexit\nafter exit\n")
    .wait_for(bb, "* Goodbye, bb.")
    .closed(bb)
    .step(Step::WaitForAll(
        aa,
        vec![Pat::Exact(left("bb")), Pat::exact("cc: cc line 19")],
    ))
    .step(Step::WaitForAll(
        dd,
        vec![Pat::Exact(left("bb")), Pat::exact("cc: cc line 19")],
    ))
    .sync(aa)
    .sync(dd)
    .sync(cc)
    .done()
}

/// LIMIT-3, INV-8: a paste past the token bucket is held back, not
/// dropped: told once, all of it arrives in order at the default rate,
/// and a calm member's line meanwhile is not queued behind it.
fn flood() -> Case {
    let (aa, bb, cc) = (0, 1, 2);
    let mut burst = Vec::new();
    for i in 0..200 {
        burst.extend_from_slice(format!("flood {i}\n").as_bytes());
    }
    let mut b = pair(B::new(
        "flood",
        "200 lines at once with the default token bucket: told rate-limited once, \
         all 200 delivered in order at 20 per second, a calm member's line at once",
        &["aa", "bb", "cc"],
    ))
    .ids(&[SpecId::Limit3, SpecId::Limit1, SpecId::Err1, SpecId::Inv8])
    .join(cc, "cc", "* Welcome, cc! Members (3): aa, bb, cc")
    .expect_each(&[aa, bb], &joined("cc"))
    .send(bb, &burst)
    .step(Step::WaitFor(bb, Pat::Error("rate-limited")))
    .line(cc, "cc still talks")
    .step(Step::WaitFor(aa, Pat::exact("cc: cc still talks")));
    // Waypoints 2.5 s apart at 20 lines/s, each within a step's bound.
    for i in [50, 100, 150, 199] {
        b = b.step(Step::WaitFor(aa, Pat::exact(&format!("bb: flood {i}"))));
    }
    b.step(Step::WaitFor(cc, Pat::exact("bb: flood 199")))
        .line(bb, "bb after the paste")
        .expect(aa, "bb: bb after the paste")
        .barrier(aa)
        .done()
}

/// Members in [`many_members`].
const MANY_MEMBERS: usize = 24;
/// Connections in [`connect_churn`].
const CHURN_CONNECTIONS: usize = 20;

/// Labels m00, m01, ...
fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:02}")).collect()
}

/// SESS-4, MSG-1, INV-1..5: many members at once; every join announced
/// to all present, every line to all others.
fn many_members() -> Case {
    let names = numbered("m", MANY_MEMBERS);
    let mut b = B::new(
        "many_members",
        "24 members join one by one and each says one line; everyone hears everything",
        &names,
    )
    .ids(&[SpecId::Sess4, SpecId::Msg1, SpecId::Msg2, SpecId::Leave1]);
    for (i, name) in names.iter().enumerate() {
        let welcome = format!(
            "* Welcome, {name}! Members ({}): {}",
            i + 1,
            names[..=i].join(", ")
        );
        b = b.join(i, name, &welcome);
        for j in 0..i {
            b = b.expect(j, &joined(name));
        }
    }
    for (i, name) in names.iter().enumerate() {
        b = b.line(i, &format!("line of {name}"));
        for j in (0..names.len()).filter(|&j| j != i) {
            b = b.expect(j, &format!("{name}: line of {name}"));
        }
    }
    for (i, name) in names.iter().enumerate().skip(1) {
        b = b.step(Step::Close(i));
        for j in (0..names.len()).filter(|&j| j != i && (j == 0 || j > i)) {
            b = b.expect(j, &lost(name));
        }
    }
    b.barrier(0).done()
}

/// SESS-2, INV-8: many connections come and go while naming; the room
/// hears nothing of them.
fn connect_churn() -> Case {
    let mut labels = vec!["aa".to_owned()];
    labels.extend(numbered("c", CHURN_CONNECTIONS));
    let mut b = B::new(
        "connect_churn",
        "20 connections open, get the prompt and drop, half of them reset; nobody is told",
        &labels,
    )
    .ids(&[SpecId::Sess2, SpecId::Sess1])
    .join(0, "aa", "* Welcome, aa! Members (1): aa");
    for c in 1..=CHURN_CONNECTIONS {
        b = b.connect(c).prompt(c);
    }
    for c in 1..=CHURN_CONNECTIONS {
        b = if c % 2 == 0 {
            b.step(Step::Reset(c))
        } else {
            b.step(Step::Close(c))
        };
    }
    b.barrier(0)
        .line(0, "/who")
        .expect(0, "* Members (1): aa")
        .done()
}

/// LIMIT-2, INV-8: a member that never reads is removed as too slow.
fn slow_reader() -> Case {
    let (cc, aa, bb) = (0, 1, 2);
    B::new(
        "slow_reader",
        "cc stops reading while aa chats; cc is removed (too slow), bb loses nothing",
        &["cc", "aa", "bb"],
    )
    .profile(Profile::Limits)
    .ids(&[SpecId::Limit2, SpecId::Limit1, SpecId::Inv8])
    .join(cc, "cc", "* Welcome, cc! Members (1): cc")
    .join(aa, "aa", "* Welcome, aa! Members (2): cc, aa")
    .expect(cc, &joined("aa"))
    .join(bb, "bb", "* Welcome, bb! Members (3): cc, aa and 1 more")
    .expect_each(&[cc, aa], &joined("bb"))
    .step(Step::StopReading(cc))
    .step(Step::Pump {
        from: aa,
        watcher: bb,
        text_bytes: 1000,
        per_round: 8,
        rounds_max: 5_000,
        until: (bb, Pat::exact("* cc was removed from the chat (too slow).")),
    })
    .wait_for(aa, "* cc was removed from the chat (too slow).")
    .line(aa, "after")
    .wait_for(bb, "aa: after")
    .barrier(aa)
    .barrier(bb)
    .with(|c| {
        c.small_rcvbuf = vec![0];
        c.witness = Some(2);
    })
}

impl B {
    fn with(mut self, f: impl FnOnce(&mut Case)) -> Case {
        f(&mut self.0);
        self.0
    }
}

/// SESS-1, SESS-4: the member limit at accept and at the claim.
fn member_limit() -> Case {
    let (aa, bb, cc, dd, ee, ff) = (0, 1, 2, 3, 4, 5);
    pair(B::new(
        "member_limit",
        "members_max 3: a 4th connection gets server-full at accept, a claim after the room filled too",
        &["aa", "bb", "cc", "dd", "ee", "ff"],
    ))
    .profile(Profile::Limits)
    .ids(&[SpecId::Sess4, SpecId::Limit1, SpecId::Err1])
    .connect(ee)
    .prompt(ee)
    .join(cc, "cc", "* Welcome, cc! Members (3): aa, bb and 1 more")
    .expect_each(&[aa, bb], &joined("cc"))
    .section(&[SpecId::Sess1])
    .connect(dd)
    .expect_err(dd, "server-full")
    .closed(dd)
    .section(&[SpecId::Sess4])
    .line(ee, "ee")
    .expect_err(ee, "server-full")
    .closed(ee)
    .barrier(aa)
    .line(cc, "exit")
    .expect(cc, "* Goodbye, cc.")
    .closed(cc)
    .expect_each(&[aa, bb], &left("cc"))
    .join(ff, "ff", "* Welcome, ff! Members (3): aa, bb and 1 more")
    .expect_each(&[aa, bb], &joined("ff"))
    .done()
}

/// SESS-1: the limit on connections naming at once.
fn naming_limit() -> Case {
    let (n1, n2, n3, n4, n5) = (0, 1, 2, 3, 4);
    B::new(
        "naming_limit",
        "naming_max 3: a 4th connection while 3 are naming gets server-full",
        &["n1", "n2", "n3", "n4", "n5"],
    )
    .profile(Profile::Limits)
    .ids(&[SpecId::Sess1, SpecId::Limit1])
    .connect(n1)
    .prompt(n1)
    .connect(n2)
    .prompt(n2)
    .connect(n3)
    .prompt(n3)
    .connect(n4)
    .expect_err(n4, "server-full")
    .closed(n4)
    .line(n1, "exit")
    .expect(n1, "* Goodbye.")
    .closed(n1)
    .connect(n5)
    .prompt(n5)
    .done()
}

/// SESS-8, SESS-1: d1..d6 share one address, which may hold three
/// connections and one naming slot; e1 comes from another and gets in.
fn door() -> Case {
    let (d1, d2, d3, d4, d5, d6, e1) = (0, 1, 2, 3, 4, 5, 6);
    let mut c = B::new(
        "door",
        "one address: a second naming connection and a fourth connection get server-full; another address still gets in",
        &["d1", "d2", "d3", "d4", "d5", "d6", "e1"],
    )
    .profile(Profile::Door)
    .ids(&[SpecId::Sess8, SpecId::Sess1])
    .join(d1, "d1", "* Welcome, d1! Members (1): d1")
    .connect(d2)
    .prompt(d2)
    // address_naming_max 1: d2 is naming.
    .connect(d3)
    .expect_err(d3, "server-full")
    .closed(d3)
    .connect(d4)
    .expect_err(d4, "server-full")
    .closed(d4)
    // Another address is not held back by this one.
    .connect(e1)
    .prompt(e1)
    .line(d2, "d2")
    .expect(d2, "* Welcome, d2! Members (2): d1, d2")
    .expect(d1, &joined("d2"))
    .join(d5, "d5", "* Welcome, d5! Members (3): d1, d2, d5")
    .expect(d1, &joined("d5"))
    .expect(d2, &joined("d5"))
    // address_connections_max 3: d1, d2 and d5 are open; nobody naming.
    .connect(d6)
    .expect_err(d6, "server-full")
    .closed(d6)
    .line(e1, "e1")
    .expect(e1, "* Welcome, e1! Members (4): d1, d2, d5, e1")
    .expect(d1, &joined("e1"))
    .expect(d2, &joined("e1"))
    .expect(d5, &joined("e1"))
    .done();
    c.one_address = vec![d1, d2, d3, d4, d5, d6];
    c
}

/// LIMIT-4: welcome and /who lists are capped.
fn who_cap() -> Case {
    let (aa, bb, cc) = (0, 1, 2);
    pair(B::new(
        "who_cap",
        "who_names_max 2: lists show 2 names and ' and 1 more', the count is full",
        &["aa", "bb", "cc"],
    ))
    .profile(Profile::Limits)
    .ids(&[SpecId::Limit4, SpecId::Cmd2, SpecId::Sess4])
    .join(cc, "cc", "* Welcome, cc! Members (3): aa, bb and 1 more")
    .expect_each(&[aa, bb], &joined("cc"))
    .line(cc, "/who")
    .expect(cc, "* Members (3): aa, bb and 1 more")
    .done()
}

/// SESS-3: no name within handshake_timeout_ms.
fn handshake_timeout() -> Case {
    let n1 = 0;
    B::new(
        "handshake_timeout",
        "handshake_timeout_ms 1000: a connection that never names itself is closed",
        &["n1"],
    )
    .profile(Profile::Timeouts)
    .ids(&[SpecId::Sess3, SpecId::Err1])
    .connect(n1)
    .prompt(n1)
    .expect_err(n1, "handshake-timeout")
    .closed(n1)
    .done()
}

/// LEAVE-4: a silent member is removed for idle timeout.
fn idle_timeout() -> Case {
    let (aa, bb) = (0, 1);
    pair(B::new(
        "idle_timeout",
        "idle_timeout_ms 2000, idle_warning_ms 1000: silent bb is asked, then removed; aa keeps itself alive with empty lines",
        &["aa", "bb"],
    ))
    .profile(Profile::Timeouts)
    .ids(&[SpecId::Leave4, SpecId::Leave1, SpecId::Err1, SpecId::Leave7])
    .expect(bb, "* Are you still there? Send any line within 1 s to stay.")
    .expect_err(bb, "idle-timeout")
    .closed(bb)
    .expect(aa, "* bb was removed from the chat (idle timeout).")
    .barrier(aa)
    .with(|c| c.keepalive = vec![(0, 200)])
}

/// LEAVE-6: quiet rooms announce no joins or departures.
fn quiet_room() -> Case {
    let (aa, bb) = (0, 1);
    B::new(
        "quiet_room",
        "presence_members_max 1: in a room of two, joins and departures are not announced",
        &["aa", "bb"],
    )
    .profile(Profile::Quiet)
    .ids(&[SpecId::Leave6])
    .join(aa, "aa", "* Welcome, aa! Members (1): aa")
    .join(bb, "bb", "* Welcome, bb! Members (2): aa, bb")
    .line(aa, "hi")
    .expect(bb, "aa: hi")
    .line(bb, "exit")
    .expect(bb, "* Goodbye, bb.")
    .closed(bb)
    .barrier(aa)
    .line(aa, "/who")
    .expect(aa, "* Members (1): aa")
    .with(|c| c.quiesced = false)
}

/// LEAVE-5: shutdown reaches every connection.
fn shutdown() -> Case {
    let (aa, bb, n1) = (0, 1, 2);
    pair(B::new(
        "shutdown",
        "SIGTERM: every connection, naming or member, gets the shutdown line and is closed",
        &["aa", "bb", "n1"],
    ))
    .profile(Profile::Shutdown)
    .ids(&[SpecId::Leave5])
    .connect(n1)
    .prompt(n1)
    .step(Step::Shutdown)
    .expect(aa, "* Server shutting down. Goodbye.")
    .closed(aa)
    .expect(bb, "* Server shutting down. Goodbye.")
    .closed(bb)
    .expect(n1, "* Server shutting down. Goodbye.")
    .closed(n1)
    .done()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_ids_known() {
        let cases = all();
        let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), cases.len());
        for c in &cases {
            for id in c.all_ids() {
                assert!(ALL_IDS.contains(&id), "{}: unknown ID {id}", c.name);
            }
        }
    }
}
