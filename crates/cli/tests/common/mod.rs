//! Shared by the CLI test binaries that compile C fixtures.

use std::path::Path;
use std::process::Command;

/// Compiles the C file `source` into the shared library `output` with gcc (the flags of
/// the ABI comparisons), through a temporary name and an atomic rename, so that a
/// concurrent test run never loads a half-written library.
pub fn build_shared_library(source: &Path, output: &Path) {
    let temporary = output.with_extension(format!("so.{}.tmp", std::process::id()));
    let compile = Command::new("gcc")
        .args([
            "-std=gnu11",
            "-O2",
            "-Wall",
            "-Wno-packed-not-aligned",
            "-Wno-psabi",
            "-shared",
            "-fPIC",
        ])
        .arg("-o")
        .arg(&temporary)
        .arg(source)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gcc (this test needs it): {e}"));
    assert!(
        compile.status.success(),
        "gcc failed on {}:\n{}",
        source.display(),
        String::from_utf8_lossy(&compile.stderr)
    );
    std::fs::rename(&temporary, output)
        .unwrap_or_else(|e| panic!("cannot move {}: {e}", output.display()));
}
