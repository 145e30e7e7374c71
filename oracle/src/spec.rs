//! `SpecId`: every requirement ID of SPEC.md, as a type, so that a
//! misspelled ID does not compile. The rules of the judge, the cases of
//! conform and the soak's live view all name what they check with it.
//!
//! The list is SPEC.md's, in SPEC order; a test reads SPEC.md and fails
//! if the two disagree.

use std::fmt;

macro_rules! spec_ids {
    ($($variant:ident => $text:literal,)*) => {
        /// A requirement ID of SPEC.md (`WIRE-1` ... `CLI-1`), or [`SpecId::Sim`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum SpecId {
            $(
                #[doc = concat!("`", $text, "`")]
                $variant,
            )*
            /// Not a requirement: the simulation itself failed (a host
            /// panicked or returned an error), so nothing was judged.
            Sim,
        }

        impl SpecId {
            /// Every requirement of SPEC.md, in SPEC order (not [`SpecId::Sim`]).
            pub const ALL: &'static [SpecId] = &[$(SpecId::$variant),*];

            /// The ID as SPEC.md spells it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(SpecId::$variant => $text,)*
                    SpecId::Sim => "SIM",
                }
            }
        }
    };
}

spec_ids! {
    Wire1 => "WIRE-1",
    Wire2 => "WIRE-2",
    Wire3 => "WIRE-3",
    Wire4 => "WIRE-4",
    Wire5 => "WIRE-5",
    Wire6 => "WIRE-6",
    Wire7 => "WIRE-7",
    Wire8 => "WIRE-8",
    Wire9 => "WIRE-9",
    Wire10 => "WIRE-10",
    Wire11 => "WIRE-11",
    Name1 => "NAME-1",
    Name2 => "NAME-2",
    Name3 => "NAME-3",
    Name4 => "NAME-4",
    Name5 => "NAME-5",
    Name6 => "NAME-6",
    Sess1 => "SESS-1",
    Sess2 => "SESS-2",
    Sess3 => "SESS-3",
    Sess4 => "SESS-4",
    Sess5 => "SESS-5",
    Sess6 => "SESS-6",
    Sess7 => "SESS-7",
    Sess8 => "SESS-8",
    Cmd1 => "CMD-1",
    Cmd2 => "CMD-2",
    Cmd3 => "CMD-3",
    Cmd4 => "CMD-4",
    Cmd5 => "CMD-5",
    Cmd6 => "CMD-6",
    Cmd7 => "CMD-7",
    Msg1 => "MSG-1",
    Msg2 => "MSG-2",
    Srv1 => "SRV-1",
    Srv2 => "SRV-2",
    Srv3 => "SRV-3",
    Srv4 => "SRV-4",
    Leave1 => "LEAVE-1",
    Leave2 => "LEAVE-2",
    Leave3 => "LEAVE-3",
    Leave4 => "LEAVE-4",
    Leave5 => "LEAVE-5",
    Leave6 => "LEAVE-6",
    Leave7 => "LEAVE-7",
    Inv1 => "INV-1",
    Inv2 => "INV-2",
    Inv3 => "INV-3",
    Inv4 => "INV-4",
    Inv5 => "INV-5",
    Inv6 => "INV-6",
    Inv7 => "INV-7",
    Inv8 => "INV-8",
    Inv9 => "INV-9",
    Limit1 => "LIMIT-1",
    Limit2 => "LIMIT-2",
    Limit3 => "LIMIT-3",
    Limit4 => "LIMIT-4",
    Err1 => "ERR-1",
    Cli1 => "CLI-1",
}

impl SpecId {
    /// The ID spelled `text` (`SpecId::Inv1`; `SpecId::Sim` too), if there is one.
    pub fn parse(text: &str) -> Option<SpecId> {
        if text == "SIM" {
            return Some(SpecId::Sim);
        }
        SpecId::ALL.iter().copied().find(|id| id.as_str() == text)
    }

    /// The section prefix (`INV` for `INV-7`), used to order IDs and to
    /// group rules.
    pub fn section(self) -> &'static str {
        let s = self.as_str();
        s.split_once('-').map_or(s, |(section, _)| section)
    }
}

/// `ids` as text, joined by `sep` (`"INV-1, INV-7"`).
pub fn join(ids: &[SpecId], sep: &str) -> String {
    let texts: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
    texts.join(sep)
}

impl fmt::Display for SpecId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IDs SPEC.md defines: a bold, bracketed ID opening a requirement
    /// (`**[WIRE-1]**` or `**[INV-1] Integrity.**`).
    fn defined_in_spec() -> Vec<String> {
        let spec = include_str!("../../SPEC.md");
        let mut ids = Vec::new();
        for rest in spec.split("**[").skip(1) {
            let Some((id, _)) = rest.split_once(']') else {
                continue;
            };
            if !ids.iter().any(|known: &String| known == id) {
                ids.push(id.to_owned());
            }
        }
        ids
    }

    // Every ID SPEC.md defines is a SpecId, in the same order, and no
    // SpecId is missing from SPEC.md.
    #[test]
    fn spec_md_and_the_enum_agree() {
        let ours: Vec<String> = SpecId::ALL
            .iter()
            .map(|id| id.as_str().to_owned())
            .collect();
        assert_eq!(defined_in_spec(), ours, "SPEC.md's IDs vs SpecId::ALL");
    }

    #[test]
    fn parse_is_the_inverse_of_as_str() {
        for &id in SpecId::ALL.iter().chain([SpecId::Sim].iter()) {
            assert_eq!(SpecId::parse(id.as_str()), Some(id));
        }
        assert_eq!(SpecId::parse("INV-10"), None);
        assert_eq!(SpecId::parse("inv-1"), None);
        assert_eq!(SpecId::Inv7.section(), "INV");
    }
}
