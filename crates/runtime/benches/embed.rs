//! Cost of one foreign call through the embedding API, next to its baselines, in one
//! run: a direct call through a Rust fn pointer, libffi's `ffi_call`, an ffidl typed
//! handle (`Module::typed`) and an ffidl dynamic call (a prepared `Function` called with
//! `Value`s). Best of several rounds of millions of calls each (the machine is shared).
//!
//! Functions (tests/fixtures/jit_calls.c, built with gcc -O2): `add_i32(i32, i32) -> i32`,
//! `vec2f_add(Vec2f, Vec2f) -> Vec2f` with `Vec2f { float x, y }` and
//! `vec2d_add(Vec2d, Vec2d) -> Vec2d` with `Vec2d { double x, y }`.
//! Run with `cargo bench -p ffidl --bench embed` (`FFIDL_BACKEND=asm` for the fallback);
//! `cargo bench -p ffidl --bench embed -- add_i32` measures only the functions named.

use std::ffi::c_void;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use ffidl::{Runtime, Value};
use libffi::middle::{arg, Cif, CodePtr, Type};

ffidl::repr_c! {
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Vec2f { x: f32, y: f32 }

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Vec2d { x: f64, y: f64 }
}

const ITERS: u32 = 1_000_000;
const ROUNDS: usize = 31;

/// One timed round: `ITERS` calls of `body`.
fn round(body: &mut impl FnMut(u32)) -> Duration {
    let start = Instant::now();
    for i in 0..ITERS {
        body(i);
    }
    start.elapsed()
}

/// Best-of-rounds nanoseconds per call of four ways of making the same call. The rounds
/// interleave the four, so that each sees the same spells of load on a shared machine.
fn best_of(
    mut direct: impl FnMut(u32),
    mut ffi: impl FnMut(u32),
    mut typed: impl FnMut(u32),
    mut dynamic: impl FnMut(u32),
    mut dynamic_into: impl FnMut(u32),
) -> [f64; 5] {
    for i in 0..ITERS / 10 {
        direct(i);
        ffi(i);
        typed(i);
        dynamic(i);
        dynamic_into(i);
    }
    let mut best = [Duration::MAX; 5];
    for _ in 0..ROUNDS {
        best[0] = best[0].min(round(&mut direct));
        best[1] = best[1].min(round(&mut ffi));
        best[2] = best[2].min(round(&mut typed));
        best[3] = best[3].min(round(&mut dynamic));
        best[4] = best[4].min(round(&mut dynamic_into));
    }
    best.map(|d| d.as_nanos() as f64 / f64::from(ITERS))
}

fn report(name: &str, [direct, ffi, typed, dynamic, into]: [f64; 5]) {
    println!(
        "{name:<10} direct {direct:6.2} ns | libffi {ffi:6.2} ns | typed {typed:6.2} ns \
         (typed/direct {:4.2}x) | dynamic {dynamic:6.2} ns (libffi/dynamic {:4.1}x, dynamic/direct {:4.1}x) \
         | call_into {into:6.2} ns (libffi/call_into {:4.1}x)",
        typed / direct,
        ffi / dynamic,
        dynamic / direct,
        ffi / into
    );
}

fn bindings(library: &str) -> String {
    format!(
        r#"library fx = "{library}";
struct Vec2f {{ x: f32, y: f32 }}
struct Vec2d {{ x: f64, y: f64 }}
extern fx {{
    fn add_i32(a: i32, b: i32) -> i32;
    fn vec2f_add(a: Vec2f, b: Vec2f) -> Vec2f;
    fn vec2d_add(a: Vec2d, b: Vec2d) -> Vec2d;
}}
"#
    )
}

fn main() {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/jit_calls.c");
    let lib_path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("embed_bench_calls.so");
    let status = Command::new("gcc")
        .args(["-O2", "-shared", "-fPIC", "-o"])
        .arg(&lib_path)
        .arg(&source)
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "gcc could not build the fixture"
    );
    let module = Runtime::new()
        .load_str("bench.ffidl", &bindings(&lib_path.to_string_lossy()))
        .unwrap_or_else(|e| panic!("{e}"));
    println!("backend: {:?}", module.backend());
    // SAFETY: our own fixture, no initialisers.
    let lib = unsafe { libloading::Library::new(&lib_path).expect("fixture loads") };
    let sym = |name: &str| -> *const c_void {
        // SAFETY: only the address is taken.
        unsafe { *lib.get::<*const c_void>(name.as_bytes()).expect(name) }
    };

    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);

    // Every way calls a function pointer it loads from memory on each call (`black_box`
    // of a reference), so the direct and typed loops are the same instructions.

    // ---- add_i32
    let add_ptr = sym("add_i32");
    // SAFETY: matches the C declaration.
    let add: extern "C" fn(i32, i32) -> i32 = unsafe { std::mem::transmute(add_ptr) };
    let add_cif = Cif::new([Type::i32(), Type::i32()], Type::i32());
    let add_typed = module
        .typed::<extern "C" fn(i32, i32) -> i32>("add_i32")
        .unwrap();
    let add_dynamic = module.function("add_i32").unwrap();
    if wanted("add_i32") {
        let mut last = 0;
        let mut last_into = 0;
        let mut out = Value::Void;
        let times = best_of(
            |i| {
                black_box((*black_box(&add))(black_box(i as i32), 7));
            },
            |i| {
                let (a, b) = (i as i32, 7i32);
                // SAFETY: the CIF matches add_i32.
                let r: i32 =
                    unsafe { add_cif.call(CodePtr::from_ptr(add_ptr), &[arg(&a), arg(&b)]) };
                black_box(r);
            },
            |i| {
                black_box(black_box(&add_typed).call((black_box(i as i32), 7)));
            },
            // The result is read as a caller would: matched, not copied whole.
            |i| {
                let args = [Value::I32(i as i32), Value::I32(7)];
                if let Ok(Value::I32(sum)) = black_box(&add_dynamic).call(black_box(&args)) {
                    last = black_box(sum);
                }
            },
            // The same, with the result stored in a reused value.
            |i| {
                let args = [Value::I32(i as i32), Value::I32(7)];
                let ok = black_box(&add_dynamic).call_into(black_box(&args), &mut out);
                if let (Ok(()), Value::I32(sum)) = (ok, &out) {
                    last_into = black_box(*sum);
                }
            },
        );
        report("add_i32", times);
        assert_eq!(last, add(ITERS as i32 - 1, 7));
        assert_eq!(last_into, last);
    }

    // ---- vec2f_add
    let v2f_ptr = sym("vec2f_add");
    // SAFETY: matches the C declaration.
    let v2f: extern "C" fn(Vec2f, Vec2f) -> Vec2f = unsafe { std::mem::transmute(v2f_ptr) };
    let v2f_ty = Type::structure([Type::f32(), Type::f32()]);
    let v2f_cif = Cif::new([v2f_ty.clone(), v2f_ty.clone()], v2f_ty);
    let v2f_typed = module
        .typed::<extern "C" fn(Vec2f, Vec2f) -> Vec2f>("vec2f_add")
        .unwrap();
    let v2f_dynamic = module.function("vec2f_add").unwrap();
    let b = Vec2f { x: 0.5, y: 0.25 };
    if wanted("vec2f_add") {
        let a_of = |i: u32| Vec2f {
            x: i as f32,
            y: 1.0,
        };
        // The struct values of the dynamic call are made once (by field name and from a
        // repr_c! value); each call passes them and gets a new struct value back.
        let mut a_value = module.new_struct("Vec2f").unwrap();
        a_value.set("x", 2.0f32).unwrap();
        a_value.set("y", 1.0f32).unwrap();
        let mut out = Value::Void;
        let args = [
            Value::Struct(a_value),
            Value::from(module.struct_value(&b).unwrap()),
        ];
        let times = best_of(
            |i| {
                black_box((*black_box(&v2f))(black_box(a_of(i)), black_box(b)));
            },
            |i| {
                let a = a_of(i);
                // SAFETY: the CIF matches vec2f_add.
                let r: Vec2f =
                    unsafe { v2f_cif.call(CodePtr::from_ptr(v2f_ptr), &[arg(&a), arg(&b)]) };
                black_box(r);
            },
            |i| {
                black_box(black_box(&v2f_typed).call((black_box(a_of(i)), black_box(b))));
            },
            |_| {
                let result = black_box(&v2f_dynamic).call(black_box(&args));
                black_box(&result);
            },
            |_| {
                let ok = black_box(&v2f_dynamic).call_into(black_box(&args), &mut out);
                black_box((&ok, &out));
            },
        );
        let last = v2f_dynamic.call(&args).unwrap();
        let got = last.as_struct().unwrap().to_repr::<Vec2f>().unwrap();
        assert_eq!(got, v2f(Vec2f { x: 2.0, y: 1.0 }, b));
        report("vec2f_add", times);
    }

    // ---- vec2d_add
    let v2d_ptr = sym("vec2d_add");
    // SAFETY: matches the C declaration.
    let v2d: extern "C" fn(Vec2d, Vec2d) -> Vec2d = unsafe { std::mem::transmute(v2d_ptr) };
    let v2d_ty = Type::structure([Type::f64(), Type::f64()]);
    let v2d_cif = Cif::new([v2d_ty.clone(), v2d_ty.clone()], v2d_ty);
    let v2d_typed = module
        .typed::<extern "C" fn(Vec2d, Vec2d) -> Vec2d>("vec2d_add")
        .unwrap();
    let v2d_dynamic = module.function("vec2d_add").unwrap();
    let bd = Vec2d { x: 0.5, y: 0.25 };
    if wanted("vec2d_add") {
        let a_of = |i: u32| Vec2d {
            x: f64::from(i),
            y: 1.0,
        };
        let mut out = Value::Void;
        let args = [
            Value::from(module.struct_value(&Vec2d { x: 2.0, y: 1.0 }).unwrap()),
            Value::from(module.struct_value(&bd).unwrap()),
        ];
        let times = best_of(
            |i| {
                black_box((*black_box(&v2d))(black_box(a_of(i)), black_box(bd)));
            },
            |i| {
                let a = a_of(i);
                // SAFETY: the CIF matches vec2d_add.
                let r: Vec2d =
                    unsafe { v2d_cif.call(CodePtr::from_ptr(v2d_ptr), &[arg(&a), arg(&bd)]) };
                black_box(r);
            },
            |i| {
                black_box(black_box(&v2d_typed).call((black_box(a_of(i)), black_box(bd))));
            },
            |_| {
                let result = black_box(&v2d_dynamic).call(black_box(&args));
                black_box(&result);
            },
            |_| {
                let ok = black_box(&v2d_dynamic).call_into(black_box(&args), &mut out);
                black_box((&ok, &out));
            },
        );
        let last = v2d_dynamic.call(&args).unwrap();
        let got = last.as_struct().unwrap().to_repr::<Vec2d>().unwrap();
        assert_eq!(got, v2d(Vec2d { x: 2.0, y: 1.0 }, bd));
        report("vec2d_add", times);
    }
}
