//! A callback that fails (runtime error) or calls `exit` while C is running it ends the
//! process: the test re-runs its own binary as a child that runs the program in-process
//! (as `ffidl run` does) and checks the child's status and streams.

use ffidl::Outcome;
use ffidl_lang::{check_path, diag, SourceMap, Target};
use std::path::{Path, PathBuf};
use std::process::Command;

const CHILD_ENV: &str = "FFIDL_CALLBACK_EXIT_PROGRAM";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// In the child: run the program and exit like `ffidl run`.
fn run_child(path: &str) -> ! {
    let mut map = SourceMap::new();
    let program = check_path(&mut map, Path::new(path), Target::host())
        .unwrap_or_else(|_| std::process::exit(2));
    let mut loaded = ffidl::load(&program, &map).unwrap_or_else(|_| std::process::exit(2));
    let outcome = loaded.run(Box::new(std::io::stdout()));
    if let Outcome::Error(d) = &outcome {
        eprint!("{}", diag::render(&map, std::slice::from_ref(d)));
    }
    std::process::exit(outcome.exit_status())
}

/// Compile tests/fixtures/run_fixture.c where the programs look for it (this test may
/// run before any other that builds it). Built under a private name and renamed into
/// place, so that a process loading the library never sees a half-written file.
fn build_fixture() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let root = workspace_root();
        let out_dir = root.join("target/ffidl-fixtures");
        std::fs::create_dir_all(&out_dir).unwrap();
        let partial = out_dir.join(format!("librun_fixture.so.{}", std::process::id()));
        let status = Command::new("gcc")
            .args(["-shared", "-fPIC", "-O1", "-Wall", "-pthread", "-o"])
            .arg(&partial)
            .arg(root.join("tests/fixtures/run_fixture.c"))
            .status()
            .expect("gcc must be installed to build the run fixture");
        assert!(status.success(), "gcc failed on run_fixture.c");
        std::fs::rename(&partial, out_dir.join("librun_fixture.so")).unwrap();
    });
}

/// (stdout, stderr, status) of running `program` in a child process.
fn run_in_child(test_name: &str, program: &str) -> (String, String, Option<i32>) {
    build_fixture();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, program)
        .current_dir(workspace_root())
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

fn child_or(test_name: &str, program: &str) -> Option<(String, String, Option<i32>)> {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        if path == program {
            run_child(&path);
        }
        return None;
    }
    Some(run_in_child(test_name, program))
}

#[test]
fn runtime_error_in_callback_exits_1_with_its_location() {
    let Some((stdout, stderr, status)) = child_or(
        "runtime_error_in_callback_exits_1_with_its_location",
        "tests/callback_exit/runtime_error.ffidl",
    ) else {
        return;
    };
    assert_eq!(status, Some(1), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("before sort\ncomparing "), "{stdout}");
    assert!(!stdout.contains("not reached"), "{stdout}");
    assert!(stderr.contains("division by zero"), "{stderr}");
    assert!(stderr.contains("runtime_error.ffidl:11:"), "{stderr}");
}

#[test]
fn exit_in_callback_ends_the_process_with_its_code() {
    let Some((stdout, stderr, status)) = child_or(
        "exit_in_callback_ends_the_process_with_its_code",
        "tests/callback_exit/exit_in_callback.ffidl",
    ) else {
        return;
    };
    assert_eq!(status, Some(7), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.ends_with("leaving from a callback\n"), "{stdout}");
    assert_eq!(stderr, "");
}

/// Passing script functions as callbacks in a loop makes no thunks at run time: the
/// qsort program sorts 10,000 times with two comparators and has exactly two thunks.
#[test]
fn callbacks_in_a_loop_reuse_one_thunk_per_function_and_type() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    build_fixture();
    std::env::set_current_dir(workspace_root()).unwrap();
    let mut map = SourceMap::new();
    let program = check_path(
        &mut map,
        Path::new("tests/run/callback_qsort.ffidl"),
        Target::host(),
    )
    .unwrap_or_else(|_| panic!("callback_qsort.ffidl checks"));
    let mut loaded = ffidl::load(&program, &map).unwrap_or_else(|_| panic!("loads"));
    assert_eq!(loaded.callback_thunk_count(), 2);
    let outcome = loaded.run(Box::new(std::io::sink()));
    assert_eq!(outcome.exit_status(), 0);
    assert_eq!(loaded.callback_thunk_count(), 2);
}

/// `print` inside a callback on threads C created reaches stdout (the thread's own
/// interpreter state writes to the process's stdout when the callback returns).
#[test]
fn print_in_callbacks_on_c_threads_reaches_stdout() {
    let Some((stdout, stderr, status)) = child_or(
        "print_in_callbacks_on_c_threads_reaches_stdout",
        "tests/callback_exit/thread_print.ffidl",
    ) else {
        return;
    };
    assert_eq!(status, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    let lines = stdout.matches("cb ").count();
    assert_eq!(lines, 4 * 3, "{stdout}");
    assert!(stdout.contains("total 18000090\n"), "{stdout}");
}
