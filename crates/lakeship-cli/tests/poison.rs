//! `lakeship plan` and `lakeship convert` over a directory of good and
//! poison objects: no panic escapes (the exit code is 1, never 101 or an
//! abort), each bad object is named with its reason, and every good row is
//! converted — also the readable row groups of a partly corrupt object.

use std::process::{Command, Output};

use lakeship_tests::{poison, write_network_object};

fn lakeship(dir: &std::path::Path, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_lakeship"))
        .args(args)
        .env_remove("LAKESHIP_CONFIG")
        .env("LAKESHIP_WORK", dir.join("work"))
        .current_dir(dir)
        .output()
        .expect("run lakeship");
    println!("$ lakeship {}\n{}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    output
}

#[test]
fn plan_and_convert_name_poison_objects_and_go_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    std::fs::create_dir_all(&lake).expect("mkdir");
    write_network_object(&lake.join("good.parquet"), 100, 50);
    poison::negative_size(&lake.join("negative-size.parquet"), 40);
    poison::deep_nesting(&lake.join("deep-nesting.parquet"), 300);
    poison::corrupt_row_group(&lake.join("corrupt.parquet"), 50, 4, 1);
    let num_unroutable = poison::unroutable_rows(&lake.join("unroutable.parquet"), 20);
    std::fs::copy(poison::null_typed_columns(), lake.join("null-typed.parquet")).expect("copy");

    let plan = lakeship(dir.path(), &["plan", "lake"]);
    let stderr = String::from_utf8_lossy(&plan.stderr);
    assert_eq!(plan.status.code(), Some(1), "a named failure, not a panic");
    assert!(stderr.contains("negative-size.parquet") && stderr.contains("negative compressed size (-1)"), "{stderr}");
    assert!(stderr.contains("deep-nesting.parquet") && stderr.contains("schema nested 300 levels deep"), "{stderr}");
    let stdout = String::from_utf8_lossy(&plan.stdout);
    for planned in ["good.parquet", "corrupt.parquet", "unroutable.parquet", "null-typed.parquet"] {
        assert!(stdout.contains(planned), "{planned} is planned: {stdout}");
    }

    let convert = lakeship(dir.path(), &["convert", "--bulk", "lake"]);
    let stderr = String::from_utf8_lossy(&convert.stderr);
    assert_eq!(convert.status.code(), Some(1), "a named failure, not a panic");
    assert!(stderr.contains("corrupt.parquet: row group 1:"), "{stderr}");
    assert!(stderr.contains(&format!("{num_unroutable} row(s) left out")), "{stderr}");
    let num_lines = String::from_utf8_lossy(&convert.stdout).lines().count();
    let expected_docs = 100 + 150 + (20 - num_unroutable) + poison::NULL_TYPED_ROWS as usize;
    assert_eq!(num_lines, 2 * expected_docs, "an action line and a document per good row");
}
