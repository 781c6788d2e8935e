//! Opens an input (plain or gzip, told by magic bytes) and hands out its lines, bounded in length.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

/// Lines longer than this are cut: the rest of the line is skipped (not kept in memory) and the
/// line is reported as truncated.
pub const MAX_LINE_BYTES: usize = 1 << 20;

const READ_CHUNK: usize = 256 * 1024;

/// Counts bytes as they are read from disk (before decompression), for progress reporting.
struct CountingReader<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An opened input: its decoded byte stream and whether it was gzip.
pub struct OpenedInput {
    pub reader: Box<dyn Read + Send>,
    pub gzip: bool,
}

/// Opens a file; gzip is recognised by its magic bytes, whatever the file is called.
pub fn open_input(path: &Path, bytes_read: Arc<AtomicU64>) -> io::Result<OpenedInput> {
    let mut file = File::open(path)?;
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        let n = file.read(&mut magic[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let head = io::Cursor::new(magic[..got].to_vec());
    let counted = CountingReader {
        inner: head.chain(file),
        counter: bytes_read,
    };
    let buffered = BufReader::with_capacity(READ_CHUNK, counted);
    if got == 2 && magic == [0x1f, 0x8b] {
        Ok(OpenedInput {
            reader: Box::new(MultiGzDecoder::new(buffered)),
            gzip: true,
        })
    } else {
        Ok(OpenedInput {
            reader: Box::new(buffered),
            gzip: false,
        })
    }
}

/// One line as read: without its line end, possibly cut at [`MAX_LINE_BYTES`].
pub struct RawLine<'a> {
    pub bytes: &'a [u8],
    /// 1-based.
    pub number: u64,
    pub truncated: bool,
}

/// Splits a byte stream into lines with `memchr`, never holding more than one chunk plus one
/// (bounded) line. `\n` and `\r\n` end lines; a final line without a newline still counts.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    max_line: usize,
    line_number: u64,
    /// Set while skipping the rest of an over-long line.
    skipping: bool,
    /// A read error, returned once the bytes read before it have been handed out.
    error: Option<io::Error>,
}

impl<R: Read> LineReader<R> {
    pub fn new(inner: R) -> Self {
        Self::with_limits(inner, READ_CHUNK, MAX_LINE_BYTES)
    }

    pub fn with_limits(inner: R, chunk: usize, max_line: usize) -> Self {
        LineReader {
            inner,
            buf: vec![0; chunk.max(max_line + 1).max(16)],
            start: 0,
            end: 0,
            eof: false,
            max_line,
            line_number: 0,
            skipping: false,
            error: None,
        }
    }

    /// Reads more bytes after moving the unread tail to the front of the buffer.
    fn refill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.eof = true;
                    self.error = Some(e);
                    return Ok(());
                }
            }
        }
    }

    /// The next line, or `None` at the end. A read error (such as a truncated gzip stream) is
    /// returned once; lines read before it have already been handed out.
    pub fn next_line(&mut self) -> io::Result<Option<RawLine<'_>>> {
        loop {
            let pending = &self.buf[self.start..self.end];
            if let Some(pos) = memchr::memchr(b'\n', pending) {
                let line_start = self.start;
                self.start += pos + 1;
                if self.skipping {
                    // The tail of an over-long line that was already handed out.
                    self.skipping = false;
                    continue;
                }
                self.line_number += 1;
                let mut bytes = &self.buf[line_start..line_start + pos];
                if let [rest @ .., b'\r'] = bytes {
                    bytes = rest;
                }
                return Ok(Some(RawLine {
                    bytes,
                    number: self.line_number,
                    truncated: false,
                }));
            }
            if pending.len() >= self.max_line {
                if self.skipping {
                    // Still inside an over-long line: drop what we have and keep reading.
                    self.start = self.end;
                } else {
                    let line_start = self.start;
                    self.start = self.end;
                    self.skipping = true;
                    self.line_number += 1;
                    return Ok(Some(RawLine {
                        bytes: &self.buf[line_start..line_start + self.max_line],
                        number: self.line_number,
                        truncated: true,
                    }));
                }
            }
            if self.eof {
                if self.start == self.end {
                    return match self.error.take() {
                        Some(e) => Err(e),
                        None => Ok(None),
                    };
                }
                let line_start = self.start;
                self.start = self.end;
                if self.skipping {
                    self.skipping = false;
                    continue;
                }
                self.line_number += 1;
                let mut bytes = &self.buf[line_start..self.end];
                if let [rest @ .., b'\r'] = bytes {
                    bytes = rest;
                }
                return Ok(Some(RawLine {
                    bytes,
                    number: self.line_number,
                    truncated: false,
                }));
            }
            self.refill()?;
        }
    }

    pub fn lines_read(&self) -> u64 {
        self.line_number
    }

    /// The first bytes of the stream, without consuming them: at least `min` bytes (or the
    /// whole stream if shorter) and the first line when it fits in the buffer. Read errors are
    /// kept for `next_line` to report.
    pub fn peek(&mut self, min: usize) -> &[u8] {
        loop {
            let held = &self.buf[self.start..self.end];
            let enough = held.len() >= min && memchr::memchr(b'\n', held).is_some();
            if self.eof || enough || held.len() >= self.buf.len() {
                break;
            }
            // refill never fails: errors are stored and end the stream.
            let _ = self.refill();
        }
        &self.buf[self.start..self.end]
    }

    /// Moves the rest of the stream into `out`, up to `cap` bytes. Returns whether the end was
    /// reached; when not, the reader stands after the bytes handed out (count the remaining
    /// lines with [`LineReader::count_rest`]). A read error is returned after the bytes before it.
    pub fn read_rest(&mut self, out: &mut Vec<u8>, cap: usize) -> io::Result<bool> {
        loop {
            let room = cap.saturating_sub(out.len());
            let available = self.end - self.start;
            let take = available.min(room);
            out.extend_from_slice(&self.buf[self.start..self.start + take]);
            self.start += take;
            if self.start < self.end {
                return Ok(false);
            }
            if self.eof {
                return match self.error.take() {
                    Some(e) => Err(e),
                    None => Ok(true),
                };
            }
            self.start = 0;
            self.end = 0;
            self.refill()?;
            if out.len() >= cap && self.end > self.start {
                return Ok(false);
            }
        }
    }

    /// Counts the newlines left in the stream (after [`LineReader::read_rest`] stopped at its cap),
    /// and whether the last line lacks one.
    pub fn count_rest(&mut self) -> io::Result<(u64, bool)> {
        let mut newlines = 0u64;
        let mut last_byte = None;
        loop {
            let chunk = &self.buf[self.start..self.end];
            newlines += memchr::memchr_iter(b'\n', chunk).count() as u64;
            if let Some(&b) = chunk.last() {
                last_byte = Some(b);
            }
            self.start = self.end;
            if self.eof {
                if let Some(e) = self.error.take() {
                    return Err(e);
                }
                return Ok((newlines, last_byte.is_some_and(|b| b != b'\n')));
            }
            self.start = 0;
            self.end = 0;
            self.refill()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8], chunk: usize, max: usize) -> Vec<(String, u64, bool)> {
        let mut r = LineReader::with_limits(input, chunk, max);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            out.push((
                String::from_utf8_lossy(l.bytes).into_owned(),
                l.number,
                l.truncated,
            ));
        }
        out
    }

    #[test]
    fn splits_lf_crlf_and_last_line_without_newline() {
        let lines = collect(b"a\r\nbb\n\nccc", 4, 100);
        let texts: Vec<_> = lines.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(texts, ["a", "bb", "", "ccc"]);
        assert_eq!(lines[3].1, 4);
    }

    #[test]
    fn same_lines_whatever_the_chunk_size() {
        let input = b"first line\nsecond\nthird line is longer\n";
        let want = collect(input, 1 << 16, 1 << 10);
        for chunk in 1..40 {
            assert_eq!(collect(input, chunk, 1 << 10), want, "chunk {chunk}");
        }
    }

    #[test]
    fn peek_then_read_rest_with_cap() {
        let input = b"[\n  {\"a\": 1}\n]\n";
        let mut r = LineReader::with_limits(&input[..], 4, 100);
        assert!(r.peek(8).starts_with(b"[\n  {"));
        let mut out = Vec::new();
        assert!(r.read_rest(&mut out, 1000).unwrap());
        assert_eq!(out, input);
        let mut r = LineReader::with_limits(&input[..], 4, 100);
        let mut out = Vec::new();
        assert!(!r.read_rest(&mut out, 5).unwrap());
        assert_eq!(out.len(), 5);
        let (newlines, open_end) = r.count_rest().unwrap();
        assert_eq!(newlines, 2);
        assert!(!open_end);
    }

    #[test]
    fn over_long_line_is_cut_and_counted_once() {
        let mut input = vec![b'x'; 50];
        input.extend_from_slice(b"\nnext\n");
        let lines = collect(&input, 8, 10);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].0.len(), 10);
        assert!(lines[0].2);
        assert_eq!(lines[1], ("next".to_string(), 2, false));
    }
}
