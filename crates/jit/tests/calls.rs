//! Calls real C functions (tests/fixtures/jit_calls.c, compiled with gcc) through call
//! thunks and compares every result with a direct call of the same function from Rust.

// The Rust mirrors keep the C typedef names (IFD, LLC, ...).
#![allow(clippy::upper_case_acronyms)]

mod common;

use std::ffi::c_void;
use std::mem::size_of;

use common::*;
use ffidl_jit::abi::{classify, Abi, AbiType, AggLayout, Signature};
use ffidl_jit::thunk::ThunkCache;

#[repr(C, align(16))]
struct RetBuf([u8; 64]);

struct Tester {
    cache: ThunkCache,
}

impl Tester {
    fn new() -> Self {
        Tester {
            cache: ThunkCache::new().expect("thunk cache"),
        }
    }

    fn call_sig(&mut self, sig: &Signature, name: &str, args: &[u64]) -> RetBuf {
        assert_eq!(sig.params.len(), args.len());
        let plan = classify(sig).expect("classify");
        let thunk = self.cache.thunk(&plan).expect("thunk");
        let mut ret = RetBuf([0xAA; 64]);
        // SAFETY: the slots match the signature, the signature matches the C function,
        // and `ret` is big enough for any result used here.
        unsafe { thunk(sym(name), args.as_ptr(), ret.0.as_mut_ptr()) };
        ret
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

impl RetBuf {
    fn i64(&self) -> i64 {
        i64::from_le_bytes(self.0[..8].try_into().unwrap())
    }
    fn u64(&self) -> u64 {
        self.i64() as u64
    }
    fn f64(&self) -> f64 {
        f64::from_bits(self.u64())
    }
    fn f32(&self) -> f32 {
        f32::from_bits(u32::from_le_bytes(self.0[..4].try_into().unwrap()))
    }
    fn value<T: Copy>(&self) -> T {
        assert!(size_of::<T>() <= 64);
        // SAFETY: the buffer holds at least size_of::<T>() bytes written by the thunk;
        // only plain-data test types are read.
        unsafe { std::ptr::read_unaligned(self.0.as_ptr().cast::<T>()) }
    }
    fn untouched_after(&self, size: usize) -> bool {
        self.0[size..].iter().all(|&b| b == 0xAA)
    }
}

fn f64s(v: f64) -> u64 {
    v.to_bits()
}
fn f32s(v: f32) -> u64 {
    // Garbage in the upper half: the thunk must only read the low 4 bytes.
    0x5555_5555_0000_0000 | u64::from(v.to_bits())
}
fn by_ref<T>(v: &T) -> u64 {
    v as *const T as u64
}
/// A narrow integer slot with garbage above its width, which the thunk must ignore.
fn narrow(v: i64, bytes: u32) -> u64 {
    let mask = if bytes == 8 {
        u64::MAX
    } else {
        (1u64 << (bytes * 8)) - 1
    };
    (v as u64 & mask) | (0xDEAD_BEEF_CAFE_F00Du64 & !mask)
}

use AbiType as T;

// ---------------------------------------------------------------- scalars

#[test]
fn add_i32_matches_native() {
    let mut t = Tester::new();
    // SAFETY: matches the C declaration.
    let add: extern "C" fn(i32, i32) -> i32 = unsafe { native("add_i32") };
    for (a, b) in [(1, 2), (-5, 3), (i32::MAX, 1), (-1, -1)] {
        let r = t.call(
            Abi::SysV64,
            "add_i32",
            vec![T::I32, T::I32],
            Some(T::I32),
            &[narrow(a.into(), 4), narrow(b.into(), 4)],
        );
        assert_eq!(r.i64(), i64::from(add(a, b)), "{a} + {b}");
    }
}

#[test]
fn narrow_returns_are_extended_as_declared() {
    let mut t = Tester::new();
    let r = t.call(Abi::SysV64, "to_i8", vec![T::U32], Some(T::I8), &[255]);
    assert_eq!(r.i64(), -1);
    let r = t.call(Abi::SysV64, "to_u8", vec![T::U32], Some(T::U8), &[0x1ff]);
    assert_eq!(r.i64(), 255);
    let r = t.call(Abi::SysV64, "to_i16", vec![T::U32], Some(T::I16), &[0x8000]);
    assert_eq!(r.i64(), -32768);
    let r = t.call(
        Abi::SysV64,
        "to_u16",
        vec![T::U32],
        Some(T::U16),
        &[0x1_fffe],
    );
    assert_eq!(r.i64(), 0xfffe);
    let r = t.call(
        Abi::SysV64,
        "to_u32",
        vec![T::I64],
        Some(T::U32),
        &[(-1i64) as u64],
    );
    assert_eq!(r.i64(), 0xffff_ffff);
    let r = t.call(Abi::SysV64, "is_odd", vec![T::I64], Some(T::Bool), &[7]);
    assert_eq!(r.i64(), 1);
    let r = t.call(Abi::SysV64, "is_odd", vec![T::I64], Some(T::Bool), &[8]);
    assert_eq!(r.i64(), 0);
}

#[test]
fn narrow_arguments_ignore_slot_garbage() {
    let mut t = Tester::new();
    type F = extern "C" fn(i8, u8, i16, u16, i32, u32, bool) -> i64;
    // SAFETY: matches the C declaration.
    let f: F = unsafe { native("narrow_args") };
    let params = vec![T::I8, T::U8, T::I16, T::U16, T::I32, T::U32, T::Bool];
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
}

#[test]
fn floats_and_pointers() {
    let mut t = Tester::new();
    // SAFETY: matches the C declarations.
    let mix: extern "C" fn(f64, f32, i64, f32) -> f64 = unsafe { native("mix_fp") };
    let r = t.call(
        Abi::SysV64,
        "mix_fp",
        vec![T::F64, T::F32, T::I64, T::F32],
        Some(T::F64),
        &[f64s(1.25), f32s(-2.5), 7, f32s(0.125)],
    );
    assert_eq!(r.f64(), mix(1.25, -2.5, 7, 0.125));
    let r = t.call(
        Abi::SysV64,
        "mul_f32",
        vec![T::F32, T::F32],
        Some(T::F32),
        &[f32s(1.5), f32s(-3.0)],
    );
    assert_eq!(r.f32(), -4.5);
    assert!(r.untouched_after(4), "an f32 result writes 4 bytes");
    let text = b"hello";
    let r = t.call(
        Abi::SysV64,
        "ptr_offset",
        vec![T::Ptr, T::I64],
        Some(T::Ptr),
        &[text.as_ptr() as u64, 3],
    );
    assert_eq!(r.u64(), text.as_ptr() as u64 + 3);
}

#[test]
fn twenty_mixed_arguments_some_on_the_stack() {
    let mut t = Tester::new();
    type F = extern "C" fn(
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
    ) -> f64;
    // SAFETY: matches the C declaration.
    let f: F = unsafe { native("many_args") };
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
    let r = t.call(Abi::SysV64, "many_args", params, Some(T::F64), &args);
    let want = f(
        1, 0.5, -2, 1.5, -3, 2.5, 40000, 3.5, 5, 4.5, 6, 5.5, 7, 6.5, 8, 7.5, 9, 8.5, -10, 9.5,
    );
    assert_eq!(r.f64(), want);
}

/// Calls `twist_*(value, k)` natively and through the thunk (with `abi`) and compares.
macro_rules! twist {
    ($t:expr, $abi:expr, $conv:literal, $name:literal, $ty:ty, $abi_ty:expr, $value:expr) => {{
        let value: $ty = $value;
        let before = value;
        // SAFETY: matches the C declaration.
        let f: extern $conv fn($ty, i32) -> $ty = unsafe { native($name) };
        let want = f(value, 3);
        let r = $t.call($abi, $name, vec![$abi_ty, T::I32], Some($abi_ty), &[by_ref(&value), narrow(3, 4)]);
        let got: $ty = r.value();
        assert_eq!(got, want, "{}", $name);
        assert!(r.untouched_after(size_of::<$ty>()), "{} wrote past its result", $name);
        assert_eq!(value, before, "{} changed the caller's argument", $name);
    }};
}

#[test]
fn sysv_structs_by_value_in_and_out() {
    let mut t = Tester::new();
    let s = Abi::SysV64;
    twist!(t, s, "C", "twist_s1", S1, st(&[I1]), S1 { a: -7 });
    twist!(t, s, "C", "twist_s2", S2, st(&[I2]), S2 { a: 1234 });
    twist!(
        t,
        s,
        "C",
        "twist_s3",
        S3,
        st(&[I1, I1, I1]),
        S3 { a: 1, b: -2, c: 3 }
    );
    twist!(t, s, "C", "twist_s4", S4, st(&[F4]), S4 { x: 2.5 });
    twist!(
        t,
        s,
        "C",
        "twist_vec2f",
        Vec2f,
        st(&[F4, F4]),
        Vec2f { x: 1.5, y: -2.25 }
    );
    twist!(
        t,
        s,
        "C",
        "twist_vec3f",
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
        s,
        "C",
        "twist_di",
        DI,
        st(&[F8, I4]),
        DI { d: 10.5, i: -4 }
    );
    twist!(
        t,
        s,
        "C",
        "twist_cd",
        CD,
        st(&[I1, F8]),
        CD { c: 100, d: 0.75 }
    );
    twist!(
        t,
        s,
        "C",
        "twist_ifd",
        IFD,
        st(&[I4, F4, F8]),
        IFD {
            i: 9,
            f: 0.5,
            d: 100.25
        }
    );
    twist!(
        t,
        s,
        "C",
        "twist_ll",
        LL,
        st(&[I8, I8]),
        LL { a: -1 << 40, b: 77 }
    );
    twist!(
        t,
        s,
        "C",
        "twist_vec2d",
        Vec2d,
        st(&[F8, F8]),
        Vec2d { x: 3.25, y: -1e10 }
    );
    twist!(
        t,
        s,
        "C",
        "twist_f3t",
        F3T,
        st(&[F4, F4, F4, I4]),
        F3T {
            v: [1.0, 2.0, 3.0],
            tag: 0x55
        }
    );
}

#[test]
fn sysv_memory_class_and_sret() {
    let mut t = Tester::new();
    let s = Abi::SysV64;
    twist!(
        t,
        s,
        "C",
        "twist_llc",
        LLC,
        st(&[I8, I8, I1]),
        LLC { a: 5, b: -6, c: 7 }
    );
    twist!(
        t,
        s,
        "C",
        "twist_d4",
        D4,
        st(&[F8, F8, F8, F8]),
        D4 {
            v: [1.5, 2.5, 3.5, 4.5]
        }
    );
}

#[test]
fn sysv_packed_structs() {
    let mut t = Tester::new();
    let s = Abi::SysV64;
    twist!(
        t,
        s,
        "C",
        "twist_p5",
        P5,
        packed(&[I4, I1]),
        P5 { a: 100_000, b: -3 }
    );
    // An unaligned field makes the struct MEMORY class (stack copy and sret).
    twist!(
        t,
        s,
        "C",
        "twist_p5u",
        P5u,
        packed(&[I1, I4]),
        P5u { a: 12, b: -99_999 }
    );
}

#[test]
fn sysv_unions() {
    let mut t = Tester::new();
    let uif = T::Aggregate(AggLayout::new(4, 4, [(0, I4), (0, F4)]));
    let value = UIF { i: 41 };
    // SAFETY: matches the C declaration.
    let f: extern "C" fn(UIF, i32) -> UIF = unsafe { native("twist_uif") };
    let r = t.call(
        Abi::SysV64,
        "twist_uif",
        vec![uif.clone(), T::I32],
        Some(uif),
        &[by_ref(&value), 3],
    );
    // SAFETY: both are plain 4-byte unions whose `i` member was written.
    unsafe { assert_eq!(r.value::<UIF>().i, f(value, 3).i) };

    let udl = T::Aggregate(AggLayout::new(16, 8, [(0, F8), (8, F8), (0, I8)]));
    let value = UDL { d: [0.5, -8.25] };
    // SAFETY: matches the C declaration.
    let f: extern "C" fn(UDL, i32) -> UDL = unsafe { native("twist_udl") };
    let r = t.call(
        Abi::SysV64,
        "twist_udl",
        vec![udl.clone(), T::I32],
        Some(udl),
        &[by_ref(&value), 3],
    );
    // SAFETY: the `d` member was written by both.
    unsafe { assert_eq!(r.value::<UDL>().d, f(value, 3).d) };
}

#[test]
fn sysv_struct_that_no_longer_fits_goes_to_the_stack() {
    let mut t = Tester::new();
    // SAFETY: matches the C declarations.
    let f: extern "C" fn(i64, i64, i64, i64, i64, LL, i64) -> i64 =
        unsafe { native("ll_after_five") };
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

    type G = extern "C" fn(f64, f64, f64, f64, f64, f64, f64, Vec2d, f64) -> f64;
    // SAFETY: matches the C declaration.
    let g: G = unsafe { native("vec2d_after_seven") };
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

    type H = extern "C" fn(i64, i64, i64, i64, i64, i64, LLC) -> LLC;
    // SAFETY: matches the C declaration.
    let h: H = unsafe { native("llc_sret_many") };
    let llc = LLC { a: 1, b: 2, c: 3 };
    let mut params = vec![T::I64; 6];
    params.push(st(&[I8, I8, I1]));
    let r = t.call(
        Abi::SysV64,
        "llc_sret_many",
        params,
        Some(st(&[I8, I8, I1])),
        &[10, 20, 30, 40, 50, 60, by_ref(&llc)],
    );
    assert_eq!(r.value::<LLC>(), h(10, 20, 30, 40, 50, 60, llc));
}

#[test]
fn vec2_add_both_widths() {
    let mut t = Tester::new();
    // SAFETY: matches the C declarations.
    let f: extern "C" fn(Vec2f, Vec2f) -> Vec2f = unsafe { native("vec2f_add") };
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
    // SAFETY: matches the C declaration.
    let g: extern "C" fn(Vec2d, Vec2d) -> Vec2d = unsafe { native("vec2d_add") };
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
}

// ---------------------------------------------------------------- variadic

fn variadic_sig(abi: Abi, params: Vec<AbiType>, ret: Option<AbiType>, fixed: usize) -> Signature {
    Signature {
        variadic_from: Some(fixed),
        ..Signature::new(abi, params, ret)
    }
}

#[test]
fn sysv_variadic_sets_al() {
    let mut t = Tester::new();
    for n in [0usize, 1, 3, 8, 11] {
        let values: Vec<f64> = (0..n).map(|i| i as f64 * 1.25 + 0.5).collect();
        let mut params = vec![T::I32];
        params.extend(std::iter::repeat_n(T::F64, n));
        let mut args = vec![n as u64];
        args.extend(values.iter().map(|v| f64s(*v)));
        let r = t.call_sig(
            &variadic_sig(Abi::SysV64, params, Some(T::F64), 1),
            "vsum_d",
            &args,
        );
        let want: f64 = values
            .iter()
            .enumerate()
            .map(|(i, v)| v * (i + 1) as f64)
            .sum();
        assert_eq!(r.f64(), want, "vsum_d with {n} doubles");
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
}

#[test]
fn libc_snprintf_through_a_variadic_thunk() {
    extern "C" {
        fn snprintf(buf: *mut u8, size: usize, fmt: *const u8, ...) -> i32;
    }
    let mut t = Tester::new();
    let sig = variadic_sig(
        Abi::SysV64,
        vec![T::Ptr, T::U64, T::Ptr, T::I32, T::F64, T::Ptr],
        Some(T::I32),
        3,
    );
    let plan = classify(&sig).unwrap();
    let thunk = t.cache.thunk(&plan).unwrap();
    let mut buf = [0u8; 64];
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
    let mut ret = RetBuf([0; 64]);
    // SAFETY: slots match snprintf's prototype and the format string.
    unsafe {
        thunk(
            snprintf as *const () as *const c_void,
            args.as_ptr(),
            ret.0.as_mut_ptr(),
        )
    };
    let text = std::ffi::CStr::from_bytes_until_nul(&buf)
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(text, "-42|2.500|thunk");
    assert_eq!(ret.i64(), text.len() as i64);
}

// ---------------------------------------------------------------- Microsoft x64

#[test]
fn win64_scalars() {
    let mut t = Tester::new();
    let w = Abi::Win64;
    // SAFETY: matches the C declarations.
    let sum6: extern "win64" fn(i64, i64, i64, i64, i64, i64) -> i64 = unsafe { native("ms_sum6") };
    let r = t.call(
        w,
        "ms_sum6",
        vec![T::I64; 6],
        Some(T::I64),
        &[1, 2, 3, 4, 5, 6],
    );
    assert_eq!(r.i64(), sum6(1, 2, 3, 4, 5, 6));
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
    let r = t.call(w, "ms_to_i8", vec![T::U32], Some(T::I8), &[255]);
    assert_eq!(r.i64(), -1);
    let r = t.call(w, "ms_is_odd", vec![T::I64], Some(T::Bool), &[3]);
    assert_eq!(r.i64(), 1);
}

#[test]
fn win64_aggregates() {
    let mut t = Tester::new();
    let w = Abi::Win64;
    twist!(
        t,
        w,
        "win64",
        "ms_twist_vec2f",
        Vec2f,
        st(&[F4, F4]),
        Vec2f { x: 1.5, y: -2.25 }
    );
    twist!(
        t,
        w,
        "win64",
        "ms_twist_s3",
        S3,
        st(&[I1, I1, I1]),
        S3 { a: 1, b: -2, c: 3 }
    );
    twist!(
        t,
        w,
        "win64",
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
        "win64",
        "ms_twist_ll",
        LL,
        st(&[I8, I8]),
        LL { a: -1 << 40, b: 77 }
    );
    twist!(
        t,
        w,
        "win64",
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
        "the callee scribbled on the thunk's copy only"
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
fn win64_variadic_doubles() {
    let mut t = Tester::new();
    for n in [1usize, 3, 6] {
        let values: Vec<f64> = (0..n).map(|i| i as f64 + 0.5).collect();
        let mut params = vec![T::I32];
        params.extend(std::iter::repeat_n(T::F64, n));
        let mut args = vec![n as u64];
        args.extend(values.iter().map(|v| f64s(*v)));
        let r = t.call_sig(
            &variadic_sig(Abi::Win64, params, Some(T::F64), 1),
            "ms_vsum_d",
            &args,
        );
        let want: f64 = values
            .iter()
            .enumerate()
            .map(|(i, v)| v * (i + 1) as f64)
            .sum();
        assert_eq!(r.f64(), want, "ms_vsum_d with {n} doubles");
    }
}

// ---------------------------------------------------------------- cache and listing

#[test]
fn arm64_plans_get_no_x86_thunk() {
    let mut t = Tester::new();
    let plan = classify(&Signature::new(Abi::Aapcs64, vec![T::I32], None)).unwrap();
    let err = t.cache.thunk(&plan).expect_err("refused");
    assert_eq!(err, ffidl_jit::ThunkError::UnsupportedAbi(Abi::Aapcs64));
}

#[test]
fn thunks_are_shared_by_plan_and_listable() {
    let mut t = Tester::new();
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
    let first = t.cache.thunk(&a).unwrap();
    let second = t.cache.thunk(&b).unwrap();
    assert_eq!(first as usize, second as usize);
    assert_eq!(t.cache.len(), 1);
    let third = t.cache.thunk(&c).unwrap();
    assert_ne!(first as usize, third as usize);
    assert_eq!(t.cache.len(), 2);
    let compiled = t.cache.compiled(&a).unwrap();
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
    let mut t = Tester::new();
    let big = Big {
        v: std::array::from_fn(|i| i as i64 * 3 - 50),
    };
    // SAFETY: matches the C declarations.
    let sum: extern "C" fn(Big, i32) -> i64 = unsafe { native("big_sum") };
    let r = t.call(
        Abi::SysV64,
        "big_sum",
        vec![big_type(), T::I32],
        Some(T::I64),
        &[by_ref(&big), 7],
    );
    assert_eq!(r.i64(), sum(big, 7));
    // SAFETY: matches the C declaration.
    let ms_sum: extern "win64" fn(Big, i32) -> i64 = unsafe { native("ms_big_sum") };
    let r = t.call(
        Abi::Win64,
        "ms_big_sum",
        vec![big_type(), T::I32],
        Some(T::I64),
        &[by_ref(&big), 7],
    );
    assert_eq!(r.i64(), ms_sum(big, 7));
    assert_eq!(
        big.v[0], -50,
        "the callee scribbled on the thunk's copy only"
    );

    for (abi, name) in [(Abi::SysV64, "big_twist"), (Abi::Win64, "ms_big_twist")] {
        let sig = Signature::new(abi, vec![big_type(), T::I32], Some(big_type()));
        let plan = classify(&sig).unwrap();
        let thunk = t.cache.thunk(&plan).unwrap();
        let mut out = Big { v: [0; 40] };
        let args = [by_ref(&big), 5];
        // SAFETY: slots match the C declaration; `out` holds the whole result.
        unsafe { thunk(sym(name), args.as_ptr(), (&mut out as *mut Big).cast()) };
        let want: [i64; 40] = std::array::from_fn(|i| big.v[39 - i] + 5);
        assert_eq!(out.v, want, "{name}");
    }
}

#[test]
fn over_aligned_memory_struct_on_the_stack() {
    let mut t = Tester::new();
    type F = extern "C" fn(i64, i64, i64, i64, i64, i64, i64, A16) -> f64;
    // SAFETY: matches the C declaration.
    let f: F = unsafe { native("a16_after_seven") };
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
}

#[test]
fn win64_variadic_float_also_in_the_vector_register() {
    let mut t = Tester::new();
    let sig = variadic_sig(Abi::Win64, vec![T::F64], Some(T::F64), 0);
    let r = t.call_sig(&sig, "ms_first_double", &[f64s(21.25)]);
    assert_eq!(r.f64(), 42.5);
}

#[test]
fn sixty_four_kib_struct_by_value() {
    let mut t = Tester::new();
    let values: Vec<i64> = (0..8192).map(|i| i * 3 - 1000).collect();
    let want: i64 = values
        .iter()
        .enumerate()
        .map(|(i, v)| v * (i as i64 % 7))
        .sum::<i64>()
        + 9;
    let huge = T::Aggregate(AggLayout::new(8 * 8192, 8, (0..8192).map(|i| (i * 8, I8))));
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
}
