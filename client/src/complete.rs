//! Tab completion of member names, as IRC clients do it: `bo<Tab>` becomes
//! `bob`, and `bob: ` at the start of a line.
//!
//! It owns only the choice of candidates; the names come from the session's
//! roster (what the server said) and the line editor applies the choice. It
//! must never do I/O.

use protocol::name::is_name_byte;
use protocol::Name;

/// Candidates for the name-like word that ends at byte `pos` of `line`:
/// the byte where that word starts and, in `names` order, each member
/// (other than `me`) whose name starts with the word, ASCII case-folded as
/// names compare (NAME-2). A word at the start of the line completes to
/// `name: `, the way people address someone. No word, no candidates.
pub fn complete(line: &str, pos: usize, names: &[Name], me: Option<&Name>) -> (usize, Vec<String>) {
    let Some(before) = line.get(..pos) else {
        return (pos, Vec::new());
    };
    let start = before
        .bytes()
        .rposition(|b| !is_name_byte(b))
        .map_or(0, |i| i + 1);
    let word = &before[start..];
    if word.is_empty() {
        return (pos, Vec::new());
    }
    let me = me.map(Name::key);
    let candidates = names
        .iter()
        .filter(|name| Some(name.key()) != me)
        .filter(|name| {
            name.as_str()
                .get(..word.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(word))
        })
        .map(|name| {
            if start == 0 {
                format!("{}: ", name.as_str())
            } else {
                name.as_str().to_owned()
            }
        })
        .collect();
    (start, candidates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<Name> {
        list.iter()
            .map(|n| Name::parse(n).expect("a valid name"))
            .collect()
    }

    #[test]
    fn completes_member_names() {
        let room = names(&["alice", "Bob", "bobby", "carol"]);
        let me = Name::parse("carol").expect("valid");
        let check = |line: &str, pos: usize, start: usize, want: &[&str]| {
            assert_eq!(
                complete(line, pos, &room, Some(&me)),
                (start, want.iter().map(|w| w.to_string()).collect()),
                "{line:?} at {pos}"
            );
        };
        check("bo", 2, 0, &["Bob: ", "bobby: "]);
        check("hi BO", 5, 3, &["Bob", "bobby"]);
        check("hi al, and", 5, 3, &["alice"]);
        check("ca", 2, 0, &[]); // not yourself
        check("hi ", 3, 3, &[]); // no word
        check("", 0, 0, &[]);
        check("x bob", 5, 2, &["Bob", "bobby"]);
        check("é", 1, 1, &[]); // not a character boundary
    }
}
