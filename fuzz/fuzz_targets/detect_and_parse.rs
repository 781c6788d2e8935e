//! Any bytes, any file name: format detection, then parsing with whatever was detected.
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    common::ingest(rest, common::name_for(selector), None);
});
