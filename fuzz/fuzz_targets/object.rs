//! One Parquet object's bytes through footer decoding, planning and
//! conversion. A contained panic (which the pipeline turns into an error of
//! that object) still fails here: the guard is the last resort, not the fix.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let outcome = lakeship::fuzzing::run_object(data);
    assert!(!outcome.is_finding(), "panics {:?}, invalid documents {:?}", outcome.panics, outcome.invalid_docs);
});
