//! Helpers shared by the CLI tests: run the built binary, read its summary line.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn kubesim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the kubesim binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The value of `key=` in the summary line (the last line of stdout).
pub fn summary_field(output: &Output, key: &str) -> String {
    let out = stdout(output);
    let last = out.lines().last().unwrap_or_default().to_string();
    last.split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_string))
        .unwrap_or_else(|| panic!("no {key}= in summary line {last:?}"))
}

/// Every `.ron` file in scenarios/.
pub fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    files
}

/// A fresh directory for one test's files.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kubesim-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("parent dir");
    }
    std::fs::write(&path, text).expect("write test file");
    path
}

/// Runs a scenario given as text; each step's output by its header line (`$ kubectl …`), in
/// order.
pub fn run_steps(name: &str, text: &str) -> Vec<(String, String)> {
    let dir = scratch_dir(name);
    let path = write(&dir, "s.ron", text);
    let loaded = ::kubesim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    ::kubesim::runner::run(&loaded, &::kubesim::runner::RunOptions::default(), &mut out)
        .expect("the run starts");
    let text = String::from_utf8(out).unwrap();
    let mut steps: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with("seed=") || line.starts_with("verdict:") {
            break;
        }
        if line.starts_with('[') && line.contains("] ") {
            let header = line.split_once("] ").map(|(_, h)| h).unwrap_or_default();
            steps.push((header.to_string(), String::new()));
        } else if let Some((_, body)) = steps.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    steps
}

/// The output of the step whose header line is `header`.
pub fn step_output<'a>(steps: &'a [(String, String)], header: &str) -> &'a str {
    steps
        .iter()
        .find(|(h, _)| h == header)
        .map(|(_, b)| b.as_str())
        .unwrap_or_else(|| panic!("no step {header:?} in {steps:#?}"))
}
