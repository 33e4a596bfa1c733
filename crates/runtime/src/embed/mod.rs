//! The embedding API: load `.ffidl` bindings from a Rust program and call the native
//! functions they declare, with no `unsafe` in the caller.
//!
//! - [`Runtime`] loads a file or a string (with its imports) into a [`Module`], or fails
//!   with an [`Error`] of a typed [`ErrorKind`].
//! - [`Module::function`] prepares a dynamic call ([`Function::call`] with [`Value`]s).
//! - [`Module::typed`] checks a declared function against a Rust `extern "C" fn` type and
//!   returns a [`TypedFn`] that calls it directly, as fast as a native call.
//! - [`Module::callback`] turns a Rust closure into a C function pointer ([`Callback`]).
//! - [`Module::new_struct`], [`StructValue`] and [`repr_c!`](crate::repr_c) build and
//!   read struct values by field name or as checked `#[repr(C)]` types.
//! - [`Module::run`] runs the script's top-level statements as `ffidl run` does.
//!
//! A module is `Send` and `Sync`: share it between threads by reference or in an `Arc`.
//! Handles, values and callbacks borrow it, so none outlives the libraries they use.
//!
//! ```
//! let module = ffidl::Runtime::new().load_str(
//!     "m.ffidl",
//!     r#"library m = "libm.so.6";
//!        extern m { fn cos(x: f64) -> f64; }"#,
//! )?;
//! let cos = module.typed::<extern "C" fn(f64) -> f64>("cos")?;
//! assert_eq!(cos.call((0.0,)), 1.0);
//! assert_eq!(module.call("cos", &[0.0.into()])?, ffidl::Value::F64(1.0));
//! # Ok::<(), ffidl::Error>(())
//! ```

mod callback;
mod consts;
mod error;
mod typed;
mod value;

pub use callback::{Callback, IntoCallback};
pub use error::{Error, ErrorKind, Location};
pub use typed::{Aggregate, CFn, CReturn, CType, FnAbi, Shape};
pub use value::{StructValue, Value};

use crate::fallback::{Backend, CallEntry};
use crate::interp::compile::ForeignLink;
use crate::{lock, lower, Loaded, Outcome};
use ffidl_jit::classify;
use ffidl_jit::{ValueLayout, ValueThunkFn};
use ffidl_lang::span::SourceMap;
use ffidl_lang::tir::{Program, TypeId, TypeKind};
use ffidl_lang::{check_source, read_source, Target};
use std::ffi::c_void;
use std::io::Write;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::path::Path;
use std::sync::OnceLock;
use typed::mismatch;
use value::{Kind, Tag};

/// Loads `.ffidl` bindings into [`Module`]s. Cheap to create and to copy; holds only the
/// choice of backend.
///
/// ```
/// let runtime = ffidl::Runtime::new();
/// let module = runtime.load_str("empty.ffidl", "const ANSWER: i32 = 42;").unwrap();
/// assert_eq!(module.function_names().count(), 0);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Runtime {
    backend: Option<Backend>,
}

impl Runtime {
    /// A runtime that uses the backend `FFIDL_BACKEND` names (Cranelift when unset).
    pub fn new() -> Runtime {
        Runtime::default()
    }

    /// A runtime that makes every call through `backend` (Cranelift thunks or the
    /// assembly fallback).
    pub fn with_backend(backend: Backend) -> Runtime {
        Runtime {
            backend: Some(backend),
        }
    }

    /// Reads, checks and loads the `.ffidl` file at `path` and the files it imports:
    /// opens its libraries, resolves its symbols and prepares its calls. Top-level
    /// statements do not run (see [`Module::run`]).
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<Module, Error> {
        let path = path.as_ref();
        let text = read_source(path).map_err(|m| Error::new(ErrorKind::Io, m))?;
        self.load(&path.display().to_string(), path.canonicalize().ok(), text)
    }

    /// Checks and loads `source` as a file called `name` (the name is used in
    /// diagnostics; relative imports and library paths are resolved from the current
    /// directory).
    pub fn load_str(&self, name: &str, source: &str) -> Result<Module, Error> {
        self.load(name, None, source.to_owned())
    }

    fn load(
        &self,
        name: &str,
        path: Option<std::path::PathBuf>,
        text: String,
    ) -> Result<Module, Error> {
        let mut map = SourceMap::new();
        let program = check_source(&mut map, name, path, text, Target::host())
            .map_err(|d| Error::from_diagnostics(&map, &d))?;
        let backend = match self.backend {
            Some(b) => b,
            None => Backend::from_env().map_err(|m| Error::new(ErrorKind::AbiUnsupported, m))?,
        };
        let loaded = crate::load_with(&program, &map, backend)
            .map_err(|d| Error::from_diagnostics(&map, &d))?;
        let value_thunks = program
            .foreign_fns
            .iter()
            .map(|_| OnceLock::new())
            .collect();
        Ok(Module {
            loaded,
            program,
            map,
            value_thunks,
        })
    }
}

/// Loaded bindings: their libraries stay open and their thunks stay valid until the
/// module is dropped. Everything that calls into them borrows the module.
pub struct Module {
    // Field order is drop order: the loaded code and libraries go first.
    loaded: Loaded,
    program: Program,
    map: SourceMap,
    /// Per foreign function, its value thunk once [`Module::function`] first asked
    /// (`None` when it has none: not all scalars, variadic, or the assembly backend).
    value_thunks: Box<[OnceLock<Option<ValueThunkFn>>]>,
}

// Compile-time proof that a module can be shared between threads.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Module>();
    shared::<Function<'static>>();
    shared::<Value<'static>>();
};

impl Module {
    /// The backend the calls go through.
    pub fn backend(&self) -> Backend {
        self.loaded.backend()
    }

    /// The names of the declared foreign functions, in declaration order.
    pub fn function_names(&self) -> impl Iterator<Item = &str> {
        self.program.foreign_fns.iter().map(|f| f.name.as_str())
    }

    /// Prepares dynamic calls of the foreign function `name`.
    ///
    /// ```
    /// # let module = ffidl::Runtime::new().load_str("m.ffidl",
    /// #     r#"library c = "libc.so.6"; extern c { fn abs(x: i32) -> i32; }"#)?;
    /// let abs = module.function("abs")?;
    /// assert_eq!(abs.call(&[(-5).into()])?, ffidl::Value::I32(5));
    /// # Ok::<(), ffidl::Error>(())
    /// ```
    pub fn function(&self, name: &str) -> Result<Function<'_>, Error> {
        let index = self.foreign_index(name)?;
        let f = &self.program.foreign_fns[index];
        let ForeignLink { target, thunk } = &self.loaded.foreign[index];
        let ret = Kind::of(&self.program, f.sig.ret);
        let params: Vec<Kind> = f
            .sig
            .params
            .iter()
            .map(|&t| Kind::of(&self.program, t))
            .collect();
        let value_thunk = match thunk {
            Some(CallEntry::Thunk(_)) => *self.value_thunks[index]
                .get_or_init(|| self.compile_value_thunk(index, &params, ret)),
            _ => None,
        };
        Ok(Function {
            module: self,
            index,
            target: *target,
            entry: thunk.clone(),
            value_thunk,
            exact_tags: params.iter().map(|k| k.exact_tag()).collect(),
            params,
            ret,
            ret_tag: ret.result_tag(),
        })
    }

    /// The value thunk of foreign function `index` (see [`Function::call`]), if all its
    /// parameters and its result are scalars (or it has no result) and the Cranelift
    /// backend is in use.
    fn compile_value_thunk(
        &self,
        index: usize,
        params: &[Kind],
        ret: Kind,
    ) -> Option<ValueThunkFn> {
        let sig = &self.program.foreign_fns[index].sig;
        let args = params
            .iter()
            .map(|k| match k {
                Kind::Cstr | Kind::Agg { .. } | Kind::Void => None,
                k => value::scalar_field(k.exact_tag()),
            })
            .collect::<Option<Vec<_>>>()?;
        let ret_field = match ret {
            Kind::Cstr | Kind::Agg { .. } => return None,
            k => value::scalar_field(k.result_tag())?,
        };
        let layout = ValueLayout {
            stride: u32::try_from(std::mem::size_of::<Value<'_>>()).ok()?,
            args,
            ret: ret_field,
            ret_bool: ret == Kind::Bool,
        };
        let plan = lower::jit_signature(&self.program, sig, &[]).ok()?;
        let plan = classify(&plan).ok()?;
        lock(&self.loaded.entries)
            .thunk_cache()?
            .value_thunk(&plan, &layout)
            .ok()
    }

    /// Calls the foreign function `name` with `args` (see [`Function::call`]).
    pub fn call(&self, name: &str, args: &[Value<'_>]) -> Result<Value<'_>, Error> {
        self.function(name)?.call(args)
    }

    /// The foreign function `name` as the Rust function pointer type `F`, after checking
    /// that `F` has the declared parameters, result and calling convention (else an
    /// [`ErrorKind::SignatureMismatch`] error at the declaration). Variadic functions
    /// cannot be typed.
    ///
    /// ```
    /// # let module = ffidl::Runtime::new().load_str("m.ffidl",
    /// #     r#"library c = "libc.so.6"; extern c { fn abs(x: i32) -> i32; }"#)?;
    /// let abs = module.typed::<extern "C" fn(i32) -> i32>("abs")?;
    /// assert_eq!(abs.call((-5,)), 5);
    /// assert!(module.typed::<extern "C" fn(i64) -> i32>("abs").is_err());
    /// # Ok::<(), ffidl::Error>(())
    /// ```
    pub fn typed<F: CFn>(&self, name: &str) -> Result<TypedFn<'_, F>, Error> {
        let index = self.foreign_index(name)?;
        let f = &self.program.foreign_fns[index];
        let fail = |m: String| {
            Error::new(ErrorKind::SignatureMismatch, format!("`{name}`: {m}")).at(&self.map, f.span)
        };
        if f.sig.variadic {
            return Err(fail(
                "a variadic function cannot be typed; use `Module::function`".into(),
            ));
        }
        check_signature(&self.program, &f.sig, Some(F::ABI), F::PARAMS, F::RET).map_err(fail)?;
        let target = self.loaded.foreign[index].target;
        Ok(TypedFn {
            // SAFETY: `target` is the resolved symbol, whose declared signature `F` matches.
            f: unsafe { F::from_ptr(target) },
            _module: PhantomData,
        })
    }

    /// A zeroed value of the declared struct, union or array type `type_name`.
    pub fn new_struct(&self, type_name: &str) -> Result<StructValue<'_>, Error> {
        let ty = self.aggregate_type(type_name)?;
        Ok(StructValue::zeroed(&self.program, ty))
    }

    /// `value` as a value of the declared type with the same name as `T` (the name
    /// [`repr_c!`](crate::repr_c) recorded), after checking the layouts match.
    pub fn struct_value<T: CType>(&self, value: &T) -> Result<StructValue<'_>, Error> {
        let (Shape::Struct(agg) | Shape::Union(agg)) = &T::SHAPE else {
            return Err(Error::new(
                ErrorKind::Layout,
                "only structs and unions have a declared name",
            ));
        };
        let ty = self.aggregate_type(agg.name)?;
        StructValue::from_repr(&self.program, ty, value)
    }

    /// Checks that the Rust type `T` has the layout of the declared type `type_name`
    /// (size, alignment, and every field's name, offset and type, recursively), else an
    /// [`ErrorKind::Layout`] error at the declaration.
    ///
    /// ```
    /// ffidl::repr_c! { #[derive(Clone, Copy)] struct Pair { a: u8, b: u32 } }
    /// let module = ffidl::Runtime::new()
    ///     .load_str("p.ffidl", "struct Pair { a: u8, b: u32 }\n@packed struct Tight { a: u8, b: u32 }")
    ///     .unwrap();
    /// module.check_layout::<Pair>("Pair").unwrap();
    /// let err = module.check_layout::<Pair>("Tight").unwrap_err();
    /// assert_eq!(err.kind(), ffidl::ErrorKind::Layout);
    /// ```
    pub fn check_layout<T: CType>(&self, type_name: &str) -> Result<(), Error> {
        let ty = self.type_id(type_name)?;
        match mismatch(&self.program, ty, &T::SHAPE, type_name) {
            None => Ok(()),
            Some(why) => Err(self.at_type(Error::new(ErrorKind::Layout, why), ty)),
        }
    }

    /// Runs the top-level statements, as `ffidl run` does, writing `print` output to
    /// `out`. Global variables start from zero on every run; runs of one module wait for
    /// each other. A runtime error is an [`ErrorKind::Runtime`] error at its statement.
    ///
    /// ```
    /// let module = ffidl::Runtime::new().load_str("hi.ffidl", r#"print("hi", 6 * 7);"#).unwrap();
    /// let (status, out) = module.run_to_string();
    /// assert_eq!(status.unwrap(), ffidl::RunStatus::Finished);
    /// assert_eq!(out, "hi 42\n");
    /// ```
    pub fn run(&self, out: impl Write + 'static) -> Result<RunStatus, Error> {
        match self.loaded.run_shared(Box::new(out)) {
            Outcome::Finished => Ok(RunStatus::Finished),
            Outcome::Exit(code) => Ok(RunStatus::Exit(code)),
            Outcome::Error(d) => Err(Error::from_diagnostics(&self.map, &[d])),
        }
    }

    /// [`Module::run`], collecting the output in a string (also when the run fails).
    pub fn run_to_string(&self) -> (Result<RunStatus, Error>, String) {
        let buffer = SharedBuffer::default();
        let status = self.run(buffer.clone());
        let bytes = std::mem::take(&mut *lock(&buffer.0));
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    fn foreign_index(&self, name: &str) -> Result<usize, Error> {
        self.program
            .foreign_fns
            .iter()
            .position(|f| f.name == name)
            .ok_or_else(|| {
                Error::unknown_name(
                    format!("no foreign function named `{name}` is declared"),
                    name,
                    self.function_names(),
                )
            })
    }

    fn type_id(&self, name: &str) -> Result<TypeId, Error> {
        let names = &self.program.type_names;
        match names.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
            Ok(i) => Ok(names[i].1),
            Err(_) => Err(Error::unknown_name(
                format!("no type named `{name}` is declared"),
                name,
                names.iter().map(|(n, _)| n.as_str()),
            )),
        }
    }

    fn aggregate_type(&self, name: &str) -> Result<TypeId, Error> {
        let ty = self.type_id(name)?;
        match self.program.ty(ty).kind {
            TypeKind::Struct(_) | TypeKind::Union(_) | TypeKind::Array { .. } => Ok(ty),
            _ => Err(Error::new(
                ErrorKind::ValueMismatch,
                format!("`{name}` is not a struct, union or array type"),
            )),
        }
    }

    fn at_type(&self, err: Error, ty: TypeId) -> Error {
        match &self.program.ty(ty).kind {
            TypeKind::Struct(a) | TypeKind::Union(a) => err.at(&self.map, a.span),
            TypeKind::Callback(c) => err.at(&self.map, c.span),
            _ => err,
        }
    }
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("backend", &self.backend())
            .field("functions", &self.function_names().collect::<Vec<_>>())
            .finish()
    }
}

/// How a [`Module::run`] ended without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// The last top-level statement finished.
    Finished,
    /// The script called `exit(code)`.
    Exit(i32),
}

impl RunStatus {
    /// The exit status `ffidl run` would use.
    pub fn code(self) -> i32 {
        match self {
            RunStatus::Finished => 0,
            RunStatus::Exit(code) => code,
        }
    }
}

#[derive(Clone, Default)]
struct SharedBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Checks a Rust signature (`params`, `ret`, `abi`; no `abi` for closures, which take
/// the declared convention) against a declared one.
fn check_signature(
    program: &Program,
    sig: &ffidl_lang::tir::Signature,
    abi: Option<FnAbi>,
    params: &[&Shape],
    ret: Option<&Shape>,
) -> Result<(), String> {
    let declared = lower::jit_abi(sig.abi);
    let rust = match abi {
        None => declared,
        Some(FnAbi::C) => ffidl_jit::Abi::host(),
        Some(FnAbi::Win64) => ffidl_jit::Abi::Win64,
        Some(FnAbi::SysV64) => ffidl_jit::Abi::SysV64,
    };
    if declared != rust {
        return Err(format!(
            "declared with the {declared} convention, the Rust type uses {rust}"
        ));
    }
    if sig.params.len() != params.len() {
        return Err(format!(
            "declared with {} parameters, the Rust type has {}",
            sig.params.len(),
            params.len()
        ));
    }
    for (i, (&ty, shape)) in sig.params.iter().zip(params).enumerate() {
        if let Some(why) = mismatch(program, ty, shape, &format!("parameter {}", i + 1)) {
            return Err(why);
        }
    }
    match (sig.ret == TypeId::VOID, ret) {
        (true, None) => Ok(()),
        (true, Some(_)) => Err("declared with no result, the Rust type has one".into()),
        (false, None) => Err(format!(
            "declared to return `{}`, the Rust type returns `()`",
            program.type_name(sig.ret)
        )),
        (false, Some(shape)) => mismatch(program, sig.ret, shape, "result").map_or(Ok(()), Err),
    }
}

/// A prepared dynamic call of one foreign function: the arguments are [`Value`]s checked
/// against the declaration on every call, the result a [`Value`].
///
/// Like every handle, it borrows its [`Module`]:
///
/// ```compile_fail,E0716
/// let f = ffidl::Runtime::new()
///     .load_str("m.ffidl", r#"library c = "libc.so.6"; extern c { fn abs(x: i32) -> i32; }"#)
///     .unwrap()
///     .function("abs")
///     .unwrap(); // error[E0716]: temporary value dropped while borrowed
/// f.call(&[1.into()]);
/// ```
pub struct Function<'m> {
    module: &'m Module,
    index: usize,
    target: *const c_void,
    /// The call entry of the declared plan (`None` for variadic functions).
    entry: Option<CallEntry>,
    /// The call straight from [`Value`]s to a [`Value`] (Cranelift, all scalars).
    value_thunk: Option<ValueThunkFn>,
    params: Vec<Kind>,
    /// Per parameter, the [`Value`] variant that passes unconverted.
    exact_tags: Box<[Tag]>,
    ret: Kind,
    /// How a scalar result is read back (`ret.result_tag()`).
    ret_tag: Tag,
}

// SAFETY: `target` is the address of a function in a library the borrowed module keeps
// open; a `Function` never mutates anything, and the call entry is immutable code.
unsafe impl Send for Function<'_> {}
// SAFETY: as above.
unsafe impl Sync for Function<'_> {}

/// Most slots a call prepares without allocating.
const INLINE_SLOTS: usize = 16;
/// Largest result (bytes) a call receives without allocating.
const INLINE_RESULT: usize = 64;

impl<'m> Function<'m> {
    /// The declared name.
    pub fn name(&self) -> &'m str {
        &self.module.program.foreign_fns[self.index].name
    }

    /// Whether calls with arguments of exactly the declared kinds go through a value
    /// thunk (Cranelift backend, scalar parameters and result). For tests and benchmarks.
    #[doc(hidden)]
    pub fn has_value_thunk(&self) -> bool {
        self.value_thunk.is_some()
    }

    /// Calls the function. `args` must have one value per declared parameter (more for a
    /// variadic function: each extra value is passed with C's default promotions), each
    /// of the declared kind ([`Value`] says which conversions are made); anything else is
    /// an [`ErrorKind::ValueMismatch`] error and nothing is called.
    #[inline(always)]
    pub fn call(&self, args: &[Value<'_>]) -> Result<Value<'m>, Error> {
        if let Some(thunk) = self.value_thunk {
            if args.len() == self.params.len() {
                let mut out = MaybeUninit::<Value<'m>>::uninit();
                // SAFETY: the value thunk was compiled from this function's declared plan
                // with the layout of `Value` (`repr(u8)`: tag byte first, each scalar
                // variant's payload at the offset `value::scalar_field` measured, records
                // `size_of::<Value>()` apart), and `target` is the resolved symbol. It
                // reads `args.len()` records of the slice, all valid values, and a
                // payload only after its tag matched the parameter's exact scalar
                // variant; it writes only into `out`, which has room for a `Value`.
                let status =
                    unsafe { thunk(self.target, args.as_ptr().cast(), out.as_mut_ptr().cast()) };
                if status == 0 {
                    // SAFETY: status 0 means the call was made and the thunk stored the
                    // result variant's tag byte and every byte of its payload (a `bool`
                    // as exactly 0 or 1; `Void` has none): a valid `Value` of the declared
                    // scalar result kind.
                    return Ok(unsafe { out.assume_init() });
                }
            }
            return self.call_refused(args);
        }
        self.call_checked(args)
    }

    /// [`Function::call`], storing the result in `out` instead of returning it: for hot
    /// loops, where building and moving a new [`Value`] for every result is a cost of its
    /// own. `out` may hold anything before (it is replaced); on an error it is unchanged.
    ///
    /// ```
    /// # let module = ffidl::Runtime::new().load_str("m.ffidl",
    /// #     r#"library c = "libc.so.6"; extern c { fn abs(x: i32) -> i32; }"#)?;
    /// let abs = module.function("abs")?;
    /// let mut out = ffidl::Value::Void;
    /// let mut sum = 0;
    /// for i in -3..3 {
    ///     abs.call_into(&[i.into()], &mut out)?;
    ///     sum += out.as_i64().unwrap();
    /// }
    /// assert_eq!(sum, 3 + 2 + 1 + 0 + 1 + 2);
    /// # Ok::<(), ffidl::Error>(())
    /// ```
    #[inline(always)]
    pub fn call_into(&self, args: &[Value<'_>], out: &mut Value<'m>) -> Result<(), Error> {
        if let Some(thunk) = self.value_thunk {
            // Only scalar variants may be overwritten in place (nothing to drop).
            let scalar = !matches!(out, Value::CStr(_) | Value::Struct(_));
            if args.len() == self.params.len() && scalar {
                // SAFETY: as in `call`; `out` is a valid `Value` of a scalar variant, so
                // the thunk may overwrite its bytes with another scalar variant (tag and
                // payload) without anything being leaked, and it writes nothing when it
                // refuses the arguments (status 1).
                let status = unsafe {
                    thunk(
                        self.target,
                        args.as_ptr().cast(),
                        (out as *mut Value<'m>).cast(),
                    )
                };
                if status == 0 {
                    return Ok(());
                }
            }
        }
        self.call_into_other(args, out)
    }

    /// [`Function::call_into`] when the value thunk does not apply: a struct result
    /// written over a struct of its type, or a new value.
    #[inline(never)]
    fn call_into_other(&self, args: &[Value<'_>], out: &mut Value<'m>) -> Result<(), Error> {
        if let (Some(entry), Kind::Agg { ty, .. }, Value::Struct(dest)) =
            (&self.entry, self.ret, &mut *out)
        {
            let fixed = args.len() == self.params.len() && args.len() <= INLINE_SLOTS;
            if fixed && dest.ty == ty && std::ptr::eq(dest.program, &self.module.program) {
                // A struct result of the same type is written over the old one's bytes.
                let mut slots = [std::mem::MaybeUninit::<u64>::uninit(); INLINE_SLOTS];
                let slots = self.fill_slots(args, &mut slots)?;
                // SAFETY: as in `call_fixed`: `dest` holds a value of the declared result
                // type, whose bytes have room for the result (at least 32 bytes, or its
                // exact size rounded up to 8), and `args` cannot alias it.
                return unsafe { call_entry(entry, self.target, slots, dest.bytes.as_mut_ptr()) };
            }
        }
        *out = self.call(args)?;
        Ok(())
    }

    /// [`Function::call_checked`] when the value thunk refused the arguments (or their
    /// number): out of line, so that the value thunk's path stays small.
    #[inline(never)]
    fn call_refused(&self, args: &[Value<'_>]) -> Result<Value<'m>, Error> {
        self.call_checked(args)
    }

    /// Every argument checked and converted on the Rust side. Inline, so that a
    /// struct result is built where the caller wants it.
    #[inline(always)]
    fn call_checked(&self, args: &[Value<'_>]) -> Result<Value<'m>, Error> {
        match &self.entry {
            Some(entry) if args.len() == self.params.len() && args.len() <= INLINE_SLOTS => {
                self.call_fixed(entry, args)
            }
            _ => self.call_general(args),
        }
    }

    /// The slots of a call with the declared number of arguments (at most
    /// [`INLINE_SLOTS`]), each value checked against its parameter.
    #[inline(always)]
    fn fill_slots<'s>(
        &self,
        args: &[Value<'_>],
        slots: &'s mut [std::mem::MaybeUninit<u64>; INLINE_SLOTS],
    ) -> Result<&'s [u64], Error> {
        let program = &self.module.program;
        let n = args.len();
        let (exact_tags, params) = (&self.exact_tags[..n], &self.params[..n]);
        for i in 0..n {
            let (arg, exact) = (&args[i], exact_tags[i]);
            let (tag, bits) = arg.tag_bits();
            let bits =
                if tag == exact && (tag != Tag::Struct || params[i].is_own_struct(program, arg)) {
                    bits
                } else {
                    params[i]
                        .encode_converted(program, arg)
                        .map_err(|m| self.bad_argument(i, m))?
                };
            slots[i].write(bits);
        }
        // SAFETY: the loop wrote the first `n` slots (`n <= INLINE_SLOTS`).
        Ok(unsafe { std::slice::from_raw_parts(slots.as_ptr().cast(), n) })
    }

    /// The common case, kept tight: a non-variadic call with its declared number of
    /// arguments (at most [`INLINE_SLOTS`]); nothing is allocated unless the result is a
    /// struct of more than 32 bytes or a string.
    #[inline(always)]
    fn call_fixed(&self, entry: &CallEntry, args: &[Value<'_>]) -> Result<Value<'m>, Error> {
        let program = &self.module.program;
        let mut slots = [std::mem::MaybeUninit::<u64>::uninit(); INLINE_SLOTS];
        let slots = self.fill_slots(args, &mut slots)?;
        match self.ret {
            Kind::Agg { ty, size } => {
                // The result is written straight into the new value's bytes: at least 32
                // bytes (room for any result returned in registers) or, for a larger
                // struct returned through memory, its exact size rounded up to 8.
                // The `Result` is built first and the call writes into it, so that the
                // value is not copied afterwards.
                let mut result = Ok(Value::Struct(StructValue {
                    program,
                    ty,
                    bytes: value::Bytes::zeroed(size),
                }));
                if let Ok(Value::Struct(value)) = &mut result {
                    // SAFETY: as in `call_general`; the value's bytes have room for the
                    // result.
                    unsafe { call_entry(entry, self.target, slots, value.bytes.as_mut_ptr())? };
                }
                result
            }
            _ => {
                let mut word = 0u64;
                // SAFETY: as in `call_general`; a scalar result is stored widened to the
                // 8-byte `word`.
                unsafe { call_entry(entry, self.target, slots, (&mut word as *mut u64).cast())? };
                // SAFETY: the call stored a value of the declared result kind in `word`.
                Ok(unsafe { self.ret_tag.value_of_word(word) })
            }
        }
    }

    /// Any call: variadic ones (extra values promoted), and more than [`INLINE_SLOTS`]
    /// arguments.
    #[inline(never)]
    fn call_general(&self, args: &[Value<'_>]) -> Result<Value<'m>, Error> {
        let program = &self.module.program;
        let fixed = self.params.len();
        let variadic_entry;
        let entry = match &self.entry {
            Some(entry) if args.len() == fixed => entry,
            _ => {
                variadic_entry = self.variadic_entry(args)?;
                &variadic_entry
            }
        };
        let mut inline = [0u64; INLINE_SLOTS];
        let mut heap = Vec::new();
        let slots: &mut [u64] = if args.len() <= INLINE_SLOTS {
            &mut inline[..args.len()]
        } else {
            heap.resize(args.len(), 0);
            &mut heap
        };
        for (i, (slot, arg)) in slots.iter_mut().zip(args).enumerate() {
            let kind = match self.params.get(i) {
                Some(k) => *k,
                None => match arg {
                    // C promotes `_Bool` to `int`.
                    Value::Bool(b) => {
                        *slot = u64::from(*b);
                        continue;
                    }
                    _ => Kind::of(program, arg.variadic_type().unwrap_or(TypeId::I32)),
                },
            };
            *slot = kind
                .encode(program, arg)
                .map_err(|m| self.bad_argument(i, m))?;
        }
        let mut ret_inline = [0u64; INLINE_RESULT / 8];
        let mut ret_heap = Vec::new();
        let size = match self.ret {
            Kind::Agg { size, .. } => size,
            _ => 8,
        };
        let ret: *mut u8 = if size <= INLINE_RESULT {
            ret_inline.as_mut_ptr().cast()
        } else {
            ret_heap.resize(size.div_ceil(8), 0u64);
            ret_heap.as_mut_ptr().cast()
        };
        // SAFETY: the entry was made from this function's declared signature (or, for a
        // variadic call, from the declared one plus the promoted types of the extra
        // values), the target is the resolved symbol, each slot holds a value of its
        // parameter's kind (aggregates point into `args`, alive for the call), and `ret`
        // has room for the declared result.
        unsafe { entry.call(self.target, slots, ret) }
            .map_err(|e| Error::new(ErrorKind::AbiUnsupported, e.to_string()))?;
        // SAFETY: the call wrote a value of the declared result type to `ret`.
        Ok(unsafe { self.ret.read(program, ret) })
    }

    fn variadic_entry(&self, args: &[Value<'_>]) -> Result<CallEntry, Error> {
        let f = &self.module.program.foreign_fns[self.index];
        let fixed = self.params.len();
        if !f.sig.variadic || args.len() < fixed {
            return Err(Error::new(
                ErrorKind::ValueMismatch,
                format!("`{}` takes {fixed} arguments, {} given", f.name, args.len()),
            ));
        }
        let mut extra = Vec::with_capacity(args.len() - fixed);
        for (i, a) in args.iter().enumerate().skip(fixed) {
            match a.variadic_type() {
                Some(t) => extra.push(t),
                None => {
                    return Err(self.bad_argument(
                        i,
                        format!("a {} cannot be a variadic argument", a.kind_name()),
                    ))
                }
            }
        }
        let program = &self.module.program;
        let plan = lower::jit_signature(program, &f.sig, &extra)
            .and_then(|s| classify(&s).map_err(|e| e.to_string()))
            .map_err(|m| Error::new(ErrorKind::AbiUnsupported, m))?;
        lock(&self.module.loaded.entries)
            .entry(&plan)
            .map_err(|m| Error::new(ErrorKind::AbiUnsupported, m))
    }

    fn bad_argument(&self, i: usize, m: String) -> Error {
        Error::new(
            ErrorKind::ValueMismatch,
            format!("`{}`, argument {}: {m}", self.name(), i + 1),
        )
    }
}

/// Calls through `entry`: a Cranelift thunk directly (inline, no `Result` to unpack),
/// the assembly fallback through [`CallEntry::call`].
///
/// # Safety
/// [`CallEntry::call`]'s contract.
#[inline(always)]
unsafe fn call_entry(
    entry: &CallEntry,
    target: *const c_void,
    slots: &[u64],
    ret: *mut u8,
) -> Result<(), Error> {
    match entry {
        // SAFETY: the caller's guarantee is the thunk's contract.
        CallEntry::Thunk(thunk) => unsafe { thunk(target, slots.as_ptr(), ret) },
        // SAFETY: as above.
        CallEntry::Asm(_) => unsafe { entry.call(target, slots, ret) }
            .map_err(|e| Error::new(ErrorKind::AbiUnsupported, e.to_string()))?,
    }
    Ok(())
}

/// A foreign function as a Rust function pointer of type `F`, checked against its
/// declaration ([`Module::typed`]). [`TypedFn::call`] is a direct call: no conversion,
/// no thunk. It borrows the module, which keeps the library loaded, so a handle cannot
/// be used after its module is dropped:
///
/// ```compile_fail,E0597
/// let abs = {
///     let m = ffidl::Runtime::new()
///         .load_str("m.ffidl", r#"library c = "libc.so.6"; extern c { fn abs(x: i32) -> i32; }"#)
///         .unwrap();
///     m.typed::<extern "C" fn(i32) -> i32>("abs").unwrap()
/// }; // error[E0597]: `m` does not live long enough
/// abs.call((-1,));
/// ```
pub struct TypedFn<'m, F: CFn> {
    f: F,
    _module: PhantomData<&'m Module>,
}

impl<F: CFn> Clone for TypedFn<'_, F> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<F: CFn> Copy for TypedFn<'_, F> {}

impl<F: CFn> TypedFn<'_, F> {
    /// Calls the function with a tuple of arguments: `add.call((1, 2))`.
    ///
    /// The `.ffidl` declaration is the contract: the call is as safe as the C function
    /// is with these arguments (pointers it dereferences must be valid, as in C).
    #[inline(always)]
    pub fn call(&self, args: F::Args) -> F::Output {
        self.f.invoke(args)
    }

    /// The raw function pointer.
    ///
    /// # Safety
    /// The pointer must not be called after the module is dropped (the library may be
    /// unloaded); [`TypedFn::call`] cannot outlive it.
    pub unsafe fn as_fn(&self) -> F {
        self.f
    }
}

impl Module {
    pub(crate) fn program(&self) -> &Program {
        &self.program
    }

    pub(crate) fn loaded(&self) -> &Loaded {
        &self.loaded
    }
}
