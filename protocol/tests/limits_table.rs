//! Goal: SPEC §8's limits table and the one table in `protocol::limits`
//! say the same (LIMIT-1: every limit above, with its default): every row
//! names fields of `Limits` with their defaults, in field order; every
//! field has a row; and the IDs a row gives for the outcome are among the
//! field's `spec_ids`, which `--help` shows.
//!
//! Method: read SPEC.md as text and split §8's table into cells. A row's
//! names are the backquoted words before its first `: `; its defaults are
//! the numbers of the default cell outside parentheses, one per name
//! (`20 per s, burst 50`); its IDs are the `WORD-n` of the last cell's
//! parentheses. Compare with `Limits::default().values()`.

use protocol::Limits;

/// One row of SPEC §8's table: `(names, defaults, ids)`.
type Row = (Vec<String>, Vec<String>, Vec<String>);

fn spec() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../SPEC.md");
    std::fs::read_to_string(path).expect("SPEC.md is readable")
}

/// The rows of §8's table, in order.
fn spec_rows(spec: &str) -> Vec<Row> {
    let start = spec.find("## 8. Limits").expect("SPEC.md has a §8");
    let section = &spec[start..];
    let end = section[1..].find("\n## ").map_or(section.len(), |i| i + 1);
    section[..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 3, "a row of three cells: {l}");
            let (names, _) = cells[0]
                .split_once(": ")
                .unwrap_or_else(|| panic!("`name`: what it bounds: {l}"));
            let names = names
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect();
            let defaults = words(&outside_parentheses(cells[1]), |c| c.is_ascii_digit());
            let ids = cells[2]
                .rsplit_once('(')
                .map(|(_, ids)| words(ids, |c| c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or_default()
                .into_iter()
                .filter(|w| w.contains('-'))
                .collect();
            (names, defaults, ids)
        })
        .collect()
}

fn outside_parentheses(text: &str) -> String {
    let mut depth = 0;
    text.chars()
        .filter(|&c| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => return depth == 0,
            }
            false
        })
        .collect()
}

/// The maximal runs of characters that satisfy `part`.
fn words(text: &str, part: impl Fn(char) -> bool) -> Vec<String> {
    text.split(|c| !part(c))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn limit_1_spec_8_table_matches_the_limits_table() {
    let rows = spec_rows(&spec());
    assert!(
        rows.len() >= 10,
        "found only {} rows in SPEC §8",
        rows.len()
    );
    let mut spec_fields = Vec::new();
    for (names, defaults, ids) in &rows {
        assert_eq!(
            names.len(),
            defaults.len(),
            "one default per name in the row of {names:?}: {defaults:?}"
        );
        assert!(!ids.is_empty(), "the row of {names:?} names its IDs");
        for (name, default) in names.iter().zip(defaults) {
            spec_fields.push((name.clone(), default.clone(), ids.clone()));
        }
    }
    let fields = Limits::default().values();
    let names = |v: Vec<&str>| v.join(", ");
    assert_eq!(
        names(spec_fields.iter().map(|(n, _, _)| n.as_str()).collect()),
        names(fields.iter().map(|(f, _)| f.name).collect()),
        "SPEC §8 has a row for every field of Limits, in field order"
    );
    for ((name, default, ids), (field, value)) in spec_fields.iter().zip(&fields) {
        assert_eq!(default, value, "SPEC §8's default of {name}");
        let field_ids: Vec<&str> = field.spec_ids.split(", ").collect();
        for id in ids {
            assert!(
                field_ids.contains(&id.as_str()),
                "SPEC §8 gives {id} for {name}; its spec_ids are {field_ids:?}"
            );
        }
    }
}

// The parser above on rows shaped like SPEC's, so a change of layout fails
// here rather than passing with nothing read.
#[test]
fn spec_rows_reads_names_defaults_and_ids() {
    let text = "## 8. Limits\n\n| limit | default | when exceeded |\n| --- | --- | --- |\n\
        | `a_max`: things | 32 (the grammar's maximum) | `! x`, closed (NAME-3) |\n\
        | `b_per_s`, `c_lines`: a bucket | 20 per s, burst 50 | dropped (LIMIT-3) |\n\
        | `d_max`: names | 100 (1 to 400) | counted: `... and 12 more` (SESS-1, SESS-4) |\n\
        \n## 9. Errors\n| `e_max`: not §8 | 1 | x (ERR-1) |\n";
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        spec_rows(text),
        [
            (owned(&["a_max"]), owned(&["32"]), owned(&["NAME-3"])),
            (
                owned(&["b_per_s", "c_lines"]),
                owned(&["20", "50"]),
                owned(&["LIMIT-3"])
            ),
            (
                owned(&["d_max"]),
                owned(&["100"]),
                owned(&["SESS-1", "SESS-4"])
            ),
        ]
    );
}
