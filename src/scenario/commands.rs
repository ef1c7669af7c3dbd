//! Command lines written inside steps — kubectl's, etcdctl's and a node shell's — read far
//! enough to reject what no component will ever answer (an unknown verb) and to find the
//! manifest files a kubectl command names.
//!
//! Words are split as a POSIX shell would (single and double quotes, backslash escapes), since
//! users copy these lines from a terminal. kubectl's verbs and global flags follow
//! `staging/src/k8s.io/kubectl/pkg/cmd/cmd.go`; the `-f/--filename`, `-R/--recursive` and
//! `-k/--kustomize` flags follow `staging/src/k8s.io/kubectl/pkg/cmd/util` (FilenameOptions).
//! Simplification: flags are not checked per verb; the kubectl component will do that.

/// kubectl verbs a scenario may use.
pub const KUBECTL_VERBS: &[&str] = &[
    "annotate",
    "api-resources",
    "apply",
    "auth",
    "cluster-info",
    "cordon",
    "create",
    "delete",
    "describe",
    "drain",
    "events",
    "explain",
    "expose",
    "get",
    "label",
    "logs",
    "patch",
    "replace",
    "rollout",
    "run",
    "scale",
    "set",
    "taint",
    "top",
    "uncordon",
    "version",
    "wait",
];

const ROLLOUT_SUBCOMMANDS: &[&str] = &["history", "pause", "restart", "resume", "status", "undo"];
const SET_SUBCOMMANDS: &[&str] = &["env", "image", "resources", "selector", "serviceaccount"];

/// kubectl's global flags that take a separate value (`--namespace x`).
const GLOBAL_FLAGS_WITH_VALUE: &[&str] = &[
    "-n",
    "--namespace",
    "--as",
    "--as-group",
    "--as-uid",
    "--context",
    "--cluster",
    "--user",
    "-s",
    "--server",
    "--kubeconfig",
    "--request-timeout",
    "--token",
    "-v",
];

/// etcdctl (v3) commands a scenario may use (`etcdctl/ctlv3/ctl.go`).
pub const ETCDCTL_COMMANDS: &[&str] = &[
    "alarm",
    "check",
    "compaction",
    "defrag",
    "del",
    "endpoint",
    "get",
    "lease",
    "member",
    "put",
    "txn",
    "version",
    "watch",
];

/// Programs `Exec` can run inside a node (what DESIGN.md promises a learner).
pub const NODE_PROGRAMS: &[&str] = &[
    "cat",
    "crictl",
    "curl",
    "iptables",
    "iptables-save",
    "ipvsadm",
    "ls",
    "ps",
    "systemctl",
];

/// A kubectl command line, read far enough to check and to find its files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubectlCommand {
    pub verb: String,
    pub words: Vec<String>,
    /// Values of `-f/--filename`, as written.
    pub files: Vec<String>,
    /// `-R/--recursive`: directories named by `-f` are walked.
    pub recursive: bool,
}

/// Why a command line was rejected; the text says what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CommandError(pub String);

/// Splits a command line into words like a POSIX shell (quotes and backslashes; no expansion).
pub fn split_words(line: &str) -> Result<Vec<String>, CommandError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    // Each iteration consumes at least one character.
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(CommandError("unterminated ' quote".into())),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(CommandError("unterminated \" quote".into())),
                        },
                        Some(c) => word.push(c),
                        None => return Err(CommandError("unterminated \" quote".into())),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Reads a kubectl command line (without the leading `kubectl`, which is tolerated).
pub fn parse_kubectl(line: &str) -> Result<KubectlCommand, CommandError> {
    let mut words = split_words(line)?;
    if words.first().is_some_and(|w| w == "kubectl") {
        words.remove(0);
    }
    let mut verb = None;
    let mut files = Vec::new();
    let mut recursive = false;
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_str();
        let value = words.get(i + 1).cloned();
        match word {
            "-f" | "--filename" => {
                files.push(
                    value.ok_or_else(|| CommandError(format!("flag {word} needs a file name")))?,
                );
                i += 2;
                continue;
            }
            "-k" | "--kustomize" => {
                return Err(CommandError(
                    "kustomize (-k) is not supported; name the manifests with -f".into(),
                ));
            }
            "-R" | "--recursive" | "--recursive=true" => recursive = true,
            _ => {
                if let Some(file) = word
                    .strip_prefix("--filename=")
                    .or_else(|| word.strip_prefix("-f="))
                {
                    files.push(file.to_string());
                } else if word.starts_with("-k=") || word.starts_with("--kustomize=") {
                    return Err(CommandError(
                        "kustomize (-k) is not supported; name the manifests with -f".into(),
                    ));
                } else if verb.is_none() && GLOBAL_FLAGS_WITH_VALUE.contains(&word) {
                    i += 2;
                    continue;
                } else if verb.is_none() && !word.starts_with('-') {
                    verb = Some(word.to_string());
                }
            }
        }
        i += 1;
    }
    let verb = verb.ok_or_else(|| {
        CommandError(format!(
            "expected a kubectl command such as \"get pods\"; known verbs: {}",
            KUBECTL_VERBS.join(", ")
        ))
    })?;
    if !KUBECTL_VERBS.contains(&verb.as_str()) {
        return Err(CommandError(format!(
            "unknown kubectl verb {verb:?}, expected one of: {}",
            KUBECTL_VERBS.join(", ")
        )));
    }
    let sub = |subs: &[&str]| -> Result<(), CommandError> {
        let position = words.iter().position(|w| *w == verb).unwrap_or(0);
        let next = words[position + 1..].iter().find(|w| !w.starts_with('-'));
        match next {
            Some(s) if subs.contains(&s.as_str()) => Ok(()),
            other => Err(CommandError(format!(
                "kubectl {verb} expects one of: {}{}",
                subs.join(", "),
                other.map(|s| format!(", found {s:?}")).unwrap_or_default()
            ))),
        }
    };
    match verb.as_str() {
        "rollout" => sub(ROLLOUT_SUBCOMMANDS)?,
        "set" => sub(SET_SUBCOMMANDS)?,
        _ => {}
    }
    if let Some(url) = files.iter().find(|f| f.contains("://")) {
        return Err(CommandError(format!(
            "-f {url}: a simulation cannot fetch URLs; save the manifest next to the scenario"
        )));
    }
    if files.iter().any(|f| f == "-") {
        return Err(CommandError(
            "-f - (standard input) has no input in a scenario; use an Apply(\"...\") step".into(),
        ));
    }
    Ok(KubectlCommand {
        verb,
        words,
        files,
        recursive,
    })
}

/// Checks an etcdctl command line's command word.
pub fn check_etcdctl(line: &str) -> Result<Vec<String>, CommandError> {
    let mut words = split_words(line)?;
    if words.first().is_some_and(|w| w == "etcdctl") {
        words.remove(0);
    }
    match words.iter().find(|w| !w.starts_with('-')) {
        Some(command) if ETCDCTL_COMMANDS.contains(&command.as_str()) => Ok(words),
        found => Err(CommandError(format!(
            "{}expected an etcdctl command: {}",
            found
                .map(|f| format!("unknown etcdctl command {f:?}, "))
                .unwrap_or_default(),
            ETCDCTL_COMMANDS.join(", ")
        ))),
    }
}

/// Checks the program of a command run inside a node.
pub fn check_node_command(line: &str) -> Result<Vec<String>, CommandError> {
    let words = split_words(line)?;
    match words.first() {
        Some(program) if NODE_PROGRAMS.contains(&program.as_str()) => Ok(words),
        found => Err(CommandError(format!(
            "{}expected one of: {}",
            found
                .map(|f| format!("{f:?} is not available on a simulated node, "))
                .unwrap_or_default(),
            NODE_PROGRAMS.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            split_words(r#"get pods -o jsonpath='{.items[*].metadata.name}' -l "app=web x" a\ b"#)
                .unwrap(),
            [
                "get",
                "pods",
                "-o",
                "jsonpath={.items[*].metadata.name}",
                "-l",
                "app=web x",
                "a b"
            ]
        );
        assert!(split_words("get 'x").is_err());
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn kubectl_verbs_and_files() {
        let table: &[(&str, &str, &[&str])] = &[
            ("apply -f manifests/a.yaml", "apply", &["manifests/a.yaml"]),
            ("--as=alice get pods", "get", &[]),
            ("-n kube-system get pods", "get", &[]),
            (
                "create --filename=a.yaml -f b.yaml",
                "create",
                &["a.yaml", "b.yaml"],
            ),
            ("kubectl get nodes", "get", &[]),
            ("rollout status deployment/web", "rollout", &[]),
            ("set image deployment/web nginx=nginx:1.16.1", "set", &[]),
            (
                "wait --for=condition=Available deployment/nginx-deployment --timeout=120s",
                "wait",
                &[],
            ),
        ];
        for (line, verb, files) in table {
            let command = parse_kubectl(line).unwrap();
            assert_eq!(command.verb, *verb, "{line}");
            assert_eq!(command.files, *files, "{line}");
        }
    }

    #[test]
    fn kubectl_rejections_say_what_was_expected() {
        let table: &[(&str, &str)] = &[
            (
                "gte pods",
                "unknown kubectl verb \"gte\", expected one of: annotate",
            ),
            ("", "expected a kubectl command"),
            (
                "rollout stats deployment/web",
                "kubectl rollout expects one of: history",
            ),
            ("apply -f", "flag -f needs a file name"),
            ("apply -k dir", "kustomize"),
            ("apply -f https://k8s.io/x.yaml", "cannot fetch URLs"),
            ("apply -f -", "standard input"),
        ];
        for (line, expected) in table {
            let err = parse_kubectl(line).unwrap_err().to_string();
            assert!(err.contains(expected), "{line}: {err}");
        }
    }

    #[test]
    fn etcdctl_and_node_commands() {
        assert!(check_etcdctl("endpoint status -w table").is_ok());
        assert!(check_etcdctl("--endpoints=x member list").is_ok());
        assert!(
            check_etcdctl("memberz list")
                .unwrap_err()
                .to_string()
                .contains("memberz")
        );
        assert!(check_node_command("crictl ps").is_ok());
        assert!(
            check_node_command("rm -rf /")
                .unwrap_err()
                .to_string()
                .contains("\"rm\"")
        );
    }
}
