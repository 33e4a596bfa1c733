//! The C API end to end: C programs compiled with gcc against `include/ffidl.h` and the
//! `libffidl.so` cargo builds for this crate, run as separate processes.
//!
//! - `examples/embed.c` (loading `examples/embed_c.ffidl`: libc, libm, zlib) must print
//!   exactly `examples/embed.c.stdout` (`UPDATE_EXPECT=1` rewrites it).
//! - `tests/capi/capi_test.c` (loading `tests/capi/bindings.ffidl`: the run fixture
//!   library and libc) checks every value tag, structs by value, variadic calls, errors,
//!   misuse, both backends, handle lifetimes and threads, and must exit 0.
//!
//! Both honour `FFIDL_BACKEND` (inherited), so CI's asm run covers the fallback too.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The directory holding `libffidl.so`: cargo builds the crate's cdylib into `deps/`
/// (where this test binary lives) before running its integration tests. Only
/// `cargo build` copies it up to `target/<profile>/`, so that copy may be stale: it is
/// the fallback.
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("the deps directory");
    let profile = deps.parent().expect("the profile directory");
    for dir in [deps, profile] {
        if dir.join("libffidl.so").is_file() {
            return dir.to_path_buf();
        }
    }
    panic!(
        "libffidl.so is in neither {} nor {}: run `cargo build -p ffidl`",
        deps.display(),
        profile.display()
    );
}

/// Compiles the C program `source` (relative to the workspace root) into
/// `target/ffidl-fixtures/capi/`, linked against libffidl.so with an rpath to it.
fn compile(root: &Path, source: &str, name: &str) -> PathBuf {
    let lib = library_dir();
    let out_dir = root.join("target/ffidl-fixtures/capi");
    std::fs::create_dir_all(&out_dir).unwrap();
    // One binary per test process: concurrent runs never write the same file.
    let exe = out_dir.join(format!("{name}.{}", std::process::id()));
    let mut rpath = std::ffi::OsString::from("-Wl,-rpath,");
    rpath.push(&lib);
    let output = Command::new("gcc")
        .args([
            "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-pthread", "-I",
        ])
        .arg(root.join("include"))
        .arg(root.join(source))
        .arg("-L")
        .arg(&lib)
        .args(["-lffidl", "-lm"])
        .arg(rpath)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("gcc must be installed to build the C API tests");
    assert!(
        output.status.success(),
        "gcc failed on {source}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

/// Runs `exe` from the workspace root with `args`, then deletes it. `cargo test` puts
/// `target/<profile>/` on `LD_LIBRARY_PATH`, which the loader searches before the rpath:
/// point it at the fresh library instead of a stale copy there.
fn run(root: &Path, exe: &Path, args: &[&str]) -> Output {
    let output = Command::new(exe)
        .args(args)
        .env("LD_LIBRARY_PATH", library_dir())
        .current_dir(root)
        .output()
        .expect("run the compiled C program");
    let _ = std::fs::remove_file(exe);
    output
}

#[test]
fn the_c_example_prints_its_expected_output() {
    let root = support::workspace_root();
    let exe = compile(&root, "examples/embed.c", "embed");
    let output = run(&root, &exe, &["examples/embed_c.ffidl"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "examples/embed.c exited {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status.code()
    );
    assert_eq!(stderr, "");
    let expected_path = root.join("examples/embed.c.stdout");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&expected_path, stdout.as_bytes()).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap();
    assert_eq!(
        stdout, expected,
        "examples/embed.c output differs from examples/embed.c.stdout (UPDATE_EXPECT=1 to accept)"
    );
}

#[test]
fn the_c_harness_passes() {
    let root = support::workspace_root();
    support::build_run_fixture(&root);
    let exe = compile(&root, "tests/capi/capi_test.c", "capi_test");
    let output = run(&root, &exe, &["tests/capi/bindings.ffidl"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "tests/capi/capi_test.c exited {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status.code()
    );
    assert!(stdout.ends_with(" checks, 0 failed\n"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l == "script output on stdout 2"),
        "{stdout}"
    );
}
