//! Nothing the parser is given makes it panic: arbitrary text, and mutations of the valid
//! scenarios, give a scenario or located errors.

use std::path::{Path, PathBuf};

use kubesim::scenario::{self, ScenarioError};
use proptest::prelude::*;

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn valid_scenarios() -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

/// Parses as if the text were a file in scenarios/ (so manifest paths resolve) and checks
/// that a rejection is located.
fn parse_is_ok_or_located(text: &str) {
    let path = scenarios_dir().join("fuzzed.ron");
    match scenario::load_str(text, &path) {
        Ok(_) => {}
        Err(ScenarioError::Invalid(diagnostics)) => {
            assert!(!diagnostics.is_empty());
            for d in diagnostics {
                assert!(d.pos.line >= 1 && d.pos.col >= 1, "{d}");
                assert!(!d.message.is_empty(), "{d}");
            }
        }
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    Duplicate { at: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let tokens = prop::sample::select(vec![
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        "\"",
        "r#\"",
        "\"#",
        "#",
        "//",
        "/*",
        "*/",
        "\\",
        "Leader(",
        "Crash(",
        "Some(",
        "-",
        "1e999",
        "\"5x\"",
        "\"kubesim-worker9\"",
        "é",
        "\n",
        "apply -f ",
        "---\n",
        ": [",
        "\u{0}",
    ]);
    prop_oneof![
        (any::<usize>(), 1..20usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), tokens).prop_map(|(at, t)| Mutation::Insert {
            at,
            text: t.to_string()
        }),
        (any::<usize>(), any::<String>()).prop_map(|(at, text)| Mutation::Insert { at, text }),
        (any::<usize>(), 1..40usize).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
    ]
}

fn char_boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, mutation: &Mutation) -> String {
    match mutation {
        Mutation::Delete { at, len } => {
            let start = char_boundary(text, *at);
            let end = char_boundary(text, (start + len).min(text.len()));
            format!("{}{}", &text[..start], &text[end.max(start)..])
        }
        Mutation::Insert { at, text: inserted } => {
            let at = char_boundary(text, *at);
            format!("{}{inserted}{}", &text[..at], &text[at..])
        }
        Mutation::Duplicate { at, len } => {
            let start = char_boundary(text, *at);
            let end = char_boundary(text, (start + len).min(text.len())).max(start);
            format!("{}{}", &text[..end], &text[start..])
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        parse_is_ok_or_located(&text);
    }

    #[test]
    fn ron_shaped_text_never_panics(text in "[ -~\n]{0,200}") {
        parse_is_ok_or_located(&format!("Scenario(steps: [{text}])"));
    }

    #[test]
    fn mutated_scenarios_never_panic(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let sources = valid_scenarios();
        let mut text = which.get(&sources).clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        parse_is_ok_or_located(&text);
    }
}
