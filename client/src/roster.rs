//! The room's members as far as the client has heard: the names that Tab
//! completes.
//!
//! It owns one bounded list of names in the order the client learned them,
//! taken from the server's own lines: the welcome's and `/who`'s member
//! lists, join notices, departure notices and the senders of messages. It
//! must never do I/O, and never grow past [`ROSTER_NAMES_MAX`] names,
//! whatever a (bad) server sends.

use protocol::{Name, ServerLine};

/// The most names kept: the server's default `members_max`. Names heard
/// beyond it are not kept (they are not completed).
pub const ROSTER_NAMES_MAX: usize = 10_000;

/// The members the client knows of, in the order it learned them; one
/// entry per name, compared as the server does (ASCII case-folded, NAME-2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roster {
    names: Vec<Name>,
}

impl Roster {
    /// The names known, in the order learned.
    pub fn names(&self) -> &[Name] {
        &self.names
    }

    /// Forgets everyone (the connection ended: a new welcome lists the
    /// room again).
    pub fn clear(&mut self) {
        self.names.clear();
    }

    /// Learns from one server line; returns whether the list changed.
    pub fn learn(&mut self, line: &ServerLine) -> bool {
        match line {
            ServerLine::Welcome { members, .. } => {
                let before = std::mem::take(&mut self.names);
                for name in &members.names {
                    self.add(name);
                }
                before != self.names
            }
            // A capped list (`total` above the names shown) still tells
            // who is there; only a complete one tells who is not.
            ServerLine::Who(members) => {
                let before = self.names.clone();
                if members.total == members.names.len() {
                    self.names.clear();
                }
                for name in &members.names {
                    self.add(name);
                }
                before != self.names
            }
            ServerLine::Joined(name)
            | ServerLine::Chat { from: name, .. }
            | ServerLine::Action { from: name, .. } => self.add(name),
            ServerLine::Renamed { from, to } => {
                let removed = self.remove(from);
                self.add(to) || removed
            }
            ServerLine::Left(name) | ServerLine::Removed { name, .. } => self.remove(name),
            ServerLine::Prompt
            | ServerLine::Help(_)
            | ServerLine::Goodbye(_)
            | ServerLine::Shutdown
            | ServerLine::IdleWarning { .. }
            | ServerLine::Error { .. }
            | ServerLine::Info(_) => false,
        }
    }

    fn add(&mut self, name: &Name) -> bool {
        let key = name.key();
        if self.names.len() >= ROSTER_NAMES_MAX || self.names.iter().any(|n| n.key() == key) {
            return false;
        }
        self.names.push(name.clone());
        true
    }

    fn remove(&mut self, name: &Name) -> bool {
        let key = name.key();
        let before = self.names.len();
        self.names.retain(|n| n.key() != key);
        self.names.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learn(roster: &mut Roster, wire: &str) -> bool {
        roster.learn(&ServerLine::parse(wire).expect("a valid server line"))
    }

    fn names(roster: &Roster) -> Vec<&str> {
        roster.names().iter().map(Name::as_str).collect()
    }

    // SESS-4, CMD-2, SPEC §6: the roster follows the welcome, notices and
    // /who; names compare case-folded (NAME-2); a chat sender is a member.
    #[test]
    fn roster_follows_the_room_lines() {
        let mut r = Roster::default();
        assert!(learn(&mut r, "* Welcome, aa! Members (3): bb, Cc, aa"));
        assert_eq!(names(&r), ["bb", "Cc", "aa"]);
        assert!(learn(&mut r, "* dd has joined the chat."));
        assert!(!learn(&mut r, "* DD has joined the chat."), "once per name");
        assert!(learn(&mut r, "* bb has left the chat."));
        assert!(learn(
            &mut r,
            "* cc was removed from the chat (connection lost)."
        ));
        assert_eq!(names(&r), ["aa", "dd"]);
        assert!(learn(&mut r, "ee: hello"));
        assert!(!learn(&mut r, "ee: again"));
        assert!(!learn(&mut r, "* Enter your name:"));
        // A complete /who replaces the list; a capped one only adds.
        assert!(learn(&mut r, "* Members (2): aa, ff"));
        assert_eq!(names(&r), ["aa", "ff"]);
        assert!(learn(&mut r, "* Members (5): gg and 4 more"));
        assert_eq!(names(&r), ["aa", "ff", "gg"]);
        r.clear();
        assert!(r.names().is_empty());
    }

    // A server that announces endless joins cannot grow the roster past
    // its bound.
    #[test]
    fn roster_is_bounded() {
        let mut r = Roster::default();
        for i in 0..ROSTER_NAMES_MAX + 5 {
            learn(&mut r, &format!("* n{i} has joined the chat."));
        }
        assert_eq!(r.names().len(), ROSTER_NAMES_MAX);
    }
}
