//! retrace: turns the raw logs of an outage into a draft postmortem.
//!
//! Pipeline: [`ingest`] → [`aggregate`] → [`detect`] → [`impact`] → [`timeline`] → [`report`].
//! Each stage is a module that takes plain data and gives plain data.

// No `unwrap` outside tests: input never panics retrace (constant patterns use `expect`).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod aggregate;
pub mod cli;
pub mod detect;
pub mod event;
pub mod export;
pub mod impact;
pub mod ingest;
pub mod notable;
pub mod notes;
pub mod pipeline;
pub mod redact;
pub mod report;
pub mod scenario;
pub mod template;
pub mod time;
pub mod timeline;
