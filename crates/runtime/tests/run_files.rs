//! File-driven run tests: every `tests/run/*.ffidl` is checked, loaded and run through
//! the library entry points (what `ffidl run` does), and its stdout, rendered
//! diagnostics (stderr) and exit status are compared with the `.stdout`, `.stderr` and
//! `.status` files beside it. Regenerate with
//! `UPDATE_EXPECT=1 cargo test -p ffidl --test run_files`.
//!
//! The C fixture `tests/fixtures/run_fixture.c` is compiled with `gcc` into
//! `target/ffidl-fixtures/librun_fixture.so` first; the programs name it by a path
//! relative to their own folder.

use ffidl::Outcome;
use ffidl_lang::{check_path, diag, CheckFailure, SourceMap, Target};
use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Compile the run fixture (once per test process).
fn build_fixture(root: &Path) {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let out_dir = root.join("target/ffidl-fixtures");
        std::fs::create_dir_all(&out_dir).unwrap();
        let status = Command::new("gcc")
            .args(["-shared", "-fPIC", "-O1", "-Wall", "-o"])
            .arg(out_dir.join("librun_fixture.so"))
            .arg(root.join("tests/fixtures/run_fixture.c"))
            .status()
            .expect("gcc must be installed to build the run fixture");
        assert!(status.success(), "gcc failed on run_fixture.c");
    });
}

/// A `Write` that appends to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Rc<RefCell<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// (stdout, stderr, status) of `ffidl run` on `rel` (a path relative to the root).
fn run_file(rel: &Path) -> (String, String, i32) {
    let mut map = SourceMap::new();
    let program = match check_path(&mut map, rel, Target::host()) {
        Ok(p) => p,
        Err(CheckFailure::Unreadable(msg)) => return (String::new(), format!("{msg}\n"), 2),
        Err(CheckFailure::Diagnostics(d)) => return (String::new(), diag::render(&map, &d), 2),
    };
    let mut loaded = match ffidl::load(&program, &map) {
        Ok(l) => l,
        Err(d) => return (String::new(), diag::render(&map, &d), 2),
    };
    let out = Captured::default();
    let outcome = loaded.run(Box::new(out.clone()));
    let stderr = match &outcome {
        Outcome::Error(d) => diag::render(&map, std::slice::from_ref(d)),
        _ => String::new(),
    };
    let stdout = String::from_utf8_lossy(&out.0.borrow()).into_owned();
    (stdout, stderr, outcome.exit_status())
}

#[test]
fn run_files() {
    let root = workspace_root();
    std::env::set_current_dir(&root).unwrap();
    build_fixture(&root);
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/run")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ffidl"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for file in &files {
        let (stdout, stderr, status) = run_file(file);
        let expected = [
            ("stdout", stdout),
            ("stderr", stderr),
            ("status", format!("{status}\n")),
        ];
        for (ext, actual) in expected {
            let path = file.with_extension(ext);
            if update {
                std::fs::write(&path, &actual).unwrap();
                continue;
            }
            let want = std::fs::read_to_string(&path).unwrap_or_default();
            if want != actual {
                failures.push(format!(
                    "--- {} (expected)\n{want}--- actual\n{actual}",
                    path.display()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} expectation(s) differ (UPDATE_EXPECT=1 to accept):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(!files.is_empty(), "no programs under tests/run");
}

/// The example program runs and prints what its comments promise.
#[test]
fn hello_example() {
    let root = workspace_root();
    std::env::set_current_dir(&root).unwrap();
    let (stdout, stderr, status) = run_file(Path::new("examples/hello.ffidl"));
    assert_eq!(stderr, "");
    assert_eq!(status, 0);
    assert_eq!(
        stdout,
        "strlen(\"hello, world\") = 12\ncos(0.0) = 1.0\nfrexp(48.0) = 0.75 * 2 ^ 6\n"
    );
}
