//! Shared by the runtime's test binaries: where the workspace is, and the C fixture
//! library that the `.ffidl` test programs load.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Compile `tests/fixtures/run_fixture.c` into `target/ffidl-fixtures/librun_fixture.so`
/// (once per test process); the programs name it by a path relative to their folder.
pub fn build_run_fixture(root: &Path) {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let out_dir = root.join("target/ffidl-fixtures");
        std::fs::create_dir_all(&out_dir).unwrap();
        // Build beside the final name and rename, so a process that has the old copy
        // loaded never sees a half-written file.
        let tmp = out_dir.join(format!("librun_fixture.{}.so", std::process::id()));
        let status = Command::new("gcc")
            .args(["-shared", "-fPIC", "-O1", "-Wall", "-pthread", "-o"])
            .arg(&tmp)
            .arg(root.join("tests/fixtures/run_fixture.c"))
            .status()
            .expect("gcc must be installed to build the run fixture");
        assert!(status.success(), "gcc failed on run_fixture.c");
        std::fs::rename(&tmp, out_dir.join("librun_fixture.so")).unwrap();
    });
}
