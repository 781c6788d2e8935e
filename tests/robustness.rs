//! Robustness: hostile and broken input never crashes retrace, loses a line, or escapes into the
//! report. Each test builds its own inputs in a temp folder and runs the real binary.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Summary {
    inputs: Vec<Input>,
    diagnostics: Diagnostics,
}

#[derive(Debug, Deserialize)]
struct Input {
    path: String,
    format: Option<String>,
    lines: u64,
    parsed: u64,
    joined: u64,
    unparsed: u64,
    truncated_lines: u64,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Diagnostics {
    unparsed_samples: Vec<Sample>,
    path_problems: Vec<Problem>,
}

#[derive(Debug, Deserialize)]
struct Sample {
    line: u64,
    reason: String,
}

#[derive(Debug, Deserialize)]
struct Problem {
    path: String,
}

const ACCESS_LINE: &str = r#"203.0.113.7 - - [15/Oct/2023:15:00:01 -0400] "GET /api/v1/me HTTP/1.1" 200 12 "-" "curl/8.5.0""#;

fn retrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retrace"))
        .args(args)
        .output()
        .expect("run retrace")
}

/// Runs `report` on `inputs` into a fresh output folder; asserts it neither panicked nor failed.
fn report(inputs: &[&Path]) -> (tempfile::TempDir, Summary, String) {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("pm");
    let mut args = vec!["report", "-o", dir.to_str().unwrap(), "--quiet"];
    let paths: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let output = retrace(&args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    let summary: Summary =
        serde_json::from_slice(&fs::read(dir.join("summary.json")).expect("summary.json"))
            .expect("summary decodes");
    for i in &summary.inputs {
        assert_eq!(
            i.lines,
            i.parsed + i.joined + i.unparsed,
            "accounting of {}",
            i.path
        );
    }
    (out, summary, stderr)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&path, bytes).unwrap();
    path
}

fn access_lines(n: usize, sep: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.extend_from_slice(ACCESS_LINE.as_bytes());
        out.extend_from_slice(sep.as_bytes());
    }
    out
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "empty.log", b"");
    let (_, s, _) = report(&[&path]);
    assert_eq!(s.inputs[0].lines, 0);
}

#[test]
fn binary_file_is_counted_not_parsed() {
    let dir = tempfile::tempdir().unwrap();
    // Deterministic pseudo-random bytes (xorshift), newlines included by chance.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    // `\n`, `\r\n` and a lone `\r` each end one line.
    let newlines = bytes
        .iter()
        .enumerate()
        .filter(|(i, b)| **b == b'\n' || (**b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count() as u64;
    let path = write(dir.path(), "blob.bin", &bytes);
    let (_, s, _) = report(&[&path]);
    let i = &s.inputs[0];
    assert!(i.lines >= newlines && i.lines <= newlines + 1, "{i:?}");
    assert_eq!(i.parsed, 0);
}

#[test]
fn invalid_utf8_and_nul_bytes_inside_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = access_lines(3, "\n");
    bytes.extend_from_slice(b"203.0.113.9 - - [15/Oct/2023:15:00:02 -0400] \"GET /caf\xe9\xff HTTP/1.1\" 200 1 \"-\" \"x\x00y\"\n");
    bytes.extend_from_slice(b"\x00\x00\x00\n");
    let path = write(dir.path(), "access.log", &bytes);
    let (_, s, _) = report(&[&path]);
    let i = &s.inputs[0];
    assert_eq!(i.lines, 5);
    assert_eq!(i.parsed, 4, "{i:?}");
    assert_eq!(i.unparsed, 1);
}

#[test]
fn crlf_and_no_trailing_newline() {
    let dir = tempfile::tempdir().unwrap();
    let mut crlf = access_lines(4, "\r\n");
    crlf.extend_from_slice(ACCESS_LINE.as_bytes());
    let a = write(dir.path(), "crlf.log", &crlf);
    let (_, s, _) = report(&[&a]);
    assert_eq!(
        (s.inputs[0].lines, s.inputs[0].parsed),
        (5, 5),
        "{:?}",
        s.inputs[0]
    );
}

#[test]
fn lone_cr_line_ends_old_mac_files() {
    let dir = tempfile::tempdir().unwrap();
    // Old Mac line ends, then a mix of all three in one file.
    let a = write(dir.path(), "mac.log", &access_lines(6, "\r"));
    let mut mixed = access_lines(2, "\r");
    mixed.extend(access_lines(2, "\r\n"));
    mixed.extend(access_lines(2, "\n"));
    let b = write(dir.path(), "mixed.log", &mixed);
    let (_, s, _) = report(&[&a, &b]);
    for i in &s.inputs {
        assert_eq!((i.lines, i.parsed, i.unparsed), (6, 6, 0), "{i:?}");
    }
}

#[test]
fn a_64_mib_line_is_cut_and_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = access_lines(2, "\n");
    bytes.extend(std::iter::repeat_n(b'x', 64 << 20));
    bytes.push(b'\n');
    bytes.extend(access_lines(2, "\n"));
    let path = write(dir.path(), "access.log", &bytes);
    let (_, s, _) = report(&[&path]);
    let i = &s.inputs[0];
    assert_eq!(i.lines, 5, "{i:?}");
    assert_eq!(i.parsed, 4);
    assert_eq!(i.truncated_lines, 1);
}

/// Peak resident memory of a finished command, from GNU time, in KiB; None without GNU time.
fn peak_rss_kib(args: &[&str]) -> Option<(Output, u64)> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return None;
    }
    let mut full = vec!["-f", "%M", env!("CARGO_BIN_EXE_retrace")];
    full.extend_from_slice(args);
    let output = Command::new(time).args(&full).output().ok()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let kib = stderr.lines().last()?.trim().parse().ok()?;
    Some((output, kib))
}

#[test]
#[ignore = "writes a 1 GiB file; run with: cargo test --release --test robustness -- --ignored"]
fn a_1_gib_line_without_newline_runs_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.log");
    {
        let mut f = std::io::BufWriter::new(fs::File::create(&path).unwrap());
        let block = vec![b'y'; 1 << 20];
        for _ in 0..1024 {
            f.write_all(&block).unwrap();
        }
    }
    let out = dir.path().join("pm");
    let Some((output, kib)) = peak_rss_kib(&[
        "report",
        path.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--quiet",
    ]) else {
        eprintln!("skipped: /usr/bin/time (GNU time) is not installed");
        return;
    };
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let s: Summary = serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!((s.inputs[0].lines, s.inputs[0].truncated_lines), (1, 1));
    eprintln!("peak RSS on a 1 GiB line: {} MiB", kib / 1024);
    assert!(kib < 200 * 1024, "peak RSS {kib} KiB");
}

#[test]
fn truncated_gzip_uses_what_is_readable() {
    use flate2::{Compression, write::GzEncoder};
    let dir = tempfile::tempdir().unwrap();
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(&access_lines(5000, "\n")).unwrap();
    let gz = enc.finish().unwrap();
    let path = write(dir.path(), "access.log.gz", &gz[..gz.len() / 2]);
    let (_, s, _) = report(&[&path]);
    let i = &s.inputs[0];
    assert!(i.parsed > 100 && i.parsed < 5000, "{i:?}");
    assert!(
        i.error.as_deref().unwrap_or("").contains("truncated"),
        "{i:?}"
    );
}

#[test]
fn a_dot_gz_that_is_not_gzip_is_read_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "access.log.gz", &access_lines(3, "\n"));
    let (_, s, _) = report(&[&path]);
    assert_eq!(s.inputs[0].parsed, 3);
}

#[test]
fn deeply_nested_and_oddly_typed_json() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!(
        "{{\"timestamp\":\"2023-10-15T15:00:00Z\",\"level\":\"info\",\"message\":\"deep\",\"x\":{}{}}}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let mut bytes = Vec::new();
    bytes.extend_from_slice(
        b"{\"timestamp\":\"2023-10-15T15:00:00Z\",\"level\":\"info\",\"message\":\"ok\"}\n",
    );
    bytes.extend_from_slice(deep.as_bytes());
    bytes.extend_from_slice(b"{\"timestamp\":\"2023-10-15T15:00:01Z\",\"timestamp\":\"bogus\",\"level\":{},\"message\":[1,2],\"status\":\"abc\",\"latency_ms\":\"fast\",\"user_id\":null}\n");
    bytes.extend_from_slice(
        b"{\"timestamp\":12,\"level\":99999999999999999999,\"message\":\"x\",\"status\":-5}\n",
    );
    let path = write(dir.path(), "app.jsonl", &bytes);
    let (_, s, _) = report(&[&path]);
    assert_eq!(s.inputs[0].lines, 4);
    assert!(s.inputs[0].parsed >= 1);
}

#[test]
fn timestamps_out_of_range_backwards_or_with_impossible_zones() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        r#"{"timestamp":"2023-10-15T15:00:00Z","level":"info","message":"ok"}"#,
        r#"{"timestamp":"1970-01-01T00:00:00Z","level":"info","message":"epoch"}"#,
        r#"{"timestamp":"2999-12-31T23:59:59Z","level":"info","message":"far future"}"#,
        r#"{"timestamp":"2023-10-15T14:00:00Z","level":"info","message":"backwards"}"#,
        r#"{"timestamp":"2023-10-15T15:00:00+99:00","level":"info","message":"bad zone"}"#,
        r#"{"timestamp":"2023-10-15T15:00:00 XYZT","level":"info","message":"unknown zone"}"#,
        r#"{"timestamp":"2023-02-30T15:00:00Z","level":"info","message":"no such day"}"#,
    ];
    let path = write(dir.path(), "app.jsonl", lines.join("\n").as_bytes());
    let (_, s, _) = report(&[&path]);
    let i = &s.inputs[0];
    assert_eq!(i.lines, 7);
    // The plausible lines are used (going backwards is allowed); the impossible ones, 1970 and
    // 2999 included, are counted and quoted with their reason.
    assert_eq!((i.parsed, i.unparsed), (2, 5), "{i:?}");
    let samples = &s.diagnostics.unparsed_samples;
    for line in [2, 3, 5] {
        assert!(samples.iter().any(|u| u.line == line), "{samples:?}");
    }
    assert!(
        samples
            .iter()
            .any(|u| u.line == 2 && u.reason.contains("1990-2099")),
        "{samples:?}"
    );
}

#[test]
fn file_without_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "notes.txt", b"nothing here\nhas a time\n");
    let (_, s, stderr) = report(&[&path]);
    assert_eq!(s.inputs[0].unparsed, 2);
    assert!(s.inputs[0].format.is_none());
    let _ = stderr;
}

#[cfg(unix)]
#[test]
fn folder_with_symlink_loop_and_socket() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write(&logs, "a/access.log", &access_lines(2, "\n"));
    std::os::unix::fs::symlink(&logs, logs.join("a/loop")).unwrap();
    std::os::unix::fs::symlink(logs.join("missing"), logs.join("dangling")).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(logs.join("sock")).unwrap();
    let (_, s, _) = report(&[&logs]);
    // The log is read once (the loop does not read it twice), the rest is reported.
    let parsed: u64 = s.inputs.iter().map(|i| i.parsed).sum();
    assert_eq!(parsed, 2, "{:?}", s.inputs);
    assert!(
        s.diagnostics
            .path_problems
            .iter()
            .any(|p| p.path.ends_with("sock")),
        "{:?}",
        s.diagnostics.path_problems
    );
    assert!(
        s.diagnostics
            .path_problems
            .iter()
            .any(|p| p.path.ends_with("dangling"))
    );
}

/// A file that cannot be read (even as root: `/proc/self/mem` fails with EIO at offset 0) is
/// reported with its error, and the other files are still read.
#[cfg(target_os = "linux")]
#[test]
fn unreadable_file_is_reported_and_the_others_read() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write(&logs, "access.log", &access_lines(3, "\n"));
    std::os::unix::fs::symlink("/proc/self/mem", logs.join("mem.log")).unwrap();
    let (_, s, _) = report(&[&logs]);
    let unreadable = s
        .inputs
        .iter()
        .find(|i| i.path.ends_with("mem.log"))
        .expect("the unreadable file is listed");
    assert!(unreadable.error.is_some(), "{unreadable:?}");
    let parsed: u64 = s.inputs.iter().map(|i| i.parsed).sum();
    assert_eq!(parsed, 3);
}

#[test]
fn missing_path_is_exit_2_with_the_path_named() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("pm");
    let output = retrace(&["report", "/no/such/place", "-o", o.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/no/such/place"));
}

#[test]
fn a_growing_file_is_read_without_losing_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "access.log", &access_lines(20_000, "\n"));
    let writer_path = path.clone();
    let writer = std::thread::spawn(move || {
        for _ in 0..50 {
            let mut f = fs::OpenOptions::new()
                .append(true)
                .open(&writer_path)
                .unwrap();
            f.write_all(&access_lines(100, "\n")).unwrap();
        }
    });
    let (_, s, _) = report(&[&path]);
    writer.join().unwrap();
    let i = &s.inputs[0];
    assert!(i.lines >= 20_000, "{i:?}");
}

#[test]
fn a_file_truncated_while_being_read_is_read_up_to_its_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "access.log", &access_lines(100_000, "\n"));
    let cutter_path = path.clone();
    let cutter = std::thread::spawn(move || {
        // Log rotation with copytruncate: the file drops to a few lines, then grows again.
        std::thread::sleep(std::time::Duration::from_millis(5));
        let f = fs::OpenOptions::new()
            .write(true)
            .open(&cutter_path)
            .unwrap();
        f.set_len(10 * ACCESS_LINE.len() as u64).unwrap();
    });
    let (_, s, _) = report(&[&path]);
    cutter.join().unwrap();
    let i = &s.inputs[0];
    // Whatever was read before the cut is used; a line cut in the middle is at worst unparsed.
    assert!(i.lines <= 100_000, "{i:?}");
    assert!(i.unparsed <= 1, "{i:?}");
}

#[test]
fn unusable_output_folder_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "access.log", &access_lines(2, "\n"));
    // A path under a regular file cannot be created, whoever runs the test.
    let blocker = write(dir.path(), "file", b"x");
    let out = blocker.join("pm");
    let output = retrace(&[
        "report",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("pm") && !err.contains("panicked"), "{err}");
}

#[cfg(unix)]
#[test]
fn never_writes_through_a_symlink_in_the_output_folder() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "access.log", &access_lines(2, "\n"));
    let outside = dir.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let out = dir.path().join("pm");
    fs::create_dir(&out).unwrap();
    std::os::unix::fs::symlink(&outside, out.join("charts")).unwrap();
    std::os::unix::fs::symlink(outside.join("stolen.json"), out.join("summary.json")).unwrap();
    let output = retrace(&[
        "report",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--force",
        "--quiet",
    ]);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "wrote outside the output folder"
    );
}

#[test]
fn strict_mode_exits_1_when_there_are_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = access_lines(3, "\n");
    bytes.extend_from_slice(b"garbage\n");
    let input = write(dir.path(), "access.log", &bytes);
    let out = dir.path().join("pm");
    let output = retrace(&[
        "report",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--strict",
        "--quiet",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(out.join("postmortem.md").exists());
    let clean = write(dir.path(), "clean/access.log", &access_lines(3, "\n"));
    let out2 = dir.path().join("pm2");
    let output = retrace(&[
        "report",
        clean.to_str().unwrap(),
        "-o",
        out2.to_str().unwrap(),
        "--strict",
        "--quiet",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn hostile_log_text_cannot_inject_into_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let nasty = [
        "<script>alert(1)</script>",
        "[click](javascript:alert(1))",
        "```\n# Fake heading",
        "| a | b |",
        "\u{1b}[31mred\u{1b}[0m",
        "\u{202e}evil",
        "<img src=x onerror=alert(1)>",
    ];
    let mut lines = Vec::new();
    for (n, text) in nasty.iter().enumerate() {
        let msg = serde_json::to_string(text).unwrap();
        lines.push(format!(
            r#"{{"timestamp":"2023-10-15T15:{:02}:00Z","level":"error","message":{msg},"status":500,"user_id":"u{n}"}}"#,
            n
        ));
    }
    let input = write(dir.path(), "app.jsonl", lines.join("\n").as_bytes());
    let (out, _, _) = report(&[&input]);
    let md = fs::read_to_string(out.path().join("pm/postmortem.md")).unwrap();
    assert!(!md.contains("<script"), "raw HTML in report");
    assert!(!md.contains("<img"), "raw HTML in report");
    assert!(!md.contains("](javascript:"), "live link in report");
    assert!(!md.contains('\u{1b}'), "ANSI escape in report");
    assert!(!md.contains('\u{202e}'), "RTL override in report");
    assert!(!md.contains("\n# Fake heading"), "heading injected");
}

/// A small tmpfs mounted for one test, unmounted on drop. Needs root and mount rights: tests
/// that use it skip (with a message) where they are missing.
#[cfg(target_os = "linux")]
struct TinyFs {
    dir: tempfile::TempDir,
}

#[cfg(target_os = "linux")]
impl TinyFs {
    fn mount(options: &str) -> Option<TinyFs> {
        let dir = tempfile::tempdir().ok()?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(TinyFs { dir })
    }
}

#[cfg(target_os = "linux")]
impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[cfg(target_os = "linux")]
#[test]
fn full_or_read_only_output_file_system_is_exit_2_without_partial_files() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "access.log", &access_lines(50, "\n"));
    for options in ["size=48k", "ro,size=48k"] {
        let Some(fs_) = TinyFs::mount(options) else {
            eprintln!("skipped: cannot mount a tmpfs here (needs root)");
            return;
        };
        let out = fs_.dir.path().join("pm");
        let output = retrace(&[
            "report",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{options}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains("pm"), "the message names the output: {err}");
        // Nothing half-written is left behind: no temporary files.
        if out.exists() {
            for entry in walk(&out) {
                let name = entry.file_name().unwrap().to_string_lossy().into_owned();
                assert!(!name.ends_with(".tmp"), "left {name} behind");
            }
        }
    }
}

#[cfg(target_os = "linux")]
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
    }
    out
}
