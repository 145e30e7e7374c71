//! Each member's own view of who is present: notices exactly once
//! (INV-5), no echo (INV-2), nothing from absent members (INV-6), no two
//! members with one name (INV-9), chat and action lines were really said
//! by their member, once (INV-1). Renames (CMD-7) move a member from its
//! old name to its new one in the view, its own included.

use std::collections::{BTreeMap, BTreeSet};

use super::Judged;
use crate::check::facts::{show, Facts};
use crate::check::Finding;
use crate::lines::{key, SLine};
use crate::SpecId;

/// Who said what: (name, text, action) -> (senders, times said).
type SaidBy<'f> = BTreeMap<(&'f str, &'f str, bool), Vec<(usize, u64)>>;

/// A join nobody was told of (LEAVE-6): the member (or possible ghost),
/// its name's key and the texts it said.
type SilentJoin<'f> = (usize, String, BTreeSet<&'f str>);

/// What every view of one run shares.
struct Run<'f> {
    facts: &'f Facts<'f>,
    members: Vec<usize>,
    said: SaidBy<'f>,
    /// Whether the room may have been quiet (LEAVE-6).
    quiet: bool,
    silent_joins: Vec<SilentJoin<'f>>,
    /// Names whose departure may have been silent.
    dep_maybe_silent: BTreeSet<String>,
}

/// One member's view as its room lines are read.
struct View<'r, 'f> {
    run: &'r Run<'f>,
    r: usize,
    /// The key of the name it holds now.
    own: String,
    /// Silent joins this member may hear of only by their lines.
    unseen: Vec<&'r SilentJoin<'f>>,
    /// Key -> name of every member it knows present.
    present: BTreeMap<String, String>,
    complete_list: bool,
    heard: BTreeMap<(&'f str, &'f str, bool), usize>,
    problems: Vec<Finding>,
    judged: Judged,
}

/// The rule, for the run `epoch`.
pub(crate) fn check(facts: &Facts, epoch: usize, judged: &mut Judged) -> Vec<Finding> {
    let members = facts.members_of(epoch);
    let mut run = Run {
        facts,
        said: said_by(facts, epoch, &members),
        members,
        quiet: facts.quiet_possible(epoch),
        silent_joins: Vec::new(),
        dep_maybe_silent: BTreeSet::new(),
    };
    if run.quiet {
        run.place_silent(epoch);
    }
    let mut problems = Vec::new();
    for &r in &run.members {
        // Each message it sent must not come back to it (INV-2).
        judged.add(SpecId::Inv2, facts.member(r).messages.len());
        let mut view = View::new(&run, r);
        for (at, raw, line) in facts.room_lines(r) {
            view.read(at, raw, line);
        }
        problems.extend(view.problems);
        for (id, n) in view.judged.into_map() {
            judged.add(id, n as usize);
        }
    }
    problems
}

/// Who said what in the run: members and possible ghosts.
fn said_by<'f>(facts: &'f Facts, epoch: usize, members: &[usize]) -> SaidBy<'f> {
    let mut said: SaidBy = BTreeMap::new();
    for &c in members {
        for s in &facts.member(c).messages {
            for k in s.keys() {
                said.entry(k).or_default().push((c, s.at));
            }
        }
    }
    for (c, conn) in facts.conns.iter().enumerate() {
        if conn.epoch != epoch {
            continue;
        }
        for (_, texts) in &conn.ghost_claims {
            for s in texts {
                for k in s.keys() {
                    said.entry(k).or_default().push((c, s.at));
                }
            }
        }
    }
    said
}

impl<'f> Run<'f> {
    /// LEAVE-6. A member whose join was silent (and a possible ghost,
    /// whose join nobody can see) may be heard from, or announced
    /// departing, without a joined notice: it enters a receiver's view at
    /// its first line. A name whose departure may have been silent may be
    /// announced joining again while still in a view.
    fn place_silent(&mut self, epoch: usize) {
        let facts = self.facts;
        let first = facts.first_said(epoch);
        let spans = facts.spans(epoch, &first);
        for &c in &self.members {
            let m = facts.member(c);
            if facts.join_silent(c) {
                let texts = m.messages.iter().map(|s| s.text.as_str()).collect();
                self.silent_joins.push((c, key(&m.name), texts));
            }
            if facts.size_bounds(epoch, c, &spans).1 > facts.presence_max() {
                // Each name it held is free again at its departure (or
                // its next rename, which is always announced).
                self.dep_maybe_silent.extend(m.all_names().map(key));
            }
        }
        for g in facts.ghosts_of(epoch) {
            for (name, texts) in &facts.conns[g].ghost_claims {
                for s in texts {
                    self.dep_maybe_silent.extend(s.names.iter().map(|n| key(n)));
                }
                let texts = texts.iter().map(|s| s.text.as_str()).collect();
                self.silent_joins.push((g, key(name), texts));
                self.dep_maybe_silent.insert(key(name));
            }
        }
    }
}

impl<'r, 'f> View<'r, 'f> {
    fn new(run: &'r Run<'f>, r: usize) -> Self {
        let m = run.facts.member(r);
        // All silent joins but those surely before its own (they are in
        // its list).
        let unseen = run
            .silent_joins
            .iter()
            .filter(|(s, _, _)| {
                *s != r
                    && run.facts.conns[*s]
                        .member
                        .as_ref()
                        .is_none_or(|sm| sm.welcome_us > m.claim_us)
            })
            .collect();
        let present = m.list.names.iter().map(|n| (key(n), n.clone())).collect();
        View {
            run,
            r,
            own: key(&m.name),
            unseen,
            present,
            complete_list: m.list.more == 0,
            heard: BTreeMap::new(),
            problems: Vec::new(),
            judged: Judged::default(),
        }
    }

    fn push(&mut self, id: SpecId, conns: &[usize], detail: String) {
        self.problems.push(Facts::finding(id, conns, detail));
    }

    fn read(&mut self, at: u64, raw: &[u8], line: &'f SLine) {
        match line {
            SLine::Joined(n) => self.joined(at, raw, n),
            SLine::Left(n) | SLine::Removed { name: n, .. } => self.departed(raw, n),
            SLine::Chat { from, text } => self.chat(at, raw, (from, text, false)),
            SLine::Action { from, text } => self.chat(at, raw, (from, text, true)),
            SLine::Renamed { from, to } => self.renamed(raw, from, to),
            _ => {}
        }
    }

    fn joined(&mut self, at: u64, raw: &[u8], n: &str) {
        self.judged.one(SpecId::Inv5);
        self.judged.one(SpecId::Inv9);
        let k = key(n);
        if self.run.quiet {
            self.joined_quietly(at, raw, &k);
        }
        if k == self.own {
            self.push(
                SpecId::Inv9,
                &[self.r],
                format!("told that a member with its own name joined: {}", show(raw)),
            );
        } else if let Some(p) = self
            .present
            .get(&k)
            .filter(|_| !self.run.dep_maybe_silent.contains(&k))
        {
            let id = if p == n { SpecId::Inv5 } else { SpecId::Inv9 };
            let detail = format!("{} while {p} is present", show(raw));
            self.push(id, &[self.r], detail);
        }
        self.present.insert(k, n.to_owned());
    }

    /// LEAVE-6: announced, so some membership of that name claimed
    /// before it was welcomed quietly.
    fn joined_quietly(&mut self, at: u64, raw: &[u8], k: &str) {
        let (facts, r) = (self.run.facts, self.r);
        let cands: Vec<usize> = self
            .run
            .members
            .iter()
            .copied()
            .filter(|&s| {
                let sm = facts.member(s);
                s != r && key(&sm.name) == k && sm.claim_us <= at
            })
            .collect();
        let ghost = self
            .run
            .silent_joins
            .iter()
            .any(|(g, gk, _)| facts.conns[*g].member.is_none() && *gk == k);
        if let (false, Some(&last)) = (ghost, cands.last()) {
            if cands.iter().all(|&s| facts.join_silent(s)) {
                let count = facts.conns[last]
                    .member
                    .as_ref()
                    .map_or(0, |sm| sm.list.count);
                let p = facts.presence_max();
                self.push(
                    SpecId::Inv5,
                    &[r, last],
                    format!(
                        "{} in a quiet room: the joiner's welcome counts {count} \
                         members, more than presence_members_max {p} (LEAVE-6)",
                        show(raw)
                    ),
                );
            }
        }
    }

    /// Takes the first unseen silent join that `fits` (and every other of
    /// that member) out of the unseen ones; whether there was one.
    fn take_unseen(&mut self, fits: impl Fn(&SilentJoin) -> bool) -> bool {
        let Some(i) = self.unseen.iter().position(|e| fits(e)) else {
            return false;
        };
        let s = self.unseen[i].0;
        self.unseen.retain(|e| e.0 != s);
        true
    }

    fn departed(&mut self, raw: &[u8], n: &str) {
        self.judged.one(SpecId::Inv5);
        let k = key(n);
        if k == self.own {
            self.push(
                SpecId::Inv5,
                &[self.r],
                format!("told of its own departure: {}", show(raw)),
            );
        } else if self.complete_list && self.present.get(&k).map(String::as_str) != Some(n) {
            // A silent joiner's departure may be announced (after the
            // name's holder in view, if any, may have departed silently).
            if (!self.present.contains_key(&k) || self.run.dep_maybe_silent.contains(&k))
                && self.take_unseen(|e| e.1 == k)
            {
                return;
            }
            self.push(
                SpecId::Inv5,
                &[self.r],
                format!(
                    "departure of a member not present (twice, or never joined): {}",
                    show(raw)
                ),
            );
        }
        self.present.remove(&k);
    }

    /// CMD-7: a rename moves a member from its old name to its new one;
    /// the old name must be present (INV-5, as for a departure), the new
    /// one held by nobody else (INV-9).
    fn renamed(&mut self, raw: &[u8], from: &str, to: &str) {
        self.judged.one(SpecId::Inv9);
        let (kf, kt) = (key(from), key(to));
        if kf == self.own {
            self.own = kt.clone();
        } else if kt == self.own {
            self.push(
                SpecId::Inv9,
                &[self.r],
                format!("told that a member took its own name: {}", show(raw)),
            );
        } else if self.complete_list && self.present.get(&kf).map(String::as_str) != Some(from) {
            let silent = (!self.present.contains_key(&kf)
                || self.run.dep_maybe_silent.contains(&kf))
                && self.take_unseen(|e| e.1 == kf);
            if !silent {
                self.push(
                    SpecId::Inv5,
                    &[self.r],
                    format!("rename of a member not present: {}", show(raw)),
                );
            }
        }
        if kt != kf
            && kt != self.own
            && self.present.contains_key(&kt)
            && !self.run.dep_maybe_silent.contains(&kt)
        {
            self.push(
                SpecId::Inv9,
                &[self.r],
                format!("{} while that name is present", show(raw)),
            );
        }
        self.present.remove(&kf);
        self.present.insert(kt, to.to_owned());
    }

    fn chat(&mut self, at: u64, raw: &[u8], said: (&'f str, &'f str, bool)) {
        self.judged.one(SpecId::Inv1);
        let (from, text, _) = said;
        let senders = self.run.said.get(&said);
        if key(from) == self.own {
            if senders.is_some_and(|s| s.iter().any(|(c, _)| *c == self.r)) {
                let detail = format!("received its own message: {}", show(raw));
                self.push(SpecId::Inv2, &[self.r], detail);
            } else {
                let detail = format!("a line in its own name it never sent: {}", show(raw));
                self.push(SpecId::Inv1, &[self.r], detail);
            }
            return;
        }
        self.said_once(at, raw, said);
        if !self.complete_list {
            return;
        }
        self.judged.one(SpecId::Inv6);
        if self.present.get(&key(from)).map(String::as_str) != Some(from) {
            self.absent_sender(raw, from, text, said);
        }
    }

    /// INV-1: the line was said by its member, before, as often.
    fn said_once(&mut self, at: u64, raw: &[u8], said: (&'f str, &'f str, bool)) {
        let r = self.r;
        let Some(s) = self.run.said.get(&said) else {
            let detail = format!("no member {} ever sent this text: {}", said.0, show(raw));
            self.push(SpecId::Inv1, &[r], detail);
            return;
        };
        let n = self.heard.entry(said).or_default();
        *n += 1;
        let n = *n;
        if s.iter().all(|(_, t)| *t > at) {
            let detail = format!("received before it was sent: {}", show(raw));
            self.push(SpecId::Inv1, &[r, s[0].0], detail);
        } else if n > s.len() {
            let detail = format!(
                "received {} times, said {} times: {}",
                n,
                s.len(),
                show(raw)
            );
            self.push(SpecId::Inv1, &[r, s[0].0], detail);
        }
    }

    /// INV-6: a line from a member not in this view, unless it is a
    /// silent joiner's first line (it is present from its join on).
    fn absent_sender(
        &mut self,
        raw: &[u8],
        from: &'f str,
        text: &'f str,
        said: (&'f str, &'f str, bool),
    ) {
        let k = key(from);
        let free = !self.present.contains_key(&k) || self.run.dep_maybe_silent.contains(&k);
        if free && self.take_unseen(|e| e.1 == k && e.2.contains(text)) {
            self.present.insert(k, from.to_owned());
            return;
        }
        let who = self
            .run
            .said
            .get(&said)
            .and_then(|s| s.first())
            .map(|(c, _)| *c);
        let mut conns = vec![self.r];
        conns.extend(who);
        self.push(
            SpecId::Inv6,
            &conns,
            format!(
                "a line from {from}, who is not in the room (departed or not yet joined): {}",
                show(raw)
            ),
        );
    }
}
