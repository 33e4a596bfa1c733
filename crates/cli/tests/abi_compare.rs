//! Issue 4: the by-value ABI comparison. Builds `tests/abi/shapes.c` with gcc into
//! `tests/abi/build/libshapes.so` (where `tests/abi/shapes.ffidl` loads it from), runs
//! `ffidl run tests/abi/shapes.ffidl`, and compares its stdout line by line with
//! `tests/abi/native.expected` (what the same calls print when made natively by gcc code).
//!
//! Every line is `<label> <value>`: the label names the fixture (`F32x3 echo` is
//! `echo_F32x3` then `hash_F32x3`, `w64 I8 hash` is `w64_hash_I8` through `@abi(win64)`,
//! `ret_i8 255` is `ret_i8(255)`, `many_2` is the long mixed argument list number 2,
//! `F32x3 cbret` is `cbret_F32x3` hashing the F32x3 a script callback returned,
//! `F32x3 cbarg` is `cbarg_F32x3` returning what a script callback computed from an F32x3
//! and 18 stack-spilling scalars, `cbmany_1` a callback with 16+ mixed scalars).
//! All fixtures come from `tests/abi/gen.py`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Lines known to differ, with the reason. A listed line that starts to match fails the
/// test too, so the list cannot go stale.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

fn abi_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/abi")
        .canonicalize()
        .expect("tests/abi exists")
}

/// Compiles shapes.c into tests/abi/build/libshapes.so (through a temporary name, then an
/// atomic rename, so a concurrent run never loads a half-written library).
fn build_library(dir: &Path) {
    let build = dir.join("build");
    std::fs::create_dir_all(&build).expect("create tests/abi/build");
    common::build_shared_library(&dir.join("shapes.c"), &build.join("libshapes.so"));
}

/// The label of an output line: everything before its last space-separated word.
fn label(line: &str) -> &str {
    line.rsplit_once(' ').map_or(line, |(l, _)| l)
}

#[test]
fn ffidl_calls_print_what_native_calls_print() {
    let dir = abi_dir();
    build_library(&dir);
    let run = Command::new(env!("CARGO_BIN_EXE_ffidl"))
        .arg("run")
        .arg(dir.join("shapes.ffidl"))
        .output()
        .expect("run ffidl");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        run.status.code(),
        Some(0),
        "ffidl run tests/abi/shapes.ffidl failed:\n{stderr}"
    );
    assert!(stderr.is_empty(), "unexpected stderr:\n{stderr}");
    let expected =
        std::fs::read_to_string(dir.join("native.expected")).expect("read native.expected");
    let actual: Vec<&str> = stdout.lines().collect();
    let wanted: Vec<&str> = expected.lines().collect();

    let mut failures = Vec::new();
    let mut known_seen = Vec::new();
    for (index, native) in wanted.iter().enumerate() {
        let line = index + 1;
        let got = actual.get(index).copied();
        if got == Some(*native) {
            if let Some((name, _)) = KNOWN_DIFFERENCES.iter().find(|(n, _)| *n == label(native)) {
                failures.push(format!(
                    "line {line}: `{name}` now matches; remove it from KNOWN_DIFFERENCES"
                ));
            }
            continue;
        }
        if let Some((name, reason)) = KNOWN_DIFFERENCES.iter().find(|(n, _)| *n == label(native)) {
            eprintln!("known difference at line {line}: `{name}` ({reason})");
            known_seen.push(*name);
            continue;
        }
        failures.push(match got {
            Some(got) => format!(
                "line {line}: `{}` differs: ffidl printed `{got}`, native printed `{native}`",
                label(native)
            ),
            None => format!(
                "line {line}: `{}` missing from ffidl's output",
                label(native)
            ),
        });
    }
    if actual.len() > wanted.len() {
        failures.push(format!(
            "ffidl printed {} extra lines, first `{}`",
            actual.len() - wanted.len(),
            actual[wanted.len()]
        ));
    }
    for (name, _) in KNOWN_DIFFERENCES {
        if !wanted.iter().any(|l| label(l) == *name) {
            failures.push(format!(
                "KNOWN_DIFFERENCES names `{name}`, which no line has"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} ABI lines differ between ffidl and gcc:\n{}",
        failures.len(),
        wanted.len(),
        failures.join("\n")
    );
    assert!(
        wanted.len() >= 440,
        "native.expected lost lines: {}",
        wanted.len()
    );
}
