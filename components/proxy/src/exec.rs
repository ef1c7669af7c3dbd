//! The node commands that show kube-proxy's work, from their argument vectors to what the
//! shell prints: `iptables [-t TABLE] -L|-S [CHAIN] [-n]`, `iptables-save [-t TABLE]` and
//! `ipvsadm -L -n` (and their usual spellings: `-nL`, `-Ln`, `--list`, `--numeric`,
//! `--table=nat`). For the `Exec(node, "...")` step: split the command line, pass the words
//! after the program name.
//!
//! Simplifications: only the options a learner uses to read rules are accepted; others (a
//! rule change, `-v` counters, `--line-numbers`) end with a message naming the option and
//! exit status 2, as iptables does for an option it does not know.

use crate::iptables::{Table, iptables_list, iptables_list_rules, iptables_save_table};
use crate::ipvs::ipvsadm_list;
use crate::rules::RuleTable;

/// What a command printed and its exit status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutput {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
}

impl CommandOutput {
    fn ok(stdout: String) -> Self {
        CommandOutput {
            stdout,
            stderr: String::new(),
            status: 0,
        }
    }
    fn fail(stderr: String, status: i32) -> Self {
        CommandOutput {
            stdout: String::new(),
            stderr,
            status,
        }
    }
}

const IPTABLES_VERSION: &str = "iptables v1.8.9 (nf_tables)";

fn unknown_option(program: &str, opt: &str) -> CommandOutput {
    CommandOutput::fail(
        format!(
            "{program}: unknown option \"{opt}\"\nTry `{program} -h' or '{program} --help' for more information.\n"
        ),
        2,
    )
}

fn parse_table(name: &str) -> Result<Table, CommandOutput> {
    Table::parse(name).ok_or_else(|| {
        CommandOutput::fail(
            format!(
                "{IPTABLES_VERSION}: table '{name}' does not exist\nPerhaps iptables or your kernel needs to be upgraded.\n"
            ),
            3,
        )
    })
}

/// Splits `-nL` into `-n -L`; long options and their `=value` are kept whole.
fn expand(args: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for a in args {
        if let Some(rest) = a.strip_prefix("--") {
            match rest.split_once('=') {
                Some((k, v)) => {
                    out.push(format!("--{k}"));
                    out.push(v.to_string());
                }
                None => out.push((*a).to_string()),
            }
        } else if let Some(flags) = a.strip_prefix('-').filter(|f| f.len() > 1) {
            // `-tnat` is `-t nat`.
            if let Some(table) = flags.strip_prefix('t') {
                out.push("-t".into());
                out.push(table.to_string());
            } else {
                out.extend(flags.chars().map(|c| format!("-{c}")));
            }
        } else {
            out.push((*a).to_string());
        }
    }
    out
}

/// `iptables ARGS...`.
pub fn iptables(args: &[&str], rules: &RuleTable) -> CommandOutput {
    let args = expand(args);
    let mut table = Table::Filter;
    let mut numeric = false;
    // (list with -S?, chain)
    let mut action: Option<(bool, Option<String>)> = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "-t" | "--table" => {
                let Some(name) = args.get(i + 1) else {
                    return CommandOutput::fail(
                        format!("{IPTABLES_VERSION}: option \"{a}\" requires an argument\n"),
                        2,
                    );
                };
                table = match parse_table(name) {
                    Ok(t) => t,
                    Err(e) => return e,
                };
                i += 1;
            }
            "-n" | "--numeric" => numeric = true,
            "-L" | "--list" | "-S" | "--list-rules" => {
                let chain = args.get(i + 1).filter(|c| !c.starts_with('-')).cloned();
                if chain.is_some() {
                    i += 1;
                }
                action = Some((matches!(a, "-S" | "--list-rules"), chain));
            }
            other => return unknown_option("iptables", other),
        }
        i += 1;
    }
    let Some((as_rules, chain)) = action else {
        return CommandOutput::fail(
            format!(
                "{IPTABLES_VERSION}: no command specified\nTry `iptables -h' or 'iptables --help' for more information.\n"
            ),
            2,
        );
    };
    let result = if as_rules {
        iptables_list_rules(rules, table, chain.as_deref())
    } else {
        iptables_list(rules, table, chain.as_deref(), numeric)
    };
    match result {
        Ok(out) => CommandOutput::ok(out),
        Err(e) => CommandOutput::fail(format!("{e}\n"), 1),
    }
}

/// `iptables-save ARGS...`; `stamp` is the node's date as `date` prints it.
pub fn iptables_save(args: &[&str], rules: &RuleTable, stamp: &str) -> CommandOutput {
    let args = expand(args);
    let mut only = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-t" | "--table" => {
                let Some(name) = args.get(i + 1) else {
                    return unknown_option("iptables-save", "-t");
                };
                only = match parse_table(name) {
                    Ok(t) => Some(t),
                    Err(e) => return e,
                };
                i += 1;
            }
            other => return unknown_option("iptables-save", other),
        }
        i += 1;
    }
    match iptables_save_table(rules, stamp, only) {
        Ok(out) => CommandOutput::ok(out),
        Err(e) => CommandOutput::fail(format!("{e}\n"), 1),
    }
}

/// `ipvsadm ARGS...`: the listing (`-L`/`-l`/`--list`, with `-n`/`--numeric`; without `-n`
/// addresses are printed numerically all the same, there being no DNS to ask).
pub fn ipvsadm(args: &[&str], rules: &RuleTable) -> CommandOutput {
    let mut list = args.is_empty();
    for a in expand(args) {
        match a.as_str() {
            "-L" | "-l" | "--list" => list = true,
            "-n" | "--numeric" => {}
            other => return unknown_option("ipvsadm", other),
        }
    }
    if !list {
        return CommandOutput::fail("ipvsadm: no command specified\n".into(), 2);
    }
    CommandOutput::ok(ipvsadm_list(rules))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ProxyMode;
    use crate::testdata::{service, slice};

    fn table() -> RuleTable {
        let svc = service("default", "web", "10.96.0.50", &[("", 80, None)], None);
        let s = slice(
            "default",
            "web-1",
            "web",
            &[("", 8080)],
            &[("10.244.1.2", true, false)],
        );
        RuleTable::build(ProxyMode::Iptables, [&svc], [&s])
    }

    #[test]
    fn argument_spellings_and_errors() {
        let t = table();
        let a = iptables(&["-t", "nat", "-L", "KUBE-SERVICES", "-n"], &t);
        assert_eq!(a, iptables(&["-tnat", "-nL", "KUBE-SERVICES"], &t));
        assert_eq!(
            a,
            iptables(&["--table=nat", "--list", "KUBE-SERVICES", "--numeric"], &t)
        );
        assert_eq!(a.status, 0);
        assert!(a.stdout.starts_with("Chain KUBE-SERVICES (2 references)\n"));
        // The filter table by default.
        assert!(
            iptables(&["-L"], &t)
                .stdout
                .starts_with("Chain INPUT (policy ACCEPT)\n")
        );
        let s = iptables(&["-t", "nat", "-S", "KUBE-SERVICES"], &t);
        assert!(
            s.stdout
                .starts_with("-N KUBE-SERVICES\n-A KUBE-SERVICES -d 10.96.0.50/32 ")
        );
        let missing = iptables(&["-t", "nat", "-L", "NOPE"], &t);
        assert_eq!(
            (missing.status, missing.stderr.as_str()),
            (1, "iptables: No chain/target/match by that name.\n")
        );
        assert_eq!(iptables(&["-t", "raw2", "-L"], &t).status, 3);
        assert_eq!(iptables(&["-A", "INPUT"], &t).status, 2);
        let save = iptables_save(&["-t", "nat"], &t, "Wed Nov 25 12:00:00 2026");
        assert!(save.stdout.contains("*nat\n") && !save.stdout.contains("*filter\n"));
        assert!(
            ipvsadm(&["-Ln"], &t)
                .stdout
                .starts_with("IP Virtual Server version 1.2.1")
        );
        assert_eq!(ipvsadm(&["-A"], &t).status, 2);
    }
}
