//! The examples under `examples/`: every `examples/NAME.ffidl` that has an
//! `examples/NAME.stdout` beside it must pass `ffidl check`, and `ffidl run` must exit 0
//! with exactly that stdout (and nothing on stderr). The examples call real system
//! libraries (zlib, SQLite), so this is also an end-to-end test of the runtime.

use std::path::{Path, PathBuf};
use std::process::Command;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .canonicalize()
        .expect("examples/ exists")
}

/// Every example with an expected stdout, sorted by name.
fn examples_with_expected_output() -> Vec<(PathBuf, PathBuf)> {
    let mut found: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(examples_dir())
        .expect("read examples/")
        .map(|entry| entry.expect("examples/ entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "ffidl"))
        .map(|path| (path.clone(), path.with_extension("stdout")))
        .filter(|(_, stdout)| stdout.exists())
        .collect();
    found.sort();
    found
}

#[test]
fn the_library_examples_have_expected_output() {
    let names: Vec<String> = examples_with_expected_output()
        .iter()
        .filter_map(|(p, _)| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    for wanted in ["sqlite", "zlib"] {
        assert!(
            names.iter().any(|n| n == wanted),
            "examples/{wanted}.ffidl with {wanted}.stdout is missing (found {names:?})"
        );
    }
}

#[test]
fn every_example_checks_clean_and_prints_its_expected_output() {
    let mut failures = Vec::new();
    for (source, expected_path) in examples_with_expected_output() {
        let name = source
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let check = Command::new(env!("CARGO_BIN_EXE_ffidl"))
            .arg("check")
            .arg(&source)
            .output()
            .expect("run ffidl check");
        if !check.status.success() {
            failures.push(format!(
                "{name}: `ffidl check` exited {:?}:\n{}",
                check.status.code(),
                String::from_utf8_lossy(&check.stderr)
            ));
            continue;
        }
        let run = Command::new(env!("CARGO_BIN_EXE_ffidl"))
            .arg("run")
            .arg(&source)
            .output()
            .expect("run ffidl run");
        let stdout = String::from_utf8_lossy(&run.stdout);
        let stderr = String::from_utf8_lossy(&run.stderr);
        let expected = std::fs::read_to_string(&expected_path).expect("read expected stdout");
        if run.status.code() != Some(0) {
            failures.push(format!(
                "{name}: `ffidl run` exited {:?}:\n{stderr}",
                run.status.code()
            ));
        } else if stdout != expected {
            let first = stdout
                .lines()
                .zip(expected.lines())
                .enumerate()
                .find(|(_, (got, want))| got != want)
                .map(|(i, (got, want))| {
                    format!("line {}: printed `{got}`, expected `{want}`", i + 1)
                })
                .unwrap_or_else(|| {
                    format!(
                        "printed {} lines, expected {}",
                        stdout.lines().count(),
                        expected.lines().count()
                    )
                });
            failures.push(format!("{name}: stdout differs; {first}"));
        } else if !stderr.is_empty() {
            failures.push(format!("{name}: unexpected stderr:\n{stderr}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
