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

/// The fields the fast path fills, each from its own key list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Time,
    Level,
    Message,
    Status,
    Service,
    User,
    Client,
    Method,
    Path,
}

/// Every [`Field`] with its key list, in the order the table gives the keys their ids.
const FIELD_KEYS: [(Field, &[&str]); 9] = [
    (Field::Time, TIME_KEYS),
    (Field::Level, LEVEL_KEYS),
    (Field::Message, MESSAGE_KEYS),
    (Field::Status, STATUS_KEYS),
    (Field::Service, SERVICE_KEYS),
    (Field::User, USER_KEYS),
    (Field::Client, CLIENT_KEYS),
    (Field::Method, METHOD_KEYS),
    (Field::Path, PATH_KEYS),
];

impl Field {
    /// Whether a value may fill this field, as the full parse reads its list: it takes the first
    /// key present for the time, level and message (and then looks at the value), the first one
    /// with a usable status, the first string for service, method and path, and the first one
    /// with text for user and client.
    #[inline(always)]
    fn takes(self, raw: &Raw<'_>) -> bool {
        match self {
            Field::Time | Field::Level | Field::Message => true,
            Field::Status => raw_status(raw).is_some(),
            Field::Service | Field::Method | Field::Path => matches!(raw, Raw::Str { .. }),
            // What `raw_text` does not answer with `Ok(None)`.
            Field::User | Field::Client => match raw {
                Raw::Str { raw, .. } => !raw.is_empty(),
                Raw::Bool(_) | Raw::Num(_) => true,
                _ => false,
            },
        }
    }
}

/// The key lists the fast path resolves, each the way the full parse does.
struct FastKeys {
    /// Every key of every list, by id, and an open-addressing table from key to id.
    table: Vec<Option<(&'static str, u8)>>,
    /// By key id: the field the key may fill, with the key's place in the field's list, and
    /// whether the key is in other lists too.
    role: Vec<(Field, u8, bool)>,
    /// The other fields of keys that are in more than one list (none today): key id, field,
    /// place.
    more_roles: Vec<(usize, Field, u8)>,
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
        let mut names: Vec<&'static str> = Vec::new();
        for (_, list) in FIELD_KEYS {
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
        let mut role = Vec::new();
        let mut more_roles = Vec::new();
        for (id, name) in names.iter().enumerate() {
            let mut roles = FIELD_KEYS.iter().filter_map(|(field, list)| {
                let place = list.iter().position(|k| k == name)?;
                Some((*field, place as u8))
            });
            // Every name comes from a list.
            let (field, place) = roles.next().unwrap_or((Field::Time, u8::MAX));
            let before = more_roles.len();
            more_roles.extend(roles.map(|(field, place)| (id, field, place)));
            role.push((field, place, more_roles.len() > before));
        }
        let mut prefixes: Vec<&'static str> = names
            .iter()
            .filter_map(|n| n.split_once('.').map(|(p, _)| p))
            .collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        FastKeys {
            role,
            more_roles,
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
    #[inline(always)]
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

/// At most this many distinct keys are looked at (their ids are bytes; the lists hold fewer).
const MAX_FAST_KEYS: usize = 128;

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

/// An HTTP status as [`status_of`] reads one: a whole number or a string of one, 100..=599.
/// The value's parts go to the rare cases one by one (a reference to the whole value would keep
/// it in memory, and every member's value is copied from there).
#[inline(always)]
fn raw_status(raw: &Raw<'_>) -> Option<u16> {
    match *raw {
        Raw::Num(n) => {
            if let [a @ b'1'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9'] = n.as_bytes() {
                // Three digits, as nearly every status is written.
                return Some(
                    u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'),
                );
            }
            status_in_range(raw_i64(n))
        }
        Raw::Str { raw, escaped } => status_of_text(raw, escaped),
        _ => None,
    }
}

#[cold]
fn status_of_text(raw: &str, escaped: bool) -> Option<u16> {
    let text = Raw::Str { raw, escaped }.text()?;
    status_in_range(text.trim().parse::<i64>().ok())
}

#[cold]
fn status_in_range(value: Option<i64>) -> Option<u16> {
    value.filter(|s| (100..600).contains(s)).map(|s| s as u16)
}

/// What a line's members offer each field, kept as the full parse would choose.
struct Picks<'a> {
    /// Each field's value so far, with its key's place in the field's list (`u8::MAX`: none).
    best: [(u8, Raw<'a>); FIELD_KEYS.len()],
    /// The status of the status value kept.
    status: Option<u16>,
    /// A line the full parse must read.
    refused: bool,
}

impl<'a> Picks<'a> {
    #[inline(always)]
    fn offer(&mut self, field: Field, place: u8, value: Raw<'a>) {
        let slot = &mut self.best[field as usize];
        if place > slot.0 {
            return;
        }
        if place == slot.0 {
            // The same key again: serde_json keeps the last one, whatever it holds; that is
            // left to it.
            self.refused = true;
            return;
        }
        if field == Field::Status {
            if let Some(status) = raw_status(&value) {
                self.status = Some(status);
                *slot = (place, value);
            }
        } else if field.takes(&value) {
            *slot = (place, value);
        }
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
    let mut picks = Picks {
        best: [(u8::MAX, Raw::Null); FIELD_KEYS.len()],
        status: None,
        refused: false,
    };
    let mut position = 0;
    let cache = &mut cx.json_keys;
    scan_object(
        text,
        #[inline(always)]
        |key, value| {
            let id = cache.id(position, key, keys);
            position += 1;
            if let Some(id) = id {
                let (field, place, more) = keys.role[id];
                picks.offer(field, place, value);
                if more {
                    for &(_, field, place) in keys.more_roles.iter().filter(|r| r.0 == id) {
                        picks.offer(field, place, value);
                    }
                }
            }
            if value == Raw::Object && keys.prefixes.contains(&key) {
                picks.refused = true;
            }
        },
    )?;
    if picks.refused {
        return None;
    }
    let best = &picks.best;
    let get = |field: Field| match best[field as usize] {
        (u8::MAX, _) => None,
        (_, raw) => Some(raw),
    };
    // The time: the first time key present decides.
    let time = match get(Field::Time)? {
        raw @ Raw::Str { .. } => {
            let s = raw.text()?;
            cx.iso(&s).ok().or_else(|| parse_epoch_text(&s).ok())?
        }
        Raw::Num(n) if !n.contains('.') => epoch_from_int(n.parse::<i64>().ok()?).ok()?,
        Raw::Num(n) => epoch_by_magnitude(serde_json::from_str::<f64>(n).ok()?).ok()?,
        _ => return None,
    };
    let message = match get(Field::Message) {
        Some(raw @ Raw::Str { .. }) => raw.text()?,
        _ => Cow::Borrowed(""),
    };
    let level = match get(Field::Level) {
        Some(raw @ Raw::Str { .. }) => raw.text().and_then(|w| Severity::from_word(&w)),
        Some(Raw::Num(n)) => raw_i64(n).map(Severity::from_pino),
        _ => None,
    };
    let status = picks.status;
    let string = |field: Field| -> Option<Option<Cow<'a, str>>> {
        match get(field) {
            Some(raw) => Some(Some(raw.text()?)),
            None => Some(None),
        }
    };
    let text_of = |field: Field| -> Option<Option<Cow<'a, str>>> {
        match get(field).map(|raw| raw_text(&raw)) {
            Some(Ok(text)) => Some(text),
            Some(Err(())) => None,
            None => Some(None),
        }
    };
    let severity = level.unwrap_or_else(|| status.map_or(Severity::Info, http_severity));
    Some(FastLine::Record(EventView {
        time,
        kind: Some(SourceKind::App),
        service: string(Field::Service)?,
        severity,
        message,
        user: text_of(Field::User)?,
        client: text_of(Field::Client)?,
        method: string(Field::Method)?,
        path: string(Field::Path)?,
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
    fn fast_path_picks_each_field_as_the_full_parse_does() {
        let t = r#""ts":"2023-10-15T19:00:01Z""#;
        let lines = [
            // The first user key has no text, the second has.
            format!(r#"{{{t},"user_id":"","userId":"u-2","msg":"a"}}"#),
            format!(r#"{{{t},"userId":"u-2","user_id":null,"msg":"a"}}"#),
            // Lower in the list but earlier in the line.
            format!(r#"{{{t},"username":"late","user_id":"first","msg":"a"}}"#),
            // A number that only serde_json can print: the line is left to it.
            format!(r#"{{{t},"user_id":1.50,"msg":"a"}}"#),
            format!(r#"{{{t},"user_id":true,"client_ip":12}}"#),
            // Statuses: out of range, as a string, padded, the next key's.
            format!(r#"{{{t},"status":20,"status_code":503}}"#),
            format!(r#"{{{t},"status":"404 ","statusCode":200}}"#),
            format!(r#"{{{t},"status":600,"http_status":"abc"}}"#),
            format!(r#"{{{t},"status":500.0}}"#),
            format!(r#"{{{t},"status":-200,"status_code":201}}"#),
            // Service, method and path take the first string.
            format!(r#"{{{t},"service":7,"app":"auth","method":null,"http.method":"GET"}}"#),
            format!(r#"{{{t},"path":{{"a":1}},"url":"/x","route":"/y"}}"#),
            // Time, level and message: the first key present decides, whatever it holds.
            format!(r#"{{{t},"message":5,"msg":"text"}}"#),
            format!(r#"{{{t},"level":40,"severity":"error"}}"#),
            format!(r#"{{{t},"level":"","severity":"error"}}"#),
            r#"{"time":1697396401000,"timestamp":"2023-10-15T19:00:01Z"}"#.to_string(),
            r#"{"timestamp":null,"time":"2023-10-15T19:00:01Z"}"#.to_string(),
            // Keys written twice.
            format!(r#"{{{t},"status":500,"status":200}}"#),
            format!(r#"{{{t},"user_id":"","user_id":"u-9"}}"#),
            format!(r#"{{{t},"user_id":"u-1","user_id":""}}"#),
            format!(r#"{{{t},"msg":"a","level":"info","msg":"b"}}"#),
            r#"{"ts":"2023-10-15T19:00:01Z","ts":"2023-10-15T19:00:02Z"}"#.to_string(),
        ];
        let mut taken = 0;
        for line in &lines {
            let (outcome, events) = parse(line);
            let mut cx = FileContext::new(ParseContext::default());
            let Some(FastLine::Record(view)) = JsonApp.parse_view(line, &mut cx) else {
                continue;
            };
            taken += 1;
            assert_eq!(outcome, LineOutcome::Parsed, "{line}");
            assert_eq!(events[0].view(), view, "{line}");
        }
        // Most are read by the fast path (not all left to the full parse).
        assert!(taken >= 15, "{taken} of {}", lines.len());
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
