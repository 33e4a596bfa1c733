//! Callback thunks called by real C code (tests/fixtures/jit_calls.c and libc's qsort):
//! each C caller invokes a thunk made from a plan; the thunk hands its arguments to a Rust
//! dispatcher, whose result travels back through the ABI.

mod common;

use std::cell::RefCell;
use std::ffi::c_void;

use common::*;
use ffidl_jit::abi::{classify, Abi, AbiType, Signature};
use ffidl_jit::callback::CompiledCallback;
use ffidl_jit::thunk::ThunkCache;

use AbiType as T;

/// A Rust closure behind a callback thunk: reads the argument slots, writes the result.
type Handler = Box<dyn Fn(*const u64, *mut u8)>;

unsafe extern "C" fn dispatch(context: *const c_void, args: *const u64, ret: *mut u8) {
    // SAFETY: every context given to a callback thunk here is a live `*const Handler`.
    let handler = unsafe { &*context.cast::<Handler>() };
    handler(args, ret);
}

/// Owns the handlers (so context pointers stay valid) and the cache (so code stays mapped).
struct Callbacks {
    // Boxed twice: each context pointer is the address of a `Handler`, which must not
    // move when the vector grows.
    #[allow(clippy::vec_box)]
    handlers: Vec<Box<Handler>>,
    cache: ThunkCache,
}

impl Callbacks {
    fn new() -> Self {
        Callbacks {
            handlers: Vec::new(),
            cache: ThunkCache::new().expect("thunk cache"),
        }
    }

    fn make(
        &mut self,
        sig: Signature,
        handler: impl Fn(*const u64, *mut u8) + 'static,
    ) -> CompiledCallback {
        let handler: Box<Handler> = Box::new(Box::new(handler));
        let context = (&*handler as *const Handler).cast::<c_void>();
        self.handlers.push(handler);
        let plan = classify(&sig).expect("classify");
        self.cache
            .callback(&plan, dispatch, context)
            .expect("callback thunk")
    }
}

/// Reads slot `i` as `T` (the low bytes for scalars).
///
/// # Safety
/// `args` must hold at least `i + 1` slots.
unsafe fn slot<T: Copy>(args: *const u64, i: usize) -> T {
    unsafe { std::ptr::read_unaligned(args.add(i).cast::<T>()) }
}

/// Reads the aggregate slot `i` points to.
///
/// # Safety
/// Slot `i` must point to a valid `T`.
unsafe fn pointee<T: Copy>(args: *const u64, i: usize) -> T {
    unsafe { std::ptr::read_unaligned(slot::<u64>(args, i) as *const T) }
}

/// Writes `value` to the result buffer.
///
/// # Safety
/// `ret` must have room for a `T`.
unsafe fn put<T>(ret: *mut u8, value: T) {
    unsafe { std::ptr::write_unaligned(ret.cast::<T>(), value) }
}

#[test]
fn scalar_callbacks() {
    let mut cbs = Callbacks::new();
    // Listings are off by default; this test also checks the text `ffidl thunk` shows.
    cbs.cache.set_callback_listings(true);
    let add = cbs.make(
        Signature::new(Abi::SysV64, vec![T::I32, T::I32], Some(T::I32)),
        |args, ret| {
            // SAFETY: two i32 slots, an 8-byte result buffer.
            unsafe { put(ret, slot::<i32>(args, 0) - slot::<i32>(args, 1)) }
        },
    );
    // SAFETY: the fixture's declaration; the thunk has the matching C signature.
    let apply: extern "C" fn(*const c_void, i32, i32) -> i32 = unsafe { native("apply_i32") };
    assert_eq!(apply(add.entry, 10, 3), 14);
    assert!(add.clif.contains("call_indirect"));

    let seen = std::rc::Rc::new(RefCell::new(Vec::new()));
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
                let values: Vec<i64> = (0..4).map(|i| slot::<i64>(args, i)).collect();
                seen_in.borrow_mut().extend(values);
                put(ret, -7i8);
            }
        },
    );
    // SAFETY: the fixture's declaration.
    let apply_narrow: extern "C" fn(*const c_void) -> i64 = unsafe { native("apply_narrow") };
    assert_eq!(apply_narrow(narrow.entry), -21);
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
    // SAFETY: the fixture's declaration.
    let apply_u16: extern "C" fn(*const c_void) -> u16 = unsafe { native("apply_u16") };
    assert_eq!(apply_u16(u16_cb.entry), 0xfff0);
}

#[test]
fn twenty_arguments_some_on_the_stack() {
    let mut cbs = Callbacks::new();
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
    let many = cbs.make(
        Signature::new(Abi::SysV64, params, Some(T::F64)),
        |args, ret| {
            // SAFETY: twenty slots as declared, an 8-byte result buffer.
            unsafe {
                let int = |i: usize| slot::<i64>(args, i) as f64;
                let dbl = |i: usize| slot::<f64>(args, i);
                let mut s = int(0) + int(2) * 2.0 + int(4) * 3.0 + int(6) * 4.0 + int(8) * 5.0;
                s += int(10) * 6.0 + int(12) * 7.0 + int(14) * 8.0 + int(16) * 9.0 + int(18) * 10.0;
                s += dbl(1) * 0.5 + dbl(3) * 0.25 + dbl(5) * 0.125 + dbl(7) * 2.0 + dbl(9) * 3.0;
                s += dbl(11) * 4.0 + dbl(13) * 5.0 + dbl(15) * 6.0 + dbl(17) * 7.0;
                s += f64::from(slot::<f32>(args, 19)) * 8.0;
                put(ret, s);
            }
        },
    );
    // SAFETY: the fixture's declarations.
    let apply: extern "C" fn(*const c_void) -> f64 = unsafe { native("apply_many") };
    type Many = extern "C" fn(
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
    // SAFETY: as above.
    let reference: Many = unsafe { native("many_args") };
    let want = reference(
        1, 0.5, -2, 1.5, -3, 2.5, 40000, 3.5, 5, 4.5, 6, 5.5, 7, 6.5, 8, 7.5, 9, 8.5, -10, 9.5,
    );
    assert_eq!(apply(many.entry), want);
}

/// A callback `T f(T, i32)` that applies `twist` natively: the C caller passes (v, 3).
macro_rules! twist_callback {
    ($cbs:expr, $abi:expr, $apply:literal, $ty:ty, $abi_ty:expr, $value:expr, $twist:expr) => {{
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
        let value: $ty = $value;
        assert_eq!(apply(cb.entry, value), twist(value, 3), "{}", $apply);
    }};
}

#[test]
fn struct_callbacks() {
    let mut cbs = Callbacks::new();
    let s = Abi::SysV64;
    twist_callback!(
        cbs,
        s,
        "apply_di",
        DI,
        st(&[F8, I4]),
        DI { d: 1.5, i: 4 },
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
        CD { c: -4, d: 0.25 },
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
        Vec3f {
            x: 1.0,
            y: 2.0,
            z: 3.0
        },
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
        LLC {
            a: 1 << 40,
            b: -9,
            c: 5
        },
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
        P5u { a: 3, b: 70_000 },
        |v, k| P5u {
            a: v.a - k as i8,
            b: v.b * 2
        }
    );

    let add = cbs.make(
        Signature::new(s, vec![st(&[F4, F4]), st(&[F4, F4])], Some(st(&[F4, F4]))),
        |args, ret| {
            // SAFETY: two Vec2f pointers and room for a Vec2f.
            unsafe {
                let (a, b) = (pointee::<Vec2f>(args, 0), pointee::<Vec2f>(args, 1));
                put(
                    ret,
                    Vec2f {
                        x: a.x + b.x,
                        y: a.y * b.y,
                    },
                );
            }
        },
    );
    // SAFETY: the fixture's declaration.
    let apply: extern "C" fn(*const c_void, Vec2f, Vec2f) -> Vec2f =
        unsafe { native("apply_vec2f") };
    assert_eq!(
        apply(
            add.entry,
            Vec2f { x: 1.0, y: 2.0 },
            Vec2f { x: 0.5, y: 4.0 }
        ),
        Vec2f { x: 1.5, y: 8.0 }
    );

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
    let reference: extern "C" fn(i64, i64, i64, i64, i64, LL, i64) -> i64 =
        unsafe { native("ll_after_five") };
    assert_eq!(
        apply(after_five.entry),
        reference(1, 2, 3, 4, 5, LL { a: 100, b: 1000 }, 10000)
    );
}

#[test]
fn void_callback() {
    let mut cbs = Callbacks::new();
    let cb = cbs.make(
        Signature::new(Abi::SysV64, vec![T::Ptr], None),
        |args, _| {
            // SAFETY: slot 0 is the int64_t* the C caller passes.
            unsafe { *(slot::<u64>(args, 0) as *mut i64) = 99 }
        },
    );
    // SAFETY: the fixture's declaration.
    let apply: extern "C" fn(*const c_void, *mut i64) = unsafe { native("apply_void") };
    let mut out = 0i64;
    apply(cb.entry, &mut out);
    assert_eq!(out, 99);
}

#[test]
fn win64_callbacks() {
    let mut cbs = Callbacks::new();
    let w = Abi::Win64;
    let sum6 = cbs.make(
        Signature::new(w, vec![T::I64; 6], Some(T::I64)),
        |args, ret| {
            // SAFETY: six i64 slots.
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
    // SAFETY: the fixture's declarations.
    let apply: extern "C" fn(*const c_void) -> i64 = unsafe { native("apply_ms_sum6") };
    assert_eq!(apply(sum6.entry), 1 + 4 + 9 + 16 + 25 + 36);

    let mix = cbs.make(
        Signature::new(
            w,
            vec![T::I32, T::F64, T::I64, T::F32, T::F64, T::I8],
            Some(T::F64),
        ),
        |args, ret| {
            // SAFETY: slots as declared.
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
    let reference: extern "win64" fn(i32, f64, i64, f32, f64, i8) -> f64 =
        unsafe { native("ms_mix") };
    assert_eq!(apply(mix.entry), reference(-3, 0.5, 100, 0.25, -8.0, -2));

    let v3 = st(&[F4, F4, F4]);
    let twist = cbs.make(
        Signature::new(w, vec![v3.clone(), T::I32], Some(v3)),
        |args, ret| {
            // SAFETY: slot 0 points to the caller's Vec3f copy; `ret` is the hidden result pointer.
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
    let apply: extern "C" fn(*const c_void, Vec3f) -> Vec3f = unsafe { native("apply_ms_vec3f") };
    let reference: extern "win64" fn(Vec3f, i32) -> Vec3f = unsafe { native("ms_twist_vec3f") };
    let v = Vec3f {
        x: 1.5,
        y: -2.25,
        z: 8.0,
    };
    assert_eq!(apply(twist.entry, v), reference(v, 3));
}

#[test]
fn libc_qsort_with_a_comparator_thunk() {
    extern "C" {
        fn qsort(base: *mut c_void, n: usize, size: usize, cmp: *const c_void);
    }
    let mut cbs = Callbacks::new();
    let cmp = cbs.make(
        Signature::new(Abi::SysV64, vec![T::Ptr, T::Ptr], Some(T::I32)),
        |args, ret| {
            // SAFETY: qsort passes two pointers into the i32 array.
            unsafe {
                let a = *(slot::<u64>(args, 0) as *const i32);
                let b = *(slot::<u64>(args, 1) as *const i32);
                put(ret, b.cmp(&a) as i32); // descending
            }
        },
    );
    let mut values = [5, -3, 12, 0, 7, 7, -100, 42];
    // SAFETY: a valid i32 array and a comparator with qsort's C signature.
    unsafe { qsort(values.as_mut_ptr().cast(), values.len(), 4, cmp.entry) };
    assert_eq!(values, [42, 12, 7, 7, 5, 0, -3, -100]);
}

#[test]
fn variadic_callbacks_are_refused() {
    let mut cache = ThunkCache::new().unwrap();
    let sig = Signature {
        variadic_from: Some(1),
        ..Signature::new(Abi::SysV64, vec![T::I32, T::F64], None)
    };
    let plan = classify(&sig).unwrap();
    let err = cache
        .callback(&plan, dispatch, std::ptr::null())
        .err()
        .expect("refused");
    assert_eq!(err.to_string(), "a callback cannot be variadic");
}
