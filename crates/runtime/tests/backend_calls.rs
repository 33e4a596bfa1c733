//! Calls real C functions (tests/fixtures/jit_calls.c, compiled with gcc) through both
//! backends: every case runs once through Cranelift call thunks and once through the
//! assembly fallback ([`common::calls_on_each_backend`]), each result is compared with a
//! direct call of the same function from Rust, and the two backends must leave the same
//! bytes in every result buffer. At the end: what only the fallback refuses.

// The Rust mirrors keep the C typedef names (IFD, LLC, ...).
#![allow(clippy::upper_case_acronyms)]
#![cfg(all(target_arch = "x86_64", unix))]

mod common;

use std::ffi::c_void;
use std::mem::size_of;

use common::*;
use ffidl::fallback::{self, AsmCall, FallbackError};
use ffidl_jit::abi::{classify, Abi, AbiType, AggLayout, Signature};

use AbiType as T;

// ---------------------------------------------------------------- scalars

#[test]
fn add_i32_matches_native() {
    // SAFETY: matches the C declaration.
    let add: extern "C" fn(i32, i32) -> i32 = unsafe { native("add_i32") };
    calls_on_each_backend(|t| {
        for (a, b) in [(1, 2), (-5, 3), (i32::MAX, 1), (-1, -1), (-5, 12)] {
            let r = t.call(
                Abi::SysV64,
                "add_i32",
                vec![T::I32, T::I32],
                Some(T::I32),
                &[narrow(a.into(), 4), narrow(b.into(), 4)],
            );
            assert_eq!(r.i64(), i64::from(add(a, b)), "{a} + {b}");
        }
    });
}

#[test]
fn narrow_returns_are_extended_as_declared() {
    calls_on_each_backend(|t| {
        for (name, param, ret, input, want) in [
            ("to_i8", T::U32, T::I8, 255, -1),
            ("to_i8", T::U32, T::I8, 0x1ff, -1),
            ("to_i8", T::U32, T::I8, 0x7f, 127),
            ("to_u8", T::U32, T::U8, 0x1ff, 255),
            ("to_i16", T::U32, T::I16, 0x8000, -32768),
            ("to_i16", T::U32, T::I16, 0x1_8000, -32768),
            ("to_u16", T::U32, T::U16, 0x1_fffe, 0xfffe),
            ("to_u16", T::U32, T::U16, 0x1_ffff, 0xffff),
            ("to_u32", T::I64, T::U32, u64::MAX, 0xffff_ffff),
            ("is_odd", T::I64, T::Bool, 7, 1),
            ("is_odd", T::I64, T::Bool, 8, 0),
        ] {
            let r = t.call(Abi::SysV64, name, vec![param], Some(ret), &[input]);
            assert_eq!(r.i64(), want, "{name}({input:#x})");
        }
    });
}

#[test]
fn narrow_arguments_ignore_slot_garbage() {
    type F = extern "C" fn(i8, u8, i16, u16, i32, u32, bool) -> i64;
    // SAFETY: matches the C declaration.
    let f: F = unsafe { native("narrow_args") };
    let params = vec![T::I8, T::U8, T::I16, T::U16, T::I32, T::U32, T::Bool];
    calls_on_each_backend(|t| {
        for (a, b, c, d, e, g, h) in [
            (
                -1i8,
                255u8,
                -300i16,
                65535u16,
                -70000i32,
                4_000_000_000u32,
                true,
            ),
            (5, 6, 7, 8, 9, 10, false),
            (-3, 200, -300, 60000, -70000, 4_000_000_000, true),
        ] {
            let args = [
                narrow(a.into(), 1),
                narrow(b.into(), 1),
                narrow(c.into(), 2),
                narrow(d.into(), 2),
                narrow(e.into(), 4),
                narrow(g.into(), 4),
                narrow(h.into(), 1),
            ];
            let r = t.call(
                Abi::SysV64,
                "narrow_args",
                params.clone(),
                Some(T::I64),
                &args,
            );
            assert_eq!(r.i64(), f(a, b, c, d, e, g, h));
        }
    });
}

#[test]
fn floats_and_pointers() {
    // SAFETY: matches the C declarations.
    let mix: extern "C" fn(f64, f32, i64, f32) -> f64 = unsafe { native("mix_fp") };
    calls_on_each_backend(|t| {
        for (a, b, c, d) in [(1.25, -2.5, 7, 0.125), (1.5, 0.25, -7, 2.0)] {
            let r = t.call(
                Abi::SysV64,
                "mix_fp",
                vec![T::F64, T::F32, T::I64, T::F32],
                Some(T::F64),
                &[f64s(a), f32s(b), c as u64, f32s(d)],
            );
            assert_eq!(r.f64(), mix(a, b, c, d));
        }
        for (a, b) in [(1.5f32, -3.0f32), (1.5, -4.0)] {
            let r = t.call(
                Abi::SysV64,
                "mul_f32",
                vec![T::F32, T::F32],
                Some(T::F32),
                &[f32s(a), f32s(b)],
            );
            assert_eq!(r.f32(), a * b);
            assert!(r.untouched_after(4), "an f32 result writes 4 bytes");
        }
        let text = b"hello";
        let r = t.call(
            Abi::SysV64,
            "ptr_offset",
            vec![T::Ptr, T::I64],
            Some(T::Ptr),
            &[text.as_ptr() as u64, 3],
        );
        assert_eq!(r.u64(), text.as_ptr() as u64 + 3);
    });
}

#[test]
fn twenty_mixed_arguments_some_on_the_stack() {
    let args = [
        narrow(1, 8),
        f64s(0.5),
        narrow(-2, 4),
        f64s(1.5),
        narrow(-3, 1),
        f64s(2.5),
        narrow(40000, 2),
        f64s(3.5),
        narrow(5, 8),
        f64s(4.5),
        narrow(6, 8),
        f64s(5.5),
        narrow(7, 8),
        f64s(6.5),
        narrow(8, 8),
        f64s(7.5),
        narrow(9, 8),
        f64s(8.5),
        narrow(-10, 4),
        f32s(9.5),
    ];
    let want = many_args_native();
    calls_on_each_backend(|t| {
        let r = t.call(
            Abi::SysV64,
            "many_args",
            many_args_params(),
            Some(T::F64),
            &args,
        );
        assert_eq!(r.f64(), want);
    });
}

// ---------------------------------------------------------------- aggregates

/// For each `convention abi name` given, calls `name(value, 3)` (a `twist_*` function of
/// the fixture) natively and through the backend for each value and compares; the
/// result must not spill past its size and the caller's argument must stay as it was.
macro_rules! twist {
    ($t:expr, $ty:ty, $abi_ty:expr, [$($value:expr),+ $(,)?], $($conv:literal $abi:ident $name:literal),+) => {{
        let values: Vec<$ty> = vec![$($value),+];
        $({
            // SAFETY: matches the C declaration.
            let f: extern $conv fn($ty, i32) -> $ty = unsafe { native($name) };
            for &value in &values {
                let before = value;
                let want = f(value, 3);
                let r = $t.call(Abi::$abi, $name, vec![$abi_ty, T::I32], Some($abi_ty), &[by_ref(&value), narrow(3, 4)]);
                let got: $ty = r.value();
                assert_eq!(got, want, "{}", $name);
                assert!(r.untouched_after(size_of::<$ty>()), "{} wrote past its result", $name);
                assert_eq!(value, before, "{} changed the caller's argument", $name);
            }
        })+
    }};
}

#[test]
fn structs_by_value_in_and_out() {
    #[rustfmt::skip]
    calls_on_each_backend(|t| {
        twist!(t, S1, st(&[I1]), [S1 { a: -7 }], "C" SysV64 "twist_s1");
        twist!(t, S2, st(&[I2]), [S2 { a: 1234 }, S2 { a: -700 }], "C" SysV64 "twist_s2");
        twist!(t, S3, st(&[I1, I1, I1]), [S3 { a: 1, b: -2, c: 3 }],
            "C" SysV64 "twist_s3", "win64" Win64 "ms_twist_s3");
        twist!(t, S4, st(&[F4]), [S4 { x: 2.5 }], "C" SysV64 "twist_s4");
        twist!(t, Vec2f, st(&[F4, F4]), [Vec2f { x: 1.5, y: -2.25 }],
            "C" SysV64 "twist_vec2f", "win64" Win64 "ms_twist_vec2f");
        twist!(t, Vec3f, st(&[F4, F4, F4]), [Vec3f { x: 1.5, y: -2.25, z: 8.0 }],
            "C" SysV64 "twist_vec3f", "win64" Win64 "ms_twist_vec3f");
        twist!(t, DI, st(&[F8, I4]), [DI { d: 10.5, i: -4 }],
            "C" SysV64 "twist_di", "win64" Win64 "ms_twist_di");
        twist!(t, CD, st(&[I1, F8]), [CD { c: 100, d: 0.75 }, CD { c: -9, d: 0.125 }],
            "C" SysV64 "twist_cd");
        twist!(t, IFD, st(&[I4, F4, F8]),
            [IFD { i: 9, f: 0.5, d: 100.25 }, IFD { i: 5, f: 1.5, d: -3.0 }],
            "C" SysV64 "twist_ifd");
        twist!(t, LL, st(&[I8, I8]), [LL { a: -1 << 40, b: 77 }],
            "C" SysV64 "twist_ll", "win64" Win64 "ms_twist_ll");
        twist!(t, Vec2d, st(&[F8, F8]), [Vec2d { x: 3.25, y: -1e10 }, Vec2d { x: 0.5, y: -8.0 }],
            "C" SysV64 "twist_vec2d");
        twist!(t, F3T, st(&[F4, F4, F4, I4]), [F3T { v: [1.0, 2.0, 3.0], tag: 0x55 }],
            "C" SysV64 "twist_f3t");
        // SysV MEMORY class in and out (a stack copy and sret).
        twist!(t, LLC, st(&[I8, I8, I1]),
            [LLC { a: 5, b: -6, c: 7 }, LLC { a: 1 << 50, b: -3, c: 9 }],
            "C" SysV64 "twist_llc");
        twist!(t, D4, st(&[F8, F8, F8, F8]),
            [D4 { v: [1.5, 2.5, 3.5, 4.5] }, D4 { v: [1.0, -2.0, 3.5, 0.25] }],
            "C" SysV64 "twist_d4");
        // Packed; an unaligned field makes the struct MEMORY class.
        twist!(t, P5, packed(&[I4, I1]), [P5 { a: 100_000, b: -3 }, P5 { a: -100_000, b: 7 }],
            "C" SysV64 "twist_p5");
        twist!(t, P5u, packed(&[I1, I4]), [P5u { a: 12, b: -99_999 }, P5u { a: 7, b: -100_000 }],
            "C" SysV64 "twist_p5u");
    });
}

#[test]
fn sysv_unions() {
    let uif = T::Aggregate(AggLayout::new(4, 4, [(0, I4), (0, F4)]));
    let udl = T::Aggregate(AggLayout::new(16, 8, [(0, F8), (8, F8), (0, I8)]));
    // SAFETY: matches the C declarations.
    let f: extern "C" fn(UIF, i32) -> UIF = unsafe { native("twist_uif") };
    // SAFETY: as above.
    let g: extern "C" fn(UDL, i32) -> UDL = unsafe { native("twist_udl") };
    calls_on_each_backend(|t| {
        for k in [3, 1] {
            let value = UIF { i: 41 };
            let r = t.call(
                Abi::SysV64,
                "twist_uif",
                vec![uif.clone(), T::I32],
                Some(uif.clone()),
                &[by_ref(&value), k as u64],
            );
            // SAFETY: both are plain 4-byte unions whose `i` member was written.
            unsafe { assert_eq!(r.value::<UIF>().i, f(value, k).i) };
        }
        for (d, k) in [([0.5, -8.25], 3), ([1.0, 2.5], 1)] {
            let value = UDL { d };
            let r = t.call(
                Abi::SysV64,
                "twist_udl",
                vec![udl.clone(), T::I32],
                Some(udl.clone()),
                &[by_ref(&value), k as u64],
            );
            // SAFETY: the `d` member was written by both.
            unsafe { assert_eq!(r.value::<UDL>().d, g(value, k).d) };
        }
    });
}

#[test]
fn sysv_struct_that_no_longer_fits_goes_to_the_stack() {
    // SAFETY: matches the C declarations.
    let f: extern "C" fn(i64, i64, i64, i64, i64, LL, i64) -> i64 =
        unsafe { native("ll_after_five") };
    type G = extern "C" fn(f64, f64, f64, f64, f64, f64, f64, Vec2d, f64) -> f64;
    // SAFETY: matches the C declaration.
    let g: G = unsafe { native("vec2d_after_seven") };
    type H = extern "C" fn(i64, i64, i64, i64, i64, i64, LLC) -> LLC;
    // SAFETY: matches the C declaration.
    let h: H = unsafe { native("llc_sret_many") };
    calls_on_each_backend(|t| {
        let s = LL { a: 100, b: 1000 };
        let mut params = vec![T::I64; 5];
        params.extend([st(&[I8, I8]), T::I64]);
        let r = t.call(
            Abi::SysV64,
            "ll_after_five",
            params,
            Some(T::I64),
            &[1, 2, 3, 4, 5, by_ref(&s), 10_000],
        );
        assert_eq!(r.i64(), f(1, 2, 3, 4, 5, s, 10_000));

        let v = Vec2d { x: 0.25, y: 1e6 };
        let mut params = vec![T::F64; 7];
        params.extend([st(&[F8, F8]), T::F64]);
        let mut args: Vec<u64> = (1..=7).map(|i| f64s(f64::from(i) * 1.5)).collect();
        args.extend([by_ref(&v), f64s(-3.0)]);
        let r = t.call(
            Abi::SysV64,
            "vec2d_after_seven",
            params,
            Some(T::F64),
            &args,
        );
        assert_eq!(r.f64(), g(1.5, 3.0, 4.5, 6.0, 7.5, 9.0, 10.5, v, -3.0));

        for (ints, llc) in [
            ([10, 20, 30, 40, 50, 60], LLC { a: 1, b: 2, c: 3 }),
            ([1, 2, 3, 4, 5, 6], LLC { a: 5, b: 6, c: 7 }),
        ] {
            let mut params = vec![T::I64; 6];
            params.push(st(&[I8, I8, I1]));
            let mut args = ints.map(|i: i64| i as u64).to_vec();
            args.push(by_ref(&llc));
            let r = t.call(
                Abi::SysV64,
                "llc_sret_many",
                params,
                Some(st(&[I8, I8, I1])),
                &args,
            );
            let [a, b, c, d, e, f] = ints;
            assert_eq!(r.value::<LLC>(), h(a, b, c, d, e, f, llc));
        }
    });
}

#[test]
fn vec2_add_both_widths() {
    // SAFETY: matches the C declarations.
    let f: extern "C" fn(Vec2f, Vec2f) -> Vec2f = unsafe { native("vec2f_add") };
    // SAFETY: as above.
    let g: extern "C" fn(Vec2d, Vec2d) -> Vec2d = unsafe { native("vec2d_add") };
    calls_on_each_backend(|t| {
        let (a, b) = (Vec2f { x: 1.0, y: 2.0 }, Vec2f { x: 0.5, y: -4.0 });
        let v2f = st(&[F4, F4]);
        let r = t.call(
            Abi::SysV64,
            "vec2f_add",
            vec![v2f.clone(), v2f.clone()],
            Some(v2f),
            &[by_ref(&a), by_ref(&b)],
        );
        assert_eq!(r.value::<Vec2f>(), f(a, b));
        let (a, b) = (Vec2d { x: 1.0, y: 2.0 }, Vec2d { x: 0.5, y: -4.0 });
        let v2d = st(&[F8, F8]);
        let r = t.call(
            Abi::SysV64,
            "vec2d_add",
            vec![v2d.clone(), v2d.clone()],
            Some(v2d),
            &[by_ref(&a), by_ref(&b)],
        );
        assert_eq!(r.value::<Vec2d>(), g(a, b));
    });
}

// ---------------------------------------------------------------- variadic

/// Calls `name(int n, ...)` (`vsum_d` or `ms_vsum_d`) with `n` doubles `i * step + 0.5`,
/// which sums `value_i * (i + 1)`.
fn check_vsum_d(t: &mut Caller, abi: Abi, name: &str, n: usize, step: f64) {
    let values: Vec<f64> = (0..n).map(|i| i as f64 * step + 0.5).collect();
    let mut params = vec![T::I32];
    params.extend(std::iter::repeat_n(T::F64, n));
    let mut args = vec![n as u64];
    args.extend(values.iter().map(|v| f64s(*v)));
    let r = t.call_sig(&variadic_sig(abi, params, Some(T::F64), 1), name, &args);
    let want: f64 = values
        .iter()
        .enumerate()
        .map(|(i, v)| v * (i + 1) as f64)
        .sum();
    assert_eq!(r.f64(), want, "{name} with {n} doubles");
}

#[test]
fn sysv_variadic_sets_al() {
    calls_on_each_backend(|t| {
        for n in [0usize, 1, 3, 8, 11] {
            check_vsum_d(t, Abi::SysV64, "vsum_d", n, 1.25);
        }
        // Pairs of (int64, double): 7 pairs overflow both register files.
        let mut params = vec![T::I32];
        let mut args = vec![7u64];
        let mut want = 0.0;
        for i in 0..7i64 {
            params.extend([T::I64, T::F64]);
            args.extend([i as u64, f64s(i as f64 / 4.0)]);
            want += i as f64 * 10.0 + i as f64 / 4.0;
        }
        let r = t.call_sig(
            &variadic_sig(Abi::SysV64, params, Some(T::F64), 1),
            "vsum_pairs",
            &args,
        );
        assert_eq!(r.f64(), want);
    });
}

#[test]
fn libc_snprintf_through_a_variadic_call() {
    extern "C" {
        fn snprintf(buf: *mut u8, size: usize, fmt: *const u8, ...) -> i32;
    }
    let target = snprintf as *const () as *const c_void;
    calls_on_each_backend(|t| {
        let mut buf = [0u8; 96];
        let sig = variadic_sig(
            Abi::SysV64,
            vec![T::Ptr, T::U64, T::Ptr, T::I32, T::F64, T::Ptr],
            Some(T::I32),
            3,
        );
        let fmt = b"%d|%.3f|%s\0";
        let word = b"thunk\0";
        let args = [
            buf.as_mut_ptr() as u64,
            64,
            fmt.as_ptr() as u64,
            narrow(-42, 4),
            f64s(2.5),
            word.as_ptr() as u64,
        ];
        let r = t.call_at(&sig, "snprintf", target, &args);
        let text = std::ffi::CStr::from_bytes_until_nul(&buf)
            .unwrap()
            .to_str()
            .unwrap();
        assert_eq!(text, "-42|2.500|thunk");
        assert_eq!(r.i64(), text.len() as i64);

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
        let r = t.call_at(&sig, "snprintf", target, &args);
        let text = std::ffi::CStr::from_bytes_until_nul(&buf)
            .unwrap()
            .to_str()
            .unwrap();
        assert_eq!(text, "-42|2.500|asm|-1099511627776|0.125");
        assert_eq!(r.i64(), text.len() as i64);
    });
}

// ---------------------------------------------------------------- Microsoft x64

#[test]
fn win64_scalars() {
    let w = Abi::Win64;
    // SAFETY: matches the C declarations.
    let sum6: extern "win64" fn(i64, i64, i64, i64, i64, i64) -> i64 = unsafe { native("ms_sum6") };
    // SAFETY: as above.
    let mix: extern "win64" fn(i32, f64, i64, f32, f64, i8) -> f64 = unsafe { native("ms_mix") };
    calls_on_each_backend(|t| {
        let r = t.call(
            w,
            "ms_sum6",
            vec![T::I64; 6],
            Some(T::I64),
            &[1, 2, 3, 4, 5, 6],
        );
        assert_eq!(r.i64(), sum6(1, 2, 3, 4, 5, 6));
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
        let r = t.call(w, "ms_to_i8", vec![T::U32], Some(T::I8), &[255]);
        assert_eq!(r.i64(), -1);
        let r = t.call(w, "ms_is_odd", vec![T::I64], Some(T::Bool), &[3]);
        assert_eq!(r.i64(), 1);
    });
}

#[test]
fn win64_aggregates_by_reference() {
    let w = Abi::Win64;
    // SAFETY: matches the C declaration.
    let f: extern "win64" fn(i64, i64, i64, i64, LLC, f64, f32) -> f64 =
        unsafe { native("ms_stack") };
    calls_on_each_backend(|t| {
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
            "the callee scribbled on the backend's copy only"
        );

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
    });
}

#[test]
fn win64_variadic_doubles() {
    calls_on_each_backend(|t| {
        for (n, step) in [(1usize, 1.0), (3, 1.0), (3, 1.25), (6, 1.0)] {
            check_vsum_d(t, Abi::Win64, "ms_vsum_d", n, step);
        }
    });
}

#[test]
fn win64_variadic_float_also_in_the_vector_register() {
    calls_on_each_backend(|t| {
        let sig = variadic_sig(Abi::Win64, vec![T::F64], Some(T::F64), 0);
        let r = t.call_sig(&sig, "ms_first_double", &[f64s(21.25)]);
        assert_eq!(r.f64(), 42.5);
    });
}

// ---------------------------------------------------------------- large and over-aligned

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct Big {
    v: [i64; 40],
}

#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, PartialEq)]
struct A16 {
    a: f64,
    b: f64,
    c: f64,
}

fn big_type() -> AbiType {
    st(&[I8; 40])
}

#[test]
fn big_structs_in_both_abis() {
    // SAFETY: matches the C declarations.
    let sum: extern "C" fn(Big, i32) -> i64 = unsafe { native("big_sum") };
    // SAFETY: as above.
    let ms_sum: extern "win64" fn(Big, i32) -> i64 = unsafe { native("ms_big_sum") };
    calls_on_each_backend(|t| {
        for (first, k, twist_k) in [(-50, 7, 5), (-7, 5, 1)] {
            let big = Big {
                v: std::array::from_fn(|i| i as i64 * 3 + first),
            };
            let r = t.call(
                Abi::SysV64,
                "big_sum",
                vec![big_type(), T::I32],
                Some(T::I64),
                &[by_ref(&big), k as u64],
            );
            assert_eq!(r.i64(), sum(big, k));
            let r = t.call(
                Abi::Win64,
                "ms_big_sum",
                vec![big_type(), T::I32],
                Some(T::I64),
                &[by_ref(&big), k as u64],
            );
            assert_eq!(r.i64(), ms_sum(big, k));
            assert_eq!(
                big.v[0], first,
                "the callee scribbled on the backend's copy only"
            );

            for (abi, name) in [(Abi::SysV64, "big_twist"), (Abi::Win64, "ms_big_twist")] {
                let sig = Signature::new(abi, vec![big_type(), T::I32], Some(big_type()));
                let mut out = Big { v: [0; 40] };
                // SAFETY: slots match the C declaration; `out` holds the whole result.
                unsafe {
                    t.call_into(
                        &sig,
                        sym(name),
                        &[by_ref(&big), twist_k as u64],
                        (&mut out as *mut Big).cast(),
                    )
                };
                let want: [i64; 40] = std::array::from_fn(|i| big.v[39 - i] + twist_k);
                assert_eq!(out.v, want, "{name}");
            }
        }
    });
}

#[test]
fn over_aligned_memory_struct_on_the_stack() {
    type F = extern "C" fn(i64, i64, i64, i64, i64, i64, i64, A16) -> f64;
    // SAFETY: matches the C declaration.
    let f: F = unsafe { native("a16_after_seven") };
    calls_on_each_backend(|t| {
        let s = A16 {
            a: 1.5,
            b: -2.5,
            c: 1e3,
        };
        let a16 = T::Aggregate(AggLayout::new(32, 16, [(0, F8), (8, F8), (16, F8)]));
        let mut params = vec![T::I64; 7];
        params.push(a16);
        let r = t.call(
            Abi::SysV64,
            "a16_after_seven",
            params,
            Some(T::F64),
            &[1, 2, 3, 4, 5, 6, 7, by_ref(&s)],
        );
        assert_eq!(r.f64(), f(1, 2, 3, 4, 5, 6, 7, s));
    });
}

#[test]
fn sixty_four_kib_struct_by_value() {
    let values: Vec<i64> = (0..8192).map(|i| i * 3 - 1000).collect();
    let want: i64 = values
        .iter()
        .enumerate()
        .map(|(i, v)| v * (i as i64 % 7))
        .sum::<i64>()
        + 9;
    let huge = T::Aggregate(AggLayout::new(8 * 8192, 8, (0..8192).map(|i| (i * 8, I8))));
    calls_on_each_backend(|t| {
        for (abi, name) in [(Abi::SysV64, "huge_sum"), (Abi::Win64, "ms_huge_sum")] {
            let r = t.call(
                abi,
                name,
                vec![huge.clone(), T::I32],
                Some(T::I64),
                &[values.as_ptr() as u64, 9],
            );
            assert_eq!(r.i64(), want, "{name}");
        }
    });
}

// ---------------------------------------------------------------- the fallback only

#[test]
fn plans_the_fallback_cannot_run_are_errors() {
    let plan = classify(&Signature::new(Abi::Aapcs64, vec![T::I32], None)).unwrap();
    let mut ret = [0u8; 8];
    // SAFETY: refused before anything is called.
    let err = unsafe { fallback::call(&plan, sym("add_i32"), &[1], ret.as_mut_ptr()) }.unwrap_err();
    assert_eq!(err, FallbackError::UnsupportedAbi(Abi::Aapcs64));
    assert_eq!(
        AsmCall::new(&plan).unwrap_err(),
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
