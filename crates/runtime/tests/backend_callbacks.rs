//! Callbacks called by real C code (tests/fixtures/jit_calls.c,
//! tests/fixtures/fallback_callers.c and libc's qsort) through both backends: every case
//! runs once with Cranelift callback thunks and once with trampolines of the assembly
//! fallback ([`common::callbacks_on_each_backend`]). Each C caller invokes a callback made
//! from a plan; the callback hands its arguments to a Rust handler, whose result travels
//! back through the ABI. At the end: what only the fallback's trampolines do.

#![allow(clippy::upper_case_acronyms)]
#![cfg(all(target_arch = "x86_64", unix))]

mod common;

use std::cell::RefCell;
use std::ffi::c_void;
use std::rc::Rc;

use common::*;
use ffidl::fallback::Trampoline;
use ffidl_jit::abi::{classify, Abi, AbiType, Signature};

use AbiType as T;

#[test]
fn scalar_callbacks() {
    // SAFETY: the fixture's declarations; the callbacks have the matching C signatures.
    let apply: extern "C" fn(*const c_void, i32, i32) -> i32 = unsafe { native("apply_i32") };
    // SAFETY: as above.
    let apply_narrow: extern "C" fn(*const c_void) -> i64 = unsafe { native("apply_narrow") };
    // SAFETY: as above.
    let apply_u16: extern "C" fn(*const c_void) -> u16 = unsafe { native("apply_u16") };
    callbacks_on_each_backend(|cbs| {
        let sub = cbs.make(
            Signature::new(Abi::SysV64, vec![T::I32, T::I32], Some(T::I32)),
            |args, ret| {
                // SAFETY: two i32 slots, an 8-byte result buffer.
                unsafe { put(ret, slot::<i32>(args, 0) - slot::<i32>(args, 1)) }
            },
        );
        assert_eq!(apply(sub, 10, 3), 14);

        let seen = Rc::new(RefCell::new(Vec::new()));
        let seen_in = seen.clone();
        let narrow = cbs.make(
            Signature::new(
                Abi::SysV64,
                vec![T::I8, T::U16, T::Bool, T::U8],
                Some(T::I8),
            ),
            move |args, ret| {
                // SAFETY: four slots holding extended narrow integers, an 8-byte result buffer.
                unsafe {
                    seen_in
                        .borrow_mut()
                        .extend((0..4).map(|i| slot::<i64>(args, i)));
                    put(ret, -7i8);
                }
            },
        );
        assert_eq!(apply_narrow(narrow), -21);
        assert_eq!(
            *seen.borrow(),
            vec![-5, 60000, 1, 200],
            "slots hold values extended as declared"
        );

        let u16_cb = cbs.make(
            Signature::new(Abi::SysV64, vec![], Some(T::U16)),
            |_, ret| {
                // SAFETY: an 8-byte result buffer.
                unsafe { put(ret, 0xfff0u16) }
            },
        );
        assert_eq!(apply_u16(u16_cb), 0xfff0);
    });
}

#[test]
fn twenty_arguments_some_on_the_stack_and_many_calls() {
    // SAFETY: the fixture's declarations.
    let apply: extern "C" fn(*const c_void) -> f64 = unsafe { native("apply_many") };
    // SAFETY: as above.
    let sum_calls: extern "C" fn(*const c_void, i32) -> i64 = unsafe { caller("fb_sum_calls") };
    callbacks_on_each_backend(|cbs| {
        let many = cbs.make(
            Signature::new(Abi::SysV64, many_args_params(), Some(T::F64)),
            |args, ret| {
                // SAFETY: twenty slots as declared, an 8-byte result buffer.
                unsafe {
                    let int = |i: usize| slot::<i64>(args, i) as f64;
                    let dbl = |i: usize| slot::<f64>(args, i);
                    let mut s = int(0) + int(2) * 2.0 + int(4) * 3.0 + int(6) * 4.0 + int(8) * 5.0;
                    s += int(10) * 6.0
                        + int(12) * 7.0
                        + int(14) * 8.0
                        + int(16) * 9.0
                        + int(18) * 10.0;
                    s +=
                        dbl(1) * 0.5 + dbl(3) * 0.25 + dbl(5) * 0.125 + dbl(7) * 2.0 + dbl(9) * 3.0;
                    s += dbl(11) * 4.0 + dbl(13) * 5.0 + dbl(15) * 6.0 + dbl(17) * 7.0;
                    s += f64::from(slot::<f32>(args, 19)) * 8.0;
                    put(ret, s);
                }
            },
        );
        assert_eq!(apply(many), many_args_native());

        // A thousand calls in a row from C.
        let sum = cbs.make(
            Signature::new(Abi::SysV64, vec![T::I64, T::F64], Some(T::I64)),
            |args, ret| {
                // SAFETY: an i64 and an f64 slot, an 8-byte result buffer.
                unsafe { put(ret, slot::<i64>(args, 0) * 2 + slot::<f64>(args, 1) as i64) }
            },
        );
        let want: i64 = (0..1000i64).map(|i| i * 2 + (i as f64 * 0.5) as i64).sum();
        assert_eq!(sum_calls(sum, 1000), want);
    });
}

/// A callback `T f(T, i32)` that applies `twist`; the C caller passes (v, 3) for each
/// value.
macro_rules! twist_callback {
    ($cbs:expr, $abi:expr, $apply:literal, $ty:ty, $abi_ty:expr, [$($value:expr),+ $(,)?], $twist:expr) => {{
        let twist: fn($ty, i32) -> $ty = $twist;
        let cb = $cbs.make(
            Signature::new($abi, vec![$abi_ty, T::I32], Some($abi_ty)),
            move |args, ret| {
                // SAFETY: slot 0 points to a $ty, slot 1 holds an i32; `ret` has room for a $ty.
                unsafe { put(ret, twist(pointee::<$ty>(args, 0), slot::<i32>(args, 1))) }
            },
        );
        // SAFETY: the fixture's declaration.
        let apply: extern "C" fn(*const c_void, $ty) -> $ty = unsafe { native($apply) };
        for value in [$($value),+] {
            let value: $ty = value;
            assert_eq!(apply(cb, value), twist(value, 3), "{}", $apply);
        }
    }};
}

#[test]
fn struct_callbacks() {
    let s = Abi::SysV64;
    callbacks_on_each_backend(|cbs| {
        twist_callback!(
            cbs,
            s,
            "apply_di",
            DI,
            st(&[F8, I4]),
            [DI { d: 1.5, i: 4 }],
            |v, k| DI {
                d: v.d * 2.0,
                i: v.i - k
            }
        );
        twist_callback!(
            cbs,
            s,
            "apply_cd",
            CD,
            st(&[I1, F8]),
            [CD { c: -4, d: 0.25 }, CD { c: -4, d: 0.5 }],
            |v, k| CD {
                c: v.c + k as i8,
                d: -v.d
            }
        );
        twist_callback!(
            cbs,
            s,
            "apply_vec3f",
            Vec3f,
            st(&[F4, F4, F4]),
            [Vec3f {
                x: 1.0,
                y: 2.0,
                z: 3.0
            }],
            |v, k| Vec3f {
                x: v.z,
                y: v.x + k as f32,
                z: v.y * 0.5
            }
        );
        twist_callback!(
            cbs,
            s,
            "apply_llc",
            LLC,
            st(&[I8, I8, I1]),
            [
                LLC {
                    a: 1 << 40,
                    b: -9,
                    c: 5
                },
                LLC {
                    a: 1 << 40,
                    b: -2,
                    c: 5
                }
            ],
            |v, k| LLC {
                a: v.b,
                b: v.a + i64::from(k),
                c: v.c * 2
            }
        );
        twist_callback!(
            cbs,
            s,
            "apply_p5u",
            P5u,
            packed(&[I1, I4]),
            [P5u { a: 3, b: 70_000 }, P5u { a: 9, b: -70_000 }],
            |v, k| P5u {
                a: v.a - k as i8,
                b: v.b * 2
            }
        );

        let v2 = st(&[F4, F4]);
        let add = cbs.make(
            Signature::new(s, vec![v2.clone(), v2.clone()], Some(v2)),
            |args, ret| {
                // SAFETY: two Vec2f pointers and room for a Vec2f.
                unsafe {
                    let (a, b) = (pointee::<Vec2f>(args, 0), pointee::<Vec2f>(args, 1));
                    put(
                        ret,
                        Vec2f {
                            x: a.x + b.y,
                            y: a.y * b.x,
                        },
                    );
                }
            },
        );
        // SAFETY: the fixture's declaration.
        let apply: extern "C" fn(*const c_void, Vec2f, Vec2f) -> Vec2f =
            unsafe { native("apply_vec2f") };
        for ((a, b), want) in [
            (
                (Vec2f { x: 1.0, y: 2.0 }, Vec2f { x: 0.5, y: 4.0 }),
                Vec2f { x: 5.0, y: 1.0 },
            ),
            (
                (Vec2f { x: 1.0, y: 2.0 }, Vec2f { x: 3.0, y: 4.0 }),
                Vec2f { x: 5.0, y: 6.0 },
            ),
        ] {
            assert_eq!(apply(add, a, b), want);
        }

        let mut params = vec![T::I64; 5];
        params.extend([st(&[I8, I8]), T::I64]);
        let after_five = cbs.make(Signature::new(s, params, Some(T::I64)), |args, ret| {
            // SAFETY: five i64 slots, an LL pointer, an i64 slot.
            unsafe {
                let ll = pointee::<LL>(args, 5);
                let mut sum = 0;
                for i in 0..5 {
                    sum += slot::<i64>(args, i) * (i as i64 + 1);
                }
                put(ret, sum + 6 * ll.a + 7 * ll.b + 8 * slot::<i64>(args, 6));
            }
        });
        // SAFETY: the fixture's declarations.
        let apply: extern "C" fn(*const c_void) -> i64 = unsafe { native("apply_ll_after_five") };
        // SAFETY: as above.
        let reference: extern "C" fn(i64, i64, i64, i64, i64, LL, i64) -> i64 =
            unsafe { native("ll_after_five") };
        assert_eq!(
            apply(after_five),
            reference(1, 2, 3, 4, 5, LL { a: 100, b: 1000 }, 10000)
        );

        let d4 = st(&[F8, F8, F8, F8]);
        let mix = cbs.make(
            Signature::new(s, vec![d4.clone(), T::I32, d4.clone()], Some(d4)),
            |args, ret| {
                // SAFETY: two D4 slots around an i32 slot; `ret` is the caller's D4.
                unsafe {
                    let (a, b): (D4, D4) = (pointee(args, 0), pointee(args, 2));
                    let k = f64::from(slot::<i32>(args, 1));
                    put(
                        ret,
                        D4 {
                            v: std::array::from_fn(|i| a.v[i] * k + b.v[3 - i]),
                        },
                    );
                }
            },
        );
        // SAFETY: the fixture's declaration.
        let apply: extern "C" fn(*const c_void, D4, D4) -> D4 = unsafe { caller("fb_apply_d4") };
        let r = apply(
            mix,
            D4 {
                v: [1.0, 2.0, 3.0, 4.0],
            },
            D4 {
                v: [0.5, 0.25, 0.125, 8.0],
            },
        );
        assert_eq!(
            r,
            D4 {
                v: [15.0, 14.125, 21.25, 28.5]
            }
        );
    });
}

#[test]
fn void_callback() {
    // SAFETY: the fixture's declaration.
    let apply: extern "C" fn(*const c_void, *mut i64) = unsafe { native("apply_void") };
    callbacks_on_each_backend(|cbs| {
        let cb = cbs.make(
            Signature::new(Abi::SysV64, vec![T::Ptr], None),
            |args, _| {
                // SAFETY: slot 0 is the int64_t* the C caller passes.
                unsafe { *(slot::<u64>(args, 0) as *mut i64) = 99 }
            },
        );
        let mut out = 0i64;
        apply(cb, &mut out);
        assert_eq!(out, 99);
    });
}

#[test]
fn win64_callbacks() {
    let w = Abi::Win64;
    callbacks_on_each_backend(|cbs| {
        let sum6 = cbs.make(
            Signature::new(w, vec![T::I64; 6], Some(T::I64)),
            |args, ret| {
                // SAFETY: six i64 slots, an 8-byte result buffer.
                unsafe {
                    put(
                        ret,
                        (0..6)
                            .map(|i| slot::<i64>(args, i) * (i as i64 + 1))
                            .sum::<i64>(),
                    )
                }
            },
        );
        // SAFETY: the fixture's declaration.
        let apply: extern "C" fn(*const c_void) -> i64 = unsafe { native("apply_ms_sum6") };
        assert_eq!(apply(sum6), 1 + 4 + 9 + 16 + 25 + 36);

        let mix = cbs.make(
            Signature::new(
                w,
                vec![T::I32, T::F64, T::I64, T::F32, T::F64, T::I8],
                Some(T::F64),
            ),
            |args, ret| {
                // SAFETY: slots as declared, an 8-byte result buffer.
                unsafe {
                    let r = f64::from(slot::<i32>(args, 0))
                        + slot::<f64>(args, 1) * 2.0
                        + slot::<i64>(args, 2) as f64 * 3.0
                        + f64::from(slot::<f32>(args, 3)) * 4.0
                        + slot::<f64>(args, 4) * 5.0
                        + f64::from(slot::<i8>(args, 5)) * 6.0;
                    put(ret, r);
                }
            },
        );
        // SAFETY: the fixture's declarations.
        let apply: extern "C" fn(*const c_void) -> f64 = unsafe { native("apply_ms_mix") };
        // SAFETY: as above.
        let reference: extern "win64" fn(i32, f64, i64, f32, f64, i8) -> f64 =
            unsafe { native("ms_mix") };
        assert_eq!(apply(mix), reference(-3, 0.5, 100, 0.25, -8.0, -2));

        let v3 = st(&[F4, F4, F4]);
        let twist = cbs.make(
            Signature::new(w, vec![v3.clone(), T::I32], Some(v3)),
            |args, ret| {
                // SAFETY: slot 0 points to the caller's Vec3f copy; `ret` is the hidden
                // result pointer.
                unsafe {
                    let v = pointee::<Vec3f>(args, 0);
                    put(
                        ret,
                        Vec3f {
                            x: v.z + slot::<i32>(args, 1) as f32,
                            y: v.x * 2.0,
                            z: v.y - 0.5,
                        },
                    );
                }
            },
        );
        // SAFETY: the fixture's declarations.
        let apply: extern "C" fn(*const c_void, Vec3f) -> Vec3f =
            unsafe { native("apply_ms_vec3f") };
        // SAFETY: as above.
        let reference: extern "win64" fn(Vec3f, i32) -> Vec3f = unsafe { native("ms_twist_vec3f") };
        for v in [
            Vec3f {
                x: 1.5,
                y: -2.25,
                z: 8.0,
            },
            Vec3f {
                x: 1.0,
                y: 2.0,
                z: 3.0,
            },
        ] {
            assert_eq!(apply(twist, v), reference(v, 3));
        }

        let llc = st(&[I8, I8, I1]);
        let by_ref = cbs.make(
            Signature::new(
                w,
                vec![
                    T::I64,
                    llc.clone(),
                    T::I64,
                    T::F64,
                    llc.clone(),
                    T::F32,
                    T::I8,
                ],
                Some(T::F64),
            ),
            |args, ret| {
                // SAFETY: slots as declared (structs by pointer), an 8-byte result buffer.
                unsafe {
                    let (x, y): (LLC, LLC) = (pointee(args, 1), pointee(args, 4));
                    let s = slot::<i64>(args, 0) as f64
                        + (x.a + x.b * 2 + i64::from(x.c) * 3) as f64
                        + slot::<i64>(args, 2) as f64 * 4.0
                        + slot::<f64>(args, 3) * 5.0
                        + (y.a + y.b * 2 + i64::from(y.c) * 3) as f64 * 6.0
                        + f64::from(slot::<f32>(args, 5)) * 7.0
                        + f64::from(slot::<i8>(args, 6)) * 8.0;
                    put(ret, s);
                }
            },
        );
        // SAFETY: the fixture's declaration.
        let apply: extern "C" fn(*const c_void) -> f64 = unsafe { caller("fb_apply_ms_llc") };
        assert_eq!(
            apply(by_ref),
            -1.0 + 14.0 + 20.0 + 2.5 + 140.0 * 6.0 + 1.75 - 24.0
        );

        let sret = cbs.make(Signature::new(w, vec![T::I32], Some(llc)), |args, ret| {
            // SAFETY: an i32 slot; `ret` is the caller's LLC.
            unsafe {
                let k = i64::from(slot::<i32>(args, 0));
                put(
                    ret,
                    LLC {
                        a: k,
                        b: k * 2,
                        c: 3,
                    },
                );
            }
        });
        // SAFETY: the fixture's declaration.
        let apply: extern "C" fn(*const c_void) -> i64 = unsafe { caller("fb_apply_ms_llc_ret") };
        assert_eq!(apply(sret), 4 + 80 + 300);
    });
}

#[test]
fn libc_qsort_with_a_comparator_callback() {
    extern "C" {
        fn qsort(base: *mut c_void, n: usize, size: usize, cmp: *const c_void);
    }
    callbacks_on_each_backend(|cbs| {
        let signature = || Signature::new(Abi::SysV64, vec![T::Ptr, T::Ptr], Some(T::I32));
        let descending = cbs.make(signature(), |args, ret| {
            // SAFETY: qsort passes two pointers into the i32 array.
            unsafe {
                let (a, b): (i32, i32) = (pointee(args, 0), pointee(args, 1));
                put(ret, b.cmp(&a) as i32);
            }
        });
        let mut values = [5, -3, 12, 0, 7, 7, -100, 42];
        // SAFETY: a valid i32 array and a comparator with qsort's C signature.
        unsafe { qsort(values.as_mut_ptr().cast(), values.len(), 4, descending) };
        assert_eq!(values, [42, 12, 7, 7, 5, 0, -3, -100]);

        let ascending = cbs.make(signature(), |args, ret| {
            // SAFETY: as above.
            unsafe {
                let (a, b): (i32, i32) = (pointee(args, 0), pointee(args, 1));
                put(ret, a.cmp(&b) as i32);
            }
        });
        let mut values: Vec<i32> = (0..500).map(|i| (i * 7919) % 503 - 250).collect();
        // SAFETY: as above.
        unsafe { qsort(values.as_mut_ptr().cast(), values.len(), 4, ascending) };
        assert!(values.windows(2).all(|w| w[0] <= w[1]));
    });
}

#[test]
fn variadic_callbacks_are_refused() {
    callbacks_on_each_backend(|cbs| {
        let sig = Signature {
            variadic_from: Some(1),
            ..Signature::new(Abi::SysV64, vec![T::I32, T::F64], None)
        };
        let err = cbs.try_make(sig, |_, _| {}).expect_err("refused");
        assert_eq!(err, "a callback cannot be variadic");
    });
}

// ---------------------------------------------------------------- the fallback only

#[test]
fn trampolines_are_entered_from_many_threads_at_once() {
    unsafe extern "C" fn square_plus_context(
        context: *const c_void,
        args: *const u64,
        ret: *mut u8,
    ) {
        // SAFETY: one i64 slot and an 8-byte result buffer.
        unsafe {
            let x = args.cast::<i64>().read();
            ret.cast::<i64>().write_unaligned(x * x + context as i64);
        }
    }
    let plan = classify(&Signature::new(Abi::SysV64, vec![T::I64], Some(T::I64))).unwrap();
    let trampolines: Vec<Trampoline> = (0..4)
        .map(|n| Trampoline::new(&plan, square_plus_context, (n * 100) as *const c_void).unwrap())
        .collect();
    let entries: Vec<usize> = trampolines.iter().map(|t| t.entry() as usize).collect();
    std::thread::scope(|scope| {
        for (n, &entry) in entries.iter().enumerate() {
            scope.spawn(move || {
                // SAFETY: a trampoline for `i64 f(i64)`, alive until the scope ends.
                let f: extern "C" fn(i64) -> i64 = unsafe { std::mem::transmute(entry) };
                for x in 0..20_000i64 {
                    assert_eq!(f(x), x * x + n as i64 * 100);
                }
            });
        }
    });
}

#[test]
fn backtraces_walk_through_the_trampoline_entry() {
    unsafe extern "C" fn capture(context: *const c_void, _args: *const u64, ret: *mut u8) {
        // SAFETY: the context is a live `RefCell<String>`; an 8-byte result buffer.
        unsafe {
            let out = &*context.cast::<RefCell<String>>();
            *out.borrow_mut() = std::backtrace::Backtrace::force_capture().to_string();
            ret.cast::<i32>().write_unaligned(0);
        }
    }
    let text = RefCell::new(String::new());
    let plan = classify(&Signature::new(
        Abi::SysV64,
        vec![T::I32, T::I32],
        Some(T::I32),
    ))
    .unwrap();
    let trampoline =
        Trampoline::new(&plan, capture, (&text as *const RefCell<String>).cast()).unwrap();
    // SAFETY: the fixture's declaration.
    let apply: extern "C" fn(*const c_void, i32, i32) -> i32 = unsafe { native("apply_i32") };
    apply(trampoline.entry(), 1, 2);
    let text = text.borrow();
    // The C caller's frame is found only by unwinding through the shared entry.
    assert!(
        text.contains("apply_i32"),
        "the unwinder stopped in the trampoline:\n{text}"
    );
}
