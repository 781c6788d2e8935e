//! The kernel ring buffer as `dmesg` prints it: `[    4.948106] message` (seconds since boot),
//! `dmesg -T` (`[Sun Oct 15 15:00:01 2023] message`), `--time-format iso`, with the `-x`
//! facility/level prefix or the raw `<N>` priority. Boot-relative times are placed with the boot
//! taken from the file's modification time and its last line. Call-trace frames (indented after
//! the time) join the message before them.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{FileContext, LineFormat, LineOutcome, append_continuation, severity_from_text};
use crate::event::{Event, NS_PER_SEC, Severity, SourceKind, TimeNs};
use crate::time::{TimeError, parse_ctime};

pub struct Dmesg;

static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:(?P<facility>kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local\d)\s*:(?P<level>emerg|alert|crit|err|warn|notice|info|debug)\s*: )?(?:<(?P<pri>\d)>)?(?:\[\s*(?P<uptime>\d+\.\d+)\]|\[(?P<ctime>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]?\d \d{2}:\d{2}:\d{2} \d{4})\]|(?P<iso>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[,.]\d+[+-]\d{2}:?\d{2}))(?P<msg> .*|)$",
    )
    .expect("static regex")
});

fn level_severity(level: &str) -> Severity {
    match level {
        "emerg" | "alert" | "crit" => Severity::Fatal,
        "err" => Severity::Error,
        "warn" => Severity::Warn,
        "debug" => Severity::Debug,
        _ => Severity::Info,
    }
}

fn time_of(c: &regex::Captures<'_>, cx: &mut FileContext) -> Result<TimeNs, TimeError> {
    if let Some(up) = c.name("uptime") {
        let boot = cx.parse.boot_time.ok_or(TimeError::NoBootTime)?;
        let up: f64 = up.as_str().parse().map_err(|_| TimeError::Malformed)?;
        return Ok(boot + (up * NS_PER_SEC as f64) as i64);
    }
    if let Some(ctime) = c.name("ctime") {
        let naive = parse_ctime(ctime.as_str()).ok_or(TimeError::Malformed)?;
        return cx.local(&naive);
    }
    match c.name("iso") {
        Some(iso) => cx.iso(iso.as_str()),
        None => Err(TimeError::Malformed),
    }
}

impl LineFormat for Dmesg {
    fn name(&self) -> &'static str {
        "dmesg"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::System
    }

    fn example(&self) -> &'static str {
        "[Sun Oct 15 15:00:01 2023] Out of memory: Killed process 2211 (auth-api) total-vm:2048000kB, anon-rss:1024000kB"
    }

    fn fields(&self) -> &'static str {
        "time (wall clock, or seconds since boot placed by the file's date), facility and level (-x) or priority, subsystem, message (severity from the words when no level); call traces joined"
    }

    fn sniff(&self, line: &str) -> u8 {
        match LINE.captures(line) {
            Some(c) if c.name("facility").is_some() || c.name("pri").is_some() => 95,
            Some(c) if c.name("uptime").is_some() || c.name("ctime").is_some() => 90,
            Some(_) => 70,
            None => 0,
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(c) = LINE.captures(line) else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a kernel log line"));
        };
        let msg = c.name("msg").map_or("", |m| m.as_str());
        let message = msg.strip_prefix(' ').unwrap_or(msg);
        // Call-trace frames and register dumps are indented after the time.
        if message.starts_with(' ') {
            return LineOutcome::Continuation;
        }
        let time = match time_of(&c, cx) {
            Ok(t) => t,
            Err(e) => return LineOutcome::Unparsed(Cow::Owned(e.to_string())),
        };
        let severity = match (c.name("level"), c.name("pri")) {
            (Some(level), _) => level_severity(level.as_str()),
            (None, Some(p)) => Severity::from_syslog(p.as_str().parse().unwrap_or(6)),
            (None, None) => severity_from_text(message),
        };
        let mut event = Event::new(time, SourceKind::System, severity, message.to_string());
        event.service = Some("kernel".to_string());
        // `usb 1-6: ...`, `evdi: ...`: the subsystem before the first colon.
        if let Some((subsystem, _)) = message.split_once(": ")
            && !subsystem.is_empty()
            && subsystem.len() <= 32
            && !subsystem.contains(['[', '('])
        {
            event
                .attrs
                .push(("subsystem".to_string(), subsystem.to_string()));
        }
        out.push(event);
        LineOutcome::Parsed
    }

    fn join(&self, event: &mut Event, line: &str) {
        let text = match LINE.captures(line) {
            Some(c) => c.name("msg").map_or("", |m| m.as_str()).trim().to_string(),
            None => line.trim().to_string(),
        };
        append_continuation(event, "trace", &text);
    }

    fn needs_anchor(&self) -> bool {
        true
    }

    fn uptime(&self, line: &str) -> Option<f64> {
        LINE.captures(line)?.name("uptime")?.as_str().parse().ok()
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["dmesg", "kern"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::{format_utc, parse_iso};

    #[test]
    fn boot_relative_wall_clock_and_levels() {
        let boot = parse_iso("2023-10-15T12:00:00Z", &Default::default()).unwrap();
        let mut cx = FileContext::new(ParseContext {
            boot_time: Some(boot),
            ..ParseContext::default()
        });
        let mut out = Vec::new();
        let line = "[ 3601.500000] oom-kill:constraint=CONSTRAINT_NONE,task=auth-api,pid=2211";
        assert_eq!(Dmesg.parse(line, &mut cx, &mut out), LineOutcome::Parsed);
        assert_eq!(format_utc(out[0].time), "2023-10-15T13:00:01.500Z");
        assert_eq!(out[0].severity, Severity::Error);
        assert_eq!(Dmesg.uptime(line), Some(3601.5));
        assert_eq!(
            Dmesg.parse("[ 3601.500100]  dump_stack+0x7d/0x9c", &mut cx, &mut out),
            LineOutcome::Continuation
        );
        Dmesg.parse(Dmesg.example(), &mut cx, &mut out);
        assert_eq!(format_utc(out[1].time), "2023-10-15T15:00:01Z");
        let x = "kern  :err   : [ 3602.000000] EXT4-fs error (device nvme0n1p2): ext4_find_entry:1455: inode #2: comm auth-api: reading directory lblock 0";
        assert!(Dmesg.sniff(x) > 90);
        Dmesg.parse(x, &mut cx, &mut out);
        assert_eq!(out[2].severity, Severity::Error);
        let iso = "2023-10-15T15:00:03,123456+00:00 usb 1-6: new high-speed USB device number 14";
        Dmesg.parse(iso, &mut cx, &mut out);
        assert_eq!(out[3].attr("subsystem"), Some("usb 1-6"));
        let mut bare = FileContext::new(ParseContext::default());
        assert!(matches!(
            Dmesg.parse(line, &mut bare, &mut out),
            LineOutcome::Unparsed(_)
        ));
    }
}
