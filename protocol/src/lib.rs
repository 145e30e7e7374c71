//! The chat line protocol of `SPEC.md`, as plain data and functions.
//!
//! This crate does no I/O: no sockets, no clock, no runtime, no randomness.
//! Time, where it matters, arrives as an argument. The server, the client
//! and the simulator all speak the protocol through this crate only.
//!
//! Layout:
//! - [`limits`]: every bound of SPEC §8 with its default, from one table
//!   that also gives the reference server's flags.
//! - [`name`]: member names (SPEC §2).
//! - `chars`: the forbidden characters of WIRE-7, shared by the decoder
//!   and the server-line formatter; public as
//!   [`decoder::is_forbidden_char`] and [`decoder::has_forbidden_char`].
//! - [`decoder`]: the incremental, bounded line decoder (SPEC §1).
//! - `codec` (feature `codec`): a `tokio_util::codec` shell around the
//!   decoder.
//! - [`telnet`]: telnet commands taken out of client input and every
//!   option refused (WIRE-10), before the decoder sees the bytes.
//! - [`client`]: lines a client sends, by session state (SPEC §3, §4).
//! - [`server`]: lines the server sends (SPEC §5, §9).
//! - [`session`]: the per-connection state machine (SPEC §3).
//!
//! **Invariant:** the modules' `crate::` imports form a DAG (checked by a
//! test below): `limits` and `chars` import nothing from the crate;
//! `name` → `limits`; `server` → `chars`, `limits`, `name`; `decoder` →
//! `chars`, `server` (for [`ErrorCode`]); `codec` → `decoder`; `client` →
//! `name`; `session` → `client`, `decoder`, `limits`, `name`, `server`.
//!
//! Features (off by default): `codec` (above); `clap`: `Limits` derives `clap::Args`, so a
//! binary can `#[command(flatten)]` every limit in as a flag.
#![deny(missing_docs)]

mod chars;
pub mod client;
#[cfg(feature = "codec")]
pub mod codec;
pub mod decoder;
pub mod limits;
pub mod name;
pub mod server;
pub mod session;
pub mod telnet;

pub use client::{MemberLine, NamingLine, Usage};
pub use decoder::{Framing, LineDecoder, LineError};
pub use limits::Limits;
pub use name::{Name, NameError, NameKey};
pub use server::{ErrorCode, MemberList, Reason, ServerLine};
pub use session::{Session, State, Step};

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// The modules of this crate that a module's source names through a
    /// `crate::` path (imports, paths in code, doc links).
    fn crate_refs(source: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
        let mut refs = BTreeSet::new();
        for (at, _) in source.match_indices("crate::") {
            let rest = &source[at + "crate::".len()..];
            let heads: Vec<&str> = match rest.strip_prefix('{') {
                // `crate::{a::X, b}`: the first segment of each item.
                Some(group) => {
                    let mut depth = 0usize;
                    let end = group
                        .find(|c| {
                            match c {
                                '{' => depth += 1,
                                '}' if depth == 0 => return true,
                                '}' => depth -= 1,
                                _ => {}
                            }
                            false
                        })
                        .unwrap_or(group.len());
                    let mut items = Vec::new();
                    let mut depth = 0usize;
                    let mut start = 0;
                    for (i, c) in group[..end].char_indices() {
                        match c {
                            '{' => depth += 1,
                            '}' => depth -= 1,
                            ',' if depth == 0 => {
                                items.push(&group[start..i]);
                                start = i + 1;
                            }
                            _ => {}
                        }
                    }
                    items.push(&group[start..end]);
                    items
                }
                None => vec![rest],
            };
            for head in heads {
                let head = head.trim_start();
                let ident: String = head
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if modules.contains(&ident) {
                    refs.insert(ident);
                }
            }
        }
        refs
    }

    /// The import graph between this crate's modules is acyclic, so each
    /// module can be read (and changed) knowing only what it imports.
    /// Method: read `src/*.rs` as text and search the graph depth-first.
    #[test]
    fn module_imports_form_a_dag() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut sources = BTreeMap::new();
        for entry in std::fs::read_dir(&src).expect("src/ is readable") {
            let path = entry.expect("src/ entry").path();
            let stem = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned);
            if let (Some(stem), Some("rs")) = (stem, path.extension().and_then(|e| e.to_str())) {
                if stem != "lib" {
                    let text = std::fs::read_to_string(&path).expect("module is readable");
                    sources.insert(stem, text);
                }
            }
        }
        assert!(sources.contains_key("decoder") && sources.contains_key("server"));
        let modules: BTreeSet<String> = sources.keys().cloned().collect();
        let graph: BTreeMap<&str, BTreeSet<String>> = sources
            .iter()
            .map(|(name, text)| {
                let mut refs = crate_refs(text, &modules);
                refs.remove(name);
                (name.as_str(), refs)
            })
            .collect();

        // Depth-first search; a module met again while on the path closes
        // a cycle. Bounded: each module is finished once.
        fn visit<'a>(
            module: &'a str,
            graph: &'a BTreeMap<&str, BTreeSet<String>>,
            path: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) {
            if done.contains(module) {
                return;
            }
            if let Some(at) = path.iter().position(|m| *m == module) {
                panic!("import cycle: {} -> {module}", path[at..].join(" -> "));
            }
            path.push(module);
            for next in &graph[module] {
                visit(next, graph, path, done);
            }
            path.pop();
            done.insert(module);
        }
        let mut done = BTreeSet::new();
        for module in graph.keys() {
            visit(module, &graph, &mut Vec::new(), &mut done);
        }
        assert_eq!(done.len(), graph.len());
    }

    #[test]
    fn crate_refs_reads_paths_and_groups() {
        let modules: BTreeSet<String> = ["a", "b", "c", "d"].map(String::from).into();
        let text = "use crate::a::X;\nuse crate::{b::{Y, Z}, c};\nlet _ = crate::e::f();";
        let found: Vec<String> = crate_refs(text, &modules).into_iter().collect();
        assert_eq!(found, ["a", "b", "c"]);
    }
}
