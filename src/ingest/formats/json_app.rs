//! Application logs as JSON lines of no known dialect: time, level and message found by the
//! usual field names. Also the field helpers the JSON dialects share (request fields, levels,
//! times written as text, epochs or MongoDB's `{"$date": ...}`).

use std::borrow::Cow;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::json::{self, get_f64, get_str, get_text};
use super::{FastLine, FileContext, LineFormat, LineOutcome, append_continuation, http_severity};
use crate::event::{Event, EventView, Severity, SourceKind, TimeNs};
use crate::ingest::json_scan::{Raw, scan_object};
use crate::time::{epoch_by_magnitude, epoch_from_int, parse_epoch_text};

pub struct JsonApp;

pub const TIME_KEYS: &[&str] = &[
    "timestamp",
    "@timestamp",
    "time",
    "ts",
    "datetime",
    "date",
    "t",
    "eventTime",
    "logged_at",
    // journalctl -o json: microseconds since the epoch, as a string.
    "__REALTIME_TIMESTAMP",
];
pub const LEVEL_KEYS: &[&str] = &[
    "level",
    "log.level",
    "severity",
    "lvl",
    "levelname",
    "loglevel",
    "log_level",
    "severity_text",
];
pub const MESSAGE_KEYS: &[&str] = &["message", "msg", "MESSAGE", "event", "text", "body", "log"];
const USER_KEYS: &[&str] = &[
    "user_id",
    "userId",
    "user.id",
    "user",
    "username",
    "user_name",
    "usr.id",
    "account_id",
    "user.name",
    "enduser.id",
];
const CLIENT_KEYS: &[&str] = &[
    "client_ip",
    "clientIp",
    "remote_addr",
    "client.ip",
    "client.address",
    "source.ip",
    "ip",
    "remote_ip",
    "http.client_ip",
    "req.remoteAddress",
];
const STATUS_KEYS: &[&str] = &[
    "status",
    "status_code",
    "statusCode",
    "http_status",
    "http.status_code",
    "http.response.status_code",
    "response_status",
    "res.statusCode",
];
const LATENCY_MS_KEYS: &[&str] = &[
    "latency_ms",
    "duration_ms",
    "elapsed_ms",
    "response_time_ms",
    "took_ms",
    "responseTime",
    "response_time",
];
/// Durations written as Go durations (`12.5ms`, `1.2s`) or plain seconds.
const DURATION_KEYS: &[&str] = &["latency", "duration", "elapsed", "took"];
const REQUEST_ID_KEYS: &[&str] = &[
    "request_id",
    "requestId",
    "req_id",
    "reqId",
    "x_request_id",
    "trace_id",
    "traceId",
    "http.request.id",
];
pub const SERVICE_KEYS: &[&str] = &[
    "service",
    "service.name",
    "app",
    "application",
    "component",
    "name",
];
const METHOD_KEYS: &[&str] = &["method", "http.method", "http.request.method", "req.method"];
const PATH_KEYS: &[&str] = &[
    "path",
    "url",
    "uri",
    "http.path",
    "url.path",
    "http.target",
    "req.url",
    "route",
];
const STACK_KEYS: &[&str] = &[
    "stack",
    "stack_trace",
    "stacktrace",
    "exception",
    "exc_info",
    "error.stack_trace",
];

/// A JSON number as an epoch: integers exactly, floats by their whole and fractional parts.
fn epoch_number(n: &serde_json::Number) -> Option<TimeNs> {
    match n.as_i64() {
        Some(i) => epoch_from_int(i).ok(),
        None => n.as_f64().and_then(|f| epoch_by_magnitude(f).ok()),
    }
}

/// A time written as ISO text, an epoch (number or digits; unit told by magnitude), or MongoDB's
/// extended JSON `{"$date": ...}`.
pub fn time_value(value: &Value, cx: &mut FileContext) -> Option<TimeNs> {
    match value {
        Value::String(s) => cx.iso(s).ok().or_else(|| parse_epoch_text(s).ok()),
        Value::Number(n) => epoch_number(n),
        Value::Object(inner) => match inner.get("$date")? {
            Value::String(s) => cx.iso(s).ok(),
            Value::Number(n) => epoch_number(n),
            Value::Object(long) => long
                .get("$numberLong")
                .and_then(Value::as_str)
                .and_then(|s| parse_epoch_text(s).ok()),
            _ => None,
        },
        _ => None,
    }
}

/// A level written as a word (`error`, `WARN`) or a bunyan/pino number.
pub fn level_value(value: &Value) -> Option<Severity> {
    match value {
        Value::String(s) => Severity::from_word(s),
        Value::Number(n) => n.as_i64().map(Severity::from_pino),
        _ => None,
    }
}

fn time_of(obj: &Map<String, Value>, cx: &mut FileContext) -> Option<TimeNs> {
    let (value, _) = json::first(obj, TIME_KEYS)?;
    time_value(value, cx)
}

fn severity_of(obj: &Map<String, Value>) -> Option<Severity> {
    level_value(json::first(obj, LEVEL_KEYS)?.0)
}

/// The first of the keys holding an HTTP status.
pub fn status_of(obj: &Map<String, Value>) -> Option<u16> {
    STATUS_KEYS.iter().find_map(|k| json::get_status(obj, k))
}

/// A Go duration (`1m2.5s`, `12.5ms`, `350µs`) or a number of seconds, in milliseconds.
pub fn duration_ms(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return Some(seconds * 1000.0);
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1000.0,
            "ms" => 1.0,
            "us" | "µs" | "μs" => 0.001,
            "ns" => 0.000_001,
            _ => return None,
        };
        total += number * factor;
        rest = &rest[unit_end..];
    }
    Some(total)
}

fn latency_of(obj: &Map<String, Value>) -> Option<f64> {
    if let Some(ms) = LATENCY_MS_KEYS.iter().find_map(|k| get_f64(obj, k)) {
        return Some(ms);
    }
    // ECS writes event.duration in nanoseconds.
    if let Some(ns) = get_f64(obj, "event.duration") {
        return Some(ns / 1e6);
    }
    DURATION_KEYS
        .iter()
        .find_map(|k| get_str(obj, k).and_then(duration_ms))
}

/// Fills the fields the analysis needs from the usual key names, leaving those already set:
/// service, user, client, request id, method, path, status, latency, error text and stack.
pub fn fill_fields(obj: &Map<String, Value>, event: &mut Event) {
    if event.status.is_none() {
        event.status = status_of(obj);
    }
    if event.service.is_none() {
        event.service = SERVICE_KEYS
            .iter()
            .find_map(|k| get_str(obj, k))
            .map(str::to_string);
    }
    if event.user.is_none() {
        event.user = USER_KEYS.iter().find_map(|k| get_text(obj, k));
    }
    if event.client.is_none() {
        event.client = CLIENT_KEYS.iter().find_map(|k| get_text(obj, k));
    }
    if event.request_id.is_none() {
        event.request_id = REQUEST_ID_KEYS.iter().find_map(|k| get_text(obj, k));
    }
    if event.method.is_none() {
        event.method = METHOD_KEYS
            .iter()
            .find_map(|k| get_str(obj, k))
            .map(str::to_string);
    }
    if event.path.is_none() {
        event.path = PATH_KEYS
            .iter()
            .find_map(|k| get_str(obj, k))
            .map(str::to_string);
    }
    if event.latency_ms.is_none() {
        event.latency_ms = latency_of(obj);
    }
    if let Some(error) = get_text(obj, "error").or_else(|| get_text(obj, "err")) {
        event.attrs.push(("error".to_string(), error));
    }
    if let Some(stack) = STACK_KEYS.iter().find_map(|k| get_text(obj, k)) {
        append_continuation(event, "stack", &stack);
    }
}

/// An application event: the level if given, else the HTTP status's severity.
pub fn app_event(
    obj: &Map<String, Value>,
    time: TimeNs,
    severity: Option<Severity>,
    message: String,
) -> Event {
    let status = status_of(obj);
    let severity = severity.unwrap_or_else(|| status.map_or(Severity::Info, http_severity));
    let mut event = Event::new(time, SourceKind::App, severity, message);
    event.status = status;
    fill_fields(obj, &mut event);
    event
}

/// A string field as an owned message (other types are left out).
pub fn message_of(obj: &Map<String, Value>, keys: &[&str]) -> String {
    keys.iter()
        .find_map(|k| get_str(obj, k))
        .unwrap_or_default()
        .to_string()
}

/// The key lists the fast path resolves, each the way the full parse does.
struct FastKeys {
    /// Every key of every list, by id, and an open-addressing table from key to id.
    table: Vec<Option<(&'static str, u8)>>,
    time: Vec<u8>,
    level: Vec<u8>,
    message: Vec<u8>,
    status: Vec<u8>,
    service: Vec<u8>,
    user: Vec<u8>,
    client: Vec<u8>,
    method: Vec<u8>,
    path: Vec<u8>,
    /// First segments of the dotted keys: if one of these holds an object, a dotted key may
    /// find a nested value, which only the full parse looks up.
    prefixes: Vec<&'static str>,
    count: usize,
}

/// A key's length and first, middle and last bytes, mixed: enough to spread the few dozen
/// known keys over the table, and four loads whatever the key's length.
fn key_hash(key: &str) -> usize {
    let b = key.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return 0;
    };
    let v = (b.len() as u32)
        | u32::from(first) << 8
        | u32::from(b[b.len() / 2]) << 16
        | u32::from(last) << 24;
    (v.wrapping_mul(0x9e37_79b1) >> 16) as usize
}

/// Byte-wise equality, inlined (keys are short; a `memcmp` call costs more than the compare).
/// Only for keys the [`KeyCache`] has not seen at their place, so rarely.
fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

impl FastKeys {
    fn build() -> FastKeys {
        let lists = [
            TIME_KEYS,
            LEVEL_KEYS,
            MESSAGE_KEYS,
            STATUS_KEYS,
            SERVICE_KEYS,
            USER_KEYS,
            CLIENT_KEYS,
            METHOD_KEYS,
            PATH_KEYS,
        ];
        let mut names: Vec<&'static str> = Vec::new();
        for list in lists {
            for key in list {
                if !names.contains(key) {
                    names.push(key);
                }
            }
        }
        let size = (names.len() * 4).next_power_of_two();
        let mut table = vec![None; size];
        for (id, name) in names.iter().enumerate() {
            let mut slot = key_hash(name) & (size - 1);
            while table[slot].is_some() {
                slot = (slot + 1) & (size - 1);
            }
            table[slot] = Some((*name, id as u8));
        }
        let ids = |list: &[&str]| -> Vec<u8> {
            list.iter()
                .filter_map(|k| names.iter().position(|n| n == k).map(|i| i as u8))
                .collect()
        };
        let mut prefixes: Vec<&'static str> = names
            .iter()
            .filter_map(|n| n.split_once('.').map(|(p, _)| p))
            .collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        FastKeys {
            time: ids(TIME_KEYS),
            level: ids(LEVEL_KEYS),
            message: ids(MESSAGE_KEYS),
            status: ids(STATUS_KEYS),
            service: ids(SERVICE_KEYS),
            user: ids(USER_KEYS),
            client: ids(CLIENT_KEYS),
            method: ids(METHOD_KEYS),
            path: ids(PATH_KEYS),
            prefixes,
            count: names.len(),
            table,
        }
    }

    fn id(&self, key: &str) -> Option<usize> {
        let mask = self.table.len() - 1;
        let mut slot = key_hash(key) & mask;
        loop {
            match self.table[slot] {
                Some((name, id)) if same_key(name, key) => return Some(usize::from(id)),
                Some(_) => slot = (slot + 1) & mask,
                None => return None,
            }
        }
    }
}

static FAST_KEYS: LazyLock<FastKeys> = LazyLock::new(FastKeys::build);

/// A key of 1 to 16 bytes, whole, in two words and its length (`len` 0: a key this does not
/// hold, never equal to one it does).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct KeyWords {
    len: u8,
    head: u64,
    tail: u64,
}

impl KeyWords {
    /// The key's bytes: for 8 to 16 bytes the first and last eight (overlapping), for 4 to 7
    /// the first and last four, below that each byte.
    #[inline]
    fn of(key: &[u8]) -> KeyWords {
        let n = key.len();
        let word8 = |at: usize| u64::from_le_bytes(key[at..at + 8].try_into().unwrap_or([0; 8]));
        let word4 = |at: usize| {
            u64::from(u32::from_le_bytes(
                key[at..at + 4].try_into().unwrap_or([0; 4]),
            ))
        };
        let (head, tail) = match n {
            1..4 => (key.iter().fold(0, |w, &b| w << 8 | u64::from(b)), 0),
            4..8 => (word4(0), word4(n - 4)),
            8..=16 => (word8(0), word8(n - 8)),
            _ => return KeyWords::default(),
        };
        KeyWords {
            len: n as u8,
            head,
            tail,
        }
    }
}

/// Members whose place in a line is remembered.
const CACHED_PLACES: usize = 32;
/// The id of a key that is in no list.
const NO_ID: u8 = u8::MAX;

/// The key found at each place of the line before, with its id: the lines of one program
/// write their keys in the same order, so most keys are found here without a table lookup.
/// Only a cache: a key is always compared whole before its id is taken.
#[derive(Debug, Clone)]
pub struct KeyCache {
    places: [(KeyWords, u8); CACHED_PLACES],
}

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache {
            places: [(KeyWords::default(), NO_ID); CACHED_PLACES],
        }
    }
}

impl KeyCache {
    /// The id of `key`, the `place`-th member of its line.
    #[inline]
    fn id(&mut self, place: usize, key: &str, keys: &FastKeys) -> Option<usize> {
        let Some(slot) = self.places.get_mut(place) else {
            return keys.id(key);
        };
        let words = KeyWords::of(key.as_bytes());
        if words.len != 0 && words == slot.0 {
            return (slot.1 != NO_ID).then_some(usize::from(slot.1));
        }
        let id = keys.id(key);
        *slot = (words, id.map_or(NO_ID, |id| id as u8));
        id
    }
}

/// At most this many distinct keys are looked at (the lists hold fewer).
const MAX_FAST_KEYS: usize = 96;
/// At most this many known keys in one line (more: the full parse reads it).
const MAX_FOUND: usize = 24;

/// Text of a scalar as [`json::value_text`] gives it; `Err` when only serde_json can say (a
/// number written in a way it might print differently).
fn raw_text<'a>(raw: &Raw<'a>) -> Result<Option<Cow<'a, str>>, ()> {
    match raw {
        Raw::Str { raw: "", .. } => Ok(None),
        Raw::Str { .. } => Ok(raw.text()),
        Raw::Bool(b) => Ok(Some(Cow::Borrowed(if *b { "true" } else { "false" }))),
        // An integer prints as written (`-0` and fractions are left to serde_json).
        Raw::Num(n) if !n.contains('.') && *n != "-0" && n.parse::<i64>().is_ok() => {
            Ok(Some(Cow::Borrowed(n)))
        }
        Raw::Num(_) => Err(()),
        _ => Ok(None),
    }
}

/// A number as serde_json's `as_i64` reads it: whole and in range, else nothing.
#[inline]
fn raw_i64(n: &str) -> Option<i64> {
    if n.contains('.') {
        None
    } else {
        n.parse().ok()
    }
}

/// The fast path of [`JsonApp`]: the members are scanned, not parsed into a `Value`, and each
/// field is resolved from its key list as [`JsonApp::parse_json`] resolves it.
fn json_app_view<'a>(line: &'a str, cx: &mut FileContext) -> Option<FastLine<'a>> {
    // Nearly every line is `{...}` exactly: nothing to trim.
    let text = match line.as_bytes() {
        [b'{', .., b'}'] => line,
        _ => line.trim(),
    };
    if !text.starts_with('{') {
        return None;
    }
    let keys = &*FAST_KEYS;
    if keys.count > MAX_FAST_KEYS {
        return None;
    }
    // Key id → 1 + where its value is in `found` (0: absent). Small, so cheap to clear.
    let mut index = [0u8; MAX_FAST_KEYS];
    let mut found = [Raw::Null; MAX_FOUND];
    let mut count = 0;
    let mut refused = false;
    let mut position = 0;
    let cache = &mut cx.json_keys;
    scan_object(
        text,
        #[inline(always)]
        |key, value| {
            let id = cache.id(position, key, keys);
            position += 1;
            if let Some(id) = id {
                match index[id] {
                    0 if count == MAX_FOUND => refused = true,
                    0 => {
                        found[count] = value;
                        count += 1;
                        index[id] = count as u8;
                    }
                    // A key written twice: the last one counts, as in serde_json.
                    at => found[usize::from(at) - 1] = value,
                }
            }
            if value == Raw::Object && keys.prefixes.contains(&key) {
                refused = true;
            }
        },
    )?;
    if refused {
        return None;
    }
    let slot = |id: &u8| match index[usize::from(*id)] {
        0 => None,
        at => Some(found[usize::from(at) - 1]),
    };
    let first = |ids: &[u8]| ids.iter().find_map(slot);
    // The time: the first time key present decides.
    let time = match first(&keys.time)? {
        Raw::Str { .. } => {
            let s = first(&keys.time)?.text()?;
            cx.iso(&s).ok().or_else(|| parse_epoch_text(&s).ok())?
        }
        Raw::Num(n) if !n.contains('.') => epoch_from_int(n.parse::<i64>().ok()?).ok()?,
        Raw::Num(n) => epoch_by_magnitude(serde_json::from_str::<f64>(n).ok()?).ok()?,
        _ => return None,
    };
    let message = match first(&keys.message) {
        Some(raw @ Raw::Str { .. }) => raw.text()?,
        _ => Cow::Borrowed(""),
    };
    let level = match first(&keys.level) {
        Some(raw @ Raw::Str { .. }) => raw.text().and_then(|w| Severity::from_word(&w)),
        Some(Raw::Num(n)) => raw_i64(n).map(Severity::from_pino),
        _ => None,
    };
    let mut status = None;
    for id in &keys.status {
        let value = match slot(id) {
            Some(Raw::Num(n)) => raw_i64(n),
            Some(raw @ Raw::Str { .. }) => raw.text().and_then(|s| s.trim().parse::<i64>().ok()),
            _ => None,
        };
        if let Some(v) = value.filter(|s| (100..600).contains(s)) {
            status = Some(v as u16);
            break;
        }
    }
    let string = |ids: &[u8]| -> Option<Option<Cow<'a, str>>> {
        for id in ids {
            if let Some(raw @ Raw::Str { .. }) = slot(id) {
                return Some(Some(raw.text()?));
            }
        }
        Some(None)
    };
    let text_of = |ids: &[u8]| -> Option<Option<Cow<'a, str>>> {
        for id in ids {
            if let Some(raw) = slot(id) {
                match raw_text(&raw) {
                    Ok(Some(t)) => return Some(Some(t)),
                    Ok(None) => {}
                    Err(()) => return None,
                }
            }
        }
        Some(None)
    };
    let severity = level.unwrap_or_else(|| status.map_or(Severity::Info, http_severity));
    Some(FastLine::Record(EventView {
        time,
        kind: Some(SourceKind::App),
        service: string(&keys.service)?,
        severity,
        message,
        user: text_of(&keys.user)?,
        client: text_of(&keys.client)?,
        method: string(&keys.method)?,
        path: string(&keys.path)?,
        status,
        ..EventView::default()
    }))
}

impl LineFormat for JsonApp {
    fn name(&self) -> &'static str {
        "json"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        r#"{"timestamp":"2023-10-15T15:00:01.204-04:00","level":"error","service":"auth-service","message":"login failed","user_id":"u-00412","status":500,"latency_ms":12.5}"#
    }

    fn fields(&self) -> &'static str {
        "time, level, message, service, user, client, status, latency, request id, method, path, stack (found by the usual key names)"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        // A catch-all: never above 60, so any dialect that knows the line wins.
        let has_time = json::first(obj, TIME_KEYS).is_some();
        let has_level = json::first(obj, LEVEL_KEYS).is_some();
        let has_message = json::first(obj, MESSAGE_KEYS).is_some();
        match (has_time, has_level || has_message) {
            (true, true) => 50 + 5 * u8::from(has_level) + 5 * u8::from(has_message),
            (true, false) => 45,
            // Without a time the line cannot be placed: too weak to choose this format.
            (false, _) => 20,
        }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let Some(time) = time_of(obj, cx) else {
            return LineOutcome::Unparsed(Cow::Borrowed("JSON line without a readable time field"));
        };
        let message = json::first(obj, MESSAGE_KEYS)
            .and_then(|(v, _)| v.as_str().map(str::to_string))
            .unwrap_or_default();
        out.push(app_event(obj, time, severity_of(obj), message));
        LineOutcome::Parsed
    }

    fn parse_view<'a>(&self, line: &'a str, cx: &mut FileContext) -> Option<FastLine<'a>> {
        json_app_view(line, cx)
    }

    fn join(&self, event: &mut Event, line: &str) {
        append_continuation(event, "stack", line);
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &[".json"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    fn parse(line: &str) -> (LineOutcome, Vec<Event>) {
        let mut out = Vec::new();
        let mut cx = FileContext::new(ParseContext::default());
        let outcome = JsonApp.parse(line, &mut cx, &mut out);
        (outcome, out)
    }

    #[test]
    fn key_words_tell_every_short_key_apart() {
        let base: String = ('a'..='z').collect();
        for n in 1..=16 {
            let a = &base[..n];
            assert_eq!(KeyWords::of(a.as_bytes()), KeyWords::of(a.as_bytes()));
            assert_ne!(
                KeyWords::of(a.as_bytes()),
                KeyWords::of(&base.as_bytes()[..n - 1])
            );
            for k in 0..n {
                let mut other = a.as_bytes().to_vec();
                other[k] = b'_';
                assert_ne!(
                    KeyWords::of(a.as_bytes()),
                    KeyWords::of(&other),
                    "{a} at {k}"
                );
            }
        }
        // Longer keys are not held: never a match.
        assert_eq!(KeyWords::of(base.as_bytes()).len, 0);
        assert_eq!(KeyWords::of(b"").len, 0);
    }

    #[test]
    fn key_cache_gives_the_table_id_whatever_came_before() {
        let keys = &*FAST_KEYS;
        let mut cache = KeyCache::default();
        let names = [
            "timestamp",
            "level",
            "msg",
            "x",
            "user.id",
            "a_key_longer_than_16",
        ];
        for round in 0..50usize {
            for place in 0..40 {
                let key = names[(round * 7 + place * (round % 3 + 1)) % names.len()];
                assert_eq!(cache.id(place, key, keys), keys.id(key), "{key} at {place}");
            }
        }
    }

    #[test]
    fn same_key_is_string_equality() {
        let base: String = ('a'..='z').collect();
        for n in 0..=base.len() {
            let a = &base[..n];
            for k in 0..n {
                let mut other = a.as_bytes().to_vec();
                other[k] = b'_';
                let other = String::from_utf8(other).unwrap();
                assert!(!same_key(a, &other), "{a} vs {other}");
            }
            assert!(same_key(a, &String::from(a)));
            assert!(!same_key(a, &base[..n.saturating_sub(1)]) || n == 0);
        }
        for a in TIME_KEYS.iter().chain(USER_KEYS).chain(PATH_KEYS) {
            for b in TIME_KEYS.iter().chain(USER_KEYS).chain(PATH_KEYS) {
                assert_eq!(same_key(a, b), a == b, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn request_line_with_offset_time() {
        let (outcome, events) = parse(
            r#"{"timestamp":"2023-10-15T15:00:01.204-04:00","level":"error","service":"auth-service","message":"login failed: relation \"sessions\" does not exist","user_id":"u-00412","request_id":"9f1c2a","method":"POST","path":"/api/v1/login","status":500,"latency_ms":12.5,"client_ip":"203.0.113.7"}"#,
        );
        assert_eq!(outcome, LineOutcome::Parsed);
        let e = &events[0];
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01.204Z");
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.status, Some(500));
        assert_eq!(e.user.as_deref(), Some("u-00412"));
        assert_eq!(e.client.as_deref(), Some("203.0.113.7"));
        assert_eq!(e.latency_ms, Some(12.5));
        assert_eq!(e.service.as_deref(), Some("auth-service"));
        assert!(e.is_failed_request());
    }

    #[test]
    fn numeric_level_and_epoch_ms() {
        let (_, events) = parse(
            r#"{"level":50,"time":1697396401204,"host":"auth-1","msg":"upstream timeout","duration":"1.5s"}"#,
        );
        assert_eq!(events[0].severity, Severity::Error);
        assert_eq!(format_utc(events[0].time), "2023-10-15T19:00:01.204Z");
        assert_eq!(events[0].message, "upstream timeout");
        assert_eq!(events[0].latency_ms, Some(1500.0));
    }

    #[test]
    fn nested_and_epoch_string_times() {
        let (_, events) = parse(
            r#"{"t":{"$date":"2020-05-20T19:18:40.604+00:00"},"s":"I","c":"NETWORK","msg":"Listening on"}"#,
        );
        assert_eq!(format_utc(events[0].time), "2020-05-20T19:18:40.604Z");
        let (_, events) = parse(
            r#"{"__REALTIME_TIMESTAMP":"1697396401204000","PRIORITY":"3","MESSAGE":"unit failed"}"#,
        );
        assert_eq!(format_utc(events[0].time), "2023-10-15T19:00:01.204Z");
    }

    #[test]
    fn truncated_line_is_unparsed_with_reason() {
        let (outcome, events) = parse(r#"{"timestamp":"2023-10-15T15:00:01.204-04:00","lev"#);
        assert_eq!(
            outcome,
            LineOutcome::Unparsed(Cow::Borrowed("JSON cut short (truncated line)"))
        );
        assert!(events.is_empty());
    }

    #[test]
    fn sniff_is_a_catch_all() {
        let v: Value =
            serde_json::from_str(r#"{"ts":"2023-10-15T15:00:00Z","level":"info","msg":"x"}"#)
                .unwrap();
        assert!((50..=60).contains(&JsonApp.sniff_json(&v)));
        assert_eq!(
            JsonApp.sniff("127.0.0.1 - - [15/Oct/2023:15:00:00 -0400]"),
            0
        );
        assert_eq!(duration_ms("1m2.5s"), Some(62_500.0));
        assert!((duration_ms("350µs").unwrap() - 0.35).abs() < 1e-9);
    }
}
