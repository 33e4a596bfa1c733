//! The seeded random ABI comparison: `tests/abi/random_gen.py` draws ~250 struct/union
//! shapes and long scalar signatures from the layout and calling-convention rules and
//! writes `tests/abi/random/` (C fixtures, `random.ffidl`, `native.expected`). This test
//! builds `random.c` with gcc into this test's target directory, runs `random.ffidl` there
//! under `ffidl run` (the backend is whatever `FFIDL_BACKEND` selects, so CI covers both),
//! and compares its stdout line by line with what the same calls print natively.
//!
//! Every line starts with the shape or signature it exercises: `R017 layout` (sizeof,
//! alignof, field offsets), `R017 hash` / `echo` / `pair` (by value after random scalar
//! prefixes, returned by value, two copies in one call), `R017 field` (a nested shape
//! passed from its field and assigned back), `R017 w64 …` (through `@abi(win64)`),
//! `R017 ind …` (through C function pointers), `R017 cbret` / `cbarg` (to and from a
//! script callback, `w64 cb…` through a win64 callback), `multi_4` / `cbmulti_4`
//! (several shapes in one call, and as a callback), `sig_5` / `cbsig_3` (10-20 scalars,
//! narrow return, and as a callback), `va_2` (variadic). Echo lines also print the bump
//! the callee computed from its scalar arguments. A failure names the first differing
//! lines and the declarations of their shapes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// How many differing lines a failure lists.
const SHOWN: usize = 12;

fn random_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/abi/random")
        .canonicalize()
        .expect("tests/abi/random exists")
}

/// Builds `librandom.so` into `<tmp>/abi-random/build/` next to a copy of `random.ffidl`
/// (whose `library` path is `./build/librandom.so`); returns the copy's path. The library
/// goes through a temporary name and an atomic rename, so a concurrent run never loads a
/// half-written file. A library built from the same `random.c` (kept beside it as
/// `random.c.built`) is reused, so the second backend's run skips gcc.
fn build(source: &Path) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("abi-random");
    let build = dir.join("build");
    std::fs::create_dir_all(&build).expect("create the build directory");
    let program = dir.join("random.ffidl");
    std::fs::copy(source.join("random.ffidl"), &program).expect("copy random.ffidl");
    let c_source = std::fs::read(source.join("random.c")).expect("read random.c");
    let built = build.join("random.c.built");
    if build.join("librandom.so").exists() && std::fs::read(&built).ok() == Some(c_source.clone()) {
        return program;
    }
    common::build_shared_library(&source.join("random.c"), &build.join("librandom.so"));
    let stamp = build.join(format!("random.c.built.{}.tmp", std::process::id()));
    std::fs::write(&stamp, &c_source).expect("write random.c.built");
    std::fs::rename(&stamp, &built).expect("move random.c.built");
    program
}

/// The declaration line of `name` in the program (`struct R017 { … }`), if it is a shape.
fn declaration<'a>(program: &'a str, name: &str) -> Option<&'a str> {
    program.lines().find(|line| {
        let mut words = line
            .split_whitespace()
            .skip_while(|word| word.starts_with('@'));
        matches!(words.next(), Some("struct" | "union")) && words.next() == Some(name)
    })
}

#[test]
fn random_shapes_and_signatures_match_gcc() {
    let source = random_dir();
    let program = build(&source);
    let run = Command::new(env!("CARGO_BIN_EXE_ffidl"))
        .arg("run")
        .arg(&program)
        .output()
        .expect("run ffidl");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let expected =
        std::fs::read_to_string(source.join("native.expected")).expect("read native.expected");
    let text = std::fs::read_to_string(&program).expect("read random.ffidl");
    let actual: Vec<&str> = stdout.lines().collect();
    let wanted: Vec<&str> = expected.lines().collect();

    let mut differing = Vec::new();
    for (index, native) in wanted.iter().enumerate() {
        let got = actual.get(index).copied();
        if got != Some(*native) {
            differing.push((index + 1, *native, got));
        }
    }
    let mut report = Vec::new();
    for (line, native, got) in differing.iter().take(SHOWN) {
        report.push(match got {
            Some(got) => format!("line {line}: ffidl printed `{got}`, gcc `{native}`"),
            None => format!("line {line}: missing, gcc printed `{native}`"),
        });
        let subject = native.split_whitespace().next().unwrap_or("");
        if let Some(decl) = declaration(&text, subject) {
            report.push(format!("    {}", decl.trim()));
        }
    }
    if differing.len() > SHOWN {
        report.push(format!("… and {} more", differing.len() - SHOWN));
    }
    if actual.len() > wanted.len() {
        report.push(format!(
            "ffidl printed {} extra lines, first `{}`",
            actual.len() - wanted.len(),
            actual[wanted.len()]
        ));
    }
    assert!(
        report.is_empty() && run.status.code() == Some(0) && stderr.is_empty(),
        "{} of {} lines differ between ffidl and gcc (exit {:?}):\n{}\nstderr:\n{stderr}",
        differing.len(),
        wanted.len(),
        run.status.code(),
        report.join("\n")
    );
    assert!(
        wanted.len() >= 1300,
        "native.expected lost lines: {}",
        wanted.len()
    );
}

/// The committed files under `tests/abi/random/` are what `random_gen.py` writes today.
#[test]
fn generated_files_are_up_to_date() {
    let generator = random_dir().join("../random_gen.py");
    let output = Command::new("python3")
        .arg(&generator)
        .arg("--check")
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 (needed to check tests/abi/random): {e}"));
    assert!(
        output.status.success(),
        "tests/abi/random is stale: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
