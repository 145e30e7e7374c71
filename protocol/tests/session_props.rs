//! Goal: the session state machine only moves forward and keeps its
//! bounds whatever a peer sends (SESS-2, SESS-7, NAME-6, WIRE-9).
//!
//! Method: proptest drives a `Session` with random decoded lines (good,
//! blank, names, commands, line errors) and random room answers to each
//! claim, and checks after every step that the state never goes back,
//! attempts never pass `naming_attempts_max`, and a gone session does
//! nothing.

mod strategies;

use proptest::prelude::*;
use protocol::session::{Session, State, Step};
use protocol::{ErrorCode, Limits, LineError, ServerLine};

#[derive(Clone, Debug)]
enum Input {
    Line(String),
    Bad(LineError),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        3 => strategies::text().prop_map(Input::Line),
        3 => strategies::name().prop_map(|n| Input::Line(n.to_string())),
        2 => prop::sample::select(vec!["", " ", "exit", "/quit", "/who", "/help", "/x", "//x", "bad name", "/me waves", "/me", "/nick bob", "/nick b!"])
            .prop_map(|s| Input::Line(s.to_owned())),
        1 => prop::sample::select(vec![LineError::TooLong, LineError::InvalidUtf8, LineError::ControlChar])
            .prop_map(Input::Bad),
    ]
}

/// 0 naming, 1 member, 2 gone: the order of SESS-7.
fn rank(state: &State) -> u8 {
    match state {
        State::Naming { .. } => 0,
        State::Member { .. } => 1,
        State::Gone => 2,
    }
}

proptest! {
    #[test]
    fn sess_7_state_only_moves_forward(
        attempts_max in 1u32..5,
        inputs in prop::collection::vec(input(), 0..40),
        answers in prop::collection::vec(0u8..3, 40),
    ) {
        let limits = Limits { naming_attempts_max: attempts_max, ..Limits::default() };
        let (mut session, prompt) = Session::new();
        prop_assert_eq!(prompt, ServerLine::Prompt);
        let mut closed = false;
        for (i, input) in inputs.iter().enumerate() {
            let before = rank(session.state());
            let step = match input {
                Input::Line(s) => session.handle_line(Ok(s), &limits),
                Input::Bad(e) => session.handle_line(Err(*e), &limits),
            };
            if before == 2 {
                prop_assert_eq!(&step, &Step::Nothing, "SESS-6: gone reads nothing");
            }
            match step {
                Step::Claim(name) => {
                    prop_assert_eq!(before, 0);
                    match answers[i] {
                        0 => session.accept(name),
                        1 => {
                            let (lines, close) = session.reject(ErrorCode::NameTaken, &limits);
                            prop_assert!(!lines.is_empty());
                            closed |= close;
                        }
                        _ => {
                            let (lines, close) = session.reject(ErrorCode::ServerFull, &limits);
                            prop_assert_eq!(lines, vec![ServerLine::error(ErrorCode::ServerFull)]);
                            prop_assert!(close);
                            closed = true;
                        }
                    }
                }
                Step::Close { last } => {
                    prop_assert_eq!(before, 0, "only naming closes by itself");
                    prop_assert!(last.is_some());
                    closed = true;
                }
                Step::Nick(name) => {
                    prop_assert_eq!(before, 1);
                    if answers[i] == 0 {
                        session.rename(name.clone());
                        prop_assert_eq!(session.name(), Some(&name));
                    }
                }
                Step::Quit | Step::Say(_) | Step::Act(_) | Step::Who | Step::KeepAlive => prop_assert_eq!(before, 1),
                Step::Reply(lines) => {
                    prop_assert!(before < 2);
                    prop_assert!(!lines.is_empty());
                }
                Step::Nothing => {}
            }
            let after = rank(session.state());
            prop_assert!(after >= before, "SESS-7: {} -> {}", before, after);
            if closed {
                prop_assert_eq!(after, 2);
            }
            if let State::Naming { attempts } = session.state() {
                prop_assert!(*attempts < attempts_max, "NAME-6");
            }
        }
    }
}
