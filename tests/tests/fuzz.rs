//! Seeded mutation fuzzing, bounded for `make test`: the Security Lake
//! samples (and the regression fixtures) mutated — bit flips anywhere and in
//! the footer, interesting bytes, truncations, splices from other samples,
//! footer bytes deleted or repeated with the footer length fixed up — and
//! each result run through `lakeship::fuzzing::run_object`, the target the
//! cargo-fuzz crate (`fuzz/`, `scripts/fuzz.sh`) runs for long, coverage-
//! guided sessions. No input may panic (contained or not) or produce a
//! document that is not JSON.
//!
//! Deterministic: `LAKESHIP_FUZZ_SEED` (default 1) and
//! `LAKESHIP_FUZZ_ITERATIONS` (default below) choose the run; a finding is
//! written to `target/fuzz-findings/` and printed with how to replay it.

use std::path::PathBuf;
use std::time::Instant;

use lakeship::fuzzing::{NotificationOutcome, ObjectOutcome, run_notification, run_object};

/// Iterations in `make test`: 30 to 90 s on the 2-core CI machine, depending on its load.
const DEFAULT_ITERATIONS: u64 = 25_000;

fn seeds() -> Vec<(PathBuf, Vec<u8>)> {
    let root = lakeship_tests::repo_root().join("tests/fixtures");
    let mut paths = lakeship_tests::parquet_files(&root.join("security-lake-samples"));
    paths.extend(lakeship_tests::parquet_files(&root.join("poison")));
    paths.into_iter().map(|path| (path.clone(), std::fs::read(&path).expect("read seed"))).collect()
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// Where the footer starts, if the input has a plausible footer.
fn footer_start(input: &[u8]) -> Option<usize> {
    let tail = input.get(input.len().checked_sub(8)?..)?;
    let length = u32::from_le_bytes(tail[..4].try_into().ok()?) as usize;
    (tail[4..] == *b"PAR1" && length + 12 <= input.len()).then(|| input.len() - 8 - length)
}

/// Rewrites the footer length after the footer changed size.
fn fix_footer_length(input: &mut [u8], start: usize) {
    let length = input.len() - 8 - start;
    let at = input.len() - 8;
    input[at..at + 4].copy_from_slice(&(length as u32).to_le_bytes());
}

/// One mutation of `input`; returns what it did.
fn mutate(rng: &mut fastrand::Rng, input: &mut Vec<u8>, others: &[(PathBuf, Vec<u8>)]) -> String {
    const INTERESTING: [u8; 10] = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xff, 0x15, 0x19, 0x1c, 0x0c];
    if input.is_empty() {
        input.push(rng.u8(..));
        return "grew an empty input".to_string();
    }
    let footer = footer_start(input).filter(|start| *start < input.len() - 8);
    let (footer_from, footer_to) = footer.map_or((0, input.len()), |start| (start, input.len() - 8));
    match rng.u8(..10) {
        0 => {
            let at = rng.usize(..input.len());
            input[at] ^= 1 << rng.u8(..8);
            format!("flipped a bit at {at}")
        }
        1 | 2 => {
            let at = rng.usize(footer_from..footer_to);
            input[at] ^= 1 << rng.u8(..8);
            format!("flipped a footer bit at {at}")
        }
        3 => {
            let at = rng.usize(footer_from..footer_to);
            input[at] = INTERESTING[rng.usize(..INTERESTING.len())];
            format!("set footer byte {at} to {:#04x}", input[at])
        }
        4 => {
            let at = rng.usize(footer_from..footer_to);
            input[at] = input[at].wrapping_add(if rng.bool() { 1 } else { 255 });
            format!("nudged footer byte {at}")
        }
        5 => {
            let length = rng.usize(..input.len());
            input.truncate(length);
            format!("truncated to {length} bytes")
        }
        6 => {
            let (_, donor) = &others[rng.usize(..others.len())];
            if donor.is_empty() {
                return "nothing to splice".to_string();
            }
            let from = rng.usize(..donor.len());
            let length = rng.usize(1..=64.min(donor.len() - from));
            let at = rng.usize(..input.len());
            let length = length.min(input.len() - at);
            input[at..at + length].copy_from_slice(&donor[from..from + length]);
            format!("spliced {length} bytes at {at}")
        }
        7 | 8 if footer.is_some() => {
            let start = rng.usize(footer_from..footer_to);
            let length = rng.usize(1..=8.min(footer_to - start));
            if rng.bool() {
                input.drain(start..start + length);
                fix_footer_length(input, footer_from);
                format!("deleted footer bytes {start}..{}", start + length)
            } else {
                let copy: Vec<u8> = input[start..start + length].to_vec();
                input.splice(start..start, copy);
                fix_footer_length(input, footer_from);
                format!("repeated footer bytes {start}..{}", start + length)
            }
        }
        _ => {
            let end = footer.unwrap_or(input.len());
            let at = rng.usize(..end.max(1));
            let length = rng.usize(1..=16).min(input.len() - at);
            for byte in &mut input[at..at + length] {
                *byte = rng.u8(..);
            }
            format!("scrambled {length} data bytes at {at}")
        }
    }
}

fn record_finding(seed: u64, iteration: u64, input: &[u8], what: &str) -> String {
    let dir = lakeship_tests::repo_root().join("target/fuzz-findings");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("seed{seed}-{iteration}.parquet"));
    let _ = std::fs::write(&path, input);
    format!(
        "iteration {iteration} ({what}): saved as {} — replay with `cargo test -p lakeship-tests --test fuzz replays_findings -- --ignored`",
        path.display()
    )
}

#[test]
fn mutated_samples_never_panic() {
    let seeds = seeds();
    assert!(seeds.len() >= 51, "the samples are the corpus: found {}", seeds.len());
    let seed = env_number("LAKESHIP_FUZZ_SEED", 1);
    let iterations = env_number("LAKESHIP_FUZZ_ITERATIONS", DEFAULT_ITERATIONS);
    let mut rng = fastrand::Rng::with_seed(seed);
    let started = Instant::now();
    let (mut footers, mut row_groups_read, mut row_groups_failed, mut docs, mut upstream) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut findings = Vec::new();
    for iteration in 0..iterations {
        let (path, original) = &seeds[rng.usize(..seeds.len())];
        let mut input = original.clone();
        let mut done = Vec::new();
        for _ in 0..rng.usize(1..=3) {
            done.push(mutate(&mut rng, &mut input, &seeds));
        }
        let what = format!("{}: {}", path.file_name().map(|name| name.to_string_lossy()).unwrap_or_default(), done.join(", "));
        match std::panic::catch_unwind(|| run_object(&input)) {
            Ok(outcome) if outcome.is_finding() => {
                findings.push(format!("{}: {outcome:?}", record_finding(seed, iteration, &input, &what)))
            }
            Ok(outcome) => {
                footers += u64::from(outcome.footer_ok);
                row_groups_read += outcome.num_row_groups_read as u64;
                row_groups_failed += outcome.num_row_groups_failed as u64;
                docs += outcome.num_docs;
                upstream += outcome.upstream_panics.len() as u64;
            }
            Err(_) => findings.push(format!("{}: the panic escaped", record_finding(seed, iteration, &input, &what))),
        }
    }
    println!(
        "fuzz: seed {seed}, {iterations} executions in {:.1} s: {footers} footers decoded, {row_groups_read} row groups converted \
         ({docs} documents), {row_groups_failed} row groups failed cleanly ({upstream} of them on a known parquet-crate panic, \
         contained), {} findings",
        started.elapsed().as_secs_f64(),
        findings.len()
    );
    assert!(findings.is_empty(), "{} finding(s):\n{}", findings.len(), findings.join("\n"));
}

/// Iterations of the queue-message fuzzing in `make test` (parsing a message
/// takes microseconds: well under a few seconds in all).
const NOTIFICATION_ITERATIONS: u64 = 20_000;

/// Queue messages, mutated from the notification fixtures (every shape the
/// parser knows) and spliced into one another, through
/// `lakeship::fuzzing::run_notification`: any bytes give objects, an ignored
/// kind or a named refusal, never a panic.
#[test]
fn mutated_notifications_never_panic() {
    let dir = lakeship_tests::repo_root().join("tests/fixtures/notifications");
    let mut seeds: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("notification fixtures")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .map(|path| {
            let bytes = std::fs::read(&path).expect("read");
            (path, bytes)
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 7, "one fixture per shape: found {}", seeds.len());
    let seed = env_number("LAKESHIP_FUZZ_SEED", 1);
    let iterations = env_number("LAKESHIP_FUZZ_NOTIFICATION_ITERATIONS", NOTIFICATION_ITERATIONS);
    let mut rng = fastrand::Rng::with_seed(seed);
    let started = Instant::now();
    let (mut named, mut ignored, mut refused) = (0u64, 0u64, 0u64);
    let mut findings = Vec::new();
    for iteration in 0..iterations {
        let (path, original) = &seeds[rng.usize(..seeds.len())];
        let mut input = original.clone();
        let mut done = Vec::new();
        for _ in 0..rng.usize(1..=4) {
            if rng.bool() { done.push(mutate(&mut rng, &mut input, &seeds)) } else { done.push(replace_json_string(&mut rng, &mut input)) }
        }
        match std::panic::catch_unwind(|| run_notification(&input)) {
            Ok(NotificationOutcome::Objects(_)) => named += 1,
            Ok(NotificationOutcome::Ignored(_)) => ignored += 1,
            Ok(NotificationOutcome::Refused(reason)) => {
                refused += 1;
                assert!(!reason.is_empty(), "a refusal names its reason");
            }
            Err(_) => {
                let what = format!("{}: {}", path.file_name().map(|name| name.to_string_lossy()).unwrap_or_default(), done.join(", "));
                findings.push(record_finding(seed, iteration, &input, &what));
            }
        }
    }
    println!(
        "fuzz notifications: seed {seed}, {iterations} executions in {:.1} s: {named} named objects, {ignored} ignored, {refused} refused",
        started.elapsed().as_secs_f64()
    );
    assert!(findings.is_empty(), "{} finding(s):\n{}", findings.len(), findings.join("\n"));
}

/// Replaces one quoted string of `input` by a JSON token of another type or a
/// name the parser looks for, so most inputs stay JSON but take wrong shapes.
fn replace_json_string(rng: &mut fastrand::Rng, input: &mut Vec<u8>) -> String {
    const TOKENS: [&str; 16] = [
        "null",
        "[]",
        "{}",
        "7",
        "-1",
        "1e999",
        "true",
        "\"\"",
        "\"%FF\"",
        "\"+%2B+\"",
        "\"Notification\"",
        "\"aws.s3\"",
        "\"aws:s3\"",
        "\"Object Created\"",
        "\"s3:TestEvent\"",
        "[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\"}]",
    ];
    let quotes: Vec<usize> = input.iter().enumerate().filter(|(_, byte)| **byte == b'"').map(|(index, _)| index).collect();
    if quotes.len() < 2 {
        return "no string to replace".to_string();
    }
    let pair = rng.usize(..quotes.len() / 2) * 2;
    let (start, end) = (quotes[pair], quotes[pair + 1]);
    let token = TOKENS[rng.usize(..TOKENS.len())];
    input.splice(start..=end, token.bytes());
    format!("string at {start} replaced by {token}")
}

/// What long fuzzing runs found, kept as regression fixtures (apart from the
/// seeds, so the seeded run above stays the same): each fails its row group
/// cleanly, its panic (if any) contained and known.
#[test]
fn past_findings_fail_cleanly() {
    let paths = lakeship_tests::parquet_files(&lakeship_tests::repo_root().join("tests/fixtures/fuzz-findings"));
    assert!(!paths.is_empty(), "tests/fixtures/fuzz-findings holds the findings");
    for path in paths {
        let outcome = run_object(&std::fs::read(&path).expect("read"));
        assert!(!outcome.is_finding(), "{}: {outcome:?}", path.display());
        assert!(outcome.first_error.is_some(), "{}: a corrupt object is an error: {outcome:?}", path.display());
    }
}

/// Replays the inputs saved in `target/fuzz-findings/` (after a failure of
/// the test above, or copied there from a cargo-fuzz artifact).
#[test]
#[ignore = "replays saved findings on demand"]
fn replays_findings() {
    let mut paths = Vec::new();
    let dir = lakeship_tests::repo_root().join("target/fuzz-findings");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    paths.extend(entries.map(|entry| entry.expect("entry").path()));
    paths.sort();
    for path in paths {
        let outcome: ObjectOutcome = run_object(&std::fs::read(&path).expect("read"));
        println!("{}: {outcome:?}", path.display());
    }
}
