//! Cost of a foreign call and of a callback round trip through the assembly fallback,
//! next to the Cranelift thunks for the same plans (tests/fixtures/jit_calls.c).
//! Run with `cargo bench -p ffidl --bench fallback`.

#![allow(clippy::upper_case_acronyms, dead_code)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::ffi::c_void;
use std::hint::black_box;
use std::time::{Duration, Instant};

use common::*;
use ffidl::fallback::{self, Trampoline};
use ffidl_jit::abi::{classify, Abi, AbiType, Signature};
use ffidl_jit::thunk::ThunkCache;

const ITERS: u32 = 2_000_000;
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

unsafe extern "C" fn subtract(_context: *const c_void, args: *const u64, ret: *mut u8) {
    // SAFETY: two i32 slots and an 8-byte result buffer.
    unsafe {
        let (a, b) = (args.cast::<i32>().read(), args.add(1).cast::<i32>().read());
        ret.cast::<i32>().write_unaligned(a - b);
    }
}

fn main() {
    let mut cache = ThunkCache::new().expect("thunk cache");
    let add_plan = classify(&Signature::new(
        Abi::SysV64,
        vec![AbiType::I32, AbiType::I32],
        Some(AbiType::I32),
    ))
    .unwrap();
    let add = sym("add_i32");
    let thunk = cache.thunk(&add_plan).unwrap();
    let mut ret = [0u8; 8];
    let by_thunk = ns_per_call(|i| {
        let args = [u64::from(i), 7];
        // SAFETY: add_i32's slots and an 8-byte result buffer.
        unsafe { black_box(thunk)(add, args.as_ptr(), ret.as_mut_ptr()) };
        black_box(ret);
    });
    let by_asm = ns_per_call(|i| {
        let args = [u64::from(i), 7];
        // SAFETY: as above.
        unsafe { fallback::call(black_box(&add_plan), add, &args, ret.as_mut_ptr()) }.unwrap();
        black_box(ret);
    });
    println!("call add_i32      thunk {by_thunk:6.2} ns | asm fallback {by_asm:6.2} ns");

    let v2d = st(&[F8, F8]);
    let v2d_plan = classify(&Signature::new(
        Abi::SysV64,
        vec![v2d.clone(), v2d.clone()],
        Some(v2d),
    ))
    .unwrap();
    let v2d_add = sym("vec2d_add");
    let thunk = cache.thunk(&v2d_plan).unwrap();
    let b = Vec2d { x: 0.5, y: 0.25 };
    let mut out = Vec2d { x: 0.0, y: 0.0 };
    let by_thunk = ns_per_call(|i| {
        let a = Vec2d {
            x: f64::from(i),
            y: 1.0,
        };
        let args = [&a as *const Vec2d as u64, &b as *const Vec2d as u64];
        // SAFETY: vec2d_add's slots; `out` holds the result.
        unsafe { black_box(thunk)(v2d_add, args.as_ptr(), (&mut out as *mut Vec2d).cast()) };
        black_box(out);
    });
    let by_asm = ns_per_call(|i| {
        let a = Vec2d {
            x: f64::from(i),
            y: 1.0,
        };
        let args = [&a as *const Vec2d as u64, &b as *const Vec2d as u64];
        // SAFETY: as above.
        unsafe {
            fallback::call(
                black_box(&v2d_plan),
                v2d_add,
                &args,
                (&mut out as *mut Vec2d).cast(),
            )
        }
        .unwrap();
        black_box(out);
    });
    println!("call vec2d_add    thunk {by_thunk:6.2} ns | asm fallback {by_asm:6.2} ns");

    // Callback round trip: C's apply_i32 calls the callback once.
    let compiled = cache
        .callback(&add_plan, subtract, std::ptr::null())
        .unwrap();
    let trampoline = Trampoline::new(&add_plan, subtract, std::ptr::null()).unwrap();
    // SAFETY: the fixture's declaration.
    let apply: extern "C" fn(*const c_void, i32, i32) -> i32 = unsafe { native("apply_i32") };
    let by_thunk = ns_per_call(|i| {
        black_box(apply(black_box(compiled.entry), i as i32, 3));
    });
    let by_asm = ns_per_call(|i| {
        black_box(apply(black_box(trampoline.entry()), i as i32, 3));
    });
    println!("callback apply_i32 thunk {by_thunk:6.2} ns | asm trampoline {by_asm:6.2} ns");
}
