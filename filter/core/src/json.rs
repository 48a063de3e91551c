//! A small, strict JSON (RFC 8259) parser for the plugin configuration.
//!
//! Hand-written instead of serde_json to keep the wasm module small (see the crate notes), and
//! strict on purpose: duplicate keys, trailing characters, invalid UTF-8, lone surrogates and
//! nesting deeper than [`MAX_DEPTH`] are errors. Every error carries the byte offset where it was
//! found and the path of the value being parsed, so the configuration error can name the field.
//! Objects keep their members in document order.

use crate::repeats::first_repeated;

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 32;

/// A parsed JSON value. Numbers keep their text (already checked against the JSON grammar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// What kind of value this is, for error messages: "a string", "an object", ...
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

/// The value of a number, for a field that takes a whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whole {
    /// A whole number from 0 to `u32::MAX`.
    Value(u32),
    /// A whole number outside that range: negative, or larger.
    OutOfRange,
    /// Not a whole number.
    Fraction,
}

/// Above `u32::MAX`: where [`whole_number`] stops counting.
const BIG: u64 = 1 << 32;

/// Reads the text of a [`Value::Number`] by its value, exactly and without floating point:
/// JSON has one number type, so `1024`, `1024.0`, `1.024e3` and `10240e-1` are all 1024
/// (Istio hands plugin configuration over as a protobuf Struct, whose numbers are doubles).
pub fn whole_number(text: &str) -> Whole {
    // One pass, no floating point: the value is significand × 10^scale. The significand stops
    // growing at BIG (it is out of range then), and the exponent's magnitude too: no overflow,
    // and no overflow checks (module size).
    let mut significand: u64 = 0;
    // Zeros read since the last non-zero digit: not in the significand yet.
    let mut zeros: u64 = 0;
    let mut fraction_digits: u64 = 0;
    let (mut in_fraction, mut in_exponent, mut exponent_negative) = (false, false, false);
    let mut exponent: u64 = 0;
    for b in text.bytes() {
        let digit = u64::from(b.wrapping_sub(b'0'));
        match b {
            b'0'..=b'9' if in_exponent => exponent = (exponent * 10 + digit).min(BIG),
            b'0' => {
                zeros += 1;
                fraction_digits += u64::from(in_fraction);
            }
            b'1'..=b'9' => {
                significand = (times_ten(significand, zeros + 1) + digit).min(BIG);
                zeros = 0;
                fraction_digits += u64::from(in_fraction);
            }
            b'.' => in_fraction = true,
            b'e' | b'E' => in_exponent = true,
            b'-' => exponent_negative = in_exponent,
            _ => {}
        }
    }
    if significand == 0 {
        return Whole::Value(0);
    }
    // scale = ±exponent - fraction_digits + zeros; the significand ends in a non-zero digit, so
    // a negative scale leaves a fraction.
    let up = zeros + if exponent_negative { 0 } else { exponent };
    let down = fraction_digits + if exponent_negative { exponent } else { 0 };
    if up < down {
        return Whole::Fraction;
    }
    if text.starts_with('-') {
        return Whole::OutOfRange;
    }
    u32::try_from(times_ten(significand, up - down)).map_or(Whole::OutOfRange, Whole::Value)
}

/// `n` × 10^`tens`, at most [`BIG`] (for `n` at most `BIG`).
fn times_ten(n: u64, tens: u64) -> u64 {
    // Past 10 factors of ten a non-zero `n` is past BIG anyway.
    (0..tens.min(10)).fold(n, |n, _| (n * 10).min(BIG))
}

/// One step of the path to a value: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// What went wrong while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Something else was found; the payload says what was expected there.
    Expected(&'static str),
    DuplicateKey,
    InvalidUtf8,
    ControlCharacterInString,
    InvalidEscape,
    LoneSurrogate,
    LeadingZero,
    TooDeep,
    TrailingCharacters,
}

/// A JSON syntax error: what, where (byte offset) and in which value (path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub kind: ErrorKind,
    /// Byte offset in the input.
    pub offset: usize,
    /// Path from the top-level value to the value being parsed (empty: the top level).
    pub path: Vec<PathSegment>,
}

impl JsonError {
    /// The problem, in words, and what is expected instead.
    pub fn words(&self) -> (&'static str, &'static str) {
        match self.kind {
            ErrorKind::Expected(what) => ("unexpected input", what),
            ErrorKind::DuplicateKey => ("duplicate key", "each key at most once in an object"),
            ErrorKind::InvalidUtf8 => ("invalid UTF-8", "UTF-8 text"),
            ErrorKind::ControlCharacterInString => (
                "unescaped control character in a string",
                "control characters escaped, e.g. \\t or \\u0001",
            ),
            ErrorKind::InvalidEscape => (
                "invalid escape sequence in a string",
                "one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX (four hex digits)",
            ),
            ErrorKind::LoneSurrogate => (
                "\\u escape of a lone UTF-16 surrogate",
                "a high surrogate \\uD800-\\uDBFF followed by a low one",
            ),
            ErrorKind::LeadingZero => (
                "number with a leading zero",
                "a number without leading zeros, e.g. 8 rather than 08",
            ),
            ErrorKind::TooDeep => (
                "arrays and objects nested too deeply",
                "at most 32 nested arrays and objects",
            ),
            ErrorKind::TrailingCharacters => (
                "characters after the end of the JSON value",
                "a single JSON value",
            ),
        }
    }

    fn within(mut self, segment: PathSegment) -> Self {
        self.path.insert(0, segment);
        self
    }
}

/// Parses one JSON value that fills `input` (surrounding whitespace allowed).
pub fn parse(input: &[u8]) -> Result<Value, JsonError> {
    let mut parser = Parser {
        input,
        pos: 0,
        depth: 0,
    };
    let value = parser.value()?;
    parser.skip_whitespace();
    if parser.pos < input.len() {
        return Err(parser.error(ErrorKind::TrailingCharacters));
    }
    Ok(value)
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, kind: ErrorKind) -> JsonError {
        self.error_at(kind, self.pos)
    }

    fn error_at(&self, kind: ErrorKind, offset: usize) -> JsonError {
        JsonError {
            kind,
            offset,
            path: Vec::new(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Result<Value, JsonError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.error(ErrorKind::Expected(
                "a JSON value: object, array, string, number, true, false or null",
            ))),
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, JsonError> {
        if self.input.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error(ErrorKind::Expected("true, false or null")))
        }
    }

    /// Parses the items of an array or an object, from its opening bracket to past `close`:
    /// `item` parses one, and `,` separates them (`expected`: what else may follow an item).
    fn items(
        &mut self,
        close: u8,
        expected: &'static str,
        item: &mut dyn FnMut(&mut Self) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(ErrorKind::TooDeep));
        }
        self.pos += 1;
        self.skip_whitespace();
        if self.peek() != Some(close) {
            loop {
                item(self)?;
                self.skip_whitespace();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(c) if c == close => break,
                    _ => return Err(self.error(ErrorKind::Expected(expected))),
                }
            }
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(())
    }

    fn array(&mut self) -> Result<Value, JsonError> {
        let mut items = Vec::new();
        self.items(b']', "`,` or `]` after an array item", &mut |p| {
            let index = items.len();
            let item = p.value().map_err(|e| e.within(PathSegment::Index(index)))?;
            items.push(item);
            Ok(())
        })?;
        Ok(Value::Array(items))
    }

    fn object(&mut self) -> Result<Value, JsonError> {
        let mut members: Vec<(String, Value)> = Vec::new();
        let mut key_offsets = Vec::new();
        self.items(b'}', "`,` or `}` after an object member", &mut |p| {
            p.skip_whitespace();
            if p.peek() != Some(b'"') {
                return Err(p.error(ErrorKind::Expected("a key in double quotes")));
            }
            key_offsets.push(p.pos);
            let key = p.string()?;
            p.skip_whitespace();
            if p.peek() != Some(b':') {
                let error = p.error(ErrorKind::Expected("`:` after the key"));
                return Err(error.within(PathSegment::Key(key)));
            }
            p.pos += 1;
            match p.value() {
                Ok(value) => members.push((key, value)),
                Err(e) => return Err(e.within(PathSegment::Key(key))),
            }
            Ok(())
        })?;
        if let Some(second) = first_repeated(&members, false) {
            let offset = key_offsets.get(second).copied().unwrap_or(self.pos);
            let key = members
                .get(second)
                .map(|(k, _)| k.clone())
                .unwrap_or_default();
            let error = self.error_at(ErrorKind::DuplicateKey, offset);
            return Err(error.within(PathSegment::Key(key)));
        }
        Ok(Value::Object(members))
    }

    /// Parses a string at the opening quote.
    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            let run = self.input.get(start..self.pos).unwrap_or_default();
            match core::str::from_utf8(run) {
                Ok(text) => out.push_str(text),
                Err(e) => {
                    return Err(self.error_at(ErrorKind::InvalidUtf8, start + e.valid_up_to()));
                }
            }
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => out.push(self.escape()?),
                Some(_) => return Err(self.error(ErrorKind::ControlCharacterInString)),
                None => return Err(self.error(ErrorKind::Expected("`\"` to end the string"))),
            }
        }
    }

    /// Parses an escape at the backslash.
    fn escape(&mut self) -> Result<char, JsonError> {
        let start = self.pos;
        let c = match self.input.get(self.pos + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{C}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let high = self.hex4(start)?;
                let code = match high {
                    0xD800..=0xDBFF => {
                        let low = if self.input.get(self.pos..self.pos + 2) == Some(b"\\u") {
                            self.hex4(self.pos)?
                        } else {
                            0
                        };
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(self.error_at(ErrorKind::LoneSurrogate, start));
                        }
                        0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                    }
                    // A lone low surrogate is no char: from_u32 rejects it.
                    _ => high,
                };
                return char::from_u32(code)
                    .ok_or_else(|| self.error_at(ErrorKind::LoneSurrogate, start));
            }
            _ => return Err(self.error(ErrorKind::InvalidEscape)),
        };
        self.pos += 2;
        Ok(c)
    }

    /// Reads `\uXXXX` at `at`, leaving `pos` after it.
    fn hex4(&mut self, at: usize) -> Result<u32, JsonError> {
        let digits = self.input.get(at + 2..at + 6).unwrap_or_default();
        let mut code = 0;
        for &d in digits {
            match char::from(d).to_digit(16) {
                Some(v) => code = code << 4 | v,
                None => return Err(self.error_at(ErrorKind::InvalidEscape, at)),
            }
        }
        if digits.len() != 4 {
            return Err(self.error_at(ErrorKind::InvalidEscape, at));
        }
        self.pos = at + 6;
        Ok(code)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return Err(self.error_at(ErrorKind::LeadingZero, start));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error(ErrorKind::Expected("a digit"))),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error(ErrorKind::Expected("a digit after the decimal point")));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error(ErrorKind::Expected("a digit in the exponent")));
            }
        }
        let text = self.input.get(start..self.pos).unwrap_or_default();
        // The grammar above only lets ASCII through, so this never falls back to "".
        let text = core::str::from_utf8(text).unwrap_or_default();
        Ok(Value::Number(text.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::String(text.to_string())
    }

    fn n(text: &str) -> Value {
        Value::Number(text.to_string())
    }

    fn err(input: &str) -> JsonError {
        parse(input.as_bytes()).unwrap_err()
    }

    fn key(key: &str) -> PathSegment {
        PathSegment::Key(key.to_string())
    }

    #[test]
    fn scalars() {
        assert_eq!(parse(b"null").unwrap(), Value::Null);
        assert_eq!(parse(b" true ").unwrap(), Value::Bool(true));
        assert_eq!(parse(b"\tfalse\r\n").unwrap(), Value::Bool(false));
        assert_eq!(parse(b"\"\"").unwrap(), s(""));
        for number in ["0", "-0", "12", "-12.5", "1e3", "1E+3", "2.5e-10", "65536"] {
            assert_eq!(parse(number.as_bytes()).unwrap(), n(number));
        }
    }

    #[test]
    fn whole_numbers_by_value() {
        for n in (0..70_000).step_by(7).chain([u32::MAX - 1, u32::MAX]) {
            for text in [
                format!("{n}"),
                format!("{n}.000"),
                format!("{n}e0"),
                format!("{n}0e-1"),
                format!("0.{n}e{}", n.to_string().len()),
            ] {
                assert_eq!(whole_number(&text), Whole::Value(n), "{text}");
            }
        }
        assert_eq!(whole_number("4294967296"), Whole::OutOfRange);
        assert_eq!(whole_number("4.294967296e9"), Whole::OutOfRange);
        assert_eq!(whole_number("-1"), Whole::OutOfRange);
        assert_eq!(whole_number("-0.0e5"), Whole::Value(0));
        assert_eq!(whole_number("0.5"), Whole::Fraction);
        assert_eq!(whole_number("-0.5"), Whole::Fraction);
        assert_eq!(whole_number("5e-1"), Whole::Fraction);
    }

    #[test]
    fn containers_keep_order() {
        let value = parse(br#"{"b": [1, "x", {}], "a": {"c": null}, "": []}"#).unwrap();
        assert_eq!(
            value,
            Value::Object(vec![
                (
                    "b".into(),
                    Value::Array(vec![n("1"), s("x"), Value::Object(vec![])])
                ),
                ("a".into(), Value::Object(vec![("c".into(), Value::Null)])),
                ("".into(), Value::Array(vec![])),
            ])
        );
    }

    #[test]
    fn string_escapes() {
        let value = parse(br#""\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u2028 \ud834\udd1e \u0000""#);
        assert_eq!(
            value.unwrap(),
            s("\" \\ / \u{8} \u{C} \n \r \t A é \u{2028} 𝄞 \0")
        );
        assert_eq!(parse("\"héllo 日本\"".as_bytes()).unwrap(), s("héllo 日本"));
    }

    #[test]
    fn string_errors() {
        assert_eq!(err(r#""\ud834""#).kind, ErrorKind::LoneSurrogate);
        assert_eq!(err(r#""\ud834\u0041""#).kind, ErrorKind::LoneSurrogate);
        assert_eq!(err(r#""\udd1e""#).kind, ErrorKind::LoneSurrogate);
        assert_eq!(err(r#""\u12""#).kind, ErrorKind::InvalidEscape);
        assert_eq!(err(r#""\u12g4""#).kind, ErrorKind::InvalidEscape);
        assert_eq!(err(r#""\x41""#).kind, ErrorKind::InvalidEscape);
        assert_eq!(err("\"a\nb\"").kind, ErrorKind::ControlCharacterInString);
        assert_eq!(
            err("\"abc").kind,
            ErrorKind::Expected("`\"` to end the string")
        );
        let bad_utf8 = parse(b"\"ab\xff\"").unwrap_err();
        assert_eq!(
            (bad_utf8.kind, bad_utf8.offset),
            (ErrorKind::InvalidUtf8, 3)
        );
    }

    #[test]
    fn number_errors() {
        assert_eq!(err("01").kind, ErrorKind::LeadingZero);
        assert_eq!(err("-").kind, ErrorKind::Expected("a digit"));
        assert_eq!(
            err("1.").kind,
            ErrorKind::Expected("a digit after the decimal point")
        );
        assert_eq!(
            err("1e").kind,
            ErrorKind::Expected("a digit in the exponent")
        );
        assert_eq!(err("+1").offset, 0);
        assert_eq!(err(".5").offset, 0);
    }

    #[test]
    fn structure_errors_with_offsets_and_paths() {
        let e = err(r#"{"a": 1 "b": 2}"#);
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::Expected("`,` or `}` after an object member"), 8)
        );
        let e = err(r#"{"a": [1, 2,]}"#);
        assert_eq!(e.offset, 12);
        assert_eq!(e.path, [key("a"), PathSegment::Index(2)]);
        let e = err(r#"{"a": {"X Y": tru}}"#);
        assert_eq!(e.path, [key("a"), key("X Y")]);
        let e = err(r#"{"a" 1}"#);
        assert_eq!(e.path, [key("a")]);
        assert_eq!(
            err(r#"{"a": 1,}"#).kind,
            ErrorKind::Expected("a key in double quotes")
        );
        assert_eq!(err("{1: 2}").offset, 1);
        assert_eq!(err("").kind, err("   ").kind);
        assert_eq!(err("[").offset, 1);
    }

    #[test]
    fn trailing_characters() {
        let e = err("{} x");
        assert_eq!((e.kind, e.offset), (ErrorKind::TrailingCharacters, 3));
        assert_eq!(err("{}{}").kind, ErrorKind::TrailingCharacters);
        assert_eq!(err("1 2").kind, ErrorKind::TrailingCharacters);
    }

    #[test]
    fn duplicate_keys() {
        let e = err(r#"{"a": 1, "b": {"x": 1, "y": 2, "x": 3}, "a": 2}"#);
        assert_eq!((e.kind, e.offset), (ErrorKind::DuplicateKey, 31));
        assert_eq!(e.path, [key("b"), key("x")]);
        let e = err(r#"{"b": 1, "a": 1, "a": 2, "b": 2}"#);
        assert_eq!((e.path, e.offset), (vec![key("a")], 17));
        // Different escapes of the same key are the same key.
        assert_eq!(
            err(r#"{"a": 1, "\u0061": 2}"#).kind,
            ErrorKind::DuplicateKey
        );
    }

    #[test]
    fn depth_limit() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(err(&deep).kind, ErrorKind::TooDeep);
        // Far deeper input fails at the limit without recursing further.
        let hostile = "[{\"a\":".repeat(100_000);
        assert_eq!(err(&hostile).kind, ErrorKind::TooDeep);
    }

    #[test]
    fn every_truncation_of_a_document_fails_cleanly() {
        let doc = r#"{"set_request_headers": {"test": "b\u00e9st \ud834\udd1e"}, "n": [1.5e3, true, null]}"#;
        assert!(parse(doc.as_bytes()).is_ok());
        for end in 0..doc.len() {
            let prefix = doc.as_bytes().get(..end).unwrap();
            let e = parse(prefix).unwrap_err();
            assert!(e.offset <= end, "{end}: {e:?}");
        }
    }
}
