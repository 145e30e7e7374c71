//! Real-TCP tests of the whole server on 127.0.0.1, port 0.
//!
//! Goal: the behaviour a person with `nc` sees, per SPEC.md, including the
//! original course scenario. Method: start `server::run` on a tokio
//! listener, drive raw protocol lines through plain sockets, and
//! synchronise only on expected lines (bounded waits that fail the test).
//! Timeouts are tested under paused time in `duplex.rs` instead.

mod common;

use common::Server;
use protocol::Limits;

fn limits() -> Limits {
    Limits::default()
}

// WIRE-1, SESS-1, SESS-4, MSG-1, MSG-2, CMD-1, LEAVE-1, INV-2, INV-3:
// the original course scenario of SPEC §10, as aa sees it, line for line.
#[tokio::test]
async fn original_scenario_as_in_spec_10() {
    let server = Server::start(limits()).await;
    let mut aa = server.connect().await;
    aa.expect("* Enter your name:").await;
    aa.send("aa").await;
    aa.expect("* Welcome, aa! Members (1): aa").await;

    let mut bb = server.join("bb").await;
    aa.expect("* bb has joined the chat.").await;
    let mut cc = server.join("cc").await;
    aa.expect("* cc has joined the chat.").await;
    bb.expect("* cc has joined the chat.").await;
    let mut dd = server.connect().await;
    dd.expect("* Enter your name:").await;
    dd.send("dd").await;
    dd.expect("* Welcome, dd! Members (4): aa, bb, cc, dd")
        .await;
    for c in [&mut aa, &mut bb, &mut cc] {
        c.expect("* dd has joined the chat.").await;
    }

    aa.send("hello everyone").await;
    for c in [&mut bb, &mut cc, &mut dd] {
        c.expect("aa: hello everyone").await;
    }
    bb.send("hi aa").await;
    for c in [&mut cc, &mut dd] {
        c.expect("bb: hi aa").await;
    }
    cc.send("hey").await;
    for c in [&mut bb, &mut dd] {
        c.expect("cc: hey").await;
    }

    bb.send("exit").await;
    bb.expect("* Goodbye, bb.").await;
    bb.expect_end().await;
    for c in [&mut cc, &mut dd] {
        c.expect("* bb has left the chat.").await;
    }

    // Ctrl-C on cc's terminal: the socket just goes away.
    drop(cc);
    dd.expect("* cc was removed from the chat (connection lost).")
        .await;
    dd.send("just us now").await;

    // aa never got its own message back (MSG-2) and saw one order.
    aa.expect("bb: hi aa").await;
    aa.expect("cc: hey").await;
    aa.expect("* bb has left the chat.").await;
    aa.expect("* cc was removed from the chat (connection lost).")
        .await;
    aa.expect("dd: just us now").await;
    assert_eq!(
        aa.received,
        [
            "* Enter your name:",
            "* Welcome, aa! Members (1): aa",
            "* bb has joined the chat.",
            "* cc has joined the chat.",
            "* dd has joined the chat.",
            "bb: hi aa",
            "cc: hey",
            "* bb has left the chat.",
            "* cc was removed from the chat (connection lost).",
            "dd: just us now",
        ]
    );
    server.stop().await.expect("clean shutdown");
}

// NAME-2, NAME-3, NAME-4, SESS-4: the naming example of SPEC §10.
#[tokio::test]
async fn naming_errors_and_retry_as_in_spec_10() {
    let server = Server::start(limits()).await;
    let _aa = server.join("aa").await;
    let mut ee = server.connect().await;
    ee.expect("* Enter your name:").await;
    ee.send("bad name!").await;
    ee.expect("! invalid-name: a name is 1 to 32 letters, digits, '_' or '-'")
        .await;
    ee.expect("* Enter your name:").await;
    ee.send("AA").await;
    ee.expect("! name-taken: that name is in use").await;
    ee.expect("* Enter your name:").await;
    ee.send("  ee\t").await;
    ee.expect("* Welcome, ee! Members (2): aa, ee").await;
    server.stop().await.expect("clean shutdown");
}

// NAME-5: a name is free again once its member's departure is announced.
#[tokio::test]
async fn name_free_after_departure() {
    let server = Server::start(limits()).await;
    let mut watcher = server.join("watcher").await;
    let mut alice = server.join("Alice").await;
    watcher.expect("* Alice has joined the chat.").await;
    alice.send("/quit").await;
    alice.expect("* Goodbye, Alice.").await;
    watcher.expect("* Alice has left the chat.").await;
    let _again = server.join("alice").await;
    watcher.expect("* alice has joined the chat.").await;
    server.stop().await.expect("clean shutdown");
}

// NAME-6: too many rejected names closes the connection.
#[tokio::test]
async fn too_many_attempts_closes() {
    let server = Server::start(Limits {
        naming_attempts_max: 2,
        ..limits()
    })
    .await;
    let mut c = server.connect().await;
    c.expect("* Enter your name:").await;
    c.send("!").await;
    c.expect_prefix("! invalid-name: ").await;
    c.expect("* Enter your name:").await;
    c.send("?").await;
    c.expect_prefix("! too-many-attempts: ").await;
    c.expect_end().await;
    server.stop().await.expect("clean shutdown");
}

// SESS-2: in naming, `exit` closes with `* Goodbye.`; empty lines are
// ignored; nobody hears of a connection that never joined.
#[tokio::test]
async fn naming_exit_and_empty_lines() {
    let server = Server::start(limits()).await;
    let mut aa = server.join("aa").await;
    let mut c = server.connect().await;
    c.expect("* Enter your name:").await;
    c.send("").await;
    c.send("   ").await;
    c.send("exit").await;
    c.expect("* Goodbye.").await;
    c.expect_end().await;
    // aa heard nothing about it: the next line aa gets is this reply.
    aa.send("/who").await;
    aa.expect("* Members (1): aa").await;
    server.stop().await.expect("clean shutdown");
}

// CMD-2, CMD-3, CMD-4, CMD-5, SRV-2, CMD-1: commands, the `//` escape,
// and member text that looks like server lines.
#[tokio::test]
async fn commands_escape_and_no_forgery() {
    let server = Server::start(limits()).await;
    let mut aa = server.join("aa").await;
    let mut ee = server.join("ee").await;
    aa.expect("* ee has joined the chat.").await;

    ee.send("/who").await;
    ee.expect("* Members (2): aa, ee").await;
    ee.send("/who is there").await;
    ee.expect("* Members (2): aa, ee").await;
    ee.send("/help").await;
    let help = ee.expect_prefix("* Commands:").await;
    for word in ["/who", "/quit", "exit", "/help", "//"] {
        assert!(help.contains(word), "{help:?} names {word}");
    }
    ee.send("/frob x").await;
    ee.expect_prefix("! unknown-command: ").await;
    ee.send("/WHO").await;
    ee.expect_prefix("! unknown-command: ").await;
    ee.send("//etc/passwd is a path").await;
    ee.send("* bb has left the chat.").await;
    ee.send("! name-taken: forged").await;
    ee.send("Exit").await;
    ee.send("exit ").await;
    ee.send("\tindented  text\t").await;
    aa.expect("ee: /etc/passwd is a path").await;
    aa.expect("ee: * bb has left the chat.").await;
    aa.expect("ee: ! name-taken: forged").await;
    aa.expect("ee: Exit").await;
    aa.expect("ee: exit ").await;
    aa.expect("ee: \tindented  text\t").await;
    // None of ee's commands reached aa, and ee heard none of its text.
    ee.send("/quit bye now").await;
    ee.expect("* Goodbye, ee.").await;
    ee.expect_end().await;
    aa.expect("* ee has left the chat.").await;
    server.stop().await.expect("clean shutdown");
}

// CMD-6, CMD-7, NAME-2, NAME-5, SRV-2: `/me` reaches the others as
// `N A`; `/nick` renames at one point of the room order, tells everyone
// (the renamer too), frees the old name at once and keeps join order.
#[tokio::test]
async fn cmd_6_cmd_7_actions_and_renames() {
    let server = Server::start(limits()).await;
    let mut aa = server.join("aa").await;
    let mut ee = server.join("ee").await;
    aa.expect("* ee has joined the chat.").await;

    ee.send("/me waves").await;
    aa.expect("ee waves").await;
    ee.send("/me").await;
    ee.expect("! usage: /me <action>").await;
    ee.send("/nick").await;
    ee.expect("! usage: /nick <name>").await;
    ee.send("/nick AA").await;
    ee.expect_prefix("! name-taken: ").await;
    ee.send("/nick ee").await;
    ee.expect_prefix("! name-taken: ").await;
    ee.send("/nick no way").await;
    ee.expect_prefix("! invalid-name: ").await;
    ee.send("/nick  Eve ").await;
    ee.expect("* ee is now known as Eve.").await;
    aa.expect("* ee is now known as Eve.").await;
    ee.send("/me has left the chat.").await;
    aa.expect("Eve has left the chat.").await;
    ee.send("hi").await;
    aa.expect("Eve: hi").await;
    // A case change of one's own name is a rename.
    ee.send("/nick EVE").await;
    ee.expect("* Eve is now known as EVE.").await;
    aa.expect("* Eve is now known as EVE.").await;
    // The old name is free at once (NAME-5); join order is kept.
    let mut e2 = server.join("ee").await;
    aa.expect("* ee has joined the chat.").await;
    ee.expect("* ee has joined the chat.").await;
    e2.send("/who").await;
    e2.expect("* Members (3): aa, EVE, ee").await;
    ee.send("/quit").await;
    ee.expect("* Goodbye, EVE.").await;
    aa.expect("* EVE has left the chat.").await;
    e2.expect("* EVE has left the chat.").await;
    server.stop().await.expect("clean shutdown");
}

// WIRE-5, WIRE-9, INV-8: an over-long line gets `line-too-long` once and
// the connection goes on; others lose nothing.
#[tokio::test]
async fn over_long_line_answered_and_connection_goes_on() {
    let server = Server::start(limits()).await;
    let mut aa = server.join("aa").await;
    let mut ee = server.join("ee").await;
    aa.expect("* ee has joined the chat.").await;
    ee.send(&"x".repeat(1500)).await;
    ee.expect("! line-too-long: a line may hold at most 1024 bytes")
        .await;
    // Far longer than any buffer: still one error, nothing buffered.
    ee.send(&"y".repeat(200_000)).await;
    ee.expect_prefix("! line-too-long: ").await;
    // Exactly at the limit is fine.
    let max = "z".repeat(1024);
    ee.send(&max).await;
    ee.send("still here").await;
    aa.expect(&format!("ee: {max}")).await;
    aa.expect("ee: still here").await;
    ee.send("/who").await;
    ee.expect("* Members (2): aa, ee").await;
    server.stop().await.expect("clean shutdown");
}

// WIRE-2, WIRE-6, WIRE-7, WIRE-9: CRLF works; invalid UTF-8 and control
// characters are answered and discarded; the connection goes on.
#[tokio::test]
async fn bad_bytes_rejected_and_crlf_accepted() {
    let server = Server::start(limits()).await;
    let mut aa = server.join("aa").await;
    let mut ee = server.connect().await;
    ee.expect("* Enter your name:").await;
    ee.send_raw(b"ee\r\n").await;
    ee.expect("* Welcome, ee! Members (2): aa, ee").await;
    aa.expect("* ee has joined the chat.").await;

    ee.send_raw(b"caf\xc3\xa9 ok\r\n").await;
    aa.expect("ee: caf\u{e9} ok").await;
    ee.send_raw(b"\xfe\xfd bad\n").await;
    ee.expect_prefix("! invalid-utf8: ").await;
    ee.send_raw(b"clear \x1b[2J screen\n").await;
    ee.expect_prefix("! control-char: ").await;
    ee.send_raw(b"nul \x00 here\n").await;
    ee.expect_prefix("! control-char: ").await;
    ee.send_raw(b"cr \r inside\n").await;
    ee.expect_prefix("! control-char: ").await;
    ee.send_raw(b"c1 \xc2\x9b csi\n").await;
    ee.expect_prefix("! control-char: ").await;
    ee.send_raw(b"del \x7f\n").await;
    ee.expect_prefix("! control-char: ").await;
    ee.send("fine again").await;
    // Nothing of the bad lines reached aa.
    aa.expect("ee: fine again").await;
    server.stop().await.expect("clean shutdown");
}

// WIRE-4, LEAVE-1: a fragment without LF at end of stream is dropped; the
// loss is announced once.
#[tokio::test]
async fn fragment_at_eof_is_discarded() {
    let server = Server::start(limits()).await;
    let mut aa = server.join("aa").await;
    let mut ee = server.join("ee").await;
    aa.expect("* ee has joined the chat.").await;
    ee.send_raw(b"half a li").await;
    drop(ee);
    aa.expect("* ee was removed from the chat (connection lost).")
        .await;
    aa.send("/who").await;
    aa.expect("* Members (1): aa").await;
    server.stop().await.expect("clean shutdown");
}

// SESS-1, SESS-4: server full at accept (naming_max, members_max) and at
// the claim (the room filled up while the connection was naming).
#[tokio::test]
async fn server_full_at_accept_and_at_claim() {
    let server = Server::start(Limits {
        members_max: 1,
        naming_max: 2,
        ..limits()
    })
    .await;
    let mut early = server.connect().await;
    early.expect("* Enter your name:").await;
    let mut aa = server.connect().await;
    aa.expect("* Enter your name:").await;
    // naming_max: a third naming connection is refused.
    let mut refused = server.connect().await;
    refused.expect_prefix("! server-full: ").await;
    refused.expect_end().await;
    aa.send("aa").await;
    aa.expect("* Welcome, aa! Members (1): aa").await;
    // members_max at the claim.
    early.send("bb").await;
    early.expect_prefix("! server-full: ").await;
    early.expect_end().await;
    // members_max at accept.
    let mut refused = server.connect().await;
    refused.expect_prefix("! server-full: ").await;
    refused.expect_end().await;
    server.stop().await.expect("clean shutdown");
}

// WIRE-10: telnet's Ctrl-C (IAC IP, IAC DO TIMING-MARK) amid lines is
// answered IAC WONT TIMING-MARK, so telnet stops discarding output; the
// lines around it arrive whole; every other option is refused too.
#[tokio::test]
async fn wire_10_telnet_ctrl_c_is_answered_and_lines_go_on() {
    const IAC: u8 = 0xFF;
    let server = Server::start(limits()).await;
    let mut aa = server.join("aa").await;
    let mut bb = server.join("bb").await;
    aa.expect("* bb has joined the chat.").await;
    bb.send_raw(b"hello\r\n\xff\xf4\xff\xfd\x06after\r\n").await;
    assert_eq!(
        bb.read_bytes(3).await,
        [IAC, 0xFC, 0x06],
        "IAC WONT TIMING-MARK"
    );
    aa.expect("bb: hello").await;
    aa.expect("bb: after").await;
    // Negotiation split across writes; WILL is refused with DONT.
    bb.send_raw(b"\xff\xfb").await;
    bb.send_raw(b"\x01\xff\xfa\x18\x00xterm\xff\xf0ok\n").await;
    assert_eq!(bb.read_bytes(3).await, [IAC, 0xFE, 0x01], "IAC DONT ECHO");
    aa.expect("bb: ok").await;
    aa.send("hi").await;
    bb.expect("aa: hi").await;
    server.stop().await.expect("clean shutdown");
}

// SESS-8: the door refuses a connection over address_connections_max or
// connections_max with `server-full` and a close, and spends no task on
// it; another address still gets in until the total is reached. SESS-1:
// address_naming_max counts naming connections per address.
#[tokio::test]
async fn sess_8_door_refuses_at_once_without_a_task() {
    let server = Server::start(Limits {
        connections_max: 4,
        address_connections_max: 2,
        address_naming_max: 1,
        ..limits()
    })
    .await;
    let mut aa = server.join("aa").await;
    let mut second = server.connect().await;
    second.expect("* Enter your name:").await;
    let tasks = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    let mut refused = server.connect().await;
    refused.expect_prefix("! server-full: ").await;
    refused.expect_end().await;
    assert_eq!(
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks(),
        tasks,
        "a connection refused at the door costs no task"
    );
    let mut bb = server.join_from("bb", [127, 0, 0, 2]).await;
    let mut cc = server.connect_from([127, 0, 0, 3]).await;
    cc.expect("* Enter your name:").await;
    // Four open: the door is shut for every address.
    let mut elsewhere = server.connect_from([127, 0, 0, 4]).await;
    elsewhere.expect_prefix("! server-full: ").await;
    elsewhere.expect_end().await;
    aa.expect("* bb has joined the chat.").await;
    bb.send("hi").await;
    aa.expect("bb: hi").await;
    server.stop().await.expect("clean shutdown");

    // address_naming_max 1, no per-address connection limit.
    let server = Server::start(Limits {
        address_naming_max: 1,
        address_connections_max: 0,
        ..limits()
    })
    .await;
    let mut naming = server.connect_from([127, 0, 0, 2]).await;
    naming.expect("* Enter your name:").await;
    let mut busy = server.connect_from([127, 0, 0, 2]).await;
    busy.expect_prefix("! server-full: ").await;
    busy.expect_end().await;
    let mut other = server.connect_from([127, 0, 0, 5]).await;
    other.expect("* Enter your name:").await;
    naming.send("dd").await;
    naming.expect("* Welcome, dd! Members (1): dd").await;
    // dd is a member now: its address may name again.
    let mut again = server.connect_from([127, 0, 0, 2]).await;
    again.expect("* Enter your name:").await;
    server.stop().await.expect("clean shutdown");
}

// LIMIT-2, INV-8, LEAVE-1: a member that never reads is removed as too
// slow while the others keep chatting and lose nothing.
#[tokio::test]
async fn never_reading_client_is_evicted_and_others_lose_nothing() {
    let server = Server::start(Limits {
        outbox_lines_max: 16,
        line_bytes_max: 8000,
        rate_lines_per_s: 0,
        ..limits()
    })
    .await;
    let mut talker = server.join("talker").await;
    let mut watcher = server.join("watcher").await;
    talker.expect("* watcher has joined the chat.").await;
    // A small receive buffer makes the kernel queue fill quickly.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let stream = socket.connect(server.addr).await.expect("connect");
    let mut slow = common::Client::new(stream);
    slow.expect("* Enter your name:").await;
    slow.send("slow").await;
    slow.expect_prefix("* Welcome, slow!").await;
    talker.expect("* slow has joined the chat.").await;
    watcher.expect("* slow has joined the chat.").await;

    // slow never reads again. Chat in rounds until the server gives up on
    // it; the watcher must get every line in order.
    // Rounds stay below outbox_lines_max, so a reader that keeps up is
    // never at risk however the tasks are scheduled.
    let round_lines = 8;
    let text = "m".repeat(7900);
    let removed = "* slow was removed from the chat (too slow).";
    let rounds_max = 2000;
    let mut sent = 0u32;
    let mut evicted = false;
    for _ in 0..rounds_max {
        for _ in 0..round_lines {
            talker.send(&format!("{sent} {text}")).await;
            sent += 1;
        }
        // The watcher reads this round; the notice may come anywhere in it.
        let mut got = 0;
        while got < round_lines {
            let line = watcher.line().await;
            if line == removed {
                assert!(!evicted, "one notice only (LEAVE-2)");
                evicted = true;
                continue;
            }
            assert_eq!(line, format!("talker: {} {text}", sent - round_lines + got));
            got += 1;
        }
        if evicted {
            break;
        }
    }
    assert!(evicted, "slow was evicted within {rounds_max} rounds");
    talker.until(removed).await;
    // The talker and watcher go on.
    talker.send("after").await;
    watcher.expect("talker: after").await;
    server.stop().await.expect("clean shutdown");
}

// LIMIT-3 over real TCP: a paste in one write past the bucket is held
// back, not dropped: the paster is told once, every line reaches the
// others in order, and the paster stays a member. (A fast refill keeps the
// wait short; the default limits are tested under paused time in
// `duplex.rs`.)
#[tokio::test]
async fn paste_past_the_bucket_arrives_whole() {
    let server = Server::start(Limits {
        rate_lines_per_s: 200,
        rate_burst_lines: 10,
        ..limits()
    })
    .await;
    let mut aa = server.join("aa").await;
    let mut fl = server.join("fl").await;
    aa.expect("* fl has joined the chat.").await;
    let paste: String = (0..200).map(|i| format!("line {i}\n")).collect();
    fl.send_raw(paste.as_bytes()).await;
    fl.expect_prefix("! rate-limited: ").await;
    for i in 0..200 {
        aa.expect(&format!("fl: line {i}")).await;
    }
    fl.send("/who").await;
    fl.expect("* Members (2): aa, fl").await;
    server.stop().await.expect("clean shutdown");
}

// LEAVE-5: shutdown sends the shutdown line after what was queued, closes
// every connection (naming ones too) and `run` returns Ok.
#[tokio::test]
async fn graceful_shutdown_tells_everyone() {
    let server = Server::start(limits()).await;
    let mut aa = server.join("aa").await;
    let mut bb = server.join("bb").await;
    aa.expect("* bb has joined the chat.").await;
    let mut naming = server.connect().await;
    naming.expect("* Enter your name:").await;
    aa.send("last words").await;
    // Synchronise: the room has handled the message once bb has it.
    bb.expect("aa: last words").await;
    server.stop().await.expect("run returns Ok");
    for c in [&mut aa, &mut bb, &mut naming] {
        c.expect("* Server shutting down. Goodbye.").await;
        c.expect_end().await;
    }
}

// NAME-1, WIRE-4: a name dripped one byte per write still names.
#[tokio::test]
async fn name_dripped_byte_by_byte() {
    let server = Server::start(limits()).await;
    let mut c = server.connect().await;
    c.expect("* Enter your name:").await;
    for b in b"  drip\r\n" {
        c.send_raw(&[*b]).await;
    }
    c.expect("* Welcome, drip! Members (1): drip").await;
    server.stop().await.expect("clean shutdown");
}

// INV-8, SESS-2, LEAVE-1: hundreds of connects and disconnects (silent,
// mid-name, after joining) cost a steady member nothing: it hears exactly
// one join and one loss per member that came and went, and the room ends
// with it alone.
#[tokio::test]
async fn connect_churn_leaves_the_room_intact() {
    let server = Server::start(limits()).await;
    let mut watcher = server.join("watcher").await;
    let rounds = 300;
    for i in 0..rounds {
        let mut c = server.connect().await;
        match i % 3 {
            0 => {}
            1 => c.send_raw(b"half-a-na").await,
            _ => {
                c.expect("* Enter your name:").await;
                c.send(&format!("u{i}")).await;
                c.expect_prefix(&format!("* Welcome, u{i}!")).await;
                watcher
                    .expect(&format!("* u{i} has joined the chat."))
                    .await;
            }
        }
        drop(c);
        if i % 3 == 2 {
            watcher
                .expect(&format!(
                    "* u{i} was removed from the chat (connection lost)."
                ))
                .await;
        }
    }
    watcher.send("/who").await;
    watcher.expect("* Members (1): watcher").await;
    server.stop().await.expect("clean shutdown");
}
