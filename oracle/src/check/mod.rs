//! The checker: judges a recording against SPEC §7 (INV-1..9) and the
//! per-connection rules it can see (SRV-1, WIRE-8, SESS-1, SESS-3,
//! SESS-6, LEAVE-5, LEAVE-6), from what clients observed alone (SPEC §11).
//!
//! Method. The `facts` are built once: each connection's received lines
//! are parsed by the checker's own grammar ([`crate::lines`]) and walked
//! through the session states (`walk`, a loop over [`session::Session`],
//! the incremental state machine the soak's live view drives too). Then
//! each rule of `rules`, a function over the facts, returns the
//! violations of its group of IDs; the verdict is their sum, in the order
//! of `PER_RECORDING` and `PER_RUN`, at most one per ID and connection.
//!
//! Every member's room lines are checked against its own view of who is
//! present (notices, echo, lines from absent members, duplicate names).
//! The *reference* of a server run (the witness client if the run has
//! one, else the earliest member) gives the room order; every other
//! member's received sequence must then be exactly the reference's lines
//! between its join and its departure, minus its own messages, as a
//! prefix (INV-3, INV-4). Senders' own lines give the ground truth of
//! what was said (INV-1) and in which order (INV-3). When the run has
//! quiesced, prefixes must be complete and dead peers removed (INV-7).
//!
//! Quiet rooms (LEAVE-6). A join is silent exactly when the joiner's own
//! welcome counts more than `presence_members_max`; such a member enters
//! each view at its first line, and its place in the room order is found
//! between time bounds. A departure must be announced when the room
//! surely had at most `presence_members_max` members just before it, and
//! must not be when it surely had more; the room's size is bounded from
//! each membership's own welcome, final line and the chat lines it
//! received (`facts::Span`). Failures are reported under INV-5 (a notice
//! that must not be) and INV-7 (a notice that never came).
//!
//! The checker must never trust the server's word about itself and must
//! never depend on wall time: its verdict is a pure function of the
//! recording (its header included).

use crate::SpecId;
use std::collections::{BTreeMap, BTreeSet};

use crate::record::Recording;

pub(crate) mod facts;
pub(crate) mod rules;
pub mod session;
pub(crate) mod walk;

#[cfg(test)]
mod tests;

pub use facts::conn_labels;
use facts::Facts;

/// Every ID the checker judges, in the order of the verdict table.
pub const CHECKED_IDS: [SpecId; 21] = [
    SpecId::Inv1,
    SpecId::Inv2,
    SpecId::Inv3,
    SpecId::Inv4,
    SpecId::Inv5,
    SpecId::Inv6,
    SpecId::Inv7,
    SpecId::Inv8,
    SpecId::Inv9,
    SpecId::Srv1,
    SpecId::Wire8,
    SpecId::Wire10,
    SpecId::Sess1,
    SpecId::Sess3,
    SpecId::Sess6,
    SpecId::Cmd6,
    SpecId::Cmd7,
    SpecId::Leave5,
    SpecId::Leave7,
    SpecId::Limit3,
    SpecId::Sim,
];

/// Time after the last fault or action from which a run counts as
/// quiesced, beyond the server's idle timeout and linger.
pub const QUIET_MARGIN_MS: u64 = 1_500;

/// One broken rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The SPEC ID.
    pub id: SpecId,
    /// The connections involved, as transcript labels.
    pub clients: Vec<String>,
    /// What is wrong, with the exact lines.
    pub detail: String,
}

/// A step of a scripted case (conform) that did not happen as the case
/// says: part of the verdict, so that the transcript and the summary agree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepFailure {
    /// The step's index in the case's script (the script's length for
    /// the checks after its last step).
    pub step: usize,
    /// The IDs the step checks.
    pub ids: Vec<SpecId>,
    /// What went wrong.
    pub why: String,
}

/// The checker's result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Every violation found (at most one per ID and connection).
    pub violations: Vec<Violation>,
    /// Chat lines received in all.
    pub messages_delivered: usize,
    /// Connections opened.
    pub connections: usize,
    /// Memberships (welcomes received).
    pub memberships: usize,
    /// Whether the run ended quiesced (INV-7 was checked).
    pub quiesced: bool,
    /// A scripted step that failed, if the run had a script (conform).
    pub step_failure: Option<StepFailure>,
    /// How often each ID was judged: occasions on which a rule looked at
    /// something the ID governs (a line, a membership, a departure; the
    /// rules' docs list them), whether it held or not. An ID absent here
    /// had nothing to judge.
    pub judged: BTreeMap<SpecId, u64>,
}

impl Verdict {
    /// Whether no rule was broken and no scripted step failed.
    pub fn passed(&self) -> bool {
        self.violations.is_empty() && self.step_failure.is_none()
    }

    /// The violated IDs (a failed step's included), sorted, without repeats.
    pub fn violated_ids(&self) -> Vec<SpecId> {
        let mut ids: BTreeSet<SpecId> = self.violations.iter().map(|v| v.id).collect();
        if let Some(f) = &self.step_failure {
            ids.extend(f.ids.iter().copied());
        }
        ids.into_iter().collect()
    }
}

/// One violation as a rule finds it: connections by index.
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub(crate) id: SpecId,
    pub(crate) conns: Vec<usize>,
    pub(crate) detail: String,
}

/// A rule over the whole recording.
type RecordingRule = fn(&Facts, &mut rules::Judged) -> Vec<Finding>;
/// A rule over one server run (epoch) of the recording.
type RunRule = fn(&Facts, usize, &mut rules::Judged) -> Vec<Finding>;

/// The rules judged once per recording, before the per-run rules.
const PER_RECORDING: [(&str, RecordingRule); 2] = [
    ("wire", rules::wire::check),
    ("session", rules::session::check),
];

/// The rules judged for each server run, in this order.
const PER_RUN: [(&str, RunRule); 3] = [
    ("views", rules::views::check),
    ("senders", rules::senders::check),
    ("reference", rules::reference::check),
];

/// Violations so far, at most one per ID and first connection.
struct Tally {
    violations: Vec<Violation>,
    reported: BTreeSet<(SpecId, String)>,
}

impl Tally {
    fn add(&mut self, facts: &Facts, findings: Vec<Finding>) {
        for f in findings {
            let clients: Vec<String> = f
                .conns
                .iter()
                .map(|&c| facts.conns[c].label.clone())
                .collect();
            let first = clients.first().cloned().unwrap_or_default();
            if self.reported.insert((f.id, first)) {
                self.violations.push(Violation {
                    id: f.id,
                    clients,
                    detail: f.detail,
                });
            }
        }
    }
}

/// Judges a recording.
pub fn check(rec: &Recording) -> Verdict {
    let facts = Facts::build(rec);
    let mut tally = Tally {
        violations: Vec::new(),
        reported: BTreeSet::new(),
    };
    let mut judged = rules::Judged::default();
    for (_name, rule) in PER_RECORDING {
        tally.add(&facts, rule(&facts, &mut judged));
    }
    for epoch in 0..facts.epochs() {
        for (_name, rule) in PER_RUN {
            tally.add(&facts, rule(&facts, epoch, &mut judged));
        }
    }
    // INV-8 judges the losses found so far.
    let isolation = rules::isolation::check(&facts, &tally.violations, &mut judged);
    tally.add(&facts, isolation);
    let messages_delivered = facts
        .conns
        .iter()
        .flat_map(|c| c.recv.iter())
        .filter(|(_, _, l)| l.as_ref().is_some_and(|l| l.speech().is_some()))
        .count();
    Verdict {
        memberships: facts.conns.iter().filter(|c| c.member.is_some()).count(),
        connections: facts.conns.len(),
        violations: tally.violations,
        messages_delivered,
        quiesced: facts.header.quiesced(),
        step_failure: None,
        judged: judged.into_map(),
    }
}
