//! Message templates: a message with its variable parts (numbers, ids, addresses) masked, so
//! repeats of one kind of message can be counted together; and a Drain-style miner that merges
//! the masked templates which still differ only in a variable word.
//!
//! Two stages, because aggregation must stay mergeable across workers: [`template_of`] is the
//! cheap per-line mask (Drain's pre-processing step), and [`TemplateMiner`] clusters the distinct
//! masked templates afterwards, in the order they were first seen, the way Drain clusters lines
//! (He et al., "Drain: An Online Log Parsing Approach with Fixed Depth Tree", ICWS 2017).

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

/// The mask that stands for a variable token.
pub const WILDCARD: &str = "<*>";

/// Longest message prefix considered; the tail of a runaway message adds nothing to its kind.
const MAX_TEMPLATE_INPUT: usize = 512;

/// Masks the tokens of `message` that vary between repeats of the same message: anything with
/// a digit (numbers, ids, addresses, durations, hex), and quoted strings longer than a word.
/// Words, punctuation and short quoted names (`"sessions"`) are kept: they say what happened.
pub fn template_of(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_TEMPLATE_INPUT));
    template_of_into(message, &mut out);
    out
}

/// [`template_of`] written into `out` (cleared first): no allocation once `out` is large enough,
/// for the aggregation hot path.
pub fn template_of_into(message: &str, out: &mut String) {
    out.clear();
    let message = crate::ingest::formats::truncate_str(message, MAX_TEMPLATE_INPUT);
    // One pass: each space-separated token is masked, then runs of wildcards are collapsed
    // ("<*> <*> <*>" → "<*>") so variable-length lists match. Leading empty tokens leave no
    // space behind; other empty tokens keep their spaces.
    let mut last_was_wildcard = false;
    // Tokens as `split(' ')` gives them, found by a plain byte loop (they are short).
    let bytes = message.as_bytes();
    let mut from = 0;
    for i in 0.. {
        let end = bytes[from..]
            .iter()
            .position(|&c| c == b' ')
            .map_or(bytes.len(), |k| from + k);
        let token = &message[from..end];
        let last = end == bytes.len();
        from = end + 1;
        let start = out.len();
        if i > 0 && start > 0 {
            out.push(' ');
        }
        let is_wildcard = !token.is_empty() && push_masked(token, out);
        if is_wildcard && last_was_wildcard {
            // The space before it goes too.
            out.truncate(start);
        } else {
            last_was_wildcard = is_wildcard;
        }
        if last {
            break;
        }
    }
}

/// Slots of a [`TemplateCache`] (a power of two).
const CACHE_SLOTS: usize = 512;
/// Messages longer than this are masked every time (they rarely repeat word for word).
const CACHE_MAX_MESSAGE: usize = 200;

/// The templates of recently seen messages. Most log lines repeat a message word for word
/// ("login ok", "relation \"sessions\" does not exist"): such a line costs a hash and a compare
/// instead of a masking pass. Direct-mapped; the slots' buffers are reused, so a miss allocates
/// nothing once they are warm.
#[derive(Debug, Clone)]
pub struct TemplateCache {
    slots: Vec<(String, String)>,
    hasher: foldhash::fast::FixedState,
}

impl Default for TemplateCache {
    fn default() -> Self {
        TemplateCache {
            slots: vec![(String::new(), String::new()); CACHE_SLOTS],
            hasher: foldhash::fast::FixedState::with_seed(0x7465_6d70_6c61_7465),
        }
    }
}

impl TemplateCache {
    /// [`template_of_into`], from the cache when `message` was seen lately.
    pub fn template_into(&mut self, message: &str, out: &mut String) {
        if message.len() > CACHE_MAX_MESSAGE {
            template_of_into(message, out);
            return;
        }
        let slot = self.hasher.hash_one(message) as usize & (CACHE_SLOTS - 1);
        let (seen, template) = &mut self.slots[slot];
        if seen == message {
            out.clear();
            out.push_str(template);
            return;
        }
        template_of_into(message, out);
        seen.clear();
        seen.push_str(message);
        template.clear();
        template.push_str(out);
    }
}

/// A URL path with its variable segments masked: `/users/4121/orders?x=1` → `/users/<*>/orders`.
/// API version segments (`v1`) are kept.
pub fn path_template(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    push_path_template(path, &mut out);
    out
}

fn push_path_template(path: &str, out: &mut String) {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let path = crate::ingest::formats::truncate_str(path, MAX_TEMPLATE_INPUT);
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let is_version = segment.len() <= 4
            && segment.starts_with(['v', 'V'])
            && segment.len() > 1
            && segment[1..].bytes().all(|b| b.is_ascii_digit());
        if !is_version && (segment.bytes().any(|b| b.is_ascii_digit()) || segment.len() > 40) {
            out.push_str(WILDCARD);
        } else {
            out.push_str(segment);
        }
    }
}

/// The template of an HTTP request: method, path template and status (`POST /api/v1/login 500`).
pub fn request_template(method: Option<&str>, path: Option<&str>, status: u16) -> String {
    let mut out = String::new();
    request_template_into(method, path, status, &mut out);
    out
}

/// [`request_template`] written into `out` (cleared first).
pub fn request_template_into(
    method: Option<&str>,
    path: Option<&str>,
    status: u16,
    out: &mut String,
) {
    use std::fmt::Write as _;
    out.clear();
    out.push_str(method.unwrap_or("-"));
    out.push(' ');
    match path {
        Some(p) => push_path_template(p, out),
        None => out.push('-'),
    }
    // Writing an integer into a String cannot fail.
    let _ = write!(out, " {status}");
}

/// Settings of the Drain-style miner (defaults from the paper's recommendations).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinerConfig {
    /// Leading tokens used to route a message down the tree (Drain's depth minus two).
    pub prefix_tokens: usize,
    /// Share of constant tokens that must agree for a message to join a cluster.
    pub similarity: f64,
    /// Children per tree node before new tokens are routed to the wildcard child, so a variable
    /// first word cannot grow the tree without bound.
    pub max_children: usize,
}

impl Default for MinerConfig {
    fn default() -> Self {
        MinerConfig {
            prefix_tokens: 2,
            similarity: 0.5,
            max_children: 100,
        }
    }
}

/// One mined template: its tokens (variable ones are [`WILDCARD`]) and the weight it gathered.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub tokens: Vec<String>,
    pub weight: u64,
}

impl Cluster {
    pub fn template(&self) -> String {
        self.tokens.join(" ")
    }
}

/// Drain: messages are split into tokens; the token count, then the first `prefix_tokens` tokens
/// choose a leaf; in the leaf the message joins the most similar cluster if similar enough
/// (positions that differ become wildcards), else it starts a new one. Messages of different
/// lengths never merge, and leading words act as constants: both are Drain's assumptions.
#[derive(Debug, Clone, Default)]
pub struct TemplateMiner {
    config: MinerConfig,
    clusters: Vec<Cluster>,
    /// (token count, routed prefix) → clusters in that leaf.
    leaves: HashMap<(usize, Vec<String>), Vec<usize>>,
    /// (token count, routed prefix so far) → the tokens already branched on at that node.
    children: HashMap<(usize, Vec<String>), HashSet<String>>,
}

impl TemplateMiner {
    pub fn new(config: MinerConfig) -> TemplateMiner {
        TemplateMiner {
            config,
            ..TemplateMiner::default()
        }
    }

    pub fn clusters(&self) -> &[Cluster] {
        &self.clusters
    }

    /// Adds a (masked) message seen `weight` times; returns the id of the cluster it joined.
    pub fn add(&mut self, masked: &str, weight: u64) -> usize {
        let tokens: Vec<String> = masked.split(' ').map(str::to_string).collect();
        let leaf = self.route(&tokens);
        let best = self.leaves.get(&leaf).and_then(|ids| {
            let mut best: Option<(usize, f64, usize)> = None;
            for &id in ids {
                let Some(cluster) = self.clusters.get(id) else {
                    continue;
                };
                let (similarity, wildcards) = similarity(&cluster.tokens, &tokens);
                // Ties go to the more general template, as in Drain.
                let better = best
                    .is_none_or(|(_, s, w)| similarity > s || (similarity == s && wildcards > w));
                if better {
                    best = Some((id, similarity, wildcards));
                }
            }
            best
        });
        match best {
            Some((id, similarity, _)) if similarity >= self.config.similarity => {
                if let Some(cluster) = self.clusters.get_mut(id) {
                    for (kept, seen) in cluster.tokens.iter_mut().zip(&tokens) {
                        if kept != seen {
                            *kept = WILDCARD.to_string();
                        }
                    }
                    cluster.weight = cluster.weight.saturating_add(weight);
                }
                id
            }
            _ => {
                let id = self.clusters.len();
                self.clusters.push(Cluster { tokens, weight });
                self.leaves.entry(leaf).or_default().push(id);
                id
            }
        }
    }

    /// The leaf a message belongs to; registers new branches as it goes.
    fn route(&mut self, tokens: &[String]) -> (usize, Vec<String>) {
        let len = tokens.len();
        let mut prefix = Vec::with_capacity(self.config.prefix_tokens);
        for token in tokens.iter().take(self.config.prefix_tokens) {
            // A token with a digit is a variable: it never gets a branch of its own.
            let wanted = if token.bytes().any(|b| b.is_ascii_digit()) {
                WILDCARD.to_string()
            } else {
                token.clone()
            };
            let branches = self.children.entry((len, prefix.clone())).or_default();
            let step = if branches.contains(&wanted) || branches.len() < self.config.max_children {
                wanted
            } else {
                WILDCARD.to_string()
            };
            branches.insert(step.clone());
            prefix.push(step);
        }
        (len, prefix)
    }
}

/// Drain's sequence similarity: equal constant tokens over the length; also the wildcard count.
fn similarity(template: &[String], tokens: &[String]) -> (f64, usize) {
    if template.len() != tokens.len() || template.is_empty() {
        return (0.0, 0);
    }
    let mut equal = 0usize;
    let mut wildcards = 0usize;
    for (t, m) in template.iter().zip(tokens) {
        if t == WILDCARD {
            wildcards += 1;
        } else if t == m {
            equal += 1;
        }
    }
    (equal as f64 / template.len() as f64, wildcards)
}

/// Whether a character belongs to a token's core (what is masked or kept).
fn is_core_char(c: char) -> bool {
    c.is_alphanumeric() || c == '"' || c == '\''
}

/// Pushes `token` masked; says whether it became a bare wildcard.
fn push_masked(token: &str, out: &mut String) -> bool {
    // Keep leading/trailing punctuation so `(user=42),` stays readable as `(user=<*>),`.
    let core_start = token.find(is_core_char).unwrap_or(token.len());
    let core_end = token
        .char_indices()
        .rev()
        .find(|(_, c)| is_core_char(*c))
        .map_or(core_start, |(i, c)| i + c.len_utf8());
    if core_start >= core_end {
        out.push_str(token);
        return token == WILDCARD;
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
        out.push_str(head);
        out.push_str(key);
        out.push('=');
        out.push_str(if needs_mask(value) { WILDCARD } else { value });
        out.push_str(tail);
        return false;
    }
    if needs_mask(core) {
        out.push_str(head);
        out.push_str(WILDCARD);
        out.push_str(tail);
        head.is_empty() && tail.is_empty()
    } else {
        out.push_str(token);
        false
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

    /// The masking pass written with `split(' ')`, as it first was: the oracle for the byte loop.
    fn template_by_split(message: &str) -> String {
        let mut out = String::new();
        let message = crate::ingest::formats::truncate_str(message, MAX_TEMPLATE_INPUT);
        let mut last_was_wildcard = false;
        for (i, token) in message.split(' ').enumerate() {
            let start = out.len();
            if i > 0 && start > 0 {
                out.push(' ');
            }
            let is_wildcard = !token.is_empty() && push_masked(token, &mut out);
            if is_wildcard && last_was_wildcard {
                out.truncate(start);
                continue;
            }
            last_was_wildcard = is_wildcard;
        }
        out
    }

    #[test]
    fn tokens_are_split_as_split_splits_them() {
        for m in [
            "",
            " ",
            "  ",
            "a",
            " a",
            "a ",
            "  a  b  ",
            "took 12 ms 13 14 done",
            "1 2 3",
            " 1  2 x 3 ",
            "<*> <*> y",
            "é 3 ü",
            "user=42 , (id=7),",
        ] {
            assert_eq!(template_of(m), template_by_split(m), "{m:?}");
        }
    }

    #[test]
    fn the_cache_gives_what_masking_gives() {
        let mut cache = TemplateCache::default();
        let mut out = String::new();
        let messages = [
            "login ok user=u-00412 took=12ms",
            "relation \"sessions\" does not exist at character 31",
            "",
            "login ok user=u-00412 took=12ms",
            "upstream timeout after 3000ms to 10.0.4.17:5432",
        ];
        for round in 0..3 {
            for (i, m) in messages.iter().enumerate() {
                let long = format!("{m} {}", "x".repeat(CACHE_MAX_MESSAGE * (i % 2)));
                for text in [*m, long.as_str()] {
                    cache.template_into(text, &mut out);
                    assert_eq!(out, template_of(text), "round {round}: {text}");
                }
            }
        }
    }

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
    fn miner_merges_messages_that_differ_in_a_word() {
        let mut miner = TemplateMiner::new(MinerConfig::default());
        let a = miner.add("cache miss for key sessions on node alpha", 3);
        let b = miner.add("cache miss for key users on node beta", 2);
        assert_eq!(a, b);
        assert_eq!(
            miner.clusters()[a].template(),
            "cache miss for key <*> on node <*>"
        );
        assert_eq!(miner.clusters()[a].weight, 5);
    }

    #[test]
    fn miner_keeps_different_messages_apart() {
        let mut miner = TemplateMiner::new(MinerConfig::default());
        // Same length, different leading words: different leaves.
        let ok = miner.add("login ok user=<*> took=<*>", 1);
        let failed = miner.add("login failed user=<*> took=<*>", 1);
        assert_ne!(ok, failed);
        // Same leaf, too different.
        let x = miner.add("worker pool resized from <*> to <*>", 1);
        let y = miner.add("worker pool drained before shutdown completed now", 1);
        assert_ne!(x, y);
        // Different lengths never merge.
        let short = miner.add("relation \"sessions\" does not exist", 1);
        let long = miner.add("relation \"sessions\" does not exist at character <*>", 1);
        assert_ne!(short, long);
        assert_eq!(miner.clusters().len(), 6);
    }

    #[test]
    fn miner_routes_numbers_and_overflow_to_the_wildcard_branch() {
        let mut miner = TemplateMiner::new(MinerConfig {
            max_children: 2,
            ..MinerConfig::default()
        });
        let first = miner.add("42 jobs queued", 1);
        let second = miner.add("17 jobs queued", 1);
        assert_eq!(first, second);
        // The node already has two branches ("<*>" and "alpha"): later first words share the
        // wildcard branch, where they merge.
        miner.add("alpha started now", 1);
        miner.add("beta started now", 1);
        let gamma = miner.add("gamma started now", 1);
        assert_eq!(miner.clusters()[gamma].template(), "<*> started now");
    }

    #[test]
    fn collapsing_and_spaces_as_before() {
        assert_eq!(template_of("  a  b "), "a  b ");
        assert_eq!(template_of("1 2 3 x"), "<*> x");
        assert_eq!(template_of("1  2 x"), "<*>  <*> x");
        assert_eq!(template_of("(42), 7 x"), "(<*>), <*> x");
        assert_eq!(template_of("a=1 b=c d=\"x\""), "a=<*> b=c d=\"x\"");
        // A token ending in a multi-byte letter (this used to panic).
        assert_eq!(template_of("Café fermé 42"), "Café fermé <*>");
        assert_eq!(template_of("é"), "é");
        assert_eq!(template_of("<*> <*> 4"), "<*>");
        let mut out = String::new();
        request_template_into(None, Some("/a/12?x"), 502, &mut out);
        assert_eq!(out, "- /a/<*> 502");
    }

    #[test]
    fn same_template_for_repeats() {
        assert_eq!(
            template_of("checkpoint complete: wrote 312 buffers (1.9%)"),
            template_of("checkpoint complete: wrote 48 buffers (0.3%)")
        );
    }
}
