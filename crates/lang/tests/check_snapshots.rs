//! File-driven diagnostics tests: every `tests/check/*.ffidl` is checked and its
//! rendered diagnostics compared with the `.stderr` file beside it (`ok` when clean).
//! Regenerate with `UPDATE_EXPECT=1 cargo test -p ffidl-lang --test check_snapshots`.

use ffidl_lang::{check_path, diag, CheckFailure, SourceMap, Target};
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// What `ffidl check` prints to stderr for a file (diagnostic names relative to the root).
fn rendered(rel: &Path) -> String {
    let mut map = SourceMap::new();
    match check_path(&mut map, rel, Target::SysVX64) {
        Ok(_) => "ok\n".to_string(),
        Err(CheckFailure::Unreadable(msg)) => format!("{msg}\n"),
        Err(CheckFailure::Diagnostics(d)) => diag::render(&map, &d),
    }
}

#[test]
fn check_snapshots() {
    let root = workspace_root();
    std::env::set_current_dir(&root).unwrap();
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/check")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ffidl"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for file in &files {
        let actual = rendered(file);
        let expect_path = file.with_extension("stderr");
        if update {
            std::fs::write(&expect_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expect_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "--- {} (expected)\n{expected}--- actual\n{actual}",
                file.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} snapshot(s) differ (UPDATE_EXPECT=1 to accept):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(!files.is_empty(), "no snapshot files under tests/check");
}
