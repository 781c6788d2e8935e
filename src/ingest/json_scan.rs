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
    #[inline]
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
    let mut rest = raw;
    // The text between escapes is copied whole.
    while let Some(at) = memchr::memchr(b'\\', rest.as_bytes()) {
        out.push_str(&rest[..at]);
        let mut after = rest[at + 1..].chars();
        match after.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            // `"`, `\` and `/` stand for themselves.
            Some(other) => out.push(other),
            None => {}
        }
        rest = after.as_str();
    }
    out.push_str(rest);
    out
}

/// Lines up to this many bytes get a quote map (longer ones are searched string by string).
const MAPPED_BYTES: usize = 2048;

/// Where a line's quotes are: bit `k % 64` of word `k / 64` is set when byte `k` is a `"` that
/// opens or closes a string (escaped ones are cleared), so a string's end is the next set bit.
/// Built for a line with no control character whose escapes are all short ones (nearly every
/// log line); where the line has backslashes, they are kept too, to tell which strings hold
/// escapes.
struct QuoteMap {
    words: [u64; MAPPED_BYTES / 64],
    /// The backslashes, when `escapes` is set (made only then: few lines have any).
    backslashes: Vec<u64>,
    escapes: bool,
    len: usize,
}

impl QuoteMap {
    fn new() -> QuoteMap {
        QuoteMap {
            words: [0; MAPPED_BYTES / 64],
            backslashes: Vec::new(),
            escapes: false,
            len: 0,
        }
    }

    /// Maps `b`; false when it cannot be: it holds a control character or an escape other than
    /// the short ones (`\u` included), or is longer than [`MAPPED_BYTES`].
    fn fill(&mut self, b: &[u8]) -> bool {
        if b.len() > MAPPED_BYTES {
            return false;
        }
        self.len = b.len().div_ceil(64);
        #[cfg(target_arch = "x86_64")]
        let closer_any = if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (asked just above).
            unsafe { map_words_avx2(&mut self.words, b) }
        } else {
            map_words(&mut self.words, b, classify64)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let closer_any = map_words(&mut self.words, b, classify64);
        self.escapes = closer_any != 0;
        !self.escapes || self.map_escapes(b)
    }

    /// For a line with backslashes or control characters: refuses the controls, keeps where
    /// the backslashes are and clears the quotes they escape; false when an escape is not a
    /// short one.
    #[cold]
    fn map_escapes(&mut self, b: &[u8]) -> bool {
        // A fold with no early exit: it runs vectorised.
        if b.iter().fold(false, |found, &c| found | (c < 0x20)) {
            return false;
        }
        self.backslashes.clear();
        self.backslashes.resize(self.len, 0);
        for k in memchr::memchr_iter(b'\\', b) {
            self.backslashes[k / 64] |= 1 << (k % 64);
        }
        self.clear_escaped_quotes(b)
    }

    /// Clears the quotes that backslashes escape; false when an escape is not a short one.
    /// A backslash not itself escaped escapes the byte after it (outside a string a backslash is
    /// invalid JSON, and the scanner refuses the line when it meets it there).
    fn clear_escaped_quotes(&mut self, b: &[u8]) -> bool {
        let mut escaped_until = 0;
        for w in 0..self.len {
            let mut bits = self.backslashes[w];
            while bits != 0 {
                let k = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if k < escaped_until {
                    continue;
                }
                match b.get(k + 1) {
                    Some(b'"') => self.words[(k + 1) / 64] &= !(1u64 << ((k + 1) % 64)),
                    Some(b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                    // `\u` (surrogates and all) is left to serde_json.
                    _ => return false,
                }
                escaped_until = k + 2;
            }
        }
        true
    }

    /// Whether bytes `from..to` hold a backslash (a string there holds escapes).
    #[inline]
    fn has_backslash(&self, from: usize, to: usize) -> bool {
        if !self.escapes || from >= to {
            return false;
        }
        let (first, last) = (from / 64, (to - 1) / 64);
        (first..=last).any(|w| {
            let mut bits = self.backslashes.get(w).copied().unwrap_or(0);
            if w == first {
                bits &= !0u64 << (from % 64);
            }
            if w == last && !to.is_multiple_of(64) {
                bits &= !(!0u64 << (to % 64));
            }
            bits != 0
        })
    }

    /// The first quote at or after `from`.
    #[inline(always)]
    fn next(&self, from: usize) -> Option<usize> {
        let mut w = from / 64;
        let mut bits = *self.words.get(w)? & (!0u64 << (from % 64));
        loop {
            if bits != 0 {
                return Some(w * 64 + bits.trailing_zeros() as usize);
            }
            w += 1;
            if w >= self.len {
                return None;
            }
            bits = self.words[w];
        }
    }
}

/// Writes the quote bits of `b` (at most [`MAPPED_BYTES`]) into `words`, 64 bytes to a word as
/// `classify` reads them; returns the bytes needing a closer look, or-ed over the words (zero:
/// no backslash nor control character anywhere).
#[inline(always)]
fn map_words(
    words: &mut [u64; MAPPED_BYTES / 64],
    b: &[u8],
    classify: impl Fn(&[u8; 64]) -> (u64, u64),
) -> u64 {
    let mut closer_any = 0;
    let mut chunks = b.chunks_exact(64);
    for (word, bytes) in words.iter_mut().zip(chunks.by_ref()) {
        let (quotes, closer) = classify(bytes.try_into().unwrap_or(&[b' '; 64]));
        *word = quotes;
        closer_any |= closer;
    }
    let rest = chunks.remainder().len();
    if rest > 0 {
        let (quotes, closer) = if b.len() >= 64 {
            // The line's last 64 bytes, shifted down to the bytes not mapped yet (no copy).
            let last = b[b.len() - 64..].try_into().unwrap_or(&[b' '; 64]);
            let (quotes, closer) = classify(last);
            (quotes >> (64 - rest), closer >> (64 - rest))
        } else {
            // Padded with spaces: neither quote, backslash nor control.
            let mut padded = [b' '; 64];
            padded[..rest].copy_from_slice(b);
            classify(&padded)
        };
        if let Some(word) = words.get_mut(b.len() / 64) {
            *word = quotes;
        }
        closer_any |= closer;
    }
    closer_any
}

/// [`map_words`] with AVX2: 32 bytes to a compare.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn map_words_avx2(words: &mut [u64; MAPPED_BYTES / 64], b: &[u8]) -> u64 {
    map_words(words, b, |bytes| classify64_avx2(bytes))
}

/// [`classify64`] with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn classify64_avx2(bytes: &[u8; 64]) -> (u64, u64) {
    use std::arch::x86_64::{
        _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_max_epu8, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8,
    };
    let (halves, _) = bytes.as_chunks::<32>();
    let mut masks = [(0u32, 0u32); 2];
    for (mask, half) in masks.iter_mut().zip(halves) {
        // SAFETY: the load reads exactly the 32 bytes of `half` (unaligned loads are allowed).
        let v = unsafe { _mm256_loadu_si256(half.as_ptr().cast()) };
        let quotes = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'"' as i8));
        let backslashes = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\\' as i8));
        // v <= 0x1f, unsigned: max(v, 0x1f) == 0x1f.
        let low = _mm256_set1_epi8(0x1f);
        let control = _mm256_cmpeq_epi8(_mm256_max_epu8(v, low), low);
        *mask = (
            _mm256_movemask_epi8(quotes) as u32,
            _mm256_movemask_epi8(_mm256_or_si256(backslashes, control)) as u32,
        );
    }
    let [(q0, c0), (q1, c1)] = masks;
    (
        u64::from(q0) | u64::from(q1) << 32,
        u64::from(c0) | u64::from(c1) << 32,
    )
}

/// Bit masks of 64 bytes: the `"` bytes, and the bytes that need a closer look (`\\` and control
/// characters below 0x20), sixteen bytes at a time.
#[inline(always)]
fn classify64(bytes: &[u8; 64]) -> (u64, u64) {
    classify64_by(bytes, classify16)
}

/// [`classify64`] with the given classifier of 16 bytes.
#[inline(always)]
fn classify64_by(bytes: &[u8; 64], classify: impl Fn(&[u8; 16]) -> (u16, u16)) -> (u64, u64) {
    let (mut quotes, mut closer) = (0u64, 0u64);
    let (blocks, _) = bytes.as_chunks::<16>();
    for (k, block) in blocks.iter().enumerate() {
        let (q, c) = classify(block);
        quotes |= u64::from(q) << (16 * k);
        closer |= u64::from(c) << (16 * k);
    }
    (quotes, closer)
}

/// Bit masks of 16 bytes: the `"` bytes, and the bytes that need a closer look (`\\` and control
/// characters below 0x20).
#[cfg(target_arch = "x86_64")]
fn classify16(block: &[u8; 16]) -> (u16, u16) {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of every x86_64 CPU, and the load reads exactly the 16 bytes of
    // `block` (unaligned loads are allowed).
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast());
        let quotes = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslashes = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // v <= 0x1f, unsigned: max(v, 0x1f) == 0x1f.
        let low = _mm_set1_epi8(0x1f);
        let control = _mm_cmpeq_epi8(_mm_max_epu8(v, low), low);
        (
            _mm_movemask_epi8(quotes) as u16,
            _mm_movemask_epi8(_mm_or_si128(backslashes, control)) as u16,
        )
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn classify16(block: &[u8; 16]) -> (u16, u16) {
    classify16_portable(block)
}

/// [`classify16`] a byte at a time: the other targets' version, and the x86_64 one's check.
#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
fn classify16_portable(block: &[u8; 16]) -> (u16, u16) {
    let mut quotes = 0u16;
    let mut closer = 0u16;
    for (k, &c) in block.iter().enumerate() {
        quotes |= u16::from(c == b'"') << k;
        closer |= u16::from(c == b'\\' || c < 0x20) << k;
    }
    (quotes, closer)
}

/// A number at `i` written as most log numbers are, `-?(0|[1-9][0-9]*)(\.[0-9]+)?` and followed
/// by a byte that cannot continue it: its start and end. Anything else (an exponent, a bad
/// number, not a number) is `None`, and [`Scanner::value`] decides.
#[inline(always)]
fn plain_number(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let digits_from = |mut j: usize| {
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        j
    };
    let first = i + usize::from(b.get(i) == Some(&b'-'));
    let mut end = match b.get(first)? {
        b'0' => first + 1,
        b'1'..=b'9' => digits_from(first + 1),
        _ => return None,
    };
    if b.get(end) == Some(&b'.') {
        let after = digits_from(end + 1);
        if after == end + 1 {
            return None;
        }
        end = after;
    }
    match b.get(end) {
        Some(b',' | b'}' | b' ' | b'\t' | b'\n' | b'\r') | None => Some((i, end)),
        _ => None,
    }
}

/// The text between the quotes at `open` and `close` of a mapped line. Both are quotes the map
/// found (ASCII bytes of the line, `open < close`), so the text starts and ends on character
/// boundaries and the checks of `str::get` are not needed.
#[inline(always)]
fn quoted(text: &str, open: usize, close: usize) -> &str {
    debug_assert!(open < close && text.as_bytes()[open] == b'"' && text.as_bytes()[close] == b'"');
    // SAFETY: `open` and `close` index `"` bytes of `text` (so `close < text.len()`), and the
    // byte after an ASCII byte and an ASCII byte itself both start a character.
    unsafe { text.get_unchecked(open + 1..close) }
}

struct Scanner<'a, 'm> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    /// The line's quotes, when it has no escapes.
    quotes: Option<&'m QuoteMap>,
}

impl<'a> Scanner<'a, '_> {
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
        if let Some(map) = self.quotes {
            let at = map.next(start)?;
            self.i = at + 1;
            return Some((&self.text[start..at], map.has_backslash(start, at)));
        }
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
                self.object(depth + 1, &mut |_: &'a str, _: Raw<'a>| {})?;
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

    /// The top-level object of a mapped line: [`Scanner::object`] with the strings found from
    /// the map in one tight loop (nested values go through [`Scanner::value`]).
    fn object_mapped<F: FnMut(&'a str, Raw<'a>)>(
        &mut self,
        map: &QuoteMap,
        visit: &mut F,
    ) -> Option<()> {
        let (b, text) = (self.b, self.text);
        let is_ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
        let skip_ws = |mut i: usize| {
            // Every byte above the space ends the run at once (most runs are empty).
            while i < b.len() && is_ws(b[i]) {
                i += 1;
            }
            i
        };
        let mut i = self.i;
        if b.get(i) != Some(&b'{') {
            return None;
        }
        i = skip_ws(i + 1);
        if b.get(i) == Some(&b'}') {
            self.i = i + 1;
            return Some(());
        }
        // Read once: most lines have no escapes, and then no string is looked at for them.
        let escapes = map.escapes;
        loop {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let end = map.next(i + 1)?;
            if escapes && map.has_backslash(i + 1, end) {
                // Keys are matched as written: an escaped one is left to serde_json.
                return None;
            }
            let key = quoted(text, i, end);
            // Whitespace is looked for only where the expected byte is not next (most lines
            // hold none).
            i = end + 1;
            if b.get(i) != Some(&b':') {
                i = skip_ws(i);
                if b.get(i) != Some(&b':') {
                    return None;
                }
            }
            i += 1;
            if b.get(i).is_some_and(|&c| is_ws(c)) {
                i = skip_ws(i);
            }
            // Each kind of value is handed over where it was read: a value merged from the
            // branches would be built in memory and copied out whole, a copy that waits on the
            // narrower stores that just wrote it.
            if b.get(i) == Some(&b'"') {
                let end = map.next(i + 1)?;
                let raw = quoted(text, i, end);
                let escaped = escapes && map.has_backslash(i + 1, end);
                i = end + 1;
                visit(key, Raw::Str { raw, escaped });
            } else if let Some((number, end)) = plain_number(b, i) {
                i = end;
                visit(key, Raw::Num(text.get(number..end)?));
            } else {
                self.i = i;
                let value = self.value(1)?;
                i = self.i;
                visit(key, value);
            }
            if b.get(i).is_some_and(|&c| is_ws(c)) {
                i = skip_ws(i);
            }
            match b.get(i) {
                Some(b',') => {
                    i += 1;
                    if b.get(i).is_some_and(|&c| is_ws(c)) {
                        i = skip_ws(i);
                    }
                }
                Some(b'}') => {
                    self.i = i + 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn object<F: FnMut(&'a str, Raw<'a>)>(&mut self, depth: usize, visit: &mut F) -> Option<()> {
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
pub fn scan_object<'a, F: FnMut(&'a str, Raw<'a>)>(text: &'a str, mut visit: F) -> Option<()> {
    let mut map = QuoteMap::new();
    let mapped = map.fill(text.as_bytes());
    // Control characters are invalid inside strings and rare outside: refuse them all at once
    // (a mapped line has none). A fold with no early exit: it runs vectorised.
    if !mapped && text.bytes().fold(false, |found, b| found | (b < 0x20)) {
        return None;
    }
    let mut s = Scanner {
        text,
        b: text.as_bytes(),
        i: 0,
        quotes: mapped.then_some(&map),
    };
    s.ws();
    if mapped {
        s.object_mapped(&map, &mut visit)?;
    } else {
        s.object(1, &mut visit)?;
    }
    s.ws();
    (s.i == s.b.len()).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn members(text: &str) -> Option<Vec<(String, Raw<'_>)>> {
        let mut out = Vec::new();
        scan_object(text, |k, v| out.push((k.to_string(), v)))?;
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
    fn unescape_reads_escapes_as_serde_json_does() {
        let raws = [
            r#"plain"#,
            r#"relation \"sessions\" does not exist"#,
            r#"\"at start and end\""#,
            r#"a\\b\/c\bd\fe\nf\rg\th"#,
            r#"\\\\"#,
            r#"é\"ü\\ß"#,
            r#"\n"#,
        ];
        for raw in raws {
            let want: String = serde_json::from_str(&format!("\"{raw}\"")).unwrap();
            assert_eq!(unescape(raw), want, "{raw}");
        }
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

    fn build(b: &[u8]) -> Option<QuoteMap> {
        let mut map = QuoteMap::new();
        map.fill(b).then_some(map)
    }

    #[test]
    fn classify16_matches_the_portable_version() {
        for seed in 0u32..4096 {
            let mut block = [0u8; 16];
            for (k, b) in block.iter_mut().enumerate() {
                // Every byte value appears, in many neighbourhoods.
                *b = (seed.wrapping_mul(2_654_435_761).rotate_left(k as u32 * 5) ^ (k as u32 * 37))
                    as u8;
            }
            block[seed as usize % 16] = [b'"', b'\\', 0x1f, 0x20, 0x80, 0xff][seed as usize % 6];
            assert_eq!(classify16(&block), classify16_portable(&block), "{block:?}");
        }
    }

    /// Pseudo-random bytes where quotes, backslashes and control characters are common.
    fn noisy_bytes(seed: u32, len: usize) -> Vec<u8> {
        (0..len)
            .map(|k| {
                let r = seed.wrapping_mul(2_654_435_761) ^ (k as u32).wrapping_mul(40_503);
                let r = r.rotate_left(k as u32 % 31);
                match r % 8 {
                    0 => b'"',
                    1 => b'\\',
                    2 => (r >> 8) as u8 % 0x21,
                    _ => (r >> 8) as u8,
                }
            })
            .collect()
    }

    #[test]
    fn every_way_of_mapping_words_gives_the_portable_words() {
        let portable = |bytes: &[u8; 64]| classify64_by(bytes, classify16_portable);
        for seed in 0..64 {
            for len in [
                0,
                1,
                31,
                32,
                33,
                63,
                64,
                65,
                100,
                128,
                200,
                277,
                1000,
                MAPPED_BYTES,
            ] {
                let b = noisy_bytes(seed, len);
                let mut want = [0u64; MAPPED_BYTES / 64];
                let want_closer = map_words(&mut want, &b, portable);
                let mut sse = [0u64; MAPPED_BYTES / 64];
                assert_eq!(
                    map_words(&mut sse, &b, classify64),
                    want_closer,
                    "{seed} {len}"
                );
                assert_eq!(sse, want, "{seed} {len}");
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    let mut avx = [0u64; MAPPED_BYTES / 64];
                    // SAFETY: the CPU has AVX2.
                    let closer = unsafe { map_words_avx2(&mut avx, &b) };
                    assert_eq!((avx, closer), (want, want_closer), "{seed} {len}");
                }
            }
        }
    }

    #[test]
    fn quote_map_finds_every_quote_and_refuses_escapes() {
        for len in [0, 1, 15, 16, 17, 63, 64, 65, 200, MAPPED_BYTES] {
            let b: Vec<u8> = (0..len)
                .map(|k| if k % 7 == 3 { b'"' } else { b'a' })
                .collect();
            let map = build(&b).unwrap();
            let mut found = Vec::new();
            let mut from = 0;
            while let Some(at) = map.next(from) {
                found.push(at);
                from = at + 1;
            }
            let want: Vec<usize> = (0..len).filter(|k| k % 7 == 3).collect();
            assert_eq!(found, want, "len {len}");
        }
        // An escaped quote is no quote; an escaped backslash escapes nothing.
        let map = build(br#"{"a":"x\"y","b":"z\\"}"#).unwrap();
        let mut found = Vec::new();
        let mut from = 0;
        while let Some(at) = map.next(from) {
            found.push(at);
            from = at + 1;
        }
        assert_eq!(found, [1, 3, 5, 10, 12, 14, 16, 20]);
        assert!(map.has_backslash(6, 10) && !map.has_backslash(2, 3));
        // `\u`, other escapes and control characters are left to the scanner.
        assert!(build(br#"{"a":"\u0041"}"#).is_none());
        assert!(build(br#"{"a":"\q"}"#).is_none());
        assert!(build(br#"{"a":"x\"#).is_none());
        assert!(build(b"{\"a\":\"x\ty\"}").is_none());
        assert!(build(&vec![b'a'; MAPPED_BYTES + 1]).is_none());
    }

    #[test]
    fn mapped_and_searched_strings_agree() {
        let lines = [
            r#"{"a":"x","b":"","c":[1,"q",{"d":"e"}],"é":"ü"}"#,
            r#"{"a":"unterminated}"#,
            r#"{"a":"x" ,  "b" : "y" }"#,
            "{ }",
            "{}",
            "{ \"a\" :  \"x\" , \"b\":1 ,\"c\" : [ ] ,  \"d\" :{ } }",
            "{\"a\":\"x\"  ,",
            "{\"a\" : ",
            r#"{"a":1,"a":"2","n":-0.5,"t":true,"f":false,"z":null}"#,
            r#"{"o":{"p":"q"},"l":["r",{"s":[]}],"e":{}}"#,
            r#"{"a":"x","b"}"#,
            r#"{"a" "x"}"#,
            r#"{"a":"x",}"#,
            r#"{"a":"x""b":1}"#,
            r#"{"a":"x"} "#,
            r#"{"a":"x"}}"#,
            r#"{"a":tru}"#,
            r#"{a:1}"#,
            r#"{"a":"x"#,
            r#"{"#,
            r#"["a"]"#,
            // Escapes on a mapped line.
            r#"{"message":"relation \"sessions\" does not exist","b":1}"#,
            r#"{"a":"x\\","b":"\\\"","c":"\/\b\f\n\r\t"}"#,
            r#"{"a\"b":1}"#,
            r#"{"a":"\u0041"}"#,
            r#"{"a":"x\q"}"#,
            r#"{"a":1,\"b":2}"#,
            r#"{"a":"x"\,"b":2}"#,
            r#"{"o":{"p":"q\"r"},"l":["s\\",{"t":"\""}]}"#,
            r#"{"a":"\\"}"#,
            r#"{"a":"\\\\\""}"#,
            // Numbers, read inline on a mapped line.
            r#"{"a":-0.5,"b":10,"c":0,"d":123.25}"#,
            r#"{"a":7 ,"b":8 }"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":-}"#,
            r#"{"a":-x}"#,
            r#"{"a":1e5}"#,
            r#"{"a":2E-3}"#,
            r#"{"a":12x}"#,
            r#"{"a":1.5.5}"#,
            r#"{"a":-01}"#,
            r#"{"a":4"#,
        ];
        for line in lines {
            let mapped = members(line);
            let mut s = Scanner {
                text: line,
                b: line.as_bytes(),
                i: 0,
                quotes: None,
            };
            let mut searched = Vec::new();
            let done = s
                .object(1, &mut |k: &str, v| searched.push((k.to_string(), v)))
                .and_then(|()| {
                    s.ws();
                    (s.i == line.len()).then_some(())
                });
            assert_eq!(mapped.is_some(), done.is_some(), "{line}");
            if let Some(mapped) = mapped {
                assert_eq!(mapped, searched, "{line}");
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
