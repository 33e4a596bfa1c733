//! `ffidl run --backend asm|jit`: programs of tests/run give the same stdout, stderr and
//! exit status (the expected ones) through the Cranelift thunks and through the assembly
//! fallback, and the backend choice (flag, `FFIDL_BACKEND`) is validated.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Compile tests/fixtures/run_fixture.c where the programs look for it. Built under a
/// private name and renamed into place, so that a test process loading the library
/// never sees a half-written file.
fn build_fixture() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let root = root();
        let out_dir = root.join("target/ffidl-fixtures");
        std::fs::create_dir_all(&out_dir).unwrap();
        let partial = out_dir.join(format!("librun_fixture.so.{}", std::process::id()));
        let status = Command::new("gcc")
            .args(["-shared", "-fPIC", "-O1", "-Wall", "-o"])
            .arg(&partial)
            .arg(root.join("tests/fixtures/run_fixture.c"))
            .status()
            .expect("gcc must be installed to build the run fixture");
        assert!(status.success(), "gcc failed on run_fixture.c");
        std::fs::rename(&partial, out_dir.join("librun_fixture.so")).unwrap();
    });
}

/// `ffidl ARGS` with `FFIDL_BACKEND` set to `env_backend` (or removed).
fn ffidl(args: &[&str], env_backend: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ffidl"));
    command.args(args).current_dir(root());
    match env_backend {
        Some(value) => command.env("FFIDL_BACKEND", value),
        None => command.env_remove("FFIDL_BACKEND"),
    };
    command.output().expect("run ffidl")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Programs that cover fixed, variadic and callback-value calls, script functions as C
/// callbacks (also on C threads), struct arguments and results, C's stdio output,
/// runtime errors and `exit`.
const PROGRAMS: &[&str] = &[
    "callback_values",
    "callback_scalars",
    "callback_aggregates",
    "callback_qsort",
    "callback_threads",
    "libc_libm",
    "structs_and_c",
    "print_formats",
    "over_aligned",
    "temporaries",
    "exit_code",
    "err_div_zero",
];

#[test]
fn both_backends_give_the_expected_output() {
    build_fixture();
    for name in PROGRAMS {
        let file = format!("tests/run/{name}.ffidl");
        let expected = |ext: &str| {
            std::fs::read_to_string(root().join(format!("tests/run/{name}.{ext}")))
                .unwrap_or_default()
        };
        let jit = ffidl(&["run", "--backend", "jit", &file], None);
        // The flag wins over the environment.
        let asm = ffidl(&["run", "--backend", "asm", &file], Some("jit"));
        assert_eq!(text(&jit.stdout), text(&asm.stdout), "{name}: stdout");
        assert_eq!(text(&jit.stderr), text(&asm.stderr), "{name}: stderr");
        assert_eq!(jit.status.code(), asm.status.code(), "{name}: status");
        assert_eq!(text(&asm.stdout), expected("stdout"), "{name}: stdout");
        let status = expected("status").trim().parse::<i32>().unwrap_or(0);
        assert_eq!(asm.status.code(), Some(status), "{name}: status");
    }
}

#[test]
fn the_environment_selects_the_backend_and_the_flag_overrides_it() {
    let file = "tests/run/libc_libm.ffidl";
    let reference = ffidl(&["run", file], None);
    assert_eq!(
        reference.status.code(),
        Some(0),
        "{}",
        text(&reference.stderr)
    );
    for (args, env) in [
        (vec!["run", file], Some("asm")),
        (vec!["run", file], Some("jit")),
        (vec!["run", file], Some("")),
        (
            vec!["run", "--backend", "cranelift", file],
            Some("nonsense"),
        ),
    ] {
        let o = ffidl(&args, env);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?} {env:?}: {}",
            text(&o.stderr)
        );
        assert_eq!(text(&o.stdout), text(&reference.stdout), "{args:?} {env:?}");
    }
}

#[test]
fn an_unknown_backend_is_a_usage_error() {
    let file = "tests/run/libc_libm.ffidl";
    let o = ffidl(&["run", "--backend", "llvm", file], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("unknown backend `llvm`"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(text(&o.stdout), "");

    let o = ffidl(&["run", file], Some("llvm"));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("FFIDL_BACKEND"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(text(&o.stdout), "");

    let o = ffidl(&["run", "--backend"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("`--backend` needs a value"));

    let o = ffidl(&["check", "--backend", "asm", file], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("`--backend` is for `run` only"));
}
