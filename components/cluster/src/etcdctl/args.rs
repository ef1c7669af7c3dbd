//! etcdctl's command line: words split as a shell would (quotes, backslashes), then cobra and
//! pflag's rules — flags anywhere among the arguments, `--name=value` or `--name value`,
//! boolean flags bare or `=true|false`, `-w table` / `-wtable` / `-w=table`, `--` ends flags —
//! and their error messages (`unknown flag: --foo`, `flag needs an argument: --limit`).

use std::collections::BTreeMap;

use thiserror::Error;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ArgsError {
    #[error("unterminated quote in the command line")]
    UnterminatedQuote,
    #[error("unknown flag: --{0}")]
    UnknownFlag(String),
    #[error("unknown shorthand flag: '{0}' in -{1}")]
    UnknownShorthand(char, String),
    #[error("flag needs an argument: --{0}")]
    NeedsArgument(String),
    #[error("flag needs an argument: '{0}' in -{0}")]
    ShorthandNeedsArgument(char),
    #[error("invalid argument {value:?} for \"--{flag}\" flag: {why}")]
    InvalidValue {
        flag: String,
        value: String,
        why: String,
    },
}

/// Splits a command line into words, with POSIX shell quoting.
pub fn split_words(line: &str) -> Result<Vec<String>, ArgsError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(ArgsError::UnterminatedQuote),
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
                            None => return Err(ArgsError::UnterminatedQuote),
                        },
                        Some(c) => word.push(c),
                        None => return Err(ArgsError::UnterminatedQuote),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
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

/// One flag a command accepts.
#[derive(Clone, Copy, Debug)]
pub struct FlagSpec {
    pub name: &'static str,
    pub short: Option<char>,
    pub takes_value: bool,
}

pub const fn flag(name: &'static str, takes_value: bool) -> FlagSpec {
    FlagSpec {
        name,
        short: None,
        takes_value,
    }
}

/// Flags and positional arguments after parsing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Last value wins, as pflag's scalar flags do; booleans hold "true" or "false".
    pub flags: BTreeMap<&'static str, String>,
    pub args: Vec<String>,
}

impl Parsed {
    pub fn value(&self, name: &str) -> Option<&str> {
        self.flags.get(name).map(String::as_str)
    }

    pub fn bool(&self, name: &str) -> bool {
        self.value(name) == Some("true")
    }
}

/// Parses `words` against `specs` (global and command flags together).
pub fn parse(words: &[String], specs: &[FlagSpec]) -> Result<Parsed, ArgsError> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        if w == "--" {
            parsed.args.extend(words[i..].iter().cloned());
            break;
        }
        if let Some(long) = w.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let spec = specs
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| ArgsError::UnknownFlag(name.to_owned()))?;
            let value = if spec.takes_value {
                match inline {
                    Some(v) => v,
                    None if i < words.len() => {
                        i += 1;
                        words[i - 1].clone()
                    }
                    None => return Err(ArgsError::NeedsArgument(name.to_owned())),
                }
            } else {
                bool_value(spec.name, inline)?
            };
            parsed.flags.insert(spec.name, value);
        } else if let Some(shorts) = w.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (at, c) in shorts.char_indices() {
                let spec = specs
                    .iter()
                    .find(|s| s.short == Some(c))
                    .ok_or_else(|| ArgsError::UnknownShorthand(c, shorts.to_owned()))?;
                if spec.takes_value {
                    let rest = &shorts[at + c.len_utf8()..];
                    let value = if let Some(v) = rest.strip_prefix('=') {
                        v.to_owned()
                    } else if !rest.is_empty() {
                        rest.to_owned()
                    } else if i < words.len() {
                        i += 1;
                        words[i - 1].clone()
                    } else {
                        return Err(ArgsError::ShorthandNeedsArgument(c));
                    };
                    parsed.flags.insert(spec.name, value);
                    break;
                }
                parsed.flags.insert(spec.name, "true".to_owned());
            }
        } else {
            parsed.args.push(w.clone());
        }
    }
    Ok(parsed)
}

fn bool_value(name: &str, inline: Option<String>) -> Result<String, ArgsError> {
    match inline.as_deref() {
        None => Ok("true".to_owned()),
        Some("true" | "1" | "t" | "T" | "TRUE" | "True") => Ok("true".to_owned()),
        Some("false" | "0" | "f" | "F" | "FALSE" | "False") => Ok("false".to_owned()),
        Some(v) => Err(ArgsError::InvalidValue {
            flag: name.to_owned(),
            value: v.to_owned(),
            why: "strconv.ParseBool: parsing ".to_owned() + &format!("{v:?}") + ": invalid syntax",
        }),
    }
}

/// A Go duration flag value ("5s", "500ms", "1m30s") in nanoseconds.
pub fn parse_go_duration(flag: &str, value: &str) -> Result<u64, ArgsError> {
    let invalid = || ArgsError::InvalidValue {
        flag: flag.to_owned(),
        value: value.to_owned(),
        why: format!("time: invalid duration {value:?}"),
    };
    if value == "0" {
        return Ok(0);
    }
    let mut total: u64 = 0;
    let mut rest = value;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(invalid)?;
        let (num, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let scale: u64 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(invalid()),
        };
        let n: f64 = num.parse().map_err(|_| invalid())?;
        total = total.saturating_add((n * scale as f64) as u64);
        rest = next;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[FlagSpec] = &[
        FlagSpec {
            name: "write-out",
            short: Some('w'),
            takes_value: true,
        },
        flag("prefix", false),
        flag("limit", true),
    ];

    fn words(s: &str) -> Vec<String> {
        split_words(s).unwrap()
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(
            words(r#"put k "a b" 'c d' e\ f"#),
            ["put", "k", "a b", "c d", "e f"]
        );
        assert_eq!(split_words("put 'x"), Err(ArgsError::UnterminatedQuote));
    }

    #[test]
    fn flags_anywhere_in_pflag_forms() {
        let p = parse(&words("get -wjson /a --prefix --limit 3"), SPECS).unwrap();
        assert_eq!(p.args, ["get", "/a"]);
        assert_eq!(p.value("write-out"), Some("json"));
        assert!(p.bool("prefix"));
        assert_eq!(p.value("limit"), Some("3"));
        let p = parse(&words("-w=table get --prefix=false"), SPECS).unwrap();
        assert_eq!(p.value("write-out"), Some("table"));
        assert!(!p.bool("prefix"));
    }

    #[test]
    fn pflag_errors() {
        let e = |s: &str| parse(&words(s), SPECS).unwrap_err().to_string();
        assert_eq!(e("get --foo"), "unknown flag: --foo");
        assert_eq!(e("get -x"), "unknown shorthand flag: 'x' in -x");
        assert_eq!(e("get --limit"), "flag needs an argument: --limit");
        assert_eq!(e("get -w"), "flag needs an argument: 'w' in -w");
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("d", "5s").unwrap(), 5_000_000_000);
        assert_eq!(parse_go_duration("d", "1m30s").unwrap(), 90_000_000_000);
        assert_eq!(parse_go_duration("d", "250ms").unwrap(), 250_000_000);
        assert!(parse_go_duration("d", "5").is_err());
    }
}
