//! Label selectors: kubectl's `-l` syntax and objects' `LabelSelector`s, turned into one
//! [`Selector`] that matches label maps.
//!
//! Follows `staging/src/k8s.io/apimachinery/pkg/labels/selector.go` (the lexer, the parser and
//! its error texts, `NewRequirement`'s checks, requirement order and `String()`) and
//! `pkg/apis/meta/v1/helpers.go` (`LabelSelectorAsSelector`: a nil selector matches nothing, an
//! empty one everything).

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::validation::names;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operator {
    Exists,
    DoesNotExist,
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    GreaterThan,
    LessThan,
}

/// One term of a selector. Values are sorted and unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);

impl Requirement {
    /// `labels.NewRequirement`: checks the key, the values and their count for the operator.
    pub fn new(
        key: &str,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Requirement, SelectorError> {
        if let Some(m) = names::qualified_name(key).into_iter().next() {
            return Err(SelectorError(format!("key: Invalid value: \"{key}\": {m}")));
        }
        let invalid = |detail: &str| {
            Err(SelectorError(format!(
                "values: Invalid value: {}: {detail}",
                go_string_slice(&values)
            )))
        };
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                return invalid("for 'in', 'notin' operators, values set can't be empty");
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals
                if values.len() != 1 =>
            {
                return invalid("exact-match compatibility requires one single value");
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                return invalid("values set must be empty for exists and does not exist");
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    return invalid("for 'Gt', 'Lt' operators, exactly one value is required");
                }
                if values[0].parse::<i64>().is_err() {
                    return Err(SelectorError(format!(
                        "values[0]: Invalid value: \"{}\": for 'Gt', 'Lt' operators, the value must be an integer",
                        values[0]
                    )));
                }
            }
            _ => {}
        }
        for (i, v) in values.iter().enumerate() {
            if let Some(m) = names::label_value(v).into_iter().next() {
                return Err(SelectorError(format!(
                    "values[{i}]: Invalid value: \"{v}\": {m}"
                )));
            }
        }
        let mut values = values;
        values.sort();
        values.dedup();
        Ok(Requirement {
            key: key.to_string(),
            operator,
            values,
        })
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                value.is_some_and(|v| self.values.binary_search(v).is_ok())
            }
            Operator::NotIn | Operator::NotEquals => {
                value.is_none_or(|v| self.values.binary_search(v).is_err())
            }
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(have), Some(want)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = &self.key;
        let first = self.values.first().map(String::as_str).unwrap_or("");
        match self.operator {
            Operator::Exists => write!(f, "{k}"),
            Operator::DoesNotExist => write!(f, "!{k}"),
            Operator::Equals => write!(f, "{k}={first}"),
            Operator::DoubleEquals => write!(f, "{k}=={first}"),
            Operator::NotEquals => write!(f, "{k}!={first}"),
            Operator::In => write!(f, "{k} in ({})", self.values.join(",")),
            Operator::NotIn => write!(f, "{k} notin ({})", self.values.join(",")),
            Operator::GreaterThan => write!(f, "{k}>{first}"),
            Operator::LessThan => write!(f, "{k}<{first}"),
        }
    }
}

fn go_string_slice(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// A conjunction of requirements, or the selector that matches nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl Selector {
    pub fn everything() -> Selector {
        Selector {
            requirements: Vec::new(),
            nothing: false,
        }
    }

    pub fn nothing() -> Selector {
        Selector {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    fn from_requirements(mut requirements: Vec<Requirement>) -> Selector {
        // Stable sort by key, as upstream's `ByKey`.
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Selector {
            requirements,
            nothing: false,
        }
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// True for the selector that matches every object.
    pub fn is_everything(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// `labels.SelectorFromSet`: every key equal to its value (a Service's selector).
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<Selector, SelectorError> {
        let requirements = map
            .iter()
            .map(|(k, v)| Requirement::new(k, Operator::Equals, vec![v.clone()]))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Selector::from_requirements(requirements))
    }

    /// `metav1.LabelSelectorAsSelector`.
    pub fn from_label_selector(
        selector: Option<&LabelSelector>,
    ) -> Result<Selector, SelectorError> {
        let Some(ls) = selector else {
            return Ok(Selector::nothing());
        };
        let match_labels = ls.match_labels.as_ref();
        let expressions = ls.match_expressions.as_deref().unwrap_or(&[]);
        if match_labels.is_none_or(BTreeMap::is_empty) && expressions.is_empty() {
            return Ok(Selector::everything());
        }
        let mut requirements = Vec::new();
        for (k, v) in match_labels.into_iter().flatten() {
            requirements.push(Requirement::new(k, Operator::Equals, vec![v.clone()])?);
        }
        for e in expressions {
            let operator = match e.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError(format!(
                        "\"{other}\" is not a valid label selector operator"
                    )));
                }
            };
            requirements.push(Requirement::new(
                &e.key,
                operator,
                e.values.clone().unwrap_or_default(),
            )?);
        }
        Ok(Selector::from_requirements(requirements))
    }

    /// `labels.Parse`: the `-l` syntax.
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        Parser::new(text).parse().map(Selector::from_requirements)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.requirements.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Identifier(String),
    DoesNotExist,
    Equals,
    DoubleEquals,
    NotEquals,
    GreaterThan,
    LessThan,
    In,
    NotIn,
    OpenPar,
    ClosedPar,
    Comma,
    End,
    Error(String),
}

impl Token {
    fn literal(&self) -> &str {
        match self {
            Token::Identifier(s) | Token::Error(s) => s,
            Token::DoesNotExist => "!",
            Token::Equals => "=",
            Token::DoubleEquals => "==",
            Token::NotEquals => "!=",
            Token::GreaterThan => ">",
            Token::LessThan => "<",
            Token::In => "in",
            Token::NotIn => "notin",
            Token::OpenPar => "(",
            Token::ClosedPar => ")",
            Token::Comma => ",",
            Token::End => "",
        }
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if is_special(c) {
            let mut j = i;
            while j < chars.len() && is_special(chars[j]) {
                j += 1;
            }
            // Longest known operator at the start of the run of symbols.
            let run: String = chars[i..j].iter().collect();
            let (token, len) = [
                ("==", Token::DoubleEquals),
                ("!=", Token::NotEquals),
                ("=", Token::Equals),
                ("!", Token::DoesNotExist),
                ("(", Token::OpenPar),
                (")", Token::ClosedPar),
                (",", Token::Comma),
                (">", Token::GreaterThan),
                ("<", Token::LessThan),
            ]
            .into_iter()
            .find(|(s, _)| run.starts_with(s))
            .map(|(s, t)| (t, s.len()))
            .unwrap_or((Token::Error(run.clone()), run.len()));
            tokens.push(token);
            i += len;
        } else {
            let mut j = i;
            while j < chars.len() && !chars[j].is_whitespace() && !is_special(chars[j]) {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            tokens.push(match word.as_str() {
                "in" => Token::In,
                "notin" => Token::NotIn,
                _ => Token::Identifier(word),
            });
            i = j;
        }
    }
    tokens.push(Token::End);
    tokens
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

/// Where a token is read: in `Values`, the keywords `in`/`notin` are plain identifiers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

impl Parser {
    fn new(text: &str) -> Parser {
        Parser {
            tokens: lex(text),
            pos: 0,
        }
    }

    fn lookahead(&self, context: Context) -> Token {
        let t = self.tokens.get(self.pos).cloned().unwrap_or(Token::End);
        match (context, t) {
            (Context::Values, Token::In) => Token::Identifier("in".into()),
            (Context::Values, Token::NotIn) => Token::Identifier("notin".into()),
            (_, t) => t,
        }
    }

    fn consume(&mut self, context: Context) -> Token {
        let t = self.lookahead(context);
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut requirements = Vec::new();
        // Each pass consumes at least one token, so the token count bounds the loop.
        for _ in 0..=self.tokens.len() {
            match self.lookahead(Context::Values) {
                Token::Identifier(_) | Token::DoesNotExist => {
                    let r = self
                        .parse_requirement()
                        .map_err(|e| SelectorError(format!("unable to parse requirement: {e}")))?;
                    requirements.push(r);
                    match self.consume(Context::Values) {
                        Token::End => return Ok(requirements),
                        Token::Comma => {
                            let next = self.lookahead(Context::Values);
                            if !matches!(next, Token::Identifier(_) | Token::DoesNotExist) {
                                return Err(SelectorError(format!(
                                    "found '{}', expected: identifier after ','",
                                    next.literal()
                                )));
                            }
                        }
                        t => {
                            return Err(SelectorError(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                t.literal()
                            )));
                        }
                    }
                }
                Token::End => return Ok(requirements),
                t => {
                    return Err(SelectorError(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        t.literal()
                    )));
                }
            }
        }
        Ok(requirements)
    }

    fn parse_requirement(&mut self) -> Result<Requirement, SelectorError> {
        let mut token = self.consume(Context::Values);
        let mut unary = None;
        if token == Token::DoesNotExist {
            unary = Some(Operator::DoesNotExist);
            token = self.consume(Context::Values);
        }
        let Token::Identifier(key) = token else {
            return Err(SelectorError(format!(
                "found '{}', expected: identifier",
                token.literal()
            )));
        };
        if let Some(m) = names::qualified_name(&key).into_iter().next() {
            return Err(SelectorError(format!(
                "<nil>: Invalid value: \"{key}\": {m}"
            )));
        }
        if matches!(self.lookahead(Context::Values), Token::End | Token::Comma) {
            return Requirement::new(&key, unary.unwrap_or(Operator::Exists), Vec::new());
        }
        if unary.is_some() {
            let t = self.consume(Context::Values);
            return Err(SelectorError(format!(
                "found '{}', expected: ',' or 'end of string'",
                t.literal()
            )));
        }
        let operator = match self.consume(Context::KeyAndOperator) {
            Token::In => Operator::In,
            Token::NotIn => Operator::NotIn,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::NotEquals => Operator::NotEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            t => {
                return Err(SelectorError(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    t.literal()
                )));
            }
        };
        let values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(&key, operator, values)
    }

    fn parse_values(&mut self) -> Result<Vec<String>, SelectorError> {
        let t = self.consume(Context::Values);
        if t != Token::OpenPar {
            return Err(SelectorError(format!(
                "found '{}' expected: '('",
                t.literal()
            )));
        }
        match self.lookahead(Context::Values) {
            Token::Identifier(_) | Token::Comma => {
                let values = self.parse_identifiers_list()?;
                let t = self.consume(Context::Values);
                if t != Token::ClosedPar {
                    return Err(SelectorError(format!(
                        "found '{}', expected: ')'",
                        t.literal()
                    )));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(vec![String::new()])
            }
            t => Err(SelectorError(format!(
                "found '{}', expected: ',', ')' or identifier",
                t.literal()
            ))),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<Vec<String>, SelectorError> {
        let mut values = Vec::new();
        for _ in 0..=self.tokens.len() {
            match self.consume(Context::Values) {
                Token::Identifier(v) => {
                    values.push(v);
                    match self.lookahead(Context::Values) {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(values),
                        t => {
                            return Err(SelectorError(format!(
                                "found '{}', expected: ',' or ')'",
                                t.literal()
                            )));
                        }
                    }
                }
                Token::Comma => {
                    // "(a,,b)" and "(,a)" contribute an empty value.
                    if values.is_empty() {
                        values.push(String::new());
                    }
                    match self.lookahead(Context::Values) {
                        Token::ClosedPar => {
                            values.push(String::new());
                            return Ok(values);
                        }
                        Token::Comma => values.push(String::new()),
                        _ => {}
                    }
                }
                t => {
                    return Err(SelectorError(format!(
                        "found '{}', expected: ',', or identifier",
                        t.literal()
                    )));
                }
            }
        }
        Ok(values)
    }

    fn parse_exact_value(&mut self) -> Result<Vec<String>, SelectorError> {
        if matches!(self.lookahead(Context::Values), Token::End | Token::Comma) {
            return Ok(vec![String::new()]);
        }
        match self.consume(Context::Values) {
            Token::Identifier(v) => Ok(vec![v]),
            t => Err(SelectorError(format!(
                "found '{}', expected: identifier",
                t.literal()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_and_matches() {
        let web = labels(&[("app", "web"), ("env", "prod"), ("tier", "3")]);
        let cases: &[(&str, bool, &str)] = &[
            ("", true, ""),
            ("app=web", true, "app=web"),
            ("app==web", true, "app==web"),
            ("app!=web", false, "app!=web"),
            ("app!=db", true, "app!=db"),
            ("missing!=x", true, "missing!=x"),
            ("app=web,env=prod", true, "app=web,env=prod"),
            ("env=prod, app=web", true, "app=web,env=prod"),
            ("app=web,env=dev", false, "app=web,env=dev"),
            ("env in (prod,dev)", true, "env in (dev,prod)"),
            ("env in (dev)", false, "env in (dev)"),
            ("env notin (dev,qa)", true, "env notin (dev,qa)"),
            ("missing notin (dev)", true, "missing notin (dev)"),
            ("app", true, "app"),
            ("missing", false, "missing"),
            ("!missing", true, "!missing"),
            ("!app", false, "!app"),
            ("tier>2", true, "tier>2"),
            ("tier<2", false, "tier<2"),
            ("app=", false, "app="),
            (
                "app in (web), !missing, env",
                true,
                "app in (web),env,!missing",
            ),
            (
                "app.kubernetes.io/name=web",
                false,
                "app.kubernetes.io/name=web",
            ),
        ];
        for (text, want, printed) in cases {
            let s = Selector::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(s.matches(&web), *want, "{text}");
            assert_eq!(s.to_string(), *printed, "{text}");
        }
    }

    #[test]
    fn parse_errors_are_upstreams() {
        let cases: &[(&str, &str)] = &[
            ("app=web,", "found '', expected: identifier after ','"),
            (
                "app in",
                "unable to parse requirement: found '' expected: '('",
            ),
            (
                "app in (a",
                "unable to parse requirement: found '', expected: ',' or ')'",
            ),
            (
                "app foo",
                "unable to parse requirement: found 'foo', expected: in, notin, =, ==, !=, gt, lt",
            ),
            ("app=a b", "found 'b', expected: ',' or 'end of string'"),
            (
                "=x",
                "found '=', expected: !, identifier, or 'end of string'",
            ),
            (
                "tier>x",
                "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                Selector::parse(text).unwrap_err().to_string(),
                *want,
                "{text}"
            );
        }
        let err = Selector::parse("app=bad/value").unwrap_err().to_string();
        assert!(err.starts_with("unable to parse requirement: values[0]: Invalid value: \"bad/value\": a valid label"), "{err}");
        let err = Selector::parse("a b c/d/e=x").unwrap_err().to_string();
        assert!(
            err.starts_with("unable to parse requirement: found 'b'"),
            "{err}"
        );
    }

    #[test]
    fn label_selectors_from_objects() {
        let nginx = labels(&[("app", "nginx"), ("tier", "frontend")]);
        assert!(
            !Selector::from_label_selector(None).unwrap().matches(&nginx),
            "nil matches nothing"
        );
        let empty = LabelSelector::default();
        assert!(
            Selector::from_label_selector(Some(&empty))
                .unwrap()
                .matches(&nginx),
            "empty matches all"
        );
        let ls = LabelSelector {
            match_labels: Some([("app".to_string(), "nginx".to_string())].into()),
            match_expressions: Some(vec![
                LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: "In".into(),
                    values: Some(vec!["frontend".into(), "cache".into()]),
                },
                LabelSelectorRequirement {
                    key: "canary".into(),
                    operator: "DoesNotExist".into(),
                    values: None,
                },
            ]),
        };
        let s = Selector::from_label_selector(Some(&ls)).unwrap();
        assert!(s.matches(&nginx));
        assert_eq!(s.to_string(), "app=nginx,!canary,tier in (cache,frontend)");
        let bad = LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "a".into(),
                operator: "Equals".into(),
                values: None,
            }]),
            ..Default::default()
        };
        assert_eq!(
            Selector::from_label_selector(Some(&bad))
                .unwrap_err()
                .to_string(),
            "\"Equals\" is not a valid label selector operator"
        );
        let empty_in = LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "a".into(),
                operator: "In".into(),
                values: Some(vec![]),
            }]),
            ..Default::default()
        };
        assert_eq!(
            Selector::from_label_selector(Some(&empty_in))
                .unwrap_err()
                .to_string(),
            "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"
        );
    }
}
