//! Where things are in a scenario's RON text: a light, never-panicking reader that turns the
//! source into a tree of values with their line:column, so that every error can point at the
//! step or value it is about.
//!
//! ron itself reports a position for syntax errors, but after a successful parse a value
//! carries no position, and serde's errors are positioned where ron's cursor happened to be
//! (often past the token). This reader follows ron's grammar (`ron/docs/grammar.md`): comments
//! (`//`, nested `/* */`), strings with escapes, raw strings `r#"…"#`, chars, numbers,
//! identifiers (raw `r#ident` too), `(…)`, `[…]`, `{…}` and `#![enable(…)]` attributes. It
//! only needs to find where values start and end; ron remains the judge of what is valid.

/// A 1-based line and column; columns count characters, as ron's do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    pub const START: Pos = Pos { line: 1, col: 1 };
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// One value of the source with its extent.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub start: Pos,
    /// The position just past the value's last character.
    pub end: Pos,
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// A number, char, or bare identifier such as `true` or `Heal`.
    Scalar(String),
    /// A string literal: its decoded text and where each decoded character came from.
    Str {
        value: String,
        char_pos: Vec<Pos>,
    },
    /// `Name(…)`, or `(…)` with an empty name.
    Named {
        name: String,
        items: Vec<Item>,
    },
    List(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// One element of a `(…)` body: positional, or `field: value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub field: Option<(String, Pos)>,
    pub value: Node,
}

impl Node {
    /// The value of `field:` inside a `Name(…)` body.
    pub fn field(&self, name: &str) -> Option<&Node> {
        self.items()?
            .iter()
            .find(|item| item.field.as_ref().is_some_and(|(f, _)| f == name))
            .map(|item| &item.value)
    }

    /// Where `field:` is written, for errors about a field itself.
    pub fn field_pos(&self, name: &str) -> Option<Pos> {
        self.items()?.iter().find_map(|item| {
            item.field
                .as_ref()
                .filter(|(f, _)| f == name)
                .map(|(_, p)| *p)
        })
    }

    /// The `index`-th element of a `Name(…)` body or of a list.
    pub fn arg(&self, index: usize) -> Option<&Node> {
        match &self.kind {
            NodeKind::Named { items, .. } => items.get(index).map(|item| &item.value),
            NodeKind::List(nodes) => nodes.get(index),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Item]> {
        match &self.kind {
            NodeKind::Named { items, .. } => Some(items),
            _ => None,
        }
    }

    pub fn name(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Named { name, .. } => Some(name),
            NodeKind::Scalar(text) => Some(text),
            _ => None,
        }
    }

    /// The value for `key` in a `{…}` map whose keys are strings.
    pub fn map_entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.kind, NodeKind::Str { value, .. } if value == key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The source position of the `offset`-th decoded character of a string literal, or the
    /// literal's start for other values.
    pub fn char_pos(&self, offset: usize) -> Pos {
        match &self.kind {
            NodeKind::Str { char_pos, .. } => char_pos
                .get(offset)
                .or(char_pos.last())
                .copied()
                .unwrap_or(self.start),
            _ => self.start,
        }
    }

    /// The innermost node whose extent contains `pos` (start inclusive, end inclusive, since
    /// ron often reports the position just past a value).
    pub fn innermost(&self, pos: Pos) -> &Node {
        let mut node = self;
        // Each step descends one level; the tree's depth bounds the loop.
        loop {
            let child = node
                .children()
                .into_iter()
                .find(|c| c.start <= pos && pos < c.end);
            match child {
                Some(c) => node = c,
                None => return node,
            }
        }
    }

    fn children(&self) -> Vec<&Node> {
        match &self.kind {
            NodeKind::Scalar(_) | NodeKind::Str { .. } => Vec::new(),
            NodeKind::Named { items, .. } => items.iter().map(|i| &i.value).collect(),
            NodeKind::List(nodes) => nodes.iter().collect(),
            NodeKind::Map(entries) => entries.iter().flat_map(|(k, v)| [k, v]).collect(),
        }
    }
}

/// Reads the top-level value of a RON document, skipping attributes. `None` when the text is
/// not well-formed enough to locate values (ron then reports the syntax error itself).
pub fn parse(text: &str) -> Option<Node> {
    let tokens = lex(text)?;
    let mut reader = Reader {
        tokens: &tokens,
        next: 0,
    };
    reader.skip_attributes()?;
    let node = reader.value(0)?;
    (reader.next == tokens.len()).then_some(node)
}

/// Nesting deeper than this is not a scenario; ron's own default limit is 128.
const MAX_DEPTH: usize = 128;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Open(char),
    Close(char),
    Comma,
    Colon,
    Hash,
    Bang,
    Ident(String),
    Str(String, Vec<Pos>),
    Other(String),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    start: Pos,
    end: Pos,
}

struct Cursor<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    rest: &'a str,
    pos: Pos,
}

impl Cursor<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn peek2(&self) -> Option<char> {
        self.rest.chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        self.rest = &self.rest[c.len_utf8()..];
        if c == '\n' {
            self.pos.line += 1;
            self.pos.col = 1;
        } else {
            self.pos.col += 1;
        }
        Some(c)
    }
}

fn lex(text: &str) -> Option<Vec<Token>> {
    let mut cur = Cursor {
        chars: text.chars().peekable(),
        rest: text,
        pos: Pos::START,
    };
    let mut tokens = Vec::new();
    // Every iteration consumes at least one character or returns.
    while let Some(c) = cur.peek() {
        let start = cur.pos;
        let tok = match c {
            c if c.is_whitespace() => {
                cur.bump();
                continue;
            }
            '/' if cur.peek2() == Some('/') => {
                while cur.peek().is_some_and(|c| c != '\n') {
                    cur.bump();
                }
                continue;
            }
            '/' if cur.peek2() == Some('*') => {
                block_comment(&mut cur)?;
                continue;
            }
            '(' | '[' | '{' => {
                cur.bump();
                Tok::Open(c)
            }
            ')' | ']' | '}' => {
                cur.bump();
                Tok::Close(c)
            }
            ',' => {
                cur.bump();
                Tok::Comma
            }
            ':' => {
                cur.bump();
                Tok::Colon
            }
            '#' => {
                cur.bump();
                Tok::Hash
            }
            '!' => {
                cur.bump();
                Tok::Bang
            }
            '"' => {
                cur.bump();
                let (value, pos) = escaped_string(&mut cur, '"')?;
                Tok::Str(value, pos)
            }
            '\'' => {
                cur.bump();
                let (value, _) = escaped_string(&mut cur, '\'')?;
                Tok::Other(value)
            }
            'r' if matches!(cur.peek2(), Some('"') | Some('#')) && raw_string_ahead(cur.rest) => {
                cur.bump();
                let (value, pos) = raw_string(&mut cur)?;
                Tok::Str(value, pos)
            }
            'b' if cur.peek2() == Some('"') => {
                cur.bump();
                cur.bump();
                let (value, pos) = escaped_string(&mut cur, '"')?;
                Tok::Str(value, pos)
            }
            'b' if cur.peek2() == Some('\'') => {
                cur.bump();
                cur.bump();
                let (value, _) = escaped_string(&mut cur, '\'')?;
                Tok::Other(value)
            }
            'b' if cur.rest.starts_with("br\"") || cur.rest.starts_with("br#") => {
                cur.bump();
                cur.bump();
                let (value, pos) = raw_string(&mut cur)?;
                Tok::Str(value, pos)
            }
            c if c == '_' || c.is_alphabetic() || (c == 'r' && cur.peek2() == Some('#')) => {
                let mut word = String::new();
                if cur.rest.starts_with("r#") {
                    cur.bump();
                    cur.bump();
                }
                while let Some(c) = cur.peek().filter(|c| is_word_char(*c)) {
                    word.push(c);
                    cur.bump();
                }
                Tok::Ident(word)
            }
            c if c.is_ascii_digit() || matches!(c, '+' | '-' | '.') => {
                let mut word = String::new();
                word.push(c);
                cur.bump();
                while let Some(c) = cur.peek().filter(|c| {
                    is_word_char(*c)
                        || *c == '.'
                        || (matches!(*c, '+' | '-') && word.ends_with(['e', 'E']))
                }) {
                    word.push(c);
                    cur.bump();
                }
                Tok::Other(word)
            }
            _ => return None,
        };
        tokens.push(Token {
            tok,
            start,
            end: cur.pos,
        });
    }
    Some(tokens)
}

fn is_word_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn raw_string_ahead(rest: &str) -> bool {
    let after_r = &rest[1..];
    let hashes = after_r.chars().take_while(|c| *c == '#').count();
    after_r[hashes..].starts_with('"')
}

fn block_comment(cur: &mut Cursor<'_>) -> Option<()> {
    let mut depth = 0usize;
    loop {
        if cur.rest.starts_with("/*") {
            cur.bump();
            cur.bump();
            depth += 1;
        } else if cur.rest.starts_with("*/") {
            cur.bump();
            cur.bump();
            depth -= 1;
            if depth == 0 {
                return Some(());
            }
        } else {
            cur.bump()?;
        }
    }
}

/// After the opening quote: decodes up to the closing quote, recording each character's
/// source position (an escape maps to the position of its backslash).
fn escaped_string(cur: &mut Cursor<'_>, quote: char) -> Option<(String, Vec<Pos>)> {
    let mut value = String::new();
    let mut positions = Vec::new();
    loop {
        let pos = cur.pos;
        let c = cur.bump()?;
        if c == quote {
            return Some((value, positions));
        }
        let decoded = if c == '\\' {
            match cur.bump()? {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '0' => '\0',
                'x' => {
                    let hex: String = [cur.bump()?, cur.bump()?].iter().collect();
                    char::from(u8::from_str_radix(&hex, 16).ok()?)
                }
                'u' => {
                    let mut hex = String::new();
                    if cur.peek() == Some('{') {
                        cur.bump();
                        while let Some(h) = cur.bump() {
                            if h == '}' {
                                break;
                            }
                            if hex.len() > 6 {
                                return None;
                            }
                            hex.push(h);
                        }
                    } else {
                        for _ in 0..4 {
                            hex.push(cur.bump()?);
                        }
                    }
                    char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                }
                '\n' => {
                    // A backslash-newline continues the line; RON keeps following whitespace.
                    continue;
                }
                other => other,
            }
        } else {
            c
        };
        value.push(decoded);
        positions.push(pos);
    }
}

/// After the `r`: reads `#…#"…"#…#`.
fn raw_string(cur: &mut Cursor<'_>) -> Option<(String, Vec<Pos>)> {
    let mut hashes = 0usize;
    while cur.peek() == Some('#') {
        cur.bump();
        hashes += 1;
    }
    if cur.bump()? != '"' {
        return None;
    }
    let closing: String = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    let mut value = String::new();
    let mut positions = Vec::new();
    loop {
        if cur.rest.starts_with(&closing) {
            for _ in 0..closing.len() {
                cur.bump();
            }
            return Some((value, positions));
        }
        let pos = cur.pos;
        value.push(cur.bump()?);
        positions.push(pos);
    }
}

struct Reader<'a> {
    tokens: &'a [Token],
    next: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.next).map(|t| &t.tok)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Tok> {
        self.tokens.get(self.next + ahead).map(|t| &t.tok)
    }

    fn take(&mut self) -> Option<&Token> {
        let token = self.tokens.get(self.next)?;
        self.next += 1;
        Some(token)
    }

    fn expect(&mut self, tok: &Tok) -> Option<Pos> {
        let token = self.take()?;
        (token.tok == *tok).then_some(token.end)
    }

    fn skip_attributes(&mut self) -> Option<()> {
        // `#![enable(implicit_some)]`: bounded by the token count.
        while self.peek() == Some(&Tok::Hash) {
            self.take();
            self.expect(&Tok::Bang)?;
            self.expect(&Tok::Open('['))?;
            let mut depth = 1usize;
            while depth > 0 {
                match self.take()?.tok {
                    Tok::Open(_) => depth += 1,
                    Tok::Close(_) => depth -= 1,
                    _ => {}
                }
            }
        }
        Some(())
    }

    fn value(&mut self, depth: usize) -> Option<Node> {
        if depth > MAX_DEPTH {
            return None;
        }
        let token = self.take()?.clone();
        let start = token.start;
        match token.tok {
            Tok::Ident(name) => {
                if self.peek() == Some(&Tok::Open('(')) {
                    self.take();
                    let (items, end) = self.body(depth)?;
                    Some(Node {
                        start,
                        end,
                        kind: NodeKind::Named { name, items },
                    })
                } else {
                    Some(Node {
                        start,
                        end: token.end,
                        kind: NodeKind::Scalar(name),
                    })
                }
            }
            Tok::Open('(') => {
                let (items, end) = self.body(depth)?;
                Some(Node {
                    start,
                    end,
                    kind: NodeKind::Named {
                        name: String::new(),
                        items,
                    },
                })
            }
            Tok::Open('[') => {
                let mut nodes = Vec::new();
                let end = loop {
                    if self.peek() == Some(&Tok::Close(']')) {
                        break self.take()?.end;
                    }
                    nodes.push(self.value(depth + 1)?);
                    match self.take()? {
                        Token {
                            tok: Tok::Comma, ..
                        } => {}
                        Token {
                            tok: Tok::Close(']'),
                            end,
                            ..
                        } => break *end,
                        _ => return None,
                    }
                };
                Some(Node {
                    start,
                    end,
                    kind: NodeKind::List(nodes),
                })
            }
            Tok::Open('{') => {
                let mut entries = Vec::new();
                let end = loop {
                    if self.peek() == Some(&Tok::Close('}')) {
                        break self.take()?.end;
                    }
                    let key = self.value(depth + 1)?;
                    self.expect(&Tok::Colon)?;
                    let value = self.value(depth + 1)?;
                    entries.push((key, value));
                    match self.take()? {
                        Token {
                            tok: Tok::Comma, ..
                        } => {}
                        Token {
                            tok: Tok::Close('}'),
                            end,
                            ..
                        } => break *end,
                        _ => return None,
                    }
                };
                Some(Node {
                    start,
                    end,
                    kind: NodeKind::Map(entries),
                })
            }
            Tok::Str(value, char_pos) => Some(Node {
                start,
                end: token.end,
                kind: NodeKind::Str { value, char_pos },
            }),
            Tok::Other(text) => Some(Node {
                start,
                end: token.end,
                kind: NodeKind::Scalar(text),
            }),
            _ => None,
        }
    }

    /// After `(`: items up to the matching `)`; returns them and the end position.
    fn body(&mut self, depth: usize) -> Option<(Vec<Item>, Pos)> {
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(&Tok::Close(')')) {
                return Some((items, self.take()?.end));
            }
            let field = match (self.peek(), self.peek_at(1)) {
                (Some(Tok::Ident(name)), Some(Tok::Colon)) => {
                    let name = name.clone();
                    let pos = self.take()?.start;
                    self.take();
                    Some((name, pos))
                }
                _ => None,
            };
            let value = self.value(depth + 1)?;
            items.push(Item { field, value });
            match self.take()? {
                Token {
                    tok: Tok::Comma, ..
                } => {}
                Token {
                    tok: Tok::Close(')'),
                    end,
                    ..
                } => return Some((items, *end)),
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: usize, col: usize) -> Pos {
        Pos { line, col }
    }

    #[test]
    fn locates_fields_steps_and_string_characters() {
        let text = "// lead comment\nScenario(\n  seed: 7, /* a /* nested */ comment */\n  steps: [\n    Sleep(\"5s\"),\n    Fault(Crash(Leader(\"etcd\"))),\n    Apply(r#\"\nkind: \"Pod\"\n\"#),\n  ],\n)\n";
        let root = parse(text).expect("well-formed");
        assert_eq!(root.start, pos(2, 1));
        assert_eq!(root.field_pos("seed"), Some(pos(3, 3)));
        let steps = root.field("steps").unwrap();
        assert_eq!(steps.arg(0).unwrap().start, pos(5, 5));
        let fault = steps.arg(1).unwrap();
        assert_eq!(fault.name(), Some("Fault"));
        let leader = fault.arg(0).unwrap().arg(0).unwrap();
        assert_eq!(leader.name(), Some("Leader"));
        assert_eq!(leader.arg(0).unwrap().start, pos(6, 24));
        let apply = steps.arg(2).unwrap().arg(0).unwrap();
        match &apply.kind {
            NodeKind::Str { value, .. } => assert_eq!(value, "\nkind: \"Pod\"\n"),
            other => panic!("not a string: {other:?}"),
        }
        assert_eq!(apply.char_pos(1), pos(8, 1));
        assert_eq!(root.innermost(pos(6, 25)).start, pos(6, 24));
    }

    #[test]
    fn escaped_strings_map_characters_to_their_source() {
        let root = parse(r#"A("a\nb\u{41}c")"#).unwrap();
        let s = root.arg(0).unwrap();
        match &s.kind {
            NodeKind::Str { value, .. } => assert_eq!(value, "a\nbAc"),
            other => panic!("not a string: {other:?}"),
        }
        assert_eq!(s.char_pos(2), pos(1, 7));
        assert_eq!(s.char_pos(4), pos(1, 14));
    }

    #[test]
    fn maps_attributes_and_numbers() {
        let root = parse(
            "#![enable(implicit_some)]\n(a: {\"x\": (size: \"1Gi\")}, b: -1.5e-3, c: [1, 2,])",
        )
        .unwrap();
        let (key, value) = root.field("a").unwrap().map_entry("x").unwrap();
        assert_eq!(key.start, pos(2, 6));
        assert_eq!(value.field("size").unwrap().start, pos(2, 18));
        assert_eq!(
            root.field("b").unwrap().kind,
            NodeKind::Scalar("-1.5e-3".into())
        );
        assert_eq!(root.field("c").unwrap().arg(1).unwrap().start, pos(2, 46));
    }

    #[test]
    fn malformed_text_gives_none_not_a_panic() {
        for text in [
            "",
            "(",
            "A(\"x",
            "[1 2]",
            "/* x",
            "r#\"abc\"",
            "{1}",
            "A(b:)",
            "\"\\u{110000}\"",
            "é(",
            "\u{0}",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        assert_eq!(parse(&deep), None);
    }
}
