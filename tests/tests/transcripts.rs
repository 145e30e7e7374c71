//! Goal: pin down the canonical simulations (SPEC §10 and the fault
//! scenarios of issue 4) as reviewed transcripts, and require that each
//! passes every invariant the checker judges (INV-1..9 and the rest).
//!
//! Method: run each scenario of `sim::canon` on the real server inside
//! turmoil, render its deterministic transcript, and compare it with the
//! committed insta snapshot (CI never writes snapshots). A verdict other
//! than PASS fails the test with the full transcript.

fn check(name: &str, scenario: sim::scenario::Scenario) {
    let outcome = sim::simulate(&scenario);
    let transcript = outcome.transcript();
    assert!(outcome.passed(), "{name} failed:\n{transcript}");
    insta::assert_snapshot!(name, transcript);
}

// SPEC §10, CMD-1, MSG-1, MSG-2, LEAVE-1, INV-1..7.
#[test]
fn course_scenario_bb_exits_cc_ctrl_c() {
    check("course", sim::canon::course());
}

// LEAVE-2, INV-4, INV-5: exit races with sending and with Ctrl-C.
#[test]
fn exit_race_leave_2() {
    check("exit_race", sim::canon::exit_race());
}

// LIMIT-2, INV-8: a slow reader is evicted, nobody else loses a line.
#[test]
fn slow_reader_evicted_limit_2_inv_8() {
    check("slow_reader", sim::canon::slow_reader());
}

// LEAVE-4, NAME-5, INV-7: timed out behind a partition, then back.
#[test]
fn partitioned_member_times_out_and_reconnects_leave_4() {
    check("partition_reconnect", sim::canon::partition_reconnect());
}

// NAME-2, NAME-3, NAME-4, INV-9: taken, invalid and simultaneous names.
#[test]
fn name_collision_name_2_4_inv_9() {
    check("name_collision", sim::canon::name_collision());
}

// WIRE-4..7, WIRE-9, SRV-2, CMD-2, CMD-4, CMD-5: bad input.
#[test]
fn bad_input_wire_4_to_9_srv_2() {
    check("bad_input", sim::canon::bad_input());
}

// SESS-7, INV-1..9 per server run: a crash and restart.
#[test]
fn server_crash_and_restart_clients_reconnect() {
    check("server_restart", sim::canon::server_restart());
}

// WIRE-11: course clients (no LF) among LF and CRLF members, quiet framing.
#[test]
fn course_client_without_lf_wire_11() {
    check("course_client", sim::canon::course_client());
}
