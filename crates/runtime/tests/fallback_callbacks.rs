//! Callback trampolines of the assembly fallback called by real C code (libc's qsort,
//! tests/fixtures/jit_calls.c and tests/fixtures/fallback_callers.c). Every callback is
//! also made as a Cranelift callback thunk around the same handler: both must give the C
//! caller the same result, and the handler must see the same argument values.

#![allow(clippy::upper_case_acronyms)]
#![cfg(all(target_arch = "x86_64", unix))]

#[path = "../../jit/tests/common/mod.rs"]
mod common;

use std::cell::RefCell;
use std::ffi::c_void;
use std::path::PathBuf;
use std::process::Command;
use std::rc::Rc;
use std::sync::OnceLock;

use common::*;
use ffidl::fallback::Trampoline;
use ffidl_jit::abi::{classify, Abi, AbiType, Signature};
use ffidl_jit::thunk::ThunkCache;

use AbiType as T;

type Handler = Box<dyn Fn(*const u64, *mut u8)>;

unsafe extern "C" fn dispatch(context: *const c_void, args: *const u64, ret: *mut u8) {
    // SAFETY: every context given out here is a live `*const Handler`.
    let handler = unsafe { &*context.cast::<Handler>() };
    handler(args, ret);
}

/// The second fixture, built like the jit's.
fn callers() -> &'static libloading::Library {
    static LIB: OnceLock<libloading::Library> = OnceLock::new();
    LIB.get_or_init(|| {
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/fallback_callers.c");
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fallback_callers.so");
        let status = Command::new("gcc")
            .args(["-O2", "-shared", "-fPIC", "-o"])
            .arg(&out)
            .arg(&source)
            .status()
            .expect("gcc runs");
        assert!(status.success(), "gcc failed on {}", source.display());
        // SAFETY: our own fixture, no initialisers.
        unsafe { libloading::Library::new(&out).expect("fixture loads") }
    })
}

/// `name` from fallback_callers.c as `F`.
///
/// # Safety
/// `F` must match the C declaration.
unsafe fn caller<F: Copy>(name: &str) -> F {
    // SAFETY: the caller names the right type.
    unsafe { *callers().get::<F>(name.as_bytes()).expect(name) }
}

/// Owns the handlers, the thunk cache and the trampolines.
struct Both {
    #[allow(clippy::vec_box)]
    handlers: Vec<Box<Handler>>,
    trampolines: Vec<Trampoline>,
    cache: ThunkCache,
}

impl Both {
    fn new() -> Self {
        Both {
            handlers: Vec::new(),
            trampolines: Vec::new(),
            cache: ThunkCache::new().expect("thunk cache"),
        }
    }

    /// `[trampoline entry, Cranelift thunk entry]` around one handler.
    fn make(
        &mut self,
        sig: Signature,
        handler: impl Fn(*const u64, *mut u8) + 'static,
    ) -> [*const c_void; 2] {
        let handler: Box<Handler> = Box::new(Box::new(handler));
        let context = (&*handler as *const Handler).cast::<c_void>();
        self.handlers.push(handler);
        let plan = classify(&sig).expect("classify");
        let trampoline = Trampoline::new(&plan, dispatch, context).expect("trampoline");
        let asm = trampoline.entry();
        self.trampolines.push(trampoline);
        let thunk = self
            .cache
            .callback(&plan, dispatch, context)
            .expect("callback thunk");
        [asm, thunk.entry]
    }
}

/// # Safety
/// `args` must hold at least `i + 1` slots.
unsafe fn slot<T: Copy>(args: *const u64, i: usize) -> T {
    unsafe { std::ptr::read_unaligned(args.add(i).cast::<T>()) }
}
/// # Safety
/// Slot `i` must point to a valid `T`.
unsafe fn pointee<T: Copy>(args: *const u64, i: usize) -> T {
    unsafe { std::ptr::read_unaligned(slot::<u64>(args, i) as *const T) }
}
/// # Safety
/// `ret` must have room for a `T`.
unsafe fn put<T>(ret: *mut u8, value: T) {
    unsafe { std::ptr::write_unaligned(ret.cast::<T>(), value) }
}

/// Runs `call` on both entries; both results must be equal (and are returned).
fn agree<R: PartialEq + std::fmt::Debug>(
    entries: [*const c_void; 2],
    call: impl Fn(*const c_void) -> R,
) -> R {
    let by_asm = call(entries[0]);
    let by_thunk = call(entries[1]);
    assert_eq!(by_asm, by_thunk, "trampoline and thunk disagree");
    by_asm
}

#[test]
fn qsort_sorts_through_a_trampoline() {
    extern "C" {
        fn qsort(base: *mut c_void, n: usize, size: usize, cmp: *const c_void);
    }
    let mut both = Both::new();
    let cmp = both.make(
        Signature::new(Abi::SysV64, vec![T::Ptr, T::Ptr], Some(T::I32)),
        |args, ret| {
            // SAFETY: two pointers to i32 elements, an 8-byte result buffer.
            unsafe {
                let a: i32 = pointee(args, 0);
                let b: i32 = pointee(args, 1);
                put(ret, a.cmp(&b) as i32);
            }
        },
    );
    let sorted = agree(cmp, |entry| {
        let mut values: Vec<i32> = (0..500).map(|i| (i * 7919) % 503 - 250).collect();
        // SAFETY: the entry is a comparator of two `const int *`.
        unsafe { qsort(values.as_mut_ptr().cast(), values.len(), 4, entry) };
        values
    });
    assert!(sorted.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn scalars_narrow_values_and_twenty_arguments() {
    let mut both = Both::new();
    let sub = both.make(
        Signature::new(Abi::SysV64, vec![T::I32, T::I32], Some(T::I32)),
        |args, ret| {
            // SAFETY: two i32 slots, an 8-byte result buffer.
            unsafe { put(ret, slot::<i32>(args, 0) - slot::<i32>(args, 1)) }
        },
    );
    // SAFETY: the fixture's declaration.
    let apply: extern "C" fn(*const c_void, i32, i32) -> i32 = unsafe { native("apply_i32") };
    assert_eq!(agree(sub, |e| apply(e, 10, 3)), 14);

    let seen = Rc::new(RefCell::new(Vec::new()));
    let seen_in = seen.clone();
    let narrow = both.make(
        Signature::new(
            Abi::SysV64,
            vec![T::I8, T::U16, T::Bool, T::U8],
            Some(T::I8),
        ),
        move |args, ret| {
            // SAFETY: four extended narrow slots, an 8-byte result buffer.
            unsafe {
                seen_in
                    .borrow_mut()
                    .extend((0..4).map(|i| slot::<i64>(args, i)));
                put(ret, -7i8);
            }
        },
    );
    // SAFETY: the fixture's declaration.
    let apply_narrow: extern "C" fn(*const c_void) -> i64 = unsafe { native("apply_narrow") };
    assert_eq!(agree(narrow, |e| apply_narrow(e)), -21);
    assert_eq!(*seen.borrow(), vec![-5, 60000, 1, 200, -5, 60000, 1, 200]);

    let u16_cb = both.make(
        Signature::new(Abi::SysV64, vec![], Some(T::U16)),
        |_, ret| {
            // SAFETY: an 8-byte result buffer.
            unsafe { put(ret, 0xfff0u16) }
        },
    );
    // SAFETY: the fixture's declaration.
    let apply_u16: extern "C" fn(*const c_void) -> u16 = unsafe { native("apply_u16") };
    assert_eq!(agree(u16_cb, |e| apply_u16(e)), 0xfff0);

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
    let many = both.make(
        Signature::new(Abi::SysV64, params, Some(T::F64)),
        |args, ret| {
            // SAFETY: twenty slots as declared, an 8-byte result buffer.
            unsafe {
                let mut s = 0.0;
                for i in (0..19).step_by(2) {
                    s += slot::<i64>(args, i) as f64 * (i + 1) as f64;
                }
                for i in (1..19).step_by(2) {
                    s += slot::<f64>(args, i) * (i + 1) as f64;
                }
                s += f64::from(slot::<f32>(args, 19)) * 1000.0;
                put(ret, s);
            }
        },
    );
    // SAFETY: the fixture's declaration.
    let apply_many: extern "C" fn(*const c_void) -> f64 = unsafe { native("apply_many") };
    let want = 1.0 - 2.0 * 3.0 - 3.0 * 5.0
        + 40000.0 * 7.0
        + 5.0 * 9.0
        + 6.0 * 11.0
        + 7.0 * 13.0
        + 8.0 * 15.0
        + 9.0 * 17.0
        - 10.0 * 19.0
        + 0.5 * 2.0
        + 1.5 * 4.0
        + 2.5 * 6.0
        + 3.5 * 8.0
        + 4.5 * 10.0
        + 5.5 * 12.0
        + 6.5 * 14.0
        + 7.5 * 16.0
        + 8.5 * 18.0
        + 9.5 * 1000.0;
    assert_eq!(agree(many, |e| apply_many(e)), want);

    let sum = both.make(
        Signature::new(Abi::SysV64, vec![T::I64, T::F64], Some(T::I64)),
        |args, ret| {
            // SAFETY: an i64 and an f64 slot, an 8-byte result buffer.
            unsafe { put(ret, slot::<i64>(args, 0) * 2 + slot::<f64>(args, 1) as i64) }
        },
    );
    // SAFETY: the fixture's declaration.
    let sum_calls: extern "C" fn(*const c_void, i32) -> i64 = unsafe { caller("fb_sum_calls") };
    let want: i64 = (0..1000i64).map(|i| i * 2 + (i as f64 * 0.5) as i64).sum();
    assert_eq!(agree(sum, |e| sum_calls(e, 1000)), want);
}

#[test]
fn struct_arguments_and_results() {
    let mut both = Both::new();
    let s = Abi::SysV64;
    let v2 = st(&[F4, F4]);
    let add = both.make(
        Signature::new(s, vec![v2.clone(), v2.clone()], Some(v2)),
        |args, ret| {
            // SAFETY: two Vec2f slots, a result buffer with room for a Vec2f.
            unsafe {
                let (a, b): (Vec2f, Vec2f) = (pointee(args, 0), pointee(args, 1));
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
    let got = agree(add, |e| {
        apply(e, Vec2f { x: 1.0, y: 2.0 }, Vec2f { x: 3.0, y: 4.0 })
    });
    assert_eq!(got, Vec2f { x: 5.0, y: 6.0 });

    macro_rules! twice {
        ($name:expr, $ty:ty, $abi_ty:expr, $value:expr, |$v:ident, $k:ident| $body:expr) => {{
            let cb = both.make(
                Signature::new(s, vec![$abi_ty, T::I32], Some($abi_ty)),
                |args, ret| {
                    // SAFETY: a struct slot and an i32 slot; the result buffer fits the struct.
                    unsafe {
                        let $v: $ty = pointee(args, 0);
                        let $k: i32 = slot(args, 1);
                        put::<$ty>(ret, $body);
                    }
                },
            );
            // SAFETY: the fixture's declaration.
            let apply: extern "C" fn(*const c_void, $ty) -> $ty = unsafe { native($name) };
            agree(cb, |e| apply(e, $value))
        }};
    }
    let r = twice!(
        "apply_di",
        DI,
        st(&[F8, I4]),
        DI { d: 1.5, i: 4 },
        |v, k| DI {
            d: v.d * 2.0,
            i: v.i + k
        }
    );
    assert_eq!(r, DI { d: 3.0, i: 7 });
    let r = twice!(
        "apply_cd",
        CD,
        st(&[I1, F8]),
        CD { c: -4, d: 0.5 },
        |v, k| CD {
            c: v.c - k as i8,
            d: v.d + 1.0
        }
    );
    assert_eq!(r, CD { c: -7, d: 1.5 });
    let r = twice!(
        "apply_vec3f",
        Vec3f,
        st(&[F4, F4, F4]),
        Vec3f {
            x: 1.0,
            y: 2.0,
            z: 3.0
        },
        |v, k| Vec3f {
            x: v.z,
            y: v.y * k as f32,
            z: v.x
        }
    );
    assert_eq!(
        r,
        Vec3f {
            x: 3.0,
            y: 6.0,
            z: 1.0
        }
    );
    let r = twice!(
        "apply_llc",
        LLC,
        st(&[I8, I8, I1]),
        LLC {
            a: 1 << 40,
            b: -2,
            c: 5
        },
        |v, k| LLC {
            a: v.a + i64::from(k),
            b: v.b * 3,
            c: v.c - 1
        }
    );
    assert_eq!(
        r,
        LLC {
            a: (1 << 40) + 3,
            b: -6,
            c: 4
        }
    );
    let r = twice!(
        "apply_p5u",
        P5u,
        packed(&[I1, I4]),
        P5u { a: 9, b: -70_000 },
        |v, k| P5u {
            a: v.a + k as i8,
            b: v.b * 2
        }
    );
    assert_eq!(r, P5u { a: 12, b: -140_000 });

    let mut params = vec![T::I64; 5];
    params.extend([st(&[I8, I8]), T::I64]);
    let after_five = both.make(Signature::new(s, params, Some(T::I64)), |args, ret| {
        // SAFETY: five i64 slots, an LL slot, an i64 slot; an 8-byte result buffer.
        unsafe {
            let ll: LL = pointee(args, 5);
            let ints: i64 = (0..5).map(|i| slot::<i64>(args, i)).sum();
            put(ret, ints + ll.a * 2 + ll.b * 3 + slot::<i64>(args, 6) * 4);
        }
    });
    // SAFETY: the fixture's declaration.
    let apply: extern "C" fn(*const c_void) -> i64 = unsafe { native("apply_ll_after_five") };
    assert_eq!(agree(after_five, |e| apply(e)), 15 + 200 + 3000 + 40000);

    let d4 = st(&[F8, F8, F8, F8]);
    let mix = both.make(
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
    let r = agree(mix, |e| {
        apply(
            e,
            D4 {
                v: [1.0, 2.0, 3.0, 4.0],
            },
            D4 {
                v: [0.5, 0.25, 0.125, 8.0],
            },
        )
    });
    assert_eq!(
        r,
        D4 {
            v: [15.0, 14.125, 21.25, 28.5]
        }
    );
}

#[test]
fn win64_callbacks() {
    let mut both = Both::new();
    let w = Abi::Win64;
    let sum6 = both.make(
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
    assert_eq!(agree(sum6, |e| apply(e)), 1 + 4 + 9 + 16 + 25 + 36);

    let mix = both.make(
        Signature::new(
            w,
            vec![T::I32, T::F64, T::I64, T::F32, T::F64, T::I8],
            Some(T::F64),
        ),
        |args, ret| {
            // SAFETY: slots as declared, an 8-byte result buffer.
            unsafe {
                let s = f64::from(slot::<i32>(args, 0))
                    + slot::<f64>(args, 1) * 2.0
                    + slot::<i64>(args, 2) as f64 * 3.0
                    + f64::from(slot::<f32>(args, 3)) * 4.0
                    + slot::<f64>(args, 4) * 5.0
                    + f64::from(slot::<i8>(args, 5)) * 6.0;
                put(ret, s);
            }
        },
    );
    // SAFETY: the fixture's declaration.
    let apply: extern "C" fn(*const c_void) -> f64 = unsafe { native("apply_ms_mix") };
    assert_eq!(
        agree(mix, |e| apply(e)),
        -3.0 + 1.0 + 300.0 + 1.0 - 40.0 - 12.0
    );

    let v3 = st(&[F4, F4, F4]);
    let twist = both.make(
        Signature::new(w, vec![v3.clone(), T::I32], Some(v3)),
        |args, ret| {
            // SAFETY: a Vec3f slot and an i32; `ret` is the caller's Vec3f.
            unsafe {
                let v: Vec3f = pointee(args, 0);
                put(
                    ret,
                    Vec3f {
                        x: v.y,
                        y: v.z,
                        z: v.x + slot::<i32>(args, 1) as f32,
                    },
                );
            }
        },
    );
    // SAFETY: the fixture's declaration.
    let apply: extern "C" fn(*const c_void, Vec3f) -> Vec3f = unsafe { native("apply_ms_vec3f") };
    assert_eq!(
        agree(twist, |e| apply(
            e,
            Vec3f {
                x: 1.0,
                y: 2.0,
                z: 3.0
            }
        )),
        Vec3f {
            x: 2.0,
            y: 3.0,
            z: 4.0
        }
    );

    let llc = st(&[I8, I8, I1]);
    let by_ref = both.make(
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
        agree(by_ref, |e| apply(e)),
        -1.0 + 14.0 + 20.0 + 2.5 + 140.0 * 6.0 + 1.75 - 24.0
    );

    let sret = both.make(Signature::new(w, vec![T::I32], Some(llc)), |args, ret| {
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
    assert_eq!(agree(sret, |e| apply(e)), 4 + 80 + 300);
}

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
