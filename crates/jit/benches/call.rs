//! Cost of one foreign call three ways, in one run: a direct Rust fn-pointer call,
//! libffi's `ffi_call`, and an ffidl call thunk; plus Cranelift compile time per thunk
//! (best of five rounds over distinct signatures) and the code memory it takes.
//!
//! Functions (tests/fixtures/jit_calls.c, built with gcc -O2): `add_i32(i32, i32) -> i32`,
//! `vec2f_add(Vec2f, Vec2f) -> Vec2f` with `Vec2f { float x, y }` and
//! `vec2d_add(Vec2d, Vec2d) -> Vec2d` with `Vec2d { double x, y }`.
//! Run with `cargo bench -p ffidl-jit --bench call`.

use std::collections::HashSet;
use std::ffi::c_void;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use ffidl_jit::abi::{classify, Abi, AbiType, AggLayout, CallPlan, LeafKind, Signature};
use ffidl_jit::thunk::ThunkCache;
use libffi::middle::{arg, Cif, CodePtr, Type};

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct Vec2f {
    x: f32,
    y: f32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct Vec2d {
    x: f64,
    y: f64,
}

const ITERS: u32 = 5_000_000;
const ROUNDS: usize = 5;

/// Best-of-rounds nanoseconds per call of `body`.
fn ns_per_call(mut body: impl FnMut(u32)) -> f64 {
    for i in 0..ITERS / 10 {
        body(i);
    }
    let mut best = Duration::MAX;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for i in 0..ITERS {
            body(i);
        }
        best = best.min(start.elapsed());
    }
    best.as_nanos() as f64 / f64::from(ITERS)
}

fn report(name: &str, direct: f64, ffi: f64, thunk: f64) {
    println!(
        "{name:<10} direct {direct:6.2} ns | libffi {ffi:6.2} ns ({:4.1}x direct) | thunk {thunk:6.2} ns ({:4.1}x direct, libffi/thunk {:4.1}x)",
        ffi / direct,
        thunk / direct,
        ffi / thunk
    );
}

fn main() {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/jit_calls.c");
    let lib_path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("jit_calls_bench.so");
    let status = Command::new("gcc")
        .args(["-O2", "-shared", "-fPIC", "-o"])
        .arg(&lib_path)
        .arg(&source)
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "gcc could not build the fixture"
    );
    // SAFETY: our own fixture, no initialisers.
    let lib = unsafe { libloading::Library::new(&lib_path).expect("fixture loads") };
    let sym = |name: &str| -> *const c_void {
        // SAFETY: only the address is taken.
        unsafe { *lib.get::<*const c_void>(name.as_bytes()).expect(name) }
    };
    let mut cache = ThunkCache::new().expect("thunk cache");

    // ---- add_i32
    let add_ptr = sym("add_i32");
    // SAFETY: matches the C declaration.
    let add: extern "C" fn(i32, i32) -> i32 = unsafe { std::mem::transmute(add_ptr) };
    let add_cif = Cif::new([Type::i32(), Type::i32()], Type::i32());
    let add_plan = classify(&Signature::new(
        Abi::SysV64,
        vec![AbiType::I32, AbiType::I32],
        Some(AbiType::I32),
    ))
    .unwrap();
    let add_thunk = cache.thunk(&add_plan).unwrap();
    let add_compile = cache.compiled(&add_plan).unwrap().compile_time;

    let direct = ns_per_call(|i| {
        black_box(black_box(add)(black_box(i as i32), 7));
    });
    let ffi = ns_per_call(|i| {
        let a = i as i32;
        let b = 7i32;
        // SAFETY: the CIF matches add_i32.
        let r: i32 = unsafe { add_cif.call(CodePtr::from_ptr(add_ptr), &[arg(&a), arg(&b)]) };
        black_box(r);
    });
    let mut slots = [0u64; 2];
    let mut ret = [0u64; 1];
    let thunk = ns_per_call(|i| {
        slots[0] = i as u64;
        slots[1] = 7;
        // SAFETY: the slots and the plan match add_i32.
        unsafe { black_box(add_thunk)(add_ptr, slots.as_ptr(), ret.as_mut_ptr().cast()) };
        black_box(ret[0]);
    });
    assert_eq!(ret[0] as i32, add(ITERS as i32 - 1, 7));
    report("add_i32", direct, ffi, thunk);

    // ---- vec2f_add
    let v2f_ptr = sym("vec2f_add");
    // SAFETY: matches the C declaration.
    let v2f: extern "C" fn(Vec2f, Vec2f) -> Vec2f = unsafe { std::mem::transmute(v2f_ptr) };
    let v2f_ty = Type::structure([Type::f32(), Type::f32()]);
    let v2f_cif = Cif::new([v2f_ty.clone(), v2f_ty.clone()], v2f_ty);
    let v2f_abi = AbiType::Aggregate(AggLayout::c_struct(&[LeafKind::F32, LeafKind::F32]));
    let v2f_plan = classify(&Signature::new(
        Abi::SysV64,
        vec![v2f_abi.clone(), v2f_abi.clone()],
        Some(v2f_abi),
    ))
    .unwrap();
    let v2f_thunk = cache.thunk(&v2f_plan).unwrap();
    let v2f_compile = cache.compiled(&v2f_plan).unwrap().compile_time;
    let b = Vec2f { x: 0.5, y: 0.25 };

    let direct = ns_per_call(|i| {
        let a = Vec2f {
            x: i as f32,
            y: 1.0,
        };
        black_box(black_box(v2f)(black_box(a), black_box(b)));
    });
    let ffi = ns_per_call(|i| {
        let a = Vec2f {
            x: i as f32,
            y: 1.0,
        };
        // SAFETY: the CIF matches vec2f_add.
        let r: Vec2f = unsafe { v2f_cif.call(CodePtr::from_ptr(v2f_ptr), &[arg(&a), arg(&b)]) };
        black_box(r);
    });
    let mut out = Vec2f { x: 0.0, y: 0.0 };
    let thunk = ns_per_call(|i| {
        let a = Vec2f {
            x: i as f32,
            y: 1.0,
        };
        let slots = [&a as *const Vec2f as u64, &b as *const Vec2f as u64];
        // SAFETY: the slots and the plan match vec2f_add; `out` holds the result.
        unsafe { black_box(v2f_thunk)(v2f_ptr, slots.as_ptr(), (&mut out as *mut Vec2f).cast()) };
        black_box(out);
    });
    assert_eq!(
        out,
        v2f(
            Vec2f {
                x: (ITERS - 1) as f32,
                y: 1.0
            },
            b
        )
    );
    report("vec2f_add", direct, ffi, thunk);

    // ---- vec2d_add
    let v2d_ptr = sym("vec2d_add");
    // SAFETY: matches the C declaration.
    let v2d: extern "C" fn(Vec2d, Vec2d) -> Vec2d = unsafe { std::mem::transmute(v2d_ptr) };
    let v2d_ty = Type::structure([Type::f64(), Type::f64()]);
    let v2d_cif = Cif::new([v2d_ty.clone(), v2d_ty.clone()], v2d_ty);
    let v2d_abi = AbiType::Aggregate(AggLayout::c_struct(&[LeafKind::F64, LeafKind::F64]));
    let v2d_plan = classify(&Signature::new(
        Abi::SysV64,
        vec![v2d_abi.clone(), v2d_abi.clone()],
        Some(v2d_abi),
    ))
    .unwrap();
    let v2d_thunk = cache.thunk(&v2d_plan).unwrap();
    let v2d_compile = cache.compiled(&v2d_plan).unwrap().compile_time;
    let bd = Vec2d { x: 0.5, y: 0.25 };

    let direct = ns_per_call(|i| {
        let a = Vec2d {
            x: f64::from(i),
            y: 1.0,
        };
        black_box(black_box(v2d)(black_box(a), black_box(bd)));
    });
    let ffi = ns_per_call(|i| {
        let a = Vec2d {
            x: f64::from(i),
            y: 1.0,
        };
        // SAFETY: the CIF matches vec2d_add.
        let r: Vec2d = unsafe { v2d_cif.call(CodePtr::from_ptr(v2d_ptr), &[arg(&a), arg(&bd)]) };
        black_box(r);
    });
    let mut outd = Vec2d { x: 0.0, y: 0.0 };
    let thunk = ns_per_call(|i| {
        let a = Vec2d {
            x: f64::from(i),
            y: 1.0,
        };
        let slots = [&a as *const Vec2d as u64, &bd as *const Vec2d as u64];
        // SAFETY: the slots and the plan match vec2d_add; `outd` holds the result.
        unsafe { black_box(v2d_thunk)(v2d_ptr, slots.as_ptr(), (&mut outd as *mut Vec2d).cast()) };
        black_box(outd);
    });
    assert_eq!(
        outd,
        v2d(
            Vec2d {
                x: f64::from(ITERS - 1),
                y: 1.0
            },
            bd
        )
    );
    report("vec2d_add", direct, ffi, thunk);

    // ---- compile time
    println!(
        "compile    add_i32 {:.1} us | vec2f_add {:.1} us | vec2d_add {:.1} us (first thunk includes JIT set-up)",
        add_compile.as_secs_f64() * 1e6,
        v2f_compile.as_secs_f64() * 1e6,
        v2d_compile.as_secs_f64() * 1e6
    );
    let plans = distinct_plans();
    // Best of five rounds, each in a fresh cache (the machine may be busy); the first
    // thunk of each cache pays for setting up the ISA and contexts and is not timed.
    // Each signature's own time is its best over the rounds.
    let mut best = Duration::MAX;
    let mut each = vec![Duration::MAX; plans.len()];
    let mut fresh = ThunkCache::new().expect("thunk cache");
    for _ in 0..ROUNDS {
        fresh = ThunkCache::new().expect("thunk cache");
        fresh.thunk(&add_plan).unwrap();
        let start = Instant::now();
        for (plan, time) in plans.iter().zip(&mut each) {
            let one = Instant::now();
            fresh.thunk(plan).unwrap();
            *time = (*time).min(one.elapsed());
        }
        best = best.min(start.elapsed());
    }
    println!(
        "compile    {} distinct signatures: {:.1} us per thunk on average",
        plans.len(),
        best.as_secs_f64() * 1e6 / plans.len() as f64
    );
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    for (label, range) in [("0-6", 0..=6), ("7-12", 7..=12), ("13-19", 13..=19)] {
        let mut times: Vec<Duration> = plans
            .iter()
            .zip(&each)
            .filter(|(p, _)| range.contains(&p.args.len()))
            .map(|(_, t)| *t)
            .collect();
        times.sort();
        if let (Some(first), Some(last)) = (times.first(), times.last()) {
            println!(
                "compile    {label:>5} parameters: {} signatures, median {:.1} us, min {:.1} us, max {:.1} us",
                times.len(),
                us(times[times.len() / 2]),
                us(*first),
                us(*last)
            );
        }
    }
    println!(
        "memory     {} thunks: {} bytes of code ({:.0} per thunk) in {} KiB mapped",
        fresh.len(),
        fresh.code_bytes(),
        fresh.code_bytes() as f64 / fresh.len() as f64,
        fresh.mapped_bytes() / 1024
    );
}

/// Distinct call plans (0 to 19 integer/float parameters, some on the stack, and four
/// result types), classified and deduplicated before any clock starts.
fn distinct_plans() -> Vec<CallPlan> {
    let mut plans: Vec<CallPlan> = Vec::new();
    let mut seen = HashSet::new();
    for n in 0..400usize {
        let params: Vec<AbiType> = (0..n % 20)
            .map(|k| match (k * 7 + n / 20) % 4 {
                0 => AbiType::F64,
                1 => AbiType::I32,
                2 => AbiType::F32,
                _ => AbiType::I64,
            })
            .collect();
        let ret = match n % 4 {
            0 => Some(AbiType::I32),
            1 => Some(AbiType::F64),
            2 => Some(AbiType::U8),
            _ => None,
        };
        let plan = classify(&Signature::new(Abi::SysV64, params, ret)).unwrap();
        if seen.insert(plan.clone()) {
            plans.push(plan);
        }
    }
    plans
}
