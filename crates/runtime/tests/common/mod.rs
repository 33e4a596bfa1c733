//! Shared by the tests (and the bench) that call into the C fixtures tests/fixtures/jit_calls.c
//! and tests/fixtures/fallback_callers.c: building and loading them, Rust mirrors of their
//! structs with their ABI descriptions, argument-slot helpers, and the driver that runs one
//! case list on both backends (Cranelift thunks and the assembly fallback), naming the
//! backend a failure happened on.
#![allow(dead_code, clippy::upper_case_acronyms)]

use std::ffi::c_void;
use std::mem::size_of;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use ffidl::fallback::{AsmCall, Backend, CallEntry, Trampoline};
use ffidl_jit::abi::{classify, Abi, AbiType, AggLayout, LeafKind, Signature};
use ffidl_jit::thunk::ThunkCache;

pub const I1: LeafKind = LeafKind::Int(1);
pub const I2: LeafKind = LeafKind::Int(2);
pub const I4: LeafKind = LeafKind::Int(4);
pub const I8: LeafKind = LeafKind::Int(8);
pub const F4: LeafKind = LeafKind::F32;
pub const F8: LeafKind = LeafKind::F64;

/// Compiles `tests/fixtures/<stem>.c` with gcc into a library of this test binary's own
/// (test binaries run in parallel) and loads it.
fn build_fixture(stem: &str) -> libloading::Library {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(format!("{stem}.c"));
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{stem}_{}.so", env!("CARGO_CRATE_NAME")));
    let status = Command::new("gcc")
        .args(["-O2", "-shared", "-fPIC", "-o"])
        .arg(&out)
        .arg(&source)
        .status()
        .expect("gcc runs");
    assert!(status.success(), "gcc failed on {}", source.display());
    // SAFETY: the fixtures are our own C files with no initialisers.
    unsafe { libloading::Library::new(&out).expect("fixture loads") }
}

/// tests/fixtures/jit_calls.c: the functions called and the C callers of callbacks.
pub fn fixture() -> &'static libloading::Library {
    static LIB: OnceLock<libloading::Library> = OnceLock::new();
    LIB.get_or_init(|| build_fixture("jit_calls"))
}

/// tests/fixtures/fallback_callers.c: more C callers of callbacks.
pub fn callers() -> &'static libloading::Library {
    static LIB: OnceLock<libloading::Library> = OnceLock::new();
    LIB.get_or_init(|| build_fixture("fallback_callers"))
}

/// `name` from fallback_callers.c as `F`.
///
/// # Safety
/// `F` must be a function pointer type matching the C declaration.
pub unsafe fn caller<F: Copy>(name: &str) -> F {
    // SAFETY: the caller names the right type.
    unsafe { *callers().get::<F>(name.as_bytes()).expect(name) }
}

pub fn sym(name: &str) -> *const c_void {
    // SAFETY: only the address is taken; callers give it the right type.
    unsafe { *fixture().get::<*const c_void>(name.as_bytes()).expect(name) }
}

/// The fixture's `name` as a Rust function pointer of type `F`.
///
/// # Safety
/// `F` must be a function pointer type matching the C declaration.
pub unsafe fn native<F: Copy>(name: &str) -> F {
    let ptr = sym(name);
    assert_eq!(size_of::<F>(), size_of::<*const c_void>());
    std::mem::transmute_copy(&ptr)
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct S1 {
    pub a: i8,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct S2 {
    pub a: i16,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct S3 {
    pub a: i8,
    pub b: i8,
    pub c: i8,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct S4 {
    pub x: f32,
}
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct P5 {
    pub a: i32,
    pub b: i8,
}
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct P5u {
    pub a: i8,
    pub b: i32,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vec2f {
    pub x: f32,
    pub y: f32,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vec3f {
    pub x: f32,
    pub y: f32,
    pub z: f32,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DI {
    pub d: f64,
    pub i: i32,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CD {
    pub c: i8,
    pub d: f64,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IFD {
    pub i: i32,
    pub f: f32,
    pub d: f64,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LL {
    pub a: i64,
    pub b: i64,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vec2d {
    pub x: f64,
    pub y: f64,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LLC {
    pub a: i64,
    pub b: i64,
    pub c: i8,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct D4 {
    pub v: [f64; 4],
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct F3T {
    pub v: [f32; 3],
    pub tag: i32,
}
#[repr(C)]
#[derive(Clone, Copy)]
pub union UIF {
    pub i: i32,
    pub f: f32,
}
#[repr(C)]
#[derive(Clone, Copy)]
pub union UDL {
    pub d: [f64; 2],
    pub l: i64,
}

pub fn st(fields: &[LeafKind]) -> AbiType {
    AbiType::Aggregate(AggLayout::c_struct(fields))
}
pub fn packed(fields: &[LeafKind]) -> AbiType {
    AbiType::Aggregate(AggLayout::packed_struct(fields))
}

/// `double many_args(...)`: twenty arguments, some of them on the stack.
pub type ManyArgs = extern "C" fn(
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

/// The parameter types of [`ManyArgs`].
pub fn many_args_params() -> Vec<AbiType> {
    use AbiType as T;
    let mut params = vec![
        T::I64,
        T::F64,
        T::I32,
        T::F64,
        T::I8,
        T::F64,
        T::U16,
        T::F64,
    ];
    for _ in 0..5 {
        params.extend([T::I64, T::F64]);
    }
    params.extend([T::I32, T::F32]);
    params
}

/// `many_args` called directly with the arguments the tests (and the fixture's
/// `apply_many`) use: 1, 0.5, -2, 1.5, -3, 2.5, 40000, 3.5, 5, 4.5, ..., 9, 8.5, -10, 9.5.
pub fn many_args_native() -> f64 {
    // SAFETY: matches the C declaration.
    let f: ManyArgs = unsafe { native("many_args") };
    f(
        1, 0.5, -2, 1.5, -3, 2.5, 40000, 3.5, 5, 4.5, 6, 5.5, 7, 6.5, 8, 7.5, 9, 8.5, -10, 9.5,
    )
}

// ---------------------------------------------------------------- argument slots

pub fn f64s(v: f64) -> u64 {
    v.to_bits()
}
pub fn f32s(v: f32) -> u64 {
    // Garbage in the upper half: only the low 4 bytes may be read.
    0x5555_5555_0000_0000 | u64::from(v.to_bits())
}
pub fn by_ref<T>(v: &T) -> u64 {
    v as *const T as u64
}
/// A narrow integer slot with garbage above its width, which must be ignored.
pub fn narrow(v: i64, bytes: u32) -> u64 {
    let mask = if bytes == 8 {
        u64::MAX
    } else {
        (1u64 << (bytes * 8)) - 1
    };
    (v as u64 & mask) | (0xDEAD_BEEF_CAFE_F00Du64 & !mask)
}
pub fn variadic_sig(
    abi: Abi,
    params: Vec<AbiType>,
    ret: Option<AbiType>,
    fixed: usize,
) -> Signature {
    Signature {
        variadic_from: Some(fixed),
        ..Signature::new(abi, params, ret)
    }
}

// ---------------------------------------------------------------- both backends

/// Every backend a case runs on.
pub const BACKENDS: [Backend; 2] = [Backend::Cranelift, Backend::Asm];

/// Runs `case` on `backend`; a failure is reported again with the backend's name.
fn run_on<T>(backend: Backend, case: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(case)) {
        Ok(value) => value,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied());
            match message {
                Some(message) => panic!("on the {} backend: {message}", backend.name()),
                None => {
                    eprintln!("the case failed on the {} backend", backend.name());
                    resume_unwind(payload)
                }
            }
        }
    }
}

/// A 64-byte result buffer, aligned for any result used here, filled with 0xAA before
/// each call so that bytes written past a result show.
#[repr(C, align(16))]
#[derive(Clone, PartialEq, Debug)]
pub struct RetBuf(pub [u8; 64]);

impl RetBuf {
    pub fn i64(&self) -> i64 {
        i64::from_le_bytes(self.0[..8].try_into().unwrap())
    }
    pub fn u64(&self) -> u64 {
        self.i64() as u64
    }
    pub fn f64(&self) -> f64 {
        f64::from_bits(self.u64())
    }
    pub fn f32(&self) -> f32 {
        f32::from_bits(u32::from_le_bytes(self.0[..4].try_into().unwrap()))
    }
    pub fn value<T: Copy>(&self) -> T {
        assert!(size_of::<T>() <= 64);
        // SAFETY: the buffer holds 64 bytes; only plain-data test types are read.
        unsafe { std::ptr::read_unaligned(self.0.as_ptr().cast::<T>()) }
    }
    pub fn untouched_after(&self, size: usize) -> bool {
        self.0[size..].iter().all(|&b| b == 0xAA)
    }
    /// How many leading bytes were written (up to the last byte that is not 0xAA).
    pub fn written(&self) -> usize {
        self.0.iter().rposition(|&b| b != 0xAA).map_or(0, |i| i + 1)
    }
}

/// Makes calls through one backend and keeps every result buffer, so that the two
/// backends' runs of a case can be compared byte for byte.
pub struct Caller {
    pub backend: Backend,
    pub cache: ThunkCache,
    /// (target, result buffer) of every call made through [`Caller::call_at`].
    results: Vec<(String, RetBuf)>,
}

impl Caller {
    pub fn new(backend: Backend) -> Self {
        Caller {
            backend,
            cache: ThunkCache::new().expect("thunk cache"),
            results: Vec::new(),
        }
    }

    /// This backend's entry for `sig`.
    pub fn entry(&mut self, sig: &Signature) -> CallEntry {
        let plan = classify(sig).expect("classify");
        match self.backend {
            Backend::Cranelift => CallEntry::Thunk(self.cache.thunk(&plan).expect("thunk")),
            Backend::Asm => CallEntry::Asm(AsmCall::new(&plan).expect("asm call")),
        }
    }

    /// Calls `target` with the result written to `ret` (not recorded).
    ///
    /// # Safety
    /// The slots match `sig`, `sig` matches the C function and `ret` has room for its
    /// result.
    pub unsafe fn call_into(
        &mut self,
        sig: &Signature,
        target: *const c_void,
        args: &[u64],
        ret: *mut u8,
    ) {
        assert_eq!(sig.params.len(), args.len());
        let entry = self.entry(sig);
        // SAFETY: the caller's guarantee.
        unsafe { entry.call(target, args, ret) }.expect("call");
    }

    /// Calls `target` (called `what` in reports) into a fresh [`RetBuf`] and records it.
    pub fn call_at(
        &mut self,
        sig: &Signature,
        what: &str,
        target: *const c_void,
        args: &[u64],
    ) -> RetBuf {
        let mut ret = RetBuf([0xAA; 64]);
        // SAFETY: the cases give slots matching the signature, signatures matching the C
        // functions, and results of at most 64 bytes.
        unsafe { self.call_into(sig, target, args, ret.0.as_mut_ptr()) };
        self.results.push((what.to_owned(), ret.clone()));
        ret
    }

    /// Calls the fixture's `name`.
    pub fn call_sig(&mut self, sig: &Signature, name: &str, args: &[u64]) -> RetBuf {
        self.call_at(sig, name, sym(name), args)
    }

    pub fn call(
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

/// Runs the call case `case` once per backend, then checks that both backends wrote the
/// same extent of every result buffer (the values themselves are checked by the case;
/// padding bytes inside a struct result are unspecified, so they are not compared).
pub fn calls_on_each_backend(case: impl Fn(&mut Caller)) {
    let runs = BACKENDS.map(|backend| {
        let mut caller = Caller::new(backend);
        run_on(backend, || case(&mut caller));
        caller.results
    });
    let [first, second] = &runs;
    assert_eq!(
        first.len(),
        second.len(),
        "both backends make the same calls"
    );
    for ((what, a), (_, b)) in first.iter().zip(second) {
        assert_eq!(
            a.written(),
            b.written(),
            "{} and {} write different lengths of result for {what}",
            BACKENDS[0].name(),
            BACKENDS[1].name()
        );
    }
}

/// A Rust closure behind a callback: reads the argument slots, writes the result.
pub type Handler = Box<dyn Fn(*const u64, *mut u8)>;

/// The dispatcher of every callback made here.
///
/// # Safety
/// `context` must be a live `*const Handler`, `args` and `ret` what it expects.
pub unsafe extern "C" fn dispatch(context: *const c_void, args: *const u64, ret: *mut u8) {
    // SAFETY: every context given to a callback here is a live `*const Handler`.
    let handler = unsafe { &*context.cast::<Handler>() };
    handler(args, ret);
}

/// Makes callbacks through one backend; owns the handlers (so context pointers stay
/// valid), the thunk cache (so thunk code stays mapped) and the trampolines (so they
/// stay bound).
pub struct Callbacks {
    pub backend: Backend,
    // Boxed twice: each context pointer is the address of a `Handler`, which must not
    // move when the vector grows.
    #[allow(clippy::vec_box)]
    handlers: Vec<Box<Handler>>,
    trampolines: Vec<Trampoline>,
    cache: ThunkCache,
}

impl Callbacks {
    pub fn new(backend: Backend) -> Self {
        Callbacks {
            backend,
            handlers: Vec::new(),
            trampolines: Vec::new(),
            cache: ThunkCache::new().expect("thunk cache"),
        }
    }

    /// A native function with `sig`'s C signature that runs `handler`, or the backend's
    /// reason for refusing `sig`.
    pub fn try_make(
        &mut self,
        sig: Signature,
        handler: impl Fn(*const u64, *mut u8) + 'static,
    ) -> Result<*const c_void, String> {
        let handler: Box<Handler> = Box::new(Box::new(handler));
        let context = (&*handler as *const Handler).cast::<c_void>();
        self.handlers.push(handler);
        let plan = classify(&sig).expect("classify");
        match self.backend {
            Backend::Cranelift => self
                .cache
                .callback(&plan, dispatch, context)
                .map(|compiled| compiled.entry)
                .map_err(|err| err.to_string()),
            Backend::Asm => {
                let trampoline =
                    Trampoline::new(&plan, dispatch, context).map_err(|err| err.to_string())?;
                let entry = trampoline.entry();
                self.trampolines.push(trampoline);
                Ok(entry)
            }
        }
    }

    pub fn make(
        &mut self,
        sig: Signature,
        handler: impl Fn(*const u64, *mut u8) + 'static,
    ) -> *const c_void {
        self.try_make(sig, handler).expect("callback")
    }
}

/// Runs the callback case `case` once per backend.
pub fn callbacks_on_each_backend(case: impl Fn(&mut Callbacks)) {
    for backend in BACKENDS {
        let mut callbacks = Callbacks::new(backend);
        run_on(backend, || case(&mut callbacks));
    }
}

/// Reads slot `i` as `T` (the low bytes for scalars).
///
/// # Safety
/// `args` must hold at least `i + 1` slots.
pub unsafe fn slot<T: Copy>(args: *const u64, i: usize) -> T {
    unsafe { std::ptr::read_unaligned(args.add(i).cast::<T>()) }
}

/// Reads the aggregate slot `i` points to.
///
/// # Safety
/// Slot `i` must point to a valid `T`.
pub unsafe fn pointee<T: Copy>(args: *const u64, i: usize) -> T {
    unsafe { std::ptr::read_unaligned(slot::<u64>(args, i) as *const T) }
}

/// Writes `value` to the result buffer.
///
/// # Safety
/// `ret` must have room for a `T`.
pub unsafe fn put<T>(ret: *mut u8, value: T) {
    unsafe { std::ptr::write_unaligned(ret.cast::<T>(), value) }
}
