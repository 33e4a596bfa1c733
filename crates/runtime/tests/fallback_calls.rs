//! Calls real C functions (tests/fixtures/jit_calls.c, the jit's fixture, built with gcc)
//! through the assembly fallback. Every call is also made through the Cranelift thunk of
//! the same plan, and the two result buffers must agree byte for byte; the results are
//! also checked against direct calls from Rust or known values.

#![allow(clippy::upper_case_acronyms)]
#![cfg(all(target_arch = "x86_64", unix))]

#[path = "../../jit/tests/common/mod.rs"]
mod common;

use std::ffi::c_void;

use common::*;
use ffidl::fallback::{self, FallbackError};
use ffidl_jit::abi::{classify, Abi, AbiType, Signature};
use ffidl_jit::thunk::ThunkCache;

use AbiType as T;

#[repr(C, align(16))]
struct RetBuf([u8; 64]);

impl RetBuf {
    fn i64(&self) -> i64 {
        i64::from_le_bytes(self.0[..8].try_into().unwrap())
    }
    fn f64(&self) -> f64 {
        f64::from_le_bytes(self.0[..8].try_into().unwrap())
    }
    fn f32(&self) -> f32 {
        f32::from_le_bytes(self.0[..4].try_into().unwrap())
    }
    fn value<T: Copy>(&self) -> T {
        // SAFETY: the buffer is 64 bytes and every T used here is smaller.
        unsafe { std::ptr::read_unaligned(self.0.as_ptr().cast::<T>()) }
    }
}

struct Tester {
    cache: ThunkCache,
}

impl Tester {
    fn new() -> Self {
        Tester {
            cache: ThunkCache::new().expect("thunk cache"),
        }
    }

    /// Calls `target` through the fallback and through the thunk; both must agree.
    fn call_at(&mut self, sig: &Signature, target: *const c_void, args: &[u64]) -> RetBuf {
        let plan = classify(sig).expect("classify");
        let mut by_asm = RetBuf([0xAA; 64]);
        // SAFETY: the slots match the signature, the signature matches the C function and
        // the buffer is big enough for every result used here.
        unsafe { fallback::call(&plan, target, args, by_asm.0.as_mut_ptr()) }.expect("call");
        let thunk = self.cache.thunk(&plan).expect("thunk");
        let mut by_thunk = RetBuf([0xAA; 64]);
        // SAFETY: as above.
        unsafe { thunk(target, args.as_ptr(), by_thunk.0.as_mut_ptr()) };
        assert_eq!(
            by_asm.0, by_thunk.0,
            "fallback and thunk disagree on {plan}"
        );
        by_asm
    }

    fn call_sig(&mut self, sig: &Signature, name: &str, args: &[u64]) -> RetBuf {
        self.call_at(sig, sym(name), args)
    }

    fn call(
        &mut self,
        abi: Abi,
        name: &str,
        params: Vec<AbiType>,
        ret: Option<AbiType>,
        args: &[u64],
    ) -> RetBuf {
        self.call_sig(&Signature::new(abi, params, ret), name, args)
    }
}

fn f64s(v: f64) -> u64 {
    v.to_bits()
}
fn f32s(v: f32) -> u64 {
    // Garbage in the upper half: only the low 4 bytes may be read.
    0x5555_5555_0000_0000 | u64::from(v.to_bits())
}
fn by_ref<T>(v: &T) -> u64 {
    v as *const T as u64
}
/// A narrow integer slot with garbage above its width, which must be ignored.
fn narrow(v: i64, bytes: u32) -> u64 {
    let mask = if bytes == 8 {
        u64::MAX
    } else {
        (1u64 << (bytes * 8)) - 1
    };
    (v as u64 & mask) | (0xDEAD_BEEF_CAFE_F00Du64 & !mask)
}
fn variadic_sig(abi: Abi, params: Vec<AbiType>, ret: Option<AbiType>, fixed: usize) -> Signature {
    Signature {
        variadic_from: Some(fixed),
        ..Signature::new(abi, params, ret)
    }
}

#[test]
fn integers_of_every_width_and_narrow_returns() {
    let mut t = Tester::new();
    let s = Abi::SysV64;
    assert_eq!(
        t.call(
            s,
            "add_i32",
            vec![T::I32, T::I32],
            Some(T::I32),
            &[narrow(-5, 4), 12]
        )
        .i64(),
        7
    );
    for (name, ret, input, want) in [
        ("to_i8", T::I8, 0x1ff, -1),
        ("to_i8", T::I8, 0x7f, 127),
        ("to_u8", T::U8, 0x1ff, 255),
        ("to_i16", T::I16, 0x18000, -32768),
        ("to_u16", T::U16, 0x1ffff, 65535),
    ] {
        let r = t.call(s, name, vec![T::U32], Some(ret), &[input]);
        assert_eq!(r.i64(), want, "{name}({input:#x})");
    }
    assert_eq!(
        t.call(s, "is_odd", vec![T::I64], Some(T::Bool), &[7]).i64(),
        1
    );
    assert_eq!(
        t.call(s, "to_u32", vec![T::I64], Some(T::U32), &[u64::MAX])
            .i64(),
        0xffff_ffff
    );
    // SAFETY: matches the C declaration.
    let native_narrow: extern "C" fn(i8, u8, i16, u16, i32, u32, bool) -> i64 =
        unsafe { native("narrow_args") };
    let r = t.call(
        s,
        "narrow_args",
        vec![T::I8, T::U8, T::I16, T::U16, T::I32, T::U32, T::Bool],
        Some(T::I64),
        &[
            narrow(-3, 1),
            narrow(200, 1),
            narrow(-300, 2),
            narrow(60000, 2),
            narrow(-70000, 4),
            narrow(4_000_000_000, 4),
            narrow(1, 1),
        ],
    );
    assert_eq!(
        r.i64(),
        native_narrow(-3, 200, -300, 60000, -70000, 4_000_000_000, true)
    );
}

#[test]
fn floats_pointers_and_twenty_mixed_arguments() {
    let mut t = Tester::new();
    let s = Abi::SysV64;
    // SAFETY: matches the C declarations.
    let mix: extern "C" fn(f64, f32, i64, f32) -> f64 = unsafe { native("mix_fp") };
    let r = t.call(
        s,
        "mix_fp",
        vec![T::F64, T::F32, T::I64, T::F32],
        Some(T::F64),
        &[f64s(1.5), f32s(0.25), (-7i64) as u64, f32s(2.0)],
    );
    assert_eq!(r.f64(), mix(1.5, 0.25, -7, 2.0));
    let r = t.call(
        s,
        "mul_f32",
        vec![T::F32, T::F32],
        Some(T::F32),
        &[f32s(1.5), f32s(-4.0)],
    );
    assert_eq!(r.f32(), -6.0);
    let text = b"hello";
    let r = t.call(
        s,
        "ptr_offset",
        vec![T::Ptr, T::I64],
        Some(T::Ptr),
        &[text.as_ptr() as u64, 3],
    );
    assert_eq!(r.i64() as usize, text.as_ptr() as usize + 3);

    // SAFETY: matches the C declaration.
    #[allow(clippy::type_complexity)]
    let many: extern "C" fn(
        i64,
        f64,
        i32,
        f64,
        i8,
        f64,
        u16,
        f64,
        i64,
        f64,
        i64,
        f64,
        i64,
        f64,
        i64,
        f64,
        i64,
        f64,
        i32,
        f32,
    ) -> f64 = unsafe { native("many_args") };
    let params = vec![
        T::I64,
        T::F64,
        T::I32,
        T::F64,
        T::I8,
        T::F64,
        T::U16,
        T::F64,
        T::I64,
        T::F64,
        T::I64,
        T::F64,
        T::I64,
        T::F64,
        T::I64,
        T::F64,
        T::I64,
        T::F64,
        T::I32,
        T::F32,
    ];
    let args = [
        1,
        f64s(0.5),
        narrow(-2, 4),
        f64s(1.5),
        narrow(-3, 1),
        f64s(2.5),
        narrow(40000, 2),
        f64s(3.5),
        5,
        f64s(4.5),
        6,
        f64s(5.5),
        7,
        f64s(6.5),
        8,
        f64s(7.5),
        9,
        f64s(8.5),
        narrow(-10, 4),
        f32s(9.5),
    ];
    let r = t.call(s, "many_args", params, Some(T::F64), &args);
    let want = many(
        1, 0.5, -2, 1.5, -3, 2.5, 40000, 3.5, 5, 4.5, 6, 5.5, 7, 6.5, 8, 7.5, 9, 8.5, -10, 9.5,
    );
    assert_eq!(r.f64(), want);
}

/// `twist_*(S, k) -> S` through both backends; checked against the native function.
macro_rules! twist {
    ($t:expr, $abi:expr, $name:expr, $ty:ty, $abi_ty:expr, $value:expr) => {{
        let value: $ty = $value;
        let r = $t.call(
            $abi,
            $name,
            vec![$abi_ty, T::I32],
            Some($abi_ty),
            &[by_ref(&value), narrow(3, 4)],
        );
        let got: $ty = r.value();
        if $abi == Abi::SysV64 {
            // SAFETY: matches the C declaration.
            let f: extern "C" fn($ty, i32) -> $ty = unsafe { native($name) };
            assert_eq!(got, f(value, 3), "{}", $name);
        } else {
            // SAFETY: matches the C declaration.
            let f: extern "win64" fn($ty, i32) -> $ty = unsafe { native($name) };
            assert_eq!(got, f(value, 3), "{}", $name);
        }
    }};
}

#[test]
fn structs_of_one_to_thirty_two_bytes_in_and_out() {
    let mut t = Tester::new();
    let s = Abi::SysV64;
    twist!(t, s, "twist_s1", S1, st(&[I1]), S1 { a: -7 });
    twist!(t, s, "twist_s2", S2, st(&[I2]), S2 { a: -700 });
    twist!(
        t,
        s,
        "twist_s3",
        S3,
        st(&[I1, I1, I1]),
        S3 { a: 1, b: -2, c: 3 }
    );
    twist!(t, s, "twist_s4", S4, st(&[F4]), S4 { x: 2.5 });
    twist!(
        t,
        s,
        "twist_vec2f",
        Vec2f,
        st(&[F4, F4]),
        Vec2f { x: 1.5, y: -2.25 }
    );
    twist!(
        t,
        s,
        "twist_vec3f",
        Vec3f,
        st(&[F4, F4, F4]),
        Vec3f {
            x: 1.5,
            y: -2.25,
            z: 8.0
        }
    );
    twist!(t, s, "twist_di", DI, st(&[F8, I4]), DI { d: 10.5, i: -4 });
    twist!(t, s, "twist_cd", CD, st(&[I1, F8]), CD { c: -9, d: 0.125 });
    twist!(
        t,
        s,
        "twist_ifd",
        IFD,
        st(&[I4, F4, F8]),
        IFD {
            i: 5,
            f: 1.5,
            d: -3.0
        }
    );
    twist!(
        t,
        s,
        "twist_ll",
        LL,
        st(&[I8, I8]),
        LL { a: -1 << 40, b: 77 }
    );
    twist!(
        t,
        s,
        "twist_vec2d",
        Vec2d,
        st(&[F8, F8]),
        Vec2d { x: 0.5, y: -8.0 }
    );
    // MEMORY class in and out (sret): 24 and 32 bytes.
    twist!(
        t,
        s,
        "twist_llc",
        LLC,
        st(&[I8, I8, I1]),
        LLC {
            a: 1 << 50,
            b: -3,
            c: 9
        }
    );
    twist!(
        t,
        s,
        "twist_d4",
        D4,
        st(&[F8, F8, F8, F8]),
        D4 {
            v: [1.0, -2.0, 3.5, 0.25]
        }
    );
    twist!(
        t,
        s,
        "twist_f3t",
        F3T,
        st(&[F4, F4, F4, I4]),
        F3T {
            v: [1.0, 2.0, 3.0],
            tag: 0x55
        }
    );
    // Packed.
    twist!(
        t,
        s,
        "twist_p5",
        P5,
        packed(&[I4, I1]),
        P5 { a: -100_000, b: 7 }
    );
    twist!(
        t,
        s,
        "twist_p5u",
        P5u,
        packed(&[I1, I4]),
        P5u { a: 7, b: -100_000 }
    );
}

#[test]
fn unions_and_sret_with_stack_arguments() {
    let mut t = Tester::new();
    let s = Abi::SysV64;
    let uif_ty = AbiType::Aggregate(ffidl_jit::abi::AggLayout::new(4, 4, [(0, I4), (0, F4)]));
    let u = UIF { i: 41 };
    let r = t.call(
        s,
        "twist_uif",
        vec![uif_ty.clone(), T::I32],
        Some(uif_ty),
        &[by_ref(&u), 1],
    );
    // SAFETY: the C side wrote the integer member.
    assert_eq!(unsafe { r.value::<UIF>().i }, 42);
    let udl_ty = AbiType::Aggregate(ffidl_jit::abi::AggLayout::new(
        16,
        8,
        [(0, F8), (8, F8), (0, I8)],
    ));
    let u = UDL { d: [1.0, 2.5] };
    let r = t.call(
        s,
        "twist_udl",
        vec![udl_ty.clone(), T::I32],
        Some(udl_ty),
        &[by_ref(&u), 1],
    );
    // SAFETY: the C side wrote the double members.
    assert_eq!(unsafe { r.value::<UDL>().d }, [6.0, -2.5]);

    // SAFETY: matches the C declarations.
    let after_five: extern "C" fn(i64, i64, i64, i64, i64, LL, i64) -> i64 =
        unsafe { native("ll_after_five") };
    let ll = LL { a: 100, b: 1000 };
    let mut params = vec![T::I64; 5];
    params.extend([st(&[I8, I8]), T::I64]);
    let r = t.call(
        s,
        "ll_after_five",
        params,
        Some(T::I64),
        &[1, 2, 3, 4, 5, by_ref(&ll), 10000],
    );
    assert_eq!(r.i64(), after_five(1, 2, 3, 4, 5, ll, 10000));

    let llc = LLC { a: 5, b: 6, c: 7 };
    let mut params = vec![T::I64; 6];
    params.push(st(&[I8, I8, I1]));
    let r = t.call(
        s,
        "llc_sret_many",
        params,
        Some(st(&[I8, I8, I1])),
        &[1, 2, 3, 4, 5, 6, by_ref(&llc)],
    );
    assert_eq!(r.value::<LLC>(), LLC { a: 11, b: 21, c: 8 });
}

#[test]
fn variadic_calls_set_al_and_snprintf_formats() {
    let mut t = Tester::new();
    for n in [0usize, 1, 3, 8, 11] {
        let values: Vec<f64> = (0..n).map(|i| i as f64 * 1.25 + 0.5).collect();
        let mut params = vec![T::I32];
        params.extend(std::iter::repeat_n(T::F64, n));
        let mut args = vec![n as u64];
        args.extend(values.iter().map(|v| f64s(*v)));
        let r = t.call_sig(
            &variadic_sig(Abi::SysV64, params.clone(), Some(T::F64), 1),
            "vsum_d",
            &args,
        );
        let want: f64 = values
            .iter()
            .enumerate()
            .map(|(i, v)| v * (i + 1) as f64)
            .sum();
        assert_eq!(r.f64(), want, "vsum_d with {n} doubles");
        if n > 0 && n <= 6 {
            let r = t.call_sig(
                &variadic_sig(Abi::Win64, params, Some(T::F64), 1),
                "ms_vsum_d",
                &args,
            );
            assert_eq!(r.f64(), want, "ms_vsum_d with {n} doubles");
        }
    }

    extern "C" {
        fn snprintf(buf: *mut u8, size: usize, fmt: *const u8, ...) -> i32;
    }
    let sig = variadic_sig(
        Abi::SysV64,
        vec![
            T::Ptr,
            T::U64,
            T::Ptr,
            T::I32,
            T::F64,
            T::Ptr,
            T::I64,
            T::F64,
        ],
        Some(T::I32),
        3,
    );
    let mut buf = [0u8; 96];
    let fmt = b"%d|%.3f|%s|%ld|%g\0";
    let word = b"asm\0";
    let args = [
        buf.as_mut_ptr() as u64,
        96,
        fmt.as_ptr() as u64,
        narrow(-42, 4),
        f64s(2.5),
        word.as_ptr() as u64,
        (-1i64 << 40) as u64,
        f64s(0.125),
    ];
    let r = t.call_at(&sig, snprintf as *const () as *const c_void, &args);
    let text = std::ffi::CStr::from_bytes_until_nul(&buf)
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(text, "-42|2.500|asm|-1099511627776|0.125");
    assert_eq!(r.i64(), text.len() as i64);
}

#[test]
fn win64_functions_called_from_the_sysv_host() {
    let mut t = Tester::new();
    let w = Abi::Win64;
    let r = t.call(
        w,
        "ms_sum6",
        vec![T::I64; 6],
        Some(T::I64),
        &[1, 2, 3, 4, 5, 6],
    );
    assert_eq!(r.i64(), 1 + 4 + 9 + 16 + 25 + 36);
    // SAFETY: matches the C declaration.
    let mix: extern "win64" fn(i32, f64, i64, f32, f64, i8) -> f64 = unsafe { native("ms_mix") };
    let r = t.call(
        w,
        "ms_mix",
        vec![T::I32, T::F64, T::I64, T::F32, T::F64, T::I8],
        Some(T::F64),
        &[
            narrow(-3, 4),
            f64s(0.5),
            100,
            f32s(0.25),
            f64s(-8.0),
            narrow(-2, 1),
        ],
    );
    assert_eq!(r.f64(), mix(-3, 0.5, 100, 0.25, -8.0, -2));
    assert_eq!(
        t.call(w, "ms_to_i8", vec![T::U32], Some(T::I8), &[255])
            .i64(),
        -1
    );
    assert_eq!(
        t.call(w, "ms_is_odd", vec![T::I64], Some(T::Bool), &[3])
            .i64(),
        1
    );

    twist!(
        t,
        w,
        "ms_twist_vec2f",
        Vec2f,
        st(&[F4, F4]),
        Vec2f { x: 1.5, y: -2.25 }
    );
    twist!(
        t,
        w,
        "ms_twist_s3",
        S3,
        st(&[I1, I1, I1]),
        S3 { a: 1, b: -2, c: 3 }
    );
    twist!(
        t,
        w,
        "ms_twist_vec3f",
        Vec3f,
        st(&[F4, F4, F4]),
        Vec3f {
            x: 1.5,
            y: -2.25,
            z: 8.0
        }
    );
    twist!(
        t,
        w,
        "ms_twist_ll",
        LL,
        st(&[I8, I8]),
        LL { a: -1 << 40, b: 77 }
    );
    twist!(
        t,
        w,
        "ms_twist_di",
        DI,
        st(&[F8, I4]),
        DI { d: 10.5, i: -4 }
    );

    let llc = LLC { a: 1, b: 2, c: 3 };
    let r = t.call(
        w,
        "ms_scribble",
        vec![st(&[I8, I8, I1])],
        Some(T::I64),
        &[by_ref(&llc)],
    );
    assert_eq!(r.i64(), 6);
    assert_eq!(
        llc,
        LLC { a: 1, b: 2, c: 3 },
        "the callee scribbled on the copy only"
    );
    // SAFETY: matches the C declaration.
    let f: extern "win64" fn(i64, i64, i64, i64, LLC, f64, f32) -> f64 =
        unsafe { native("ms_stack") };
    let mut params = vec![T::I64; 4];
    params.extend([st(&[I8, I8, I1]), T::F64, T::F32]);
    let r = t.call(
        w,
        "ms_stack",
        params,
        Some(T::F64),
        &[1, 2, 3, 4, by_ref(&llc), f64s(0.5), f32s(0.25)],
    );
    assert_eq!(r.f64(), f(1, 2, 3, 4, llc, 0.5, 0.25));
}

#[test]
fn big_and_over_aligned_aggregates_use_heap_frames() {
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Big {
        v: [i64; 40],
    }
    let mut t = Tester::new();
    let big_ty = st(&[I8; 40]);
    let big = Big {
        v: std::array::from_fn(|i| i as i64 * 3 - 7),
    };
    for (abi, sum, twist) in [
        (Abi::SysV64, "big_sum", "big_twist"),
        (Abi::Win64, "ms_big_sum", "ms_big_twist"),
    ] {
        let want: i64 = big
            .v
            .iter()
            .enumerate()
            .map(|(i, v)| v * (i as i64 + 1))
            .sum::<i64>()
            + 5;
        let r = t.call(
            abi,
            sum,
            vec![big_ty.clone(), T::I32],
            Some(T::I64),
            &[by_ref(&big), 5],
        );
        assert_eq!(r.i64(), want, "{sum}");
        let mut out = Big { v: [0; 40] };
        let plan = classify(&Signature::new(
            abi,
            vec![big_ty.clone(), T::I32],
            Some(big_ty.clone()),
        ))
        .unwrap();
        // SAFETY: matches the C declaration; `out` has room for the result.
        unsafe {
            fallback::call(
                &plan,
                sym(twist),
                &[by_ref(&big), 1],
                (&mut out as *mut Big).cast(),
            )
        }
        .unwrap();
        assert_eq!(out.v[0], big.v[39] + 1, "{twist}");
        assert_eq!(out.v[39], big.v[0] + 1, "{twist}");
    }
    assert_eq!(big.v[0], -7, "the Win64 callee scribbled on the copy only");
}

#[test]
fn plans_the_fallback_cannot_run_are_errors() {
    let plan = classify(&Signature::new(Abi::Aapcs64, vec![T::I32], None)).unwrap();
    let mut ret = [0u8; 8];
    // SAFETY: refused before anything is called.
    let err = unsafe { fallback::call(&plan, sym("add_i32"), &[1], ret.as_mut_ptr()) }.unwrap_err();
    assert_eq!(err, FallbackError::UnsupportedAbi(Abi::Aapcs64));
    assert_eq!(
        ffidl::fallback::AsmCall::new(&plan).unwrap_err(),
        FallbackError::UnsupportedAbi(Abi::Aapcs64)
    );
    let plan = classify(&Signature::new(
        Abi::SysV64,
        vec![T::I32, T::I32],
        Some(T::I32),
    ))
    .unwrap();
    // SAFETY: refused before anything is called.
    let err = unsafe { fallback::call(&plan, sym("add_i32"), &[1], ret.as_mut_ptr()) }.unwrap_err();
    assert_eq!(
        err,
        FallbackError::ArgumentCount {
            expected: 2,
            given: 1
        }
    );
}

#[test]
fn call_entries_hide_the_backend() {
    use ffidl::fallback::{AsmCall, CallEntry};
    let plan = classify(&Signature::new(
        Abi::SysV64,
        vec![T::I32, T::I32],
        Some(T::I32),
    ))
    .unwrap();
    let mut cache = ThunkCache::new().unwrap();
    let entries = [
        CallEntry::Thunk(cache.thunk(&plan).unwrap()),
        CallEntry::Asm(AsmCall::new(&plan).unwrap()),
    ];
    for entry in &entries {
        let mut ret = [0u8; 8];
        // SAFETY: add_i32's signature, an 8-byte result buffer.
        unsafe { entry.call(sym("add_i32"), &[40, 2], ret.as_mut_ptr()) }.unwrap();
        assert_eq!(i64::from_le_bytes(ret), 42, "{entry:?}");
    }
}
