//! Every member's received sequence against the room order of the run's
//! reference (INV-1..4, INV-6, INV-7, LEAVE-1 reasons): it must be the
//! reference's lines between its join and its departure, minus its own
//! messages, as a prefix. Where each membership lies in that order is
//! kept for [`super::departures`].

use std::collections::{BTreeMap, BTreeSet};

use super::{departures, Judged};
use crate::check::facts::{first_said_of, show, Facts, FirstSaid, Membership, OwnEnd, Span};
use crate::check::Finding;
use crate::lines::{key, SLine};
use crate::SpecId;

/// A room line as the reference received it: (time, raw, parsed).
pub(crate) type RoomLine<'f> = (u64, &'f [u8], &'f SLine);

/// One membership's name along a stream of room lines: the name it holds
/// when each line comes, following its rename notices (CMD-7).
pub(crate) struct Follow<'a>(pub(crate) &'a str);

impl<'a> Follow<'a> {
    /// The name held when `l` comes (for its own rename notice, the old
    /// one); after that notice, the new one.
    pub(crate) fn at(&mut self, l: &'a SLine) -> &'a str {
        let now = self.0;
        if let SLine::Renamed { from, to } = l {
            if from == now {
                self.0 = to;
            }
        }
        now
    }
}

/// Whether `l` is a chat or action line from `name`.
fn spoken_by(l: &SLine, name: &str) -> bool {
    l.speech().is_some_and(|(from, _, _)| from == name)
}

/// The reference's side of one run, shared by every comparison.
pub(crate) struct Ref<'f> {
    pub(crate) facts: &'f Facts<'f>,
    pub(crate) epoch: usize,
    pub(crate) members: Vec<usize>,
    pub(crate) refc: usize,
    pub(crate) ref_name: String,
    pub(crate) ref_lines: Vec<RoomLine<'f>>,
    /// Whether the reference saw the whole run, quiesced.
    pub(crate) ref_complete: bool,
    pub(crate) ref_welcome: u64,
    /// Whether the room may have been quiet (LEAVE-6).
    pub(crate) quiet_room: bool,
    first: FirstSaid,
    /// What the reference said, by (name, text, action).
    ref_said: BTreeSet<(&'f str, &'f str, bool)>,
    pub(crate) spans: BTreeMap<usize, Span>,
}

/// Where the compared memberships lie in the reference's order.
#[derive(Default)]
pub(crate) struct Placed {
    /// Each compared membership: where its departure notice is in the
    /// reference's lines, if there.
    pub(crate) departures: Vec<(usize, Option<usize>)>,
    /// Members whose connection ended and who were never announced
    /// departing, to be judged once the room's size is bounded.
    pub(crate) unannounced: Vec<(usize, u64)>,
    /// Where a silent joiner's messages may begin in the reference's lines.
    pub(crate) said_from: BTreeMap<usize, usize>,
    /// (member, name key, start, end) in the reference's lines.
    pub(crate) intervals: Vec<(usize, String, usize, usize)>,
    used_joins: BTreeSet<usize>,
}

/// The rule, for the run `epoch`.
pub(crate) fn check(facts: &Facts, epoch: usize, judged: &mut Judged) -> Vec<Finding> {
    let Some(refc) = facts.reference(epoch) else {
        return Vec::new();
    };
    let quiet = facts.header.quiesced() && epoch + 1 == facts.epochs();
    let mut run = Ref::new(facts, epoch, refc, quiet);
    let mut placed = Placed::default();
    let mut problems = Vec::new();
    let mut order = run.members.clone();
    order.sort_by_key(|&c| {
        let m = facts.member(c);
        (m.claim_us, m.welcome_us, c)
    });
    for r in order {
        if r != refc {
            run.compare(r, &mut placed, &mut problems, judged);
        }
    }
    problems.extend(departures::check(&mut run, &placed, judged));
    problems
}

/// How many of `got`'s first lines (at most 64) match `exp`'s, and
/// whether that is all that can be compared.
fn prefix(got: &[RoomLine], exp: &[RoomLine]) -> (bool, usize) {
    let cap = got.len().min(exp.len()).min(64);
    let n = got
        .iter()
        .zip(exp.iter())
        .take(cap)
        .take_while(|(g, e)| g.1 == e.1)
        .count();
    (n == cap, n)
}

/// Whether the departure notice the reference got (if any) fits how the
/// member's own connection ended.
fn departure_agrees(own: &OwnEnd, notice: Option<&SLine>) -> bool {
    match (own, notice) {
        (OwnEnd::Goodbye, Some(SLine::Left(_))) => true,
        (OwnEnd::Removed(code), Some(l @ SLine::Removed { .. })) => {
            code.removal().is_some() && l.removal_reason() == code.removal()
        }
        (OwnEnd::Shutdown, None) => true,
        // It saw no final line: any departure (or none yet) fits.
        (OwnEnd::None, _) => true,
        _ => false,
    }
}

impl<'f> Ref<'f> {
    fn new(facts: &'f Facts<'f>, epoch: usize, refc: usize, quiet: bool) -> Self {
        let rm = facts.member(refc);
        let quiet_room = facts.quiet_possible(epoch);
        let first = facts.first_said(epoch);
        let spans = if quiet_room {
            facts.spans(epoch, &first)
        } else {
            BTreeMap::new()
        };
        Ref {
            facts,
            epoch,
            members: facts.members_of(epoch),
            refc,
            ref_name: rm.name.clone(),
            ref_lines: facts.room_lines(refc),
            ref_complete: facts.lasts_to_end(refc) && quiet,
            ref_welcome: rm.welcome_us,
            quiet_room,
            first,
            ref_said: rm.messages.iter().flat_map(|s| s.keys()).collect(),
            spans,
        }
    }

    /// When a chat or action line was first said, if it was.
    fn first_at(&self, l: &SLine) -> Option<u64> {
        first_said_of(&self.first, l)
    }

    fn compare(
        &self,
        r: usize,
        placed: &mut Placed,
        problems: &mut Vec<Finding>,
        judged: &mut Judged,
    ) {
        let m = self.facts.member(r);
        let Some((got, name_at_ref)) = self.view_of(m, r) else {
            return;
        };
        let pre_ref = m.welcome_us <= self.ref_welcome;
        // The name it holds where its comparison starts (CMD-7).
        let name0 = if pre_ref {
            name_at_ref
        } else {
            m.name.as_str()
        };
        let start = if pre_ref {
            0
        } else if self.quiet_room && self.facts.join_silent(r) {
            self.silent_start(r, m, &got, placed)
        } else {
            // The reference must have been told of this join.
            judged.one(SpecId::Inv5);
            match self.announced_start(r, m, &got, placed) {
                Some(start) => start,
                None => {
                    if self.ref_complete && self.ref_welcome < m.claim_us {
                        let detail =
                            format!("{} was never told that {} joined", self.ref_name, m.name);
                        problems.push(Facts::finding(SpecId::Inv5, &[self.refc, r], detail));
                    }
                    return;
                }
            }
        };
        let end = self.end_after(r, m, name0, start);
        placed.departures.push((r, end));
        // A membership whose departure may have been silent has no known
        // end in room order.
        if end.is_some() || !self.quiet_room || self.facts.lasts_to_end(r) {
            placed
                .intervals
                .extend(self.name_intervals(r, name0, start, end));
        }
        let expected = self.expected_from(name0, start, end);
        problems.extend(self.departure_reason(r, m, end, judged));
        for id in [SpecId::Inv1, SpecId::Inv2, SpecId::Inv3, SpecId::Inv6] {
            judged.one(id);
        }
        if let Some(f) = self.first_mismatch(r, m, &got, &expected) {
            problems.push(f);
            return;
        }
        problems.extend(self.completeness(r, m, end, &got, &expected, judged));
        if let Some(f) = self.gone_unannounced(r, m, end, placed, judged) {
            problems.push(f);
        }
    }

    /// What `r` received that can be compared with the reference, or
    /// `None` when nothing of it can be: from the reference's join if `r`
    /// was there first, up to the reference's departure, without the
    /// reference's own messages and actions (`senders` checks those); and
    /// the name `r` held when the reference joined (CMD-7).
    fn view_of(&self, m: &'f Membership, r: usize) -> Option<(Vec<RoomLine<'f>>, &'f str)> {
        let mut got = self.facts.room_lines(r);
        let ref_name = self.ref_name.as_str();
        let rm = self.facts.member(self.refc);
        let in_ref_list = m.all_names().any(|n| rm.list.names.iter().any(|l| l == n));
        // Welcomed before the reference and not in its list: it came and
        // went before the reference joined (after a server restart).
        if m.welcome_us <= self.ref_welcome && !in_ref_list {
            return None;
        }
        let mut own = Follow(m.name.as_str());
        if m.welcome_us <= self.ref_welcome {
            let ref_joined = format!("* {ref_name} has joined the chat.").into_bytes();
            let p = got
                .iter()
                .position(|(_, raw, _)| *raw == ref_joined.as_slice())?;
            for (_, _, l) in &got[..p] {
                own.at(l);
            }
            got.drain(..=p);
        }
        // Its departure notice names the name it held last, after its
        // last rename (if this member saw that rename).
        let last = rm.held.last().map_or(ref_name, String::as_str);
        let renamed_at = got
            .iter()
            .rposition(|(_, _, l)| matches!(l, SLine::Renamed { to, .. } if to == last))
            .unwrap_or(0);
        let ref_gone = |l: &SLine| l.is_departure() && l.notice_subject() == Some(last);
        if let Some(p) = got[renamed_at..].iter().position(|(_, _, l)| ref_gone(l)) {
            got.truncate(renamed_at + p);
        }
        got.retain(|(_, _, l)| {
            !l.speech()
                .is_some_and(|(f, t, a)| self.ref_said.contains(&(f, t, a)))
        });
        Some((got, own.0))
    }

    /// The reference's lines from `start` to `end`, without the own
    /// messages and actions of the member that holds `name` at `start`:
    /// what that member must have received.
    fn expected_from(&self, name: &'f str, start: usize, end: Option<usize>) -> Vec<RoomLine<'f>> {
        let mut f = Follow(name);
        self.ref_lines[start..end.unwrap_or(self.ref_lines.len())]
            .iter()
            .filter(|(_, _, l)| !spoken_by(l, f.at(l)))
            .copied()
            .collect()
    }

    /// INV-9: the stretches of the reference's lines from `start` to `end`
    /// in which `r` held each of its names, as (member, name key, start,
    /// end); `end` unknown is `usize::MAX`.
    fn name_intervals(
        &self,
        r: usize,
        name: &'f str,
        start: usize,
        end: Option<usize>,
    ) -> Vec<(usize, String, usize, usize)> {
        let stop = end.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        let mut f = Follow(name);
        let mut from = start;
        let upto = stop.min(self.ref_lines.len());
        for i in start..upto {
            let before = f.at(self.ref_lines[i].2);
            if f.0 != before {
                out.push((r, key(before), from, i));
                from = i;
            }
        }
        out.push((r, key(f.0), from, stop));
        out
    }

    /// Where `r`'s departure notice is in the reference's lines from
    /// `start`, if there.
    fn end_after(&self, r: usize, m: &Membership, name: &'f str, start: usize) -> Option<usize> {
        let stop = if self.quiet_room {
            self.quiet_stop(r, m, start)
        } else {
            self.ref_lines.len()
        };
        let mut f = Follow(name);
        let namesake_later = self.members.iter().any(|&s| {
            s != r
                && self.facts.conns[s]
                    .member
                    .as_ref()
                    .is_some_and(|sm| key(&sm.name) == key(&m.name) && sm.claim_us >= m.welcome_us)
        });
        self.ref_lines[start..stop]
            .iter()
            .position(|(_, _, l)| {
                let now = f.at(l);
                l.is_departure()
                    && l.notice_subject() == Some(now)
                    && (!namesake_later || self.could_be_about(r, m, l))
            })
            .map(|p| start + p)
    }

    /// Whether departure notice `l` can be about membership `r` by its
    /// kind: `has left` only after an exit or `/quit`, a removal never
    /// after a goodbye. Used where a later membership of the same name
    /// could own the notice (its join and its departure may both have
    /// been silent in a quiet room, LEAVE-6).
    fn could_be_about(&self, r: usize, m: &Membership, l: &SLine) -> bool {
        let asked_to_leave = || {
            self.facts.conns[r].sent.iter().any(|(_, line)| {
                let t = String::from_utf8_lossy(line);
                let t = t.trim_matches([' ', '\t', '\r']);
                t == "exit" || t == "/quit"
            })
        };
        match l {
            SLine::Left(_) => m.end == OwnEnd::Goodbye || asked_to_leave(),
            _ => m.end != OwnEnd::Goodbye,
        }
    }

    /// In a room that may have been quiet, its departure may be silent:
    /// a later join of its name, or a chat line first said after its own
    /// final line, is surely after it. The first room line a later
    /// membership of its name received is after that one's join, so after
    /// this departure too.
    fn quiet_stop(&self, r: usize, m: &Membership, start: usize) -> usize {
        let name = &m.name;
        let mut stop = self.ref_lines.len();
        let dep_hi = self.spans.get(&r).and_then(|sp| sp.dep_hi);
        let surely_after = |l: &SLine| {
            matches!(l, SLine::Joined(n) if key(n) == key(name))
                || dep_hi.is_some_and(|e| self.first_at(l).is_some_and(|t| t >= e))
        };
        if let Some(q) = self.ref_lines[start..]
            .iter()
            .position(|(_, _, l)| surely_after(l))
        {
            stop = start + q;
        }
        for s in &self.members {
            let Some(sm) = self.facts.conns[*s].member.as_ref() else {
                continue;
            };
            if *s == r || key(&sm.name) != key(name) || sm.claim_us < m.welcome_us {
                continue;
            }
            let Some((_, first_raw, _)) = self.facts.room_lines(*s).first().copied() else {
                continue;
            };
            if let Some(q) = self
                .ref_lines
                .iter()
                .position(|(t, raw, _)| *t >= sm.claim_us && *raw == first_raw)
            {
                stop = stop.min(q.max(start));
            }
        }
        stop
    }

    /// A silent join (LEAVE-6): no notice marks it. It lies after every
    /// line the reference received before the claim was sent, and before
    /// any chat line first said after the welcome arrived. Within those
    /// bounds, the latest start after which the reference's lines match
    /// what this member received.
    fn silent_start(
        &self,
        r: usize,
        m: &Membership,
        got: &[RoomLine],
        placed: &mut Placed,
    ) -> usize {
        let lines = &self.ref_lines;
        let lo = lines
            .iter()
            .take_while(|(t, _, _)| *t <= m.claim_us)
            .count();
        let hi = lo
            + lines[lo..]
                .iter()
                .position(|(t, _, l)| {
                    let later_chat = !spoken_by(l, &m.name)
                        && self.first_at(l).is_some_and(|t| t >= m.welcome_us);
                    // Its own departure notice, if any, is after its join:
                    // a notice of its name the reference got after its
                    // welcome arrived.
                    let own_notice = *t >= m.welcome_us
                        && l.is_departure()
                        && l.notice_subject() == Some(m.name.as_str());
                    later_chat || own_notice
                })
                .unwrap_or(lines.len() - lo);
        placed.said_from.insert(r, lo);
        let mut best: Option<((bool, usize), usize)> = None;
        for i in lo..=hi {
            let candidate = i == lo
                || i == hi
                || got
                    .first()
                    .is_some_and(|g| lines.get(i).is_some_and(|l| l.1 == g.1));
            if !candidate {
                continue;
            }
            let exp = self.expected_from(&m.name, i, self.end_after(r, m, &m.name, i));
            // How its own connection ended does not help here: an earlier
            // start could reach an earlier membership's departure notice
            // of the same name.
            let score = prefix(got, &exp);
            if best.is_none_or(|(b, _)| score >= b) {
                best = Some((score, i));
            }
        }
        best.map_or(hi, |(_, i)| i)
    }

    /// The join of this membership: among the unused joined notices for
    /// its name after its claim (a ghost that died before its welcome may
    /// have joined just before), the one after which the reference's lines
    /// match what this member received and whose departure matches its
    /// own final line.
    fn announced_start(
        &self,
        r: usize,
        m: &Membership,
        got: &[RoomLine],
        placed: &mut Placed,
    ) -> Option<usize> {
        let joined_line = format!("* {} has joined the chat.", m.name).into_bytes();
        let mut best: Option<((bool, bool, usize), usize)> = None;
        for (i, (t, raw, _)) in self.ref_lines.iter().enumerate() {
            if *raw != joined_line.as_slice() || *t < m.claim_us || placed.used_joins.contains(&i) {
                continue;
            }
            let end = self.end_after(r, m, &m.name, i + 1);
            let exp = self.expected_from(&m.name, i + 1, end);
            let (full, n) = prefix(got, &exp);
            let consistent = departure_agrees(&m.end, end.map(|e| self.ref_lines[e].2));
            let score = (full, consistent, n);
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, i));
            }
        }
        let (_, j) = best?;
        placed.used_joins.insert(j);
        Some(j + 1)
    }

    /// LEAVE-1: the departure reason others were told is the one the
    /// member itself saw.
    fn departure_reason(
        &self,
        r: usize,
        m: &Membership,
        end: Option<usize>,
        judged: &mut Judged,
    ) -> Option<Finding> {
        let e = end?;
        let notice = self.ref_lines[e].2;
        let want = match &m.end {
            OwnEnd::Goodbye => "left",
            OwnEnd::Removed(code) => code.removal().map_or("", |r| r.as_str()),
            _ => return None,
        };
        judged.one(SpecId::Inv5);
        let have = match notice {
            SLine::Left(_) => "left",
            SLine::Removed { reason, .. } => reason.as_str(),
            _ => "",
        };
        (want != have).then(|| {
            Facts::finding(
                SpecId::Inv5,
                &[r, self.refc],
                format!(
                    "{}'s own final line says {want}, others were told: {}",
                    m.name,
                    show(self.ref_lines[e].1)
                ),
            )
        })
    }

    /// The first place where `got` differs from `expected`, judged by
    /// what the two lines are.
    fn first_mismatch(
        &self,
        r: usize,
        m: &Membership,
        got: &[RoomLine],
        expected: &[RoomLine],
    ) -> Option<Finding> {
        let own = |l: &SLine| {
            l.speech()
                .is_some_and(|k| m.messages.iter().any(|s| s.keys().any(|o| o == k)))
        };
        let n = got.len().min(expected.len());
        let i = (0..n).find(|&i| got[i].1 != expected[i].1)?;
        let (g, w) = (&got[i], &expected[i]);
        let ref_name = &self.ref_name;
        let g_later_expected = expected[i..].iter().any(|e| e.1 == g.1);
        let w_later_got = got[i..].iter().any(|x| x.1 == w.1);
        let (id, detail) = if own(g.2) {
            (
                SpecId::Inv2,
                format!("received its own message {}", show(g.1)),
            )
        } else if g_later_expected && w_later_got {
            (
                SpecId::Inv3,
                format!(
                    "received {} before {}, but {ref_name} received them the other way round",
                    show(g.1),
                    show(w.1)
                ),
            )
        } else if g_later_expected {
            (
                SpecId::Inv4,
                format!("missed {} (next received: {})", show(w.1), show(g.1)),
            )
        } else if got[..i].iter().any(|x| x.1 == g.1) {
            (SpecId::Inv1, format!("received {} twice", show(g.1)))
        } else if self.ref_lines.iter().any(|x| x.1 == g.1) {
            (SpecId::Inv6, format!("received {} outside its membership (before its join or after its departure in {ref_name}'s order)", show(g.1)))
        } else {
            (
                SpecId::Inv1,
                format!(
                    "received {}, which is not in the room order {ref_name} saw; expected {}",
                    show(g.1),
                    show(w.1)
                ),
            )
        };
        Some(Facts::finding(id, &[r, self.refc], detail))
    }

    /// INV-4, INV-7, INV-1: a prefix that should be whole is, and nothing
    /// follows the reference's lines.
    fn completeness(
        &self,
        r: usize,
        m: &Membership,
        end: Option<usize>,
        got: &[RoomLine],
        expected: &[RoomLine],
        judged: &mut Judged,
    ) -> Option<Finding> {
        let conns = [r, self.refc];
        let left_with_exit = m.end == OwnEnd::Goodbye && end.is_some();
        let to_the_end = self.ref_complete && self.facts.lasts_to_end(r);
        if left_with_exit {
            judged.one(SpecId::Inv4);
        } else if to_the_end {
            judged.one(SpecId::Inv7);
        }
        if self.ref_complete && end.is_none() {
            judged.one(SpecId::Inv1);
        }
        if got.len() < expected.len() {
            let missing = expected[got.len()].1;
            let lost = expected.len() - got.len();
            if left_with_exit {
                let detail = format!(
                    "left with exit but never received {} ({lost} lines missing)",
                    show(missing)
                );
                return Some(Facts::finding(SpecId::Inv4, &conns, detail));
            }
            if to_the_end {
                let detail = format!(
                    "still connected at the quiesced end but never received {} ({lost} lines missing)",
                    show(missing)
                );
                return Some(Facts::finding(SpecId::Inv7, &conns, detail));
            }
        } else if got.len() > expected.len() && self.ref_complete && end.is_none() {
            let extra = &got[expected.len()];
            let detail = format!(
                "received {}, which {} never did",
                show(extra.1),
                self.ref_name
            );
            return Some(Facts::finding(SpecId::Inv1, &conns, detail));
        }
        None
    }

    /// A member whose connection is gone is removed and announced (INV-7,
    /// LEAVE-1, LEAVE-4); in a room that may have been quiet, judged later
    /// against the room's size.
    fn gone_unannounced(
        &self,
        r: usize,
        m: &Membership,
        end: Option<usize>,
        placed: &mut Placed,
        judged: &mut Judged,
    ) -> Option<Finding> {
        if !self.ref_complete {
            return None;
        }
        let (closed_us, _) = self.facts.conns[r].closed?;
        if !self.facts.removal_due(closed_us) {
            return None;
        }
        if end.is_some() {
            // Announced in time: judged, and it holds.
            judged.one(SpecId::Inv7);
            return None;
        }
        if self.quiet_room {
            placed.unannounced.push((r, closed_us));
            return None;
        }
        judged.one(SpecId::Inv7);
        Some(Facts::finding(
            SpecId::Inv7,
            &[r, self.refc],
            format!(
                "{}'s connection ended at {} but {} was never told of its departure",
                m.name,
                crate::transcript::time(closed_us),
                self.ref_name
            ),
        ))
    }
}
