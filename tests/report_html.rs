//! `postmortem.html` in a real browser: renders the reference incident's page in headless
//! Chromium, takes a screenshot and reads the DOM back. Opt-in by presence: the test skips
//! (and says so) when no chromium is installed; `scripts/install-test-deps.sh` installs
//! Debian's, and CI runs that script first. `RETRACE_CHROMIUM` names another binary.

mod report_common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use report_common::{report, write_hostile_incident};

const FIXTURE: &str = "fixtures/auth-db-outage";

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RETRACE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Runs headless Chromium with the flags this closed, root-run machine needs (no sandbox, no
/// background networking), a fresh profile, and a time limit. Its output is read while it runs:
/// a DOM dump is larger than a pipe holds.
fn run_chromium(browser: &Path, profile: &Path, args: &[String]) -> Browsed {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
        }
    }
    Browsed {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

struct Browsed {
    stdout: String,
    stderr: String,
}

fn url(path: &Path) -> String {
    format!("file://{}", path.display())
}

#[test]
fn reference_page_renders_in_chromium() {
    let Some(browser) = chromium() else {
        eprintln!(
            "skipped: no chromium found (run scripts/install-test-deps.sh, or set RETRACE_CHROMIUM)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("pm");
    report(&[
        FIXTURE,
        "-o",
        out.to_str().unwrap(),
        "--tz",
        "America/New_York",
        "--html",
        "--quiet",
    ]);
    let page = out.join("postmortem.html");
    // Kept where a person can look at it after the run.
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("postmortem-html.png");
    let _ = std::fs::remove_file(&shot);
    let profile = dir.path().join("profile-shot");
    std::fs::create_dir_all(&profile).unwrap();
    let run = run_chromium(
        &browser,
        &profile,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1400,3000".to_string(),
            url(&page),
        ],
    );
    let bytes = std::fs::read(&shot)
        .unwrap_or_else(|e| panic!("no screenshot ({e}); chromium said: {}", run.stderr));
    let image = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .expect("screenshot is a PNG");
    assert_eq!((image.width(), image.height()), (1400, 3000));
    // A blank or error page is nearly one colour; the report has text, tables and charts.
    let rgb = image.to_rgb8();
    let mut colours = std::collections::HashSet::new();
    for p in rgb.pixels().step_by(97) {
        colours.insert(p.0);
    }
    assert!(
        colours.len() > 50,
        "screenshot looks blank ({} colours)",
        colours.len()
    );
    eprintln!("screenshot: {}", shot.display());

    let profile = dir.path().join("profile-dom");
    std::fs::create_dir_all(&profile).unwrap();
    let dom = run_chromium(&browser, &profile, &["--dump-dom".to_string(), url(&page)]).stdout;
    assert!(dom.contains("Issue Summary"), "DOM: {dom:.2000}");
    assert!(dom.contains("DROP TABLE sessions"));
    assert_eq!(dom.matches("<img").count(), 4, "four inline charts");
    assert!(!dom.contains("<script"));
}

#[test]
fn hostile_page_runs_no_script_in_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no chromium found (run scripts/install-test-deps.sh)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let log = write_hostile_incident(dir.path());
    let out = dir.path().join("pm");
    report(&[
        log.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--html",
        "--quiet",
    ]);
    let profile = dir.path().join("profile");
    std::fs::create_dir_all(&profile).unwrap();
    let dom = run_chromium(
        &browser,
        &profile,
        &["--dump-dom".to_string(), url(&out.join("postmortem.html"))],
    )
    .stdout;
    assert!(dom.contains("deployed auth v1.2.3"), "DOM: {dom:.2000}");
    // The browser parsed the page: log text is text nodes, not elements.
    assert!(!dom.contains("<script"), "a script element in the DOM");
    assert!(
        !dom.contains("onerror=\""),
        "an event handler attribute in the DOM"
    );
    assert_eq!(
        dom.matches("<img").count(),
        4,
        "only the four charts are images"
    );
}
