//! A small JSON reader that remembers where every value stands.
//!
//! The preload parses its directive file in the constructor and must stay
//! small (serde_json's parser alone would double its size); this reader is
//! about 200 lines, accepts exactly RFC 8259 JSON, and gives every value its
//! line and column, so errors about a field's *meaning* can say where the
//! field is, not only errors of syntax.

use alloc::string::String;
use alloc::vec::Vec;

/// Where a value starts: 1-based line and column (in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// A JSON value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub at: Position,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// The number's text, as written.
    Number(String),
    String(String),
    Array(Vec<Node>),
    /// Members in the order written.
    Object(Vec<(String, Node)>),
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// A syntax error and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub at: Position,
    pub message: &'static str,
}

/// Nesting deeper than this is refused (the formats need three levels).
const MAX_DEPTH: usize = 64;

struct Reader<'t> {
    text: &'t [u8],
    at: usize,
    line: usize,
    line_start: usize,
}

impl<'t> Reader<'t> {
    fn position(&self) -> Position {
        Position { line: self.line, column: self.at - self.line_start + 1 }
    }

    fn fail<T>(&self, message: &'static str) -> Result<T, SyntaxError> {
        Err(SyntaxError { at: self.position(), message })
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b'\n' => {
                    self.at += 1;
                    self.line += 1;
                    self.line_start = self.at;
                }
                b' ' | b'\t' | b'\r' => self.at += 1,
                _ => break,
            }
        }
    }

    fn expect(&mut self, byte: u8, message: &'static str) -> Result<(), SyntaxError> {
        self.skip_space();
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            self.fail(message)
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        self.skip_space();
        let at = self.position();
        if depth > MAX_DEPTH {
            return self.fail("nested too deeply");
        }
        let value = match self.peek() {
            None => return self.fail("unexpected end of input"),
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => self.word(b"true", Value::Bool(true))?,
            Some(b'f') => self.word(b"false", Value::Bool(false))?,
            Some(b'n') => self.word(b"null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return self.fail("expected a value"),
        };
        Ok(Node { at, value })
    }

    fn word(&mut self, word: &[u8], value: Value) -> Result<Value, SyntaxError> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(value)
        } else {
            self.fail("expected a value")
        }
    }

    fn number(&mut self) -> Result<Value, SyntaxError> {
        let start = self.at;
        let digits = |r: &mut Self| {
            let from = r.at;
            while matches!(r.peek(), Some(b'0'..=b'9')) {
                r.at += 1;
            }
            r.at > from
        };
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        if self.peek() == Some(b'0') {
            self.at += 1;
        } else if !digits(self) {
            return self.fail("invalid number");
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if !digits(self) {
                return self.fail("invalid number");
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !digits(self) {
                return self.fail("invalid number");
            }
        }
        let text = core::str::from_utf8(&self.text[start..self.at]).unwrap_or_default();
        Ok(Value::Number(String::from(text)))
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = match self.peek().map(char::from).and_then(|c| c.to_digit(16)) {
                Some(d) => d,
                None => return self.fail("invalid \\u escape"),
            };
            code = code * 16 + digit;
            self.at += 1;
        }
        Ok(code)
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.at += 1; // the opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(byte) = self.peek() else { return self.fail("unterminated string") };
            match byte {
                b'"' => {
                    self.at += 1;
                    break;
                }
                b'\\' => {
                    self.at += 1;
                    let escaped = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.at += 1;
                            let mut code = self.hex4()?;
                            if (0xd800..0xdc00).contains(&code) {
                                if !self.text[self.at..].starts_with(b"\\u") {
                                    return self.fail("a lone surrogate in a \\u escape");
                                }
                                self.at += 2;
                                let low = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&low) {
                                    return self.fail("a lone surrogate in a \\u escape");
                                }
                                code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                            }
                            let Some(c) = char::from_u32(code) else {
                                return self.fail("a lone surrogate in a \\u escape");
                            };
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                            continue;
                        }
                        _ => return self.fail("invalid escape"),
                    };
                    self.at += 1;
                    out.extend_from_slice(escaped.encode_utf8(&mut [0; 4]).as_bytes());
                }
                0..=0x1f => return self.fail("a control character in a string (escape it)"),
                _ => {
                    out.push(byte);
                    self.at += 1;
                }
            }
        }
        String::from_utf8(out).or_else(|_| self.fail("a string is not valid UTF-8"))
    }

    fn array(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        self.at += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                _ => return self.fail("expected ',' or ']'"),
            }
            self.skip_space();
            if self.peek() == Some(b']') {
                return self.fail("trailing comma");
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        self.at += 1;
        let mut members: Vec<(String, Node)> = Vec::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_space();
            if self.peek() == Some(b'}') {
                return self.fail("trailing comma");
            }
            if self.peek() != Some(b'"') {
                return self.fail("expected a field name in double quotes");
            }
            let key_at = self.position();
            let key = self.string()?;
            if members.iter().any(|(k, _)| *k == key) {
                return Err(SyntaxError { at: key_at, message: "a field appears twice" });
            }
            self.expect(b':', "expected ':' after a field name")?;
            let value = self.value(depth + 1)?;
            members.push((key, value));
            self.skip_space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Object(members));
                }
                _ => return self.fail("expected ',' or '}'"),
            }
        }
    }
}

/// Parses one JSON document.
pub fn parse(text: &[u8]) -> Result<Node, SyntaxError> {
    let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
    let mut reader = Reader { text, at: 0, line: 1, line_start: 0 };
    let node = reader.value(0)?;
    reader.skip_space();
    if reader.at != text.len() {
        return reader.fail("unexpected text after the document");
    }
    Ok(node)
}

/// Appends `text` as a JSON string literal.
pub fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[(c as usize) >> 4]));
                out.push(char::from(HEX[(c as usize) & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_positions() {
        let node = parse(b"{\n  \"a\": [1, -2.5e3, true, null],\n  \"b\": \"x\\u00e9\\ud83d\\ude00\\n\"\n}").unwrap();
        let Value::Object(members) = node.value else { panic!() };
        assert_eq!(members[0].1.at, Position { line: 2, column: 8 });
        assert_eq!(members[1].1.value, Value::String(String::from("x\u{e9}\u{1f600}\n")));
    }

    #[test]
    fn syntax_errors_say_where() {
        let cases: &[(&[u8], usize, usize, &str)] = &[
            (b"{\"a\": 1,}", 1, 9, "trailing comma"),
            (b"[1 2]", 1, 4, "expected ',' or ']'"),
            (b"{\"a\" 1}", 1, 6, "expected ':'"),
            (b"\"\\ud800\"", 1, 8, "lone surrogate"),
            (b"{\"a\": 1, \"a\": 2}", 1, 10, "twice"),
            (b"\n\n  [01]", 3, 5, "expected ',' or ']'"),
            (b"{} x", 1, 4, "after the document"),
            (b"\"a\tb\"", 1, 3, "control character"),
        ];
        for (text, line, column, message) in cases {
            let error = parse(text).unwrap_err();
            assert_eq!((error.at.line, error.at.column), (*line, *column), "{}", String::from_utf8_lossy(text));
            assert!(error.message.contains(message), "{}: {}", String::from_utf8_lossy(text), error.message);
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text: Vec<u8> = core::iter::repeat_n(b'[', 100).collect();
        assert_eq!(parse(&text).unwrap_err().message, "nested too deeply");
    }

    #[test]
    fn writes_escaped_strings() {
        let mut out = String::new();
        write_string(&mut out, "a\"b\\c\n\u{1}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\u0001é\"");
        assert_eq!(parse(out.as_bytes()).unwrap().value, Value::String(String::from("a\"b\\c\n\u{1}é")));
    }
}
