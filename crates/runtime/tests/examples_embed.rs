//! The Rust embedding example (examples/embed.rs, cargo example `embed`): its binary,
//! built by `cargo test` beside this test's profile, must exit 0 and print exactly
//! examples/embed.rs.stdout (nothing on stderr). It calls the real libc, libm and zlib.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// `target/<profile>/examples/embed`: this test runs from `target/<profile>/deps/`.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in target/<profile>/deps");
    profile_dir
        .join("examples")
        .join(format!("embed{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn the_embedding_example_prints_its_expected_output() {
    let root = workspace_root();
    let binary = example_binary();
    let source = root.join("examples/embed.rs");
    let built = std::fs::metadata(&binary).and_then(|m| m.modified());
    let edited = std::fs::metadata(&source)
        .and_then(|m| m.modified())
        .expect("examples/embed.rs exists");
    match built {
        Ok(built) => assert!(
            built >= edited,
            "{} is older than examples/embed.rs: run `cargo test -p ffidl` (which builds \
             the examples) or `cargo build -p ffidl --example embed`",
            binary.display()
        ),
        Err(e) => panic!(
            "{} is missing ({e}): run `cargo test -p ffidl` (which builds the examples) \
             or `cargo build -p ffidl --example embed`",
            binary.display()
        ),
    }
    let run = Command::new(&binary)
        .arg(root.join("examples/embed.ffidl"))
        .current_dir(&root)
        .output()
        .expect("run the embed example");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "stderr:\n{stderr}");
    assert!(stderr.is_empty(), "unexpected stderr:\n{stderr}");
    let expected = std::fs::read_to_string(root.join("examples/embed.rs.stdout"))
        .expect("examples/embed.rs.stdout exists");
    for (i, (got, want)) in stdout.lines().zip(expected.lines()).enumerate() {
        assert_eq!(got, want, "line {} of the example's output", i + 1);
    }
    assert_eq!(
        stdout.lines().count(),
        expected.lines().count(),
        "number of lines printed"
    );
}
