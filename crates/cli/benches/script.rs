//! Cost of a foreign call made from a script under `ffidl run`, against the same C
//! function called directly through a Rust fn pointer and through libffi's `ffi_call`,
//! all in one run; plus the start-up time of `ffidl run examples/hello.ffidl`.
//!
//! The script loops are timed as whole `ffidl run` processes at two loop counts; the
//! difference divided by the difference in iterations is the per-iteration cost, free of
//! start-up, checking and thunk compilation. Run with
//! `cargo bench -p ffidl-cli --bench script`.

use std::ffi::c_void;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use libffi::middle::{arg, Cif, CodePtr, Type};

#[repr(C)]
#[derive(Clone, Copy)]
struct Vec2f {
    x: f32,
    y: f32,
}

const SMALL: u64 = 1_000_000;
const LARGE: u64 = 11_000_000;
const ROUNDS: usize = 5;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Best wall time of `ROUNDS` runs of `ffidl run script`.
fn best_run(script: &Path) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_ffidl"))
            .arg("run")
            .arg(script)
            .output()
            .expect("run ffidl");
        let t = start.elapsed();
        assert!(
            out.status.success(),
            "{}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        best = best.min(t);
    }
    best
}

/// Nanoseconds per iteration of the loop `body` (a script fragment using `i`).
fn script_ns_per_iter(dir: &Path, lib: &Path, name: &str, decls: &str, body: &str) -> f64 {
    let write = |n: u64| {
        let p = dir.join(format!("{name}_{n}.ffidl"));
        let src = format!(
            "library fx = \"{}\";\n{decls}\nlet s: i64 = 0;\nfor i in 0..{n} {{ {body} }}\nprint(s);\n",
            lib.display()
        );
        std::fs::write(&p, src).unwrap();
        p
    };
    let (small, large) = (write(SMALL), write(LARGE));
    let t_small = best_run(&small);
    let t_large = best_run(&large);
    (t_large.as_nanos() as f64 - t_small.as_nanos() as f64) / (LARGE - SMALL) as f64
}

/// Best-of-rounds nanoseconds per call of `body`, called in a Rust loop.
fn native_ns_per_call(mut body: impl FnMut(u32)) -> f64 {
    const N: u32 = 5_000_000;
    let mut best = Duration::MAX;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for i in 0..N {
            body(i);
        }
        best = best.min(start.elapsed());
    }
    best.as_nanos() as f64 / f64::from(N)
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("script-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let lib_path = dir.join("libjit_calls.so");
    let status = Command::new("gcc")
        .args(["-O2", "-shared", "-fPIC", "-o"])
        .arg(&lib_path)
        .arg(root().join("tests/fixtures/jit_calls.c"))
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "gcc could not build the fixture"
    );
    // SAFETY: our own fixture library, without initialisers.
    let lib = unsafe { libloading::Library::new(&lib_path).expect("fixture loads") };
    let sym = |name: &str| -> *const c_void {
        // SAFETY: only the address is read.
        unsafe { *lib.get::<*const c_void>(name.as_bytes()).expect(name) }
    };

    // ---- add_i32 ---------------------------------------------------------------
    let add_ptr = sym("add_i32");
    // SAFETY: matches the C declaration in jit_calls.c.
    let add: extern "C" fn(i32, i32) -> i32 = unsafe { std::mem::transmute(add_ptr) };
    let direct = native_ns_per_call(|i| {
        black_box(black_box(add)(black_box(i as i32), 1));
    });
    let cif = Cif::new([Type::i32(), Type::i32()], Type::i32());
    let ffi = native_ns_per_call(|i| {
        let (a, b) = (i as i32, 1i32);
        // SAFETY: the CIF matches add_i32.
        let r: i32 = unsafe { cif.call(CodePtr::from_ptr(add_ptr), &[arg(&a), arg(&b)]) };
        black_box(r);
    });
    let script = script_ns_per_iter(
        &dir,
        &lib_path,
        "add_i32",
        "extern fx { fn add_i32(a: i32, b: i32) -> i32; }",
        "s = s + add_i32(i as i32, 1) as i64;",
    );
    report("add_i32", direct, ffi, script, 10.0);

    // ---- vec2f_add -------------------------------------------------------------
    let v_ptr = sym("vec2f_add");
    // SAFETY: matches the C declaration in jit_calls.c.
    let vadd: extern "C" fn(Vec2f, Vec2f) -> Vec2f = unsafe { std::mem::transmute(v_ptr) };
    let w = Vec2f { x: 0.5, y: 0.25 };
    let direct = native_ns_per_call(|i| {
        let v = Vec2f {
            x: i as f32,
            y: 1.0,
        };
        black_box(black_box(vadd)(black_box(v), black_box(w)));
    });
    let vt = Type::structure([Type::f32(), Type::f32()]);
    let vcif = Cif::new([vt.clone(), vt.clone()], vt);
    let ffi = native_ns_per_call(|i| {
        let v = Vec2f {
            x: i as f32,
            y: 1.0,
        };
        // SAFETY: the CIF matches vec2f_add.
        let r: Vec2f = unsafe { vcif.call(CodePtr::from_ptr(v_ptr), &[arg(&v), arg(&w)]) };
        black_box(r.x);
    });
    let script = script_ns_per_iter(
        &dir,
        &lib_path,
        "vec2f_add",
        "struct Vec2f { x: f32, y: f32 }\nextern fx { fn vec2f_add(a: Vec2f, b: Vec2f) -> Vec2f; }\nlet v = Vec2f { x: 0.0, y: 1.0 };\nlet w = Vec2f { x: 0.5, y: 0.25 };",
        "v = vec2f_add(v, w);",
    );
    report("vec2f_add", direct, ffi, script, 25.0);

    // ---- start-up --------------------------------------------------------------
    let hello = root().join("examples/hello.ffidl");
    let mut times: Vec<Duration> = (0..15)
        .map(|_| {
            let start = Instant::now();
            let ok = Command::new(env!("CARGO_BIN_EXE_ffidl"))
                .arg("run")
                .arg(&hello)
                .output()
                .map(|o| o.status.success());
            assert!(matches!(ok, Ok(true)), "hello.ffidl failed");
            start.elapsed()
        })
        .collect();
    times.sort();
    let baseline: Vec<Duration> = (0..15)
        .map(|_| {
            let start = Instant::now();
            let _ = Command::new(env!("CARGO_BIN_EXE_ffidl"))
                .arg("--version")
                .output();
            start.elapsed()
        })
        .collect();
    let base = *baseline.iter().min().unwrap();
    println!(
        "start-up  `ffidl run examples/hello.ffidl`: median {:.2} ms, min {:.2} ms (`ffidl --version` process: min {:.2} ms; target < 5 ms)",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(base)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report(name: &str, direct: f64, ffi: f64, script: f64, target: f64) {
    println!(
        "{name:<10} direct {direct:6.2} ns | libffi ffi_call {ffi:6.2} ns ({:4.1}x direct) | script loop under `ffidl run` {script:6.2} ns/iter ({:4.1}x direct, {:4.2}x libffi; target <= {target} ns)",
        ffi / direct,
        script / direct,
        script / ffi
    );
}
