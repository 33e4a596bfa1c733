//! What only the Cranelift thunks have: the cache that shares call thunks by plan, their
//! listings (plan, CLIF, machine code), callback listings, and the conventions they refuse.
//! The calls and callbacks themselves, with real C functions, are checked on both backends
//! by the runtime's tests (crates/runtime/tests/backend_calls.rs, backend_callbacks.rs).

use std::ffi::c_void;

use ffidl_jit::abi::{classify, Abi, AbiType as T, Signature};
use ffidl_jit::thunk::ThunkCache;

#[test]
fn arm64_plans_get_no_x86_thunk() {
    let mut cache = ThunkCache::new().expect("thunk cache");
    let plan = classify(&Signature::new(Abi::Aapcs64, vec![T::I32], None)).unwrap();
    let err = cache.thunk(&plan).expect_err("refused");
    assert_eq!(err, ffidl_jit::ThunkError::UnsupportedAbi(Abi::Aapcs64));
}

#[test]
fn thunks_are_shared_by_plan_and_listable() {
    let mut cache = ThunkCache::new().expect("thunk cache");
    let a = classify(&Signature::new(
        Abi::SysV64,
        vec![T::I32, T::I32],
        Some(T::I32),
    ))
    .unwrap();
    let b = classify(&Signature::new(
        Abi::SysV64,
        vec![T::I32, T::I32],
        Some(T::I32),
    ))
    .unwrap();
    let c = classify(&Signature::new(
        Abi::SysV64,
        vec![T::I64, T::I32],
        Some(T::I32),
    ))
    .unwrap();
    let first = cache.thunk(&a).unwrap();
    let second = cache.thunk(&b).unwrap();
    assert_eq!(first as usize, second as usize);
    assert_eq!(cache.len(), 1);
    let third = cache.thunk(&c).unwrap();
    assert_ne!(first as usize, third as usize);
    assert_eq!(cache.len(), 2);
    let compiled = cache.compiled(&a).unwrap();
    let listing = compiled.listing(&a);
    assert!(
        listing.starts_with("; plan (sysv64): a0 rdi:i4@0 sext"),
        "{listing}"
    );
    assert!(listing.contains("machine code ("), "{listing}");
    assert!(compiled.clif.contains("call_indirect"), "{}", compiled.clif);
    assert!(!compiled.code.is_empty());
    assert!(
        compiled.disassembly.contains("call"),
        "{}",
        compiled.disassembly
    );
}

/// Subtracts its two i32 slots (the context is unused).
unsafe extern "C" fn subtract(_context: *const c_void, args: *const u64, ret: *mut u8) {
    // SAFETY: two i32 slots and an 8-byte result buffer, as the plan below says.
    unsafe {
        let (a, b) = (args.cast::<i32>().read(), args.add(1).cast::<i32>().read());
        ret.cast::<i32>().write_unaligned(a - b);
    }
}

#[test]
fn callback_listings_are_kept_only_when_asked() {
    let plan = classify(&Signature::new(
        Abi::SysV64,
        vec![T::I32, T::I32],
        Some(T::I32),
    ))
    .unwrap();
    let mut cache = ThunkCache::new().expect("thunk cache");
    let quiet = cache.callback(&plan, subtract, std::ptr::null()).unwrap();
    assert!(quiet.clif.is_empty(), "listings are off by default");
    // The text `ffidl thunk` shows.
    cache.set_callback_listings(true);
    let listed = cache.callback(&plan, subtract, std::ptr::null()).unwrap();
    assert!(listed.clif.contains("call_indirect"), "{}", listed.clif);
    for compiled in [&quiet, &listed] {
        // SAFETY: the callback has the C signature `int32_t f(int32_t, int32_t)`.
        let f: extern "C" fn(i32, i32) -> i32 = unsafe { std::mem::transmute(compiled.entry) };
        assert_eq!(f(10, 3), 7);
    }
}
