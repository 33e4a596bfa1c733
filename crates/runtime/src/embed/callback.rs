//! Rust closures as C function pointers: a closure whose parameter and result types are
//! [`CType`]s becomes a native function of a declared `callback` type, through the same
//! callback thunks (or fallback trampolines) script functions use.

use super::error::{Error, ErrorKind};
use super::typed::{CReturn, CType, Shape};
use super::{check_signature, Module};
use crate::backend::{CallbackFailure, OwnedCallback};
use crate::{lock, lower};
use ffidl_jit::classify;
use ffidl_lang::tir::TypeKind;
use std::ffi::c_void;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A closure that can serve as a C callback: `Fn(A, B, ...) -> R` with up to 12
/// [`CType`] parameters and a [`CType`] or `()` result, `Send + Sync + 'static` (C may
/// call it from any thread, at the same time). `Marker` only tells the implementations
/// apart (it is inferred).
pub trait IntoCallback<Marker>: Send + Sync + 'static {
    #[doc(hidden)]
    const PARAMS: &'static [&'static Shape];
    #[doc(hidden)]
    const RET: Option<&'static Shape>;
    #[doc(hidden)]
    /// # Safety
    /// `args` holds one slot per parameter (the call-thunk slot contract) and `ret` has
    /// room for the result.
    unsafe fn dispatch(&self, args: *const u64, ret: *mut u8);
}

/// Reads argument `T` from its slot.
///
/// # Safety
/// `slot` holds a `T` by the slot contract: scalars in the low bytes, aggregates as a
/// pointer to their bytes.
unsafe fn from_slot<T: CType>(slot: *const u64) -> T {
    // SAFETY: the caller guarantees the slot contract for `T`.
    unsafe {
        match T::SHAPE {
            Shape::Struct(_) | Shape::Union(_) | Shape::Array { .. } => {
                (*slot as *const T).read_unaligned()
            }
            _ => slot.cast::<T>().read_unaligned(),
        }
    }
}

macro_rules! closure_impls {
    ($( ($($a:ident $i:tt),*) )*) => {$(
        impl<Func, R, $($a),*> IntoCallback<(R, $($a,)*)> for Func
        where
            Func: Fn($($a),*) -> R + Send + Sync + 'static,
            R: CReturn,
            $($a: CType),*
        {
            const PARAMS: &'static [&'static Shape] = &[$(&$a::SHAPE),*];
            const RET: Option<&'static Shape> = R::SHAPE;
            #[allow(unused_variables)]
            unsafe fn dispatch(&self, args: *const u64, ret: *mut u8) {
                // SAFETY: the caller guarantees one slot per parameter and room for the result.
                unsafe {
                    let r = self($(from_slot::<$a>(args.add($i))),*);
                    r.write_to(ret);
                }
            }
        }
    )*};
}

closure_impls! {
    () (A1 0) (A1 0, A2 1) (A1 0, A2 1, A3 2) (A1 0, A2 1, A3 2, A4 3)
    (A1 0, A2 1, A3 2, A4 3, A5 4) (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5)
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6)
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7)
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8)
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9)
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9, A11 10)
    (A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9, A11 10, A12 11)
}

/// What the thunk calls: runs the closure `context` points to. A panic cannot unwind
/// through C frames, so it aborts the process after printing the message.
unsafe extern "C" fn dispatch_closure<M, F: IntoCallback<M>>(
    context: *const c_void,
    args: *const u64,
    ret: *mut u8,
) {
    // SAFETY: `context` is the `Box<F>` the `Callback` owns (alive while the callback
    // may be called), and the thunk passes the slots and result buffer of the plan the
    // closure's signature was checked against.
    let outcome = catch_unwind(AssertUnwindSafe(|| unsafe {
        (*context.cast::<F>()).dispatch(args, ret)
    }));
    if outcome.is_err() {
        eprintln!("ffidl: a Rust callback panicked; aborting (a panic cannot unwind into C)");
        std::process::abort();
    }
}

/// A Rust closure as a C function pointer of a declared callback type
/// ([`Module::callback`]). Pass [`Callback::as_ptr`] (or `Value::from(&callback)`)
/// wherever the callback type is expected.
///
/// The pointer is valid while the `Callback` lives; it borrows the module, so it cannot
/// outlive the thunk code. Dropping it while C still holds the pointer (for example a
/// handler C keeps registered) and C then calling it is undefined behaviour, as with any
/// C callback: keep the `Callback` alive as long as C may call it.
pub struct Callback<'m> {
    entry: *const c_void,
    // Drop order: the trampoline (if any) is released before the closure it points to.
    _native: OwnedCallback,
    _closure: Box<dyn Send + Sync>,
    _module: PhantomData<&'m Module>,
}

// SAFETY: the entry is immutable code; the closure is `Send + Sync`; the trampoline is
// only released on drop (the fallback's table is synchronised).
unsafe impl Send for Callback<'_> {}
// SAFETY: a shared `Callback` only hands out its entry address.
unsafe impl Sync for Callback<'_> {}

impl Callback<'_> {
    /// The C function pointer.
    pub fn as_ptr(&self) -> *mut c_void {
        self.entry.cast_mut()
    }
}

impl<'m> From<&Callback<'m>> for super::Value<'m> {
    fn from(cb: &Callback<'m>) -> Self {
        super::Value::Ptr(cb.as_ptr())
    }
}

impl Module {
    /// Makes `closure` a C function of the declared callback type `callback_type`, after
    /// checking the closure's parameter and result types against the declaration (else
    /// an [`ErrorKind::SignatureMismatch`] error at the declaration).
    ///
    /// Under the assembly fallback each live callback holds one trampoline of a fixed
    /// table: when all are in use the error is [`ErrorKind::CallbackTableFull`].
    ///
    /// ```
    /// let module = ffidl::Runtime::new().load_str("q.ffidl", r#"
    ///     library c = "libc.so.6";
    ///     callback Cmp = fn(a: *const void, b: *const void) -> i32;
    ///     extern c { fn qsort(base: *void, n: usize, size: usize, cmp: Cmp); }
    /// "#)?;
    /// let cmp = module.callback("Cmp", |a: *const i32, b: *const i32| {
    ///     // SAFETY: qsort passes pointers to two elements of the array.
    ///     unsafe { (*a).cmp(&*b) as i32 }
    /// })?;
    /// let mut xs = [3i32, 1, 2];
    /// let qsort = module.typed::<extern "C" fn(*mut i32, usize, usize, *mut std::ffi::c_void)>("qsort")?;
    /// qsort.call((xs.as_mut_ptr(), 3, 4, cmp.as_ptr()));
    /// assert_eq!(xs, [1, 2, 3]);
    /// # Ok::<(), ffidl::Error>(())
    /// ```
    pub fn callback<M, F: IntoCallback<M>>(
        &self,
        callback_type: &str,
        closure: F,
    ) -> Result<Callback<'_>, Error> {
        let ty = self.type_id(callback_type)?;
        let program = self.program();
        let TypeKind::Callback(def) = &program.ty(ty).kind else {
            return Err(Error::new(
                ErrorKind::ValueMismatch,
                format!("`{callback_type}` is not a callback type"),
            ));
        };
        let fail = |m: String| {
            self.at_type(
                Error::new(
                    ErrorKind::SignatureMismatch,
                    format!("`{callback_type}`: {m}"),
                ),
                ty,
            )
        };
        check_signature(program, &def.sig, None, F::PARAMS, F::RET).map_err(fail)?;
        let plan = lower::jit_signature(program, &def.sig, &[])
            .and_then(|s| classify(&s).map_err(|e| e.to_string()))
            .map_err(|m| Error::new(ErrorKind::AbiUnsupported, m))?;
        let closure = Box::new(closure);
        let context = (&*closure as *const F).cast::<c_void>();
        let native = lock(&self.loaded().entries)
            .owned_callback(&plan, dispatch_closure::<M, F>, context)
            .map_err(|e| match e {
                CallbackFailure::TableFull(m) => Error::new(ErrorKind::CallbackTableFull, m),
                CallbackFailure::Failed(m) => Error::new(ErrorKind::AbiUnsupported, m),
            })?;
        Ok(Callback {
            entry: native.entry,
            _native: native,
            _closure: closure,
            _module: PhantomData,
        })
    }
}
