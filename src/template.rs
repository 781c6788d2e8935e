//! Message templates: a message with its variable parts (numbers, ids, addresses) masked, so
//! repeats of one kind of message can be counted together.

/// The mask that stands for a variable token.
pub const WILDCARD: &str = "<*>";

/// Longest message prefix considered; the tail of a runaway message adds nothing to its kind.
const MAX_TEMPLATE_INPUT: usize = 512;

/// Masks the tokens of `message` that vary between repeats of the same message: anything with
/// a digit (numbers, ids, addresses, durations, hex), and quoted strings longer than a word.
/// Words, punctuation and short quoted names (`"sessions"`) are kept: they say what happened.
pub fn template_of(message: &str) -> String {
    let message = crate::ingest::formats::truncate_str(message, MAX_TEMPLATE_INPUT);
    let mut out = String::with_capacity(message.len());
    for (i, token) in message.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if token.is_empty() {
            continue;
        }
        out.push_str(&mask_token(token));
    }
    // Collapse runs of wildcards ("<*> <*> <*>" → "<*>") so variable-length lists match.
    let mut collapsed = String::with_capacity(out.len());
    let mut last_was_wildcard = false;
    for (i, token) in out.split(' ').enumerate() {
        let is_wildcard = token == WILDCARD;
        if is_wildcard && last_was_wildcard {
            continue;
        }
        if i > 0 && !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(token);
        last_was_wildcard = is_wildcard;
    }
    collapsed
}

/// A URL path with its variable segments masked: `/users/4121/orders?x=1` → `/users/<*>/orders`.
/// API version segments (`v1`) are kept.
pub fn path_template(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let path = crate::ingest::formats::truncate_str(path, MAX_TEMPLATE_INPUT);
    path.split('/')
        .map(|segment| {
            let is_version = segment.len() <= 4
                && segment.starts_with(['v', 'V'])
                && segment.len() > 1
                && segment[1..].bytes().all(|b| b.is_ascii_digit());
            if !is_version && (segment.bytes().any(|b| b.is_ascii_digit()) || segment.len() > 40) {
                WILDCARD
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The template of an HTTP request: method, path template and status (`POST /api/v1/login 500`).
pub fn request_template(method: Option<&str>, path: Option<&str>, status: u16) -> String {
    format!(
        "{} {} {status}",
        method.unwrap_or("-"),
        path.map_or_else(|| "-".to_string(), path_template)
    )
}

fn mask_token(token: &str) -> String {
    // Keep leading/trailing punctuation so `(user=42),` stays readable as `(user=<*>),`.
    let core_start = token
        .find(|c: char| c.is_alphanumeric() || c == '"' || c == '\'')
        .unwrap_or(token.len());
    let core_end = token
        .rfind(|c: char| c.is_alphanumeric() || c == '"' || c == '\'')
        .map_or(core_start, |i| i + 1);
    if core_start >= core_end {
        return token.to_string();
    }
    let (head, rest) = token.split_at(core_start);
    let (core, tail) = rest.split_at(core_end - core_start);
    // key=value: keep the key.
    if let Some((key, value)) = core.split_once('=')
        && !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        let masked = if needs_mask(value) { WILDCARD } else { value };
        return format!("{head}{key}={masked}{tail}");
    }
    if needs_mask(core) {
        format!("{head}{WILDCARD}{tail}")
    } else {
        token.to_string()
    }
}

fn needs_mask(core: &str) -> bool {
    if core.chars().any(|c| c.is_ascii_digit()) {
        return true;
    }
    let unquoted = core.trim_matches(|c| c == '"' || c == '\'');
    // Long quoted values are data (a user name, a token), short quoted words are names.
    unquoted.len() != core.len() && unquoted.len() > 32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_numbers_and_ids_keeps_names() {
        assert_eq!(
            template_of("relation \"sessions\" does not exist at character 31"),
            "relation \"sessions\" does not exist at character <*>"
        );
        assert_eq!(
            template_of("upstream timeout after 3000ms to 10.0.4.17:5432"),
            "upstream timeout after <*> to <*>"
        );
        assert_eq!(
            template_of("login ok user=u-00412 took=12ms"),
            "login ok user=<*> took=<*>"
        );
    }

    #[test]
    fn request_paths() {
        assert_eq!(
            path_template("/api/v1/users/4121/orders?page=2"),
            "/api/v1/users/<*>/orders"
        );
        assert_eq!(
            request_template(Some("POST"), Some("/api/v1/login"), 500),
            "POST /api/v1/login 500"
        );
    }

    #[test]
    fn same_template_for_repeats() {
        assert_eq!(
            template_of("checkpoint complete: wrote 312 buffers (1.9%)"),
            template_of("checkpoint complete: wrote 48 buffers (0.3%)")
        );
    }
}
