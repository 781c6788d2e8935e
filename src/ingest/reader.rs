//! Opens an input (plain or gzip, told by magic bytes), cuts its byte stream into chunks of whole
//! lines, and chunks into lines. `\n`, `\r\n` and a lone `\r` (old Mac files) end a line; a final
//! line without an end still counts; a line longer than [`MAX_LINE_BYTES`] is cut there and the
//! rest of it skipped as it streams by (never held). Every path through retrace splits lines here.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

/// Lines longer than this are cut: the rest of the line is skipped (not kept in memory) and the
/// line is reported as truncated.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Bytes per chunk: large enough that handing a chunk to a worker costs nothing next to parsing
/// it, small enough that a few per core stay in cache-friendly, bounded memory.
pub const DEFAULT_CHUNK_BYTES: usize = 2 << 20;

/// Buffer of the file reader under the decoder.
const READ_BUFFER: usize = 256 * 1024;

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
    /// Where the bytes taken from `reader` are to be counted, when it does not count them
    /// itself: a plain file is read straight into the chunk buffers, and a counting wrapper
    /// there would have std zero each buffer before every read (a wrapper cannot pass on
    /// reads into uninitialised memory on stable Rust).
    pub count_into: Option<Arc<AtomicU64>>,
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
    let gzip = got == 2 && magic == [0x1f, 0x8b];
    if !gzip && file.seek(SeekFrom::Start(0)).is_ok() {
        return Ok(OpenedInput {
            reader: Box::new(file),
            gzip,
            count_into: Some(bytes_read),
        });
    }
    // The decoder reads through a buffer of its own; a stream that cannot seek back (a pipe)
    // gets its first bytes put back in front.
    let head = io::Cursor::new(magic[..got].to_vec());
    let counted = CountingReader {
        inner: head.chain(file),
        counter: bytes_read,
    };
    let buffered = BufReader::with_capacity(READ_BUFFER, counted);
    let reader: Box<dyn Read + Send> = if gzip {
        Box::new(MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    Ok(OpenedInput {
        reader,
        gzip,
        count_into: None,
    })
}

/// The first line end in `bytes`: where the line stops and where the next one starts. A `\r`
/// that is the last byte ends a line only when `final_bytes` says nothing follows (else a `\n`
/// may be on its way).
pub fn line_end(bytes: &[u8], final_bytes: bool) -> Option<(usize, usize)> {
    let i = memchr::memchr2(b'\n', b'\r', bytes)?;
    if bytes[i] == b'\n' {
        return Some((i, i + 1));
    }
    match bytes.get(i + 1) {
        Some(b'\n') => Some((i, i + 2)),
        Some(_) => Some((i, i + 1)),
        None if final_bytes => Some((i, i + 1)),
        None => None,
    }
}

/// Where the next line starts after the last certain line end in `bytes`, if there is one.
fn after_last_line_end(bytes: &[u8]) -> Option<usize> {
    let mut upto = bytes.len();
    loop {
        let i = memchr::memrchr2(b'\n', b'\r', &bytes[..upto])?;
        // A trailing `\r` may be the first half of `\r\n`: not certain yet.
        if bytes[i] == b'\r' && i + 1 == bytes.len() {
            upto = i;
            continue;
        }
        return Some(i + 1);
    }
}

/// Lines in a run of whole lines: `\r\n` counts once, a lone `\r` once, and an unterminated last
/// line once.
pub fn count_lines(bytes: &[u8]) -> u64 {
    let mut n = memchr::memchr_iter(b'\n', bytes).count() as u64;
    if memchr::memchr(b'\r', bytes).is_some() {
        let cr = memchr::memchr_iter(b'\r', bytes).count() as u64;
        let crlf = memchr::memmem::find_iter(bytes, b"\r\n").count() as u64;
        n += cr - crlf;
    }
    if bytes.last().is_some_and(|b| *b != b'\n' && *b != b'\r') {
        n += 1;
    }
    n
}

/// A chunk's place in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkInfo {
    /// 1-based number of the chunk's first line.
    pub first_line: u64,
    pub lines: u64,
}

/// Cuts a byte stream into chunks of whole lines (each about `chunk` bytes; one over-long line is
/// cut at `max_line + 1` bytes and ended, so the line splitter reports it truncated).
pub struct Chunker<R> {
    inner: R,
    chunk: usize,
    max_line: usize,
    /// The unfinished line after the last chunk handed out.
    carry: Vec<u8>,
    /// Dropping the rest of an over-long line.
    skipping: bool,
    lines: u64,
    eof: bool,
    /// A read error, returned once the bytes read before it have been handed out.
    error: Option<io::Error>,
    /// Where bytes read are counted, if the reader does not count them.
    count_into: Option<Arc<AtomicU64>>,
}

impl<R: Read> Chunker<R> {
    pub fn new(inner: R, chunk: usize, max_line: usize) -> Chunker<R> {
        Chunker::with_prefix(inner, Vec::new(), None, chunk, max_line)
    }

    /// A chunker whose stream starts with bytes already read (`prefix`), and perhaps a read error
    /// met while reading them.
    pub fn with_prefix(
        inner: R,
        prefix: Vec<u8>,
        error: Option<io::Error>,
        chunk: usize,
        max_line: usize,
    ) -> Chunker<R> {
        Chunker {
            inner,
            chunk: chunk.max(1),
            max_line: max_line.max(1),
            carry: prefix,
            skipping: false,
            lines: 0,
            eof: error.is_some(),
            error,
            count_into: None,
        }
    }

    /// Counts the bytes this chunker reads into `count_into` (see [`OpenedInput::count_into`]).
    pub fn counting(mut self, count_into: Option<Arc<AtomicU64>>) -> Chunker<R> {
        self.count_into = count_into;
        self
    }

    /// Reads until `buf` holds `want` bytes or the stream ends.
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) {
        if self.eof || buf.len() >= want {
            return;
        }
        let need = want - buf.len();
        buf.reserve(need);
        let got = (&mut self.inner).take(need as u64).read_to_end(buf);
        if let (Ok(n), Some(count)) = (&got, &self.count_into) {
            count.fetch_add(*n as u64, Ordering::Relaxed);
        }
        match got {
            Ok(n) if n < need => self.eof = true,
            Ok(_) => {}
            Err(e) => {
                self.eof = true;
                self.error = Some(e);
            }
        }
    }

    /// Drops the rest of an over-long line from the front of `buf`; false while more of it may
    /// follow.
    fn skip(&mut self, buf: &mut Vec<u8>) -> bool {
        match line_end(buf, self.eof) {
            Some((_, next)) => {
                buf.drain(..next);
                self.skipping = false;
                true
            }
            None => {
                // A trailing `\r` decides with the next byte whether the line ended.
                let keep = usize::from(!self.eof && buf.last() == Some(&b'\r'));
                let drop = buf.len() - keep;
                buf.drain(..drop);
                false
            }
        }
    }

    /// The next chunk of whole lines into `buf` (replacing its contents), or `None` at the end.
    /// A read error (such as a truncated gzip stream) is returned once, after the chunk holding
    /// the bytes read before it.
    pub fn next_chunk(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<ChunkInfo>> {
        buf.clear();
        buf.append(&mut self.carry);
        let mut want = self.chunk;
        loop {
            self.fill(buf, want);
            if self.skipping && !self.skip(buf) {
                if self.eof {
                    buf.clear();
                    break;
                }
                // Read on past what is held (at most a `\r` waiting for its next byte).
                want = buf.len() + self.chunk;
                continue;
            }
            if self.eof {
                break;
            }
            if let Some(cut) = after_last_line_end(buf) {
                self.carry.extend_from_slice(&buf[cut..]);
                buf.truncate(cut);
                break;
            }
            if buf.len() > self.max_line {
                // One line longer than the limit: keep one byte past the limit (so the line is
                // seen as over-long) and an end, and skip the rest of it.
                let keep = usize::from(buf.last() == Some(&b'\r'));
                if keep == 1 {
                    self.carry.push(b'\r');
                }
                buf.truncate(self.max_line + 1);
                buf.push(b'\n');
                self.skipping = true;
                break;
            }
            // A line longer than the chunk: read on (it is bounded by the line limit).
            want = buf.len() + self.chunk;
        }
        if buf.is_empty() {
            return match self.error.take() {
                Some(e) => Err(e),
                None => Ok(None),
            };
        }
        let lines = count_lines(buf);
        let info = ChunkInfo {
            first_line: self.lines + 1,
            lines,
        };
        self.lines += lines;
        Ok(Some(info))
    }

    /// Lines handed out so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }
}

/// One line as read: without its line end, possibly cut at the line limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLine<'a> {
    pub bytes: &'a [u8],
    /// 1-based.
    pub number: u64,
    pub truncated: bool,
}

/// The lines of a chunk (the chunk holds whole lines; its last may lack an end).
pub struct ChunkLines<'a> {
    bytes: &'a [u8],
    pos: usize,
    number: u64,
    max_line: usize,
}

impl<'a> ChunkLines<'a> {
    pub fn new(bytes: &'a [u8], first_line: u64, max_line: usize) -> ChunkLines<'a> {
        ChunkLines {
            bytes,
            pos: 0,
            number: first_line,
            max_line,
        }
    }

    /// Byte offset of the next line in the chunk.
    pub fn offset(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for ChunkLines<'a> {
    /// The line, and its start and end offsets in the chunk.
    type Item = (RawLine<'a>, usize, usize);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let rest = &self.bytes[self.pos..];
        let (end, next) = line_end(rest, true).unwrap_or((rest.len(), rest.len()));
        let start = self.pos;
        self.pos += next;
        let number = self.number;
        self.number += 1;
        let truncated = end > self.max_line;
        Some((
            RawLine {
                bytes: &rest[..end.min(self.max_line)],
                number,
                truncated,
            },
            start,
            start + next,
        ))
    }
}

/// Splits a byte stream into lines, never holding more than one chunk plus one (bounded) line:
/// for the extra passes over a file (kernel uptimes) and for tests.
pub struct LineReader<R> {
    chunker: Chunker<R>,
    chunk: Vec<u8>,
    pos: usize,
    number: u64,
    max_line: usize,
}

impl<R: Read> LineReader<R> {
    pub fn new(inner: R) -> Self {
        Self::with_limits(inner, READ_BUFFER, MAX_LINE_BYTES)
    }

    pub fn with_limits(inner: R, chunk: usize, max_line: usize) -> Self {
        LineReader {
            chunker: Chunker::new(inner, chunk, max_line),
            chunk: Vec::new(),
            pos: 0,
            number: 0,
            max_line: max_line.max(1),
        }
    }

    /// The next line, or `None` at the end. A read error (such as a truncated gzip stream) is
    /// returned once; lines read before it have already been handed out.
    pub fn next_line(&mut self) -> io::Result<Option<RawLine<'_>>> {
        if self.pos >= self.chunk.len() {
            let Some(info) = self.chunker.next_chunk(&mut self.chunk)? else {
                return Ok(None);
            };
            self.pos = 0;
            self.number = info.first_line;
        }
        let mut lines = ChunkLines::new(&self.chunk[self.pos..], self.number, self.max_line);
        let Some((line, _, next)) = lines.next() else {
            return Ok(None);
        };
        self.pos += next;
        self.number += 1;
        Ok(Some(line))
    }

    pub fn lines_read(&self) -> u64 {
        self.number.saturating_sub(1)
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

    /// Every line of a stream through the chunker, with the chunk infos checked on the way.
    fn through_chunks(input: &[u8], chunk: usize, max: usize) -> Vec<(String, u64, bool)> {
        let mut chunker = Chunker::new(input, chunk, max);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        let mut expected_first = 1;
        while let Some(info) = chunker.next_chunk(&mut buf).unwrap() {
            assert_eq!(info.first_line, expected_first, "chunk size {chunk}");
            let lines: Vec<_> = ChunkLines::new(&buf, info.first_line, max).collect();
            assert_eq!(
                lines.len() as u64,
                info.lines,
                "chunk size {chunk}: {buf:?}"
            );
            expected_first += info.lines;
            for (l, _, _) in lines {
                out.push((
                    String::from_utf8_lossy(l.bytes).into_owned(),
                    l.number,
                    l.truncated,
                ));
            }
        }
        out
    }

    #[test]
    fn splits_lf_crlf_lone_cr_and_last_line_without_newline() {
        let lines = collect(b"a\r\nbb\n\nccc\rdd\r\reee", 4, 100);
        let texts: Vec<_> = lines.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(texts, ["a", "bb", "", "ccc", "dd", "", "eee"]);
        assert_eq!(lines[6].1, 7);
        assert_eq!(count_lines(b"a\r\nbb\n\nccc\rdd\r\reee"), 7);
        assert_eq!(collect(b"x\r", 1, 100), [("x".to_string(), 1, false)]);
    }

    #[test]
    fn same_lines_at_every_chunk_boundary() {
        // Every kind of line end, an empty line, a long line and a final line without an end.
        let input = b"first line\r\nsecond\n\nthird line is longer\rold mac\r\r\nlong long long long long long line\nlast";
        let want = through_chunks(input, 1 << 16, 20);
        assert_eq!(want.len(), 8);
        assert!(want[6].2, "{want:?}");
        assert_eq!(want[6].0, "long long long long ");
        for chunk in 1..input.len() + 2 {
            assert_eq!(through_chunks(input, chunk, 20), want, "chunk {chunk}");
            assert_eq!(collect(input, chunk, 20), want, "chunk {chunk}");
        }
    }

    #[test]
    fn over_long_line_is_cut_and_counted_once() {
        let mut input = vec![b'x'; 50];
        input.extend_from_slice(b"\nnext\n");
        for chunk in [1, 3, 8, 64] {
            let lines = through_chunks(&input, chunk, 10);
            assert_eq!(lines.len(), 2);
            assert_eq!(lines[0].0.len(), 10);
            assert!(lines[0].2);
            assert_eq!(lines[1], ("next".to_string(), 2, false));
        }
        // A lone CR right after the cut still ends the long line.
        let mut input = vec![b'y'; 30];
        input.extend_from_slice(b"\rz\r\n");
        for chunk in [1, 4, 11, 12, 64] {
            let lines = through_chunks(&input, chunk, 10);
            assert_eq!(lines.len(), 2, "chunk {chunk}: {lines:?}");
            assert_eq!(lines[1], ("z".to_string(), 2, false));
        }
    }

    #[test]
    fn read_error_comes_after_the_lines_before_it() {
        /// Three lines, then a read error, served a few bytes at a time.
        struct Failing(&'static [u8]);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut"));
                }
                let n = self.0.len().min(buf.len()).min(3);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = LineReader::with_limits(Failing(b"aa\nbb\ncc"), 4, 100);
        let mut lines = Vec::new();
        let err = loop {
            match r.next_line() {
                Ok(Some(l)) => lines.push(String::from_utf8_lossy(l.bytes).into_owned()),
                Ok(None) => panic!("the error must be reported"),
                Err(e) => break e,
            }
        };
        assert_eq!(lines, ["aa", "bb", "cc"]);
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(r.next_line().unwrap().is_none());
    }
}
