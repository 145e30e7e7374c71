//! The canonical scenarios: hand-written runs that the snapshot tests in
//! `tests/` pin down as transcripts. Each names the behaviour it shows.
//!
//! Scenarios here are data only; they must never depend on randomness
//! other than turmoil's seeded latency draws.

use crate::scenario::{at, Action, ClientSpec, Fault, Scenario, Settings};

/// Keep-alive interval of canonical clients: well under the small
/// `idle_timeout_ms` of [`Settings::small`].
pub const KEEPALIVE_MS: u64 = 1_000;

fn person(label: &str, host: usize) -> ClientSpec {
    let mut c = ClientSpec::new(label, host);
    c.keepalive_ms = Some(KEEPALIVE_MS);
    c
}

fn join(name: &str) -> Action {
    Action::Connect {
        name: Some(name.to_owned()),
    }
}

fn say(text: &str) -> Action {
    Action::Line(text.to_owned())
}

fn scenario(title: &str, clients: Vec<ClientSpec>, end_ms: u64) -> Scenario {
    Scenario {
        title: title.to_owned(),
        seed: 1,
        settings: Settings::small(),
        clients,
        faults: Vec::new(),
        end_ms,
    }
}

/// SPEC §10: server plus aa, bb, cc, dd; bb types `exit`; cc's terminal
/// gets Ctrl-C; dd and aa stay.
pub fn course() -> Scenario {
    scenario(
        "the original course scenario: bb types exit, cc presses Ctrl-C",
        vec![
            person("aa", 0)
                .then(100, join("aa"))
                .then(1_000, say("hello everyone")),
            person("bb", 1)
                .then(200, join("bb"))
                .then(1_500, say("hi aa"))
                .then(2_500, say("exit")),
            person("cc", 2)
                .then(300, join("cc"))
                .then(2_000, say("hey"))
                .then(3_000, Action::CtrlC),
            person("dd", 3)
                .then(400, join("dd"))
                .then(3_500, say("just us now")),
        ],
        9_000,
    )
}

/// LEAVE-2, INV-4, INV-5: bb exits while cc and dd are sending; ee types
/// exit and presses Ctrl-C in the same instant.
pub fn exit_race() -> Scenario {
    let mut cc = person("cc", 2).then(300, join("cc"));
    let mut dd = person("dd", 3).then(400, join("dd"));
    for i in 0..20u64 {
        cc = cc.then(1_000 + i * 50, say(&format!("cc line {i}")));
        dd = dd.then(1_010 + i * 50, say(&format!("dd line {i}")));
    }
    scenario(
        "exit race: members leave while others send",
        vec![
            person("aa", 0).then(100, join("aa")),
            person("bb", 1)
                .then(200, join("bb"))
                .then(1_490, say("bb last words"))
                .then(1_500, say("exit")),
            cc,
            dd,
            person("ee", 4)
                .then(500, join("ee"))
                .then(1_500, say("exit"))
                .then(1_500, Action::CtrlC),
        ],
        8_000,
    )
}

/// LIMIT-2, INV-8: cc, the first to join, stops reading; the room chats
/// on; cc is removed as too slow at that point of the room order and
/// nobody else loses a line (a broadcast must go on past a full outbox).
pub fn slow_reader() -> Scenario {
    let mut aa = person("aa", 0).then(200, join("aa"));
    let mut bb = person("bb", 1).then(300, join("bb"));
    for i in 0..100u64 {
        aa = aa.then(1_000 + i * 20, say(&format!("aa says {i}")));
        bb = bb.then(1_010 + i * 20, say(&format!("bb says {i}")));
    }
    scenario(
        "slow reader: cc stops reading and is evicted while the room chats",
        vec![
            person("cc", 2)
                .then(100, join("cc"))
                .then(900, Action::StopReading),
            aa,
            bb,
        ],
        10_000,
    )
}

/// LEAVE-4, NAME-5: cc vanishes behind a partition, is removed for idle
/// timeout, and comes back under the same name after the repair.
pub fn partition_reconnect() -> Scenario {
    let mut s = scenario(
        "partition: cc vanishes, is timed out, then reconnects",
        vec![
            person("aa", 0)
                .then(100, join("aa"))
                .then(2_000, say("is cc still there?"))
                .then(8_000, say("welcome back cc")),
            person("bb", 1)
                .then(200, join("bb"))
                .then(2_500, say("cc went quiet")),
            person("cc", 2)
                .then(300, join("cc"))
                .then(1_500, say("my line into the void"))
                .then(7_000, join("cc"))
                .then(8_500, say("I am back")),
        ],
        14_000,
    );
    s.faults = vec![
        at(1_000, Fault::Partition { host: 2 }),
        at(6_500, Fault::Repair { host: 2 }),
    ];
    s
}

/// NAME-2..4, INV-9: a taken name in another case, an invalid name, and
/// two clients claiming one name in the same instant.
pub fn name_collision() -> Scenario {
    scenario(
        "name collision: taken names, invalid names, simultaneous claims",
        vec![
            person("aa", 0)
                .then(100, join("aa"))
                .then(2_000, say("who is here?")),
            person("bb", 1)
                .then(200, join("AA"))
                .then(700, say("bad name!"))
                .then(900, say("  bb  ")),
            person("zed", 2).then(1_000, join("zed")),
            person("zed2", 3)
                .then(1_000, join("zed"))
                .then(1_500, say("zed2")),
        ],
        8_000,
    )
}

/// WIRE-4..7, SRV-2, CMD-4, CMD-5: bad input never ends a connection and
/// never reaches others; crafted text cannot forge the server.
pub fn bad_input() -> Scenario {
    let long = "x".repeat(300);
    scenario(
        "bad input: an over-long line, invalid UTF-8, control characters, fragments",
        vec![
            person("aa", 0).then(100, join("aa")),
            person("bb", 1)
                .then(200, join("bb"))
                .then(1_000, say(&long))
                .then(1_100, Action::Raw(b"caf\xe9\n".to_vec()))
                .then(1_200, say("\u{1b}[2J cleared your screen"))
                .then(1_300, say("* bb has left the chat."))
                .then(1_400, say("//etc/passwd is a path"))
                .then(1_500, say("/frob x"))
                .then(1_600, say("/who"))
                .then(
                    1_700,
                    Action::Fragmented {
                        bytes: b"sent in pieces\n".to_vec(),
                        cuts: vec![3, 7],
                    },
                )
                .then(1_800, say("still here")),
            person("cc", 2)
                .then(300, join("cc"))
                .then(2_000, Action::Raw(b"half a line".to_vec()))
                .then(2_100, Action::CtrlC),
        ],
        8_000,
    )
}

/// Server crash and restart: every connection dies, the room starts empty,
/// clients reconnect and chat again.
pub fn server_restart() -> Scenario {
    let mut s = scenario(
        "server crash and restart: clients reconnect",
        ["aa", "bb", "cc"]
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut c = person(n, i)
                    .then(100 + 100 * i as u64, join(n))
                    .then(
                        1_000 + 100 * i as u64,
                        say(&format!("{n} before the crash")),
                    )
                    .then(
                        5_000 + 100 * i as u64,
                        say(&format!("{n} after the restart")),
                    );
                c.reconnect_ms = Some(400);
                c
            })
            .collect(),
        11_000,
    );
    s.faults = vec![
        at(2_000, Fault::ServerCrash),
        at(3_000, Fault::ServerRestart),
    ];
    s
}

/// WIRE-11: the original course client among ordinary ones, against a
/// server with quiet framing on. cc and dd send their names and lines as
/// single writes without LF (cc types `exit`, dd gets Ctrl-C); aa uses LF
/// and nn CRLF, as nc and telnet do. Each course write is far more than
/// `fragment_quiet_ms` plus the latency spread from the next.
pub fn course_client() -> Scenario {
    let mut cc = ClientSpec::new("cc", 1)
        .then(300, join("cc"))
        .then(2_000, say("hi from the course client"))
        .then(4_000, say("exit"));
    cc.course = true;
    let mut dd = ClientSpec::new("dd", 2)
        .then(500, join("dd"))
        .then(2_500, say("anyone there?"))
        .then(4_500, Action::CtrlC);
    dd.course = true;
    let mut nn = person("nn", 3)
        .then(700, join("nn"))
        .then(3_000, say("welcome cc and dd"));
    nn.crlf = true;
    let mut s = scenario(
        "the original course client (no LF) with quiet framing: cc exits, dd presses Ctrl-C",
        vec![
            person("aa", 0)
                .then(100, join("aa"))
                .then(1_500, say("hello everyone")),
            cc,
            dd,
            nn,
        ],
        10_000,
    );
    s.settings.limits.fragment_quiet_ms = COURSE_QUIET_MS;
    s
}

/// `fragment_quiet_ms` of [`course_client`]: far below the gaps between
/// the course clients' writes (at least 1.5 s), far above the latency
/// spread of [`Settings::small`] (4 ms).
pub const COURSE_QUIET_MS: u64 = 200;

/// Every canonical scenario with its snapshot name.
pub fn all() -> Vec<(&'static str, Scenario)> {
    vec![
        ("course", course()),
        ("exit_race", exit_race()),
        ("slow_reader", slow_reader()),
        ("partition_reconnect", partition_reconnect()),
        ("name_collision", name_collision()),
        ("bad_input", bad_input()),
        ("server_restart", server_restart()),
        ("course_client", course_client()),
    ]
}
