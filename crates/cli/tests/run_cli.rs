//! End-to-end tests of `ffidl run` and `ffidl thunk` through the binary: exit statuses,
//! which stream carries what, and C's stdio output interleaved with `print`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ffidl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ffidl"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run ffidl")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str, source: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ffidl-run-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, source).unwrap();
    path
}

#[test]
fn run_hello_succeeds() {
    let o = ffidl(&["run", "examples/hello.ffidl"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).starts_with("strlen(\"hello, world\") = 12\n"));
    assert_eq!(text(&o.stderr), "");
}

#[test]
fn exit_code_is_the_status_and_output_is_flushed() {
    let o = ffidl(&["run", "tests/run/exit_code.ffidl"]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(text(&o.stdout), "before\n");
}

#[test]
fn runtime_error_is_status_1_with_a_diagnostic_on_stderr() {
    let o = ffidl(&["run", "tests/run/err_div_zero.ffidl"]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("[runtime] Error: division by zero"), "{err}");
    assert!(err.contains("err_div_zero.ffidl:2:7"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn load_error_is_status_2() {
    let o = ffidl(&["run", "tests/run/err_symbol_not_found.ffidl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("[symbol-not-found]"));
    assert_eq!(text(&o.stdout), "");
}

#[test]
fn check_error_is_status_2() {
    let path = scratch("bad.ffidl", "let x: u8 = 256;\n");
    let o = ffidl(&["run", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("literal-overflow"));
}

#[test]
fn printf_output_keeps_its_place_among_prints() {
    let path = scratch(
        "mixed.ffidl",
        r#"library libc = "libc.so.6";
extern libc { fn printf(fmt: cstr, ...) -> c_int; fn puts(s: cstr) -> c_int; }
print("one");
printf("two %d\n", 2);
print("three");
puts("four");
print("five");
"#,
    );
    let o = ffidl(&["run", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "one\ntwo 2\nthree\nfour\nfive\n");
}

#[test]
fn thunk_prints_plan_and_code() {
    let o = ffidl(&["thunk", "examples/hello.ffidl", "frexp"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.starts_with("; fn frexp(x: f64, exp: *i32) -> f64"),
        "{out}"
    );
    assert!(
        out.contains("; plan (sysv64): a0 xmm0:f8@0; a1 rdi:i8@0"),
        "{out}"
    );
    assert!(out.contains("; clif"), "{out}");
    assert!(out.contains("call_indirect"), "{out}");
}

#[test]
fn thunk_of_unknown_function_is_an_error() {
    let o = ffidl(&["thunk", "examples/hello.ffidl", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no foreign function named `nope`"));
}
