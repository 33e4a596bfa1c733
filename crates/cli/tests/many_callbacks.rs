//! No fixed cap on distinct callbacks on the Cranelift path: a generated program hands
//! 10,000 distinct script functions to C as callbacks and checks every result. Under the
//! assembly backend the same program exceeds the fixed trampoline table, which must be a
//! clear, located error (exit 2), never a crash.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const COUNT: usize = 10_000;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Build the fixture and write the program; returns the program's path.
fn program() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("many-callbacks");
    std::fs::create_dir_all(&dir).unwrap();
    let lib = dir.join("libbench_callbacks.so");
    let status = Command::new("gcc")
        .args(["-O2", "-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(root().join("tests/fixtures/bench_callbacks.c"))
        .status()
        .expect("gcc must be installed");
    assert!(status.success());
    // call_cb_n(cb_k, 2) = cb_k(0) + cb_k(1) = 2k + 1, so the total is
    // sum(2k + 1, k < COUNT) = COUNT^2.
    let mut src = format!(
        "library fx = \"{}\";\ncallback Cb = fn(x: i32) -> i32;\nextern fx {{ fn call_cb_n(cb: Cb, n: i32) -> i64; }}\nlet total: i64 = 0;\nlet wrong: i64 = 0;\n",
        lib.display()
    );
    for k in 0..COUNT {
        let _ = writeln!(src, "fn cb_{k}(x: i32) -> i32 {{ return x + {k}; }}");
        let _ = writeln!(
            src,
            "let r{k} = call_cb_n(cb_{k}, 2); total = total + r{k}; if r{k} != {} {{ wrong = wrong + 1; }}",
            2 * k + 1
        );
    }
    src.push_str("print(\"total\", total, \"wrong\", wrong);\n");
    let path = dir.join("many_callbacks.ffidl");
    std::fs::write(&path, src).unwrap();
    path
}

fn run(backend: &str, path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ffidl"))
        .args(["run", "--backend", backend])
        .arg(path)
        .output()
        .expect("run ffidl")
}

#[test]
fn ten_thousand_distinct_callbacks() {
    let path = program();

    let o = run("jit", &path);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("total {} wrong 0\n", COUNT * COUNT)
    );

    // The assembly backend has a fixed table of 2,048 trampolines.
    let o = run("asm", &path);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("callback trampolines are in use"),
        "{stderr}"
    );
    assert!(stderr.contains("many_callbacks.ffidl:"), "{stderr}");
    assert!(
        o.stdout.is_empty(),
        "nothing runs before the program is loaded"
    );
}
