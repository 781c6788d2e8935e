//! A JSON object line read without building a `serde_json::Value`: the top-level members are
//! handed over as borrowed raw values, after the whole line has been checked to be JSON that
//! serde_json reads the same way. Anything this scanner does not take on (`\u` escapes,
//! exponents, control characters, deep nesting) is refused, and the caller reads the line with
//! serde_json instead: a line the scanner accepts is always one serde_json accepts, with the same
//! member values.

use std::borrow::Cow;

/// Bytes of a string looked at eight at a time before handing the rest to memchr2.
const SHORT_STRING: usize = 32;

/// The first `"` or `\\` in `b`. Most strings in a log line are short, so the first
/// [`SHORT_STRING`] bytes are searched eight at a time in a `u64` (a byte equal to the target
/// becomes a zero byte, and the lowest zero byte of a word is found exactly), the rest by memchr2.
fn quote_or_backslash(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut i = 0;
    while i + 8 <= b.len() && i < SHORT_STRING {
        let word: [u8; 8] = b[i..i + 8].try_into().unwrap_or([0; 8]);
        let v = u64::from_le_bytes(word);
        let found =
            zero_bytes(v ^ (ONES * u64::from(b'"'))) | zero_bytes(v ^ (ONES * u64::from(b'\\')));
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    if i < SHORT_STRING {
        // Fewer than eight bytes left.
        return b[i..]
            .iter()
            .position(|&c| c == b'"' || c == b'\\')
            .map(|k| i + k);
    }
    memchr::memchr2(b'"', b'\\', &b[i..]).map(|k| i + k)
}

/// Nesting the scanner follows (serde_json stops at 128).
const MAX_DEPTH: usize = 64;

/// A member's value as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Raw<'a> {
    /// A string, without its quotes; `escaped` when it holds backslash escapes.
    Str {
        raw: &'a str,
        escaped: bool,
    },
    /// A number as written (no exponent: those are refused).
    Num(&'a str),
    Bool(bool),
    Null,
    Object,
    Array,
}

impl<'a> Raw<'a> {
    /// A string's text, escapes undone (only the short escapes: `\u` is refused upstream).
    pub fn text(&self) -> Option<Cow<'a, str>> {
        match *self {
            Raw::Str {
                raw,
                escaped: false,
            } => Some(Cow::Borrowed(raw)),
            Raw::Str { raw, escaped: true } => Some(Cow::Owned(unescape(raw))),
            _ => None,
        }
    }
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            // `"`, `\` and `/` stand for themselves.
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

struct Scanner<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' => self.i += 1,
                _ => break,
            }
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    /// A string (the opening quote is next).
    fn string(&mut self) -> Option<(&'a str, bool)> {
        self.eat(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            let at = self.i + quote_or_backslash(&self.b[self.i..])?;
            if self.b[at] == b'"' {
                self.i = at + 1;
                return Some((&self.text[start..at], escaped));
            }
            match self.b.get(at + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                // `\u` (surrogates and all) is left to serde_json.
                _ => return None,
            }
            escaped = true;
            self.i = at + 2;
        }
    }

    /// A number without exponent: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`.
    fn number(&mut self) -> Option<&'a str> {
        let start = self.i;
        let _ = self.eat(b'-');
        let digits = |s: &mut Self| {
            let from = s.i;
            while s.b.get(s.i).is_some_and(u8::is_ascii_digit) {
                s.i += 1;
            }
            s.i - from
        };
        match self.b.get(self.i)? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                digits(self);
            }
            _ => return None,
        }
        if self.eat(b'.').is_some() && digits(self) == 0 {
            return None;
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            return None;
        }
        Some(&self.text[start..self.i])
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        (self.b.get(self.i..self.i + word.len()) == Some(word)).then(|| self.i += word.len())
    }

    /// Any value (whitespace before it already skipped).
    fn value(&mut self, depth: usize) -> Option<Raw<'a>> {
        Some(match *self.b.get(self.i)? {
            b'"' => {
                let (raw, escaped) = self.string()?;
                Raw::Str { raw, escaped }
            }
            b'{' => {
                self.object(depth + 1, &mut |_, _| {})?;
                Raw::Object
            }
            b'[' => {
                self.array(depth + 1)?;
                Raw::Array
            }
            b't' => {
                self.literal(b"true")?;
                Raw::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                Raw::Bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                Raw::Null
            }
            _ => Raw::Num(self.number()?),
        })
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.eat(b'[')?;
        self.ws();
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            self.ws();
            self.value(depth)?;
            self.ws();
            if self.eat(b',').is_some() {
                continue;
            }
            return self.eat(b']');
        }
    }

    fn object(&mut self, depth: usize, visit: &mut dyn FnMut(&'a str, Raw<'a>)) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.eat(b'{')?;
        self.ws();
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            self.ws();
            let (key, escaped) = self.string()?;
            if escaped {
                // Keys are matched as written: an escaped one is left to serde_json.
                return None;
            }
            self.ws();
            self.eat(b':')?;
            self.ws();
            let value = self.value(depth)?;
            visit(key, value);
            self.ws();
            if self.eat(b',').is_some() {
                continue;
            }
            return self.eat(b'}');
        }
    }
}

/// Scans `text` (a line, trimmed) as one JSON object, calling `visit` with each top-level member
/// in order (a key written twice is visited twice: the last one is the one serde_json keeps).
/// `None` when the text is not an object this scanner reads: then serde_json decides.
pub fn scan_object<'a>(text: &'a str, visit: &mut dyn FnMut(&'a str, Raw<'a>)) -> Option<()> {
    // Control characters are invalid inside strings and rare outside: refuse them all at once.
    // (A fold with no early exit: it runs vectorised, and nearly every line is clean.)
    if text.bytes().fold(false, |found, b| found | (b < 0x20)) {
        return None;
    }
    let mut s = Scanner {
        text,
        b: text.as_bytes(),
        i: 0,
    };
    s.ws();
    s.object(1, visit)?;
    s.ws();
    (s.i == s.b.len()).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn members(text: &str) -> Option<Vec<(String, Raw<'_>)>> {
        let mut out = Vec::new();
        scan_object(text, &mut |k, v| out.push((k.to_string(), v)))?;
        Some(out)
    }

    #[test]
    fn reads_flat_members_and_nested_values() {
        let m =
            members(r#"{"a":"x\"y","n":-12.5,"t":true,"z":null,"o":{"p":[1,{"q":"r"}]},"e":[]}"#)
                .unwrap();
        assert_eq!(m.len(), 6);
        assert_eq!(m[0].1.text().unwrap(), "x\"y");
        assert_eq!(m[1].1, Raw::Num("-12.5"));
        assert_eq!(m[4].1, Raw::Object);
    }

    #[test]
    fn quote_or_backslash_finds_the_first_one_anywhere() {
        for len in 0..80 {
            for at in 0..=len {
                for target in [b'"', b'\\'] {
                    // Bytes next to the targets, and high ones, to trip a word-wise search.
                    let mut b: Vec<u8> = (0..len)
                        .map(|k| [b'!', b'#', b'[', b']', 0xc3, 0x21][k % 6])
                        .collect();
                    if at < len {
                        b[at] = target;
                        if at + 1 < len {
                            b[at + 1] = b'"';
                        }
                    }
                    let want = b.iter().position(|&c| c == b'"' || c == b'\\');
                    assert_eq!(quote_or_backslash(&b), want, "len {len} at {at}");
                }
            }
        }
    }

    #[test]
    fn accepts_only_what_serde_json_accepts() {
        let cases = [
            r#"{"a":1}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":-}"#,
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{"a":tru}"#,
            r#"{"a":"\q"}"#,
            r#"{"a":"\u0041"}"#,
            r#"{"a":1e5}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a":[1,2,]}"#,
            r#"{"a":{"b":}}"#,
            r#"{"a":1} x"#,
            r#"{"a":1}  "#,
            r#"{}"#,
            r#"{"a":"é\/\\"}"#,
            r#"{"a":1}{"b":2}"#,
        ];
        for case in cases {
            let scanned = members(case);
            let parsed = serde_json::from_str::<Value>(case);
            if let Some(scanned) = scanned {
                assert!(
                    parsed.is_ok(),
                    "scanner accepted what serde_json refuses: {case}"
                );
                let v = parsed.unwrap();
                for (k, raw) in scanned {
                    if let Some(text) = raw.text() {
                        assert_eq!(v[&k].as_str(), Some(&*text), "{case}");
                    }
                }
            }
        }
        // And the common lines are taken.
        assert!(members(r#"{"a":1}"#).is_some());
        assert!(members(r#"{"a":"é\/\\"}"#).is_some());
    }
}
