//! The trampoline table is finite: binding every entry gives a clear error, and released
//! entries are reused. A test binary of its own, since the table is process-wide.

#![cfg(all(target_arch = "x86_64", unix))]

use std::ffi::c_void;

use ffidl::fallback::{trampolines_in_use, FallbackError, Trampoline, TRAMPOLINES};
use ffidl_jit::abi::{classify, Abi, AbiType, Signature};

/// Returns `context + args[0]`: each trampoline answers with its own context.
unsafe extern "C" fn add_context(context: *const c_void, args: *const u64, ret: *mut u8) {
    // SAFETY: one i64 slot and an 8-byte result buffer, as the plan below says.
    unsafe {
        ret.cast::<i64>()
            .write_unaligned(context as i64 + args.cast::<i64>().read())
    };
}

#[test]
fn a_full_table_is_an_error_and_released_entries_are_reused() {
    const { assert!(TRAMPOLINES >= 2048) };
    let plan = classify(&Signature::new(
        Abi::SysV64,
        vec![AbiType::I64],
        Some(AbiType::I64),
    ))
    .unwrap();
    let win_plan = classify(&Signature::new(
        Abi::Win64,
        vec![AbiType::I64],
        Some(AbiType::I64),
    ))
    .unwrap();
    let mut bound = Vec::new();
    for n in 0..TRAMPOLINES {
        let plan = if n % 2 == 0 { &plan } else { &win_plan };
        bound.push(
            Trampoline::new(plan, add_context, (n * 1000) as *const c_void).expect("free entry"),
        );
    }
    assert_eq!(trampolines_in_use(), TRAMPOLINES);
    let err = Trampoline::new(&plan, add_context, std::ptr::null()).unwrap_err();
    assert_eq!(err, FallbackError::TrampolinesExhausted(TRAMPOLINES));
    assert!(
        err.to_string()
            .contains("all 2048 callback trampolines are in use"),
        "{err}"
    );

    // Every entry answers with its own context, in its own ABI.
    for (n, trampoline) in bound.iter().enumerate() {
        let got = if n % 2 == 0 {
            // SAFETY: a SysV trampoline for `i64 f(i64)`.
            let f: extern "C" fn(i64) -> i64 = unsafe { std::mem::transmute(trampoline.entry()) };
            f(7)
        } else {
            // SAFETY: a Win64 trampoline for `i64 f(i64)`.
            let f: extern "win64" fn(i64) -> i64 =
                unsafe { std::mem::transmute(trampoline.entry()) };
            f(7)
        };
        assert_eq!(got, n as i64 * 1000 + 7);
    }

    // Release one in the middle: the next binding reuses its index with a new context.
    let released = bound.remove(1234);
    let index = released.index();
    drop(released);
    assert_eq!(trampolines_in_use(), TRAMPOLINES - 1);
    let again = Trampoline::new(&plan, add_context, 42 as *const c_void).expect("reused entry");
    assert_eq!(again.index(), index);
    // SAFETY: a SysV trampoline for `i64 f(i64)`.
    let f: extern "C" fn(i64) -> i64 = unsafe { std::mem::transmute(again.entry()) };
    assert_eq!(f(1), 43);

    drop(bound);
    drop(again);
    assert_eq!(trampolines_in_use(), 0);
    // Variadic callbacks are refused.
    let variadic = classify(&Signature {
        variadic_from: Some(0),
        ..Signature::new(Abi::SysV64, vec![AbiType::I64], None)
    })
    .unwrap();
    assert_eq!(
        Trampoline::new(&variadic, add_context, std::ptr::null()).unwrap_err(),
        FallbackError::VariadicCallback
    );
}
