//! The C API (`include/ffidl.h`, exported by `libffidl.so`): opaque handles over the
//! embedding API ([`Runtime`], [`Module`], [`Function`]), tagged [`ffidl_value`]s
//! converted to and from [`Value`]s, and a per-thread last error.
//!
//! This is the only module with `extern "C"` entry points. It owns the C side of things
//! only: C values become [`Value`]s and results become C values here, while every check
//! and conversion of a value against a declaration is the embedding API's. Every entry
//! point runs its body under `catch_unwind`, so no panic crosses into C: a panic becomes
//! an [`FFIDL_ERROR_INTERNAL`] error (the readers of the last error have no panicking
//! path).
//!
//! Lifetimes: a module handle holds an `Arc<Module>`; each function handle holds another
//! clone, so modules and function handles may be freed in any order.

#![allow(non_camel_case_types)]

use crate::{Backend, Error, ErrorKind, Function, Module, RunStatus, Runtime, Value};
use std::alloc::Layout;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};

/// A runtime handle (`ffidl_runtime*` in C): the choice of backend.
pub struct ffidl_runtime {
    runtime: Runtime,
}

/// A module handle (`ffidl_module*` in C): shares the loaded module with the function
/// handles made from it.
pub struct ffidl_module {
    module: Arc<Module>,
}

/// A prepared function handle (`ffidl_function*` in C).
pub struct ffidl_function {
    // Field order is drop order: the function borrows the module the `Arc` keeps alive.
    function: Function<'static>,
    module: Arc<Module>,
}

/// The kind of a C error, as `ffidl_error_kind` in C: 0 for none, 1 to 12 for the
/// [`ErrorKind`]s, and the two kinds only the C API has.
pub type ffidl_error_kind = c_int;
/// The last fallible call succeeded.
pub const FFIDL_OK: ffidl_error_kind = 0;
/// Misuse of the C API: a NULL pointer, an unknown tag or enum value, a non-UTF-8 string.
pub const FFIDL_ERROR_INVALID_ARGUMENT: ffidl_error_kind = 100;
/// A panic inside ffidl was caught at the boundary (a bug in ffidl).
pub const FFIDL_ERROR_INTERNAL: ffidl_error_kind = 101;

/// The C number of an [`ErrorKind`] (`FFIDL_ERROR_IO` = 1 ... `FFIDL_ERROR_VALUE_MISMATCH` = 12).
fn kind_code(kind: ErrorKind) -> ffidl_error_kind {
    match kind {
        ErrorKind::Io => 1,
        ErrorKind::Parse => 2,
        ErrorKind::Type => 3,
        ErrorKind::LibraryNotFound => 4,
        ErrorKind::SymbolNotFound => 5,
        ErrorKind::Layout => 6,
        ErrorKind::AbiUnsupported => 7,
        ErrorKind::Runtime => 8,
        ErrorKind::CallbackTableFull => 9,
        ErrorKind::UnknownName => 10,
        ErrorKind::SignatureMismatch => 11,
        ErrorKind::ValueMismatch => 12,
    }
}

const ALL_KINDS: [ErrorKind; 12] = [
    ErrorKind::Io,
    ErrorKind::Parse,
    ErrorKind::Type,
    ErrorKind::LibraryNotFound,
    ErrorKind::SymbolNotFound,
    ErrorKind::Layout,
    ErrorKind::AbiUnsupported,
    ErrorKind::Runtime,
    ErrorKind::CallbackTableFull,
    ErrorKind::UnknownName,
    ErrorKind::SignatureMismatch,
    ErrorKind::ValueMismatch,
];

/// Which member of [`ffidl_payload`] holds a value (`ffidl_tag` in C).
pub type ffidl_tag = c_int;
/// No value.
pub const FFIDL_VOID: ffidl_tag = 0;
/// `as.b`.
pub const FFIDL_BOOL: ffidl_tag = 1;
/// `as.i8`.
pub const FFIDL_I8: ffidl_tag = 2;
/// `as.i16`.
pub const FFIDL_I16: ffidl_tag = 3;
/// `as.i32`.
pub const FFIDL_I32: ffidl_tag = 4;
/// `as.i64`.
pub const FFIDL_I64: ffidl_tag = 5;
/// `as.u8`.
pub const FFIDL_U8: ffidl_tag = 6;
/// `as.u16`.
pub const FFIDL_U16: ffidl_tag = 7;
/// `as.u32`.
pub const FFIDL_U32: ffidl_tag = 8;
/// `as.u64`.
pub const FFIDL_U64: ffidl_tag = 9;
/// `as.f32`.
pub const FFIDL_F32: ffidl_tag = 10;
/// `as.f64`.
pub const FFIDL_F64: ffidl_tag = 11;
/// `as.ptr`.
pub const FFIDL_PTR: ffidl_tag = 12;
/// `as.cstr`.
pub const FFIDL_CSTR: ffidl_tag = 13;
/// `as.s`.
pub const FFIDL_STRUCT: ffidl_tag = 14;

/// A struct, union or array value in C: the declared type's name and its bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ffidl_struct {
    /// The declared type's name (NUL-terminated).
    pub type_name: *const c_char,
    /// The value's bytes, in C layout.
    pub bytes: *mut c_void,
    /// How many bytes: the declared type's size.
    pub size: usize,
}

/// The payload of an [`ffidl_value`] (`bool` is read as a byte: any non-zero is true).
#[repr(C)]
#[derive(Clone, Copy)]
pub union ffidl_payload {
    /// `bool` (C `_Bool`).
    pub b: u8,
    /// `int8_t`.
    pub i8: i8,
    /// `int16_t`.
    pub i16: i16,
    /// `int32_t`.
    pub i32: i32,
    /// `int64_t`.
    pub i64: i64,
    /// `uint8_t`.
    pub u8: u8,
    /// `uint16_t`.
    pub u16: u16,
    /// `uint32_t`.
    pub u32: u32,
    /// `uint64_t`.
    pub u64: u64,
    /// `float`.
    pub f32: f32,
    /// `double`.
    pub f64: f64,
    /// `void *`.
    pub ptr: *mut c_void,
    /// `const char *`.
    pub cstr: *const c_char,
    /// A struct value.
    pub s: ffidl_struct,
}

/// A tagged C value (`ffidl_value` in C).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ffidl_value {
    /// Which payload member is set (an [`ffidl_tag`]).
    pub tag: ffidl_tag,
    /// The value (`as` in C).
    pub payload: ffidl_payload,
}

const VOID_VALUE: ffidl_value = ffidl_value {
    tag: FFIDL_VOID,
    payload: ffidl_payload { u64: 0 },
};

/// Which backend a runtime uses (`ffidl_backend` in C).
pub type ffidl_backend = c_int;
/// What `FFIDL_BACKEND` says, else Cranelift.
pub const FFIDL_BACKEND_DEFAULT: ffidl_backend = 0;
/// Cranelift call thunks.
pub const FFIDL_BACKEND_CRANELIFT: ffidl_backend = 1;
/// The assembly fallback.
pub const FFIDL_BACKEND_ASM: ffidl_backend = 2;

/// Receives a chunk of script output (`ffidl_write_fn` in C).
pub type ffidl_write_fn = Option<unsafe extern "C" fn(*mut c_void, *const c_char, usize)>;

// ---- the last error ---------------------------------------------------------------

/// Why an entry point failed, before it is stored as the thread's last error.
struct Failure {
    kind: ffidl_error_kind,
    message: String,
    rendered: String,
    location: Option<(String, usize, usize)>,
}

impl Failure {
    fn misuse(message: impl Into<String>) -> Failure {
        Failure::plain(FFIDL_ERROR_INVALID_ARGUMENT, message.into())
    }

    fn plain(kind: ffidl_error_kind, message: String) -> Failure {
        Failure {
            kind,
            rendered: message.clone(),
            message,
            location: None,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure {
            kind: kind_code(e.kind()),
            message: e.message().to_owned(),
            rendered: e.rendered().to_owned(),
            location: e.location().map(|l| (l.file.clone(), l.line, l.column)),
        }
    }
}

/// A [`Failure`] as C strings, kept until the thread's next fallible call.
struct LastError {
    kind: ffidl_error_kind,
    message: CString,
    rendered: CString,
    location: Option<(CString, usize, usize)>,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

/// `text` as a C string (an interior NUL, which no message should have, is escaped).
fn c_string(text: String) -> CString {
    CString::new(text).unwrap_or_else(|e| {
        let text = String::from_utf8_lossy(&e.into_vec()).replace('\0', "\\0");
        CString::new(text).unwrap_or_default()
    })
}

fn set_last_error(failure: Option<Failure>) {
    let error = failure.map(|f| LastError {
        kind: f.kind,
        message: c_string(f.message),
        rendered: c_string(f.rendered),
        location: f.location.map(|(file, l, c)| (c_string(file), l, c)),
    });
    // A thread being torn down has no last error to keep.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = error;
        }
    });
}

/// `read` of the thread's last error, or `none` when there is none.
fn last_error<T>(none: T, read: impl Fn(&LastError) -> T) -> T {
    LAST_ERROR
        .try_with(|slot| slot.try_borrow().ok().and_then(|e| e.as_ref().map(&read)))
        .ok()
        .flatten()
        .unwrap_or(none)
}

/// Runs an entry point's body: a success clears the thread's last error, a failure or a
/// caught panic sets it and returns `failed`.
fn guard<T>(failed: T, body: impl FnOnce() -> Result<T, Failure>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => {
            if has_last_error() {
                set_last_error(None);
            }
            value
        }
        Ok(Err(failure)) => {
            set_last_error(Some(failure));
            failed
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            set_last_error(Some(Failure::plain(
                FFIDL_ERROR_INTERNAL,
                format!("internal error in ffidl: {what}"),
            )));
            failed
        }
    }
}

/// Runs an entry point that cannot fail, swallowing a panic.
fn guard_infallible(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

fn has_last_error() -> bool {
    LAST_ERROR
        .try_with(|slot| slot.try_borrow().is_ok_and(|s| s.is_some()))
        .unwrap_or(false)
}

/// The full text of the calling thread's last error; `""` when there is none.
#[no_mangle]
pub extern "C" fn ffidl_last_error() -> *const c_char {
    last_error(c"".as_ptr(), |e| e.rendered.as_ptr())
}

/// The one-line message of the calling thread's last error; `""` when there is none.
#[no_mangle]
pub extern "C" fn ffidl_last_error_message() -> *const c_char {
    last_error(c"".as_ptr(), |e| e.message.as_ptr())
}

/// The kind of the calling thread's last error ([`FFIDL_OK`] when there is none).
#[no_mangle]
pub extern "C" fn ffidl_last_error_kind() -> ffidl_error_kind {
    last_error(FFIDL_OK, |e| e.kind)
}

/// Stores the last error's file, line and column through the non-null pointers and
/// returns 1, or returns 0 when the error has no location.
///
/// # Safety
/// Each pointer is null or valid for a write of its type.
#[no_mangle]
pub unsafe extern "C" fn ffidl_last_error_location(
    file: *mut *const c_char,
    line: *mut usize,
    column: *mut usize,
) -> c_int {
    let location = last_error(None, |e| {
        e.location
            .as_ref()
            .map(|(name, l, c)| (name.as_ptr(), *l, *c))
    });
    let Some((name, l, c)) = location else {
        return 0;
    };
    // SAFETY: the caller passes null or writable pointers; the name lives in the
    // thread's last error until the next fallible call.
    unsafe {
        if !file.is_null() {
            file.write(name);
        }
        if !line.is_null() {
            line.write(l);
        }
        if !column.is_null() {
            column.write(c);
        }
    }
    1
}

/// A stable lower-case name of an error kind (`"ok"`, `"parse"`, ...), `"unknown"` for
/// a number that is no kind.
#[no_mangle]
pub extern "C" fn ffidl_error_kind_name(kind: ffidl_error_kind) -> *const c_char {
    let name: &'static CStr = match kind {
        FFIDL_OK => c"ok",
        FFIDL_ERROR_INVALID_ARGUMENT => c"invalid-argument",
        FFIDL_ERROR_INTERNAL => c"internal",
        _ => match ALL_KINDS.iter().find(|k| kind_code(**k) == kind) {
            Some(k) => kind_c_name(*k),
            None => c"unknown",
        },
    };
    name.as_ptr()
}

/// [`ErrorKind::name`] as a static C string.
fn kind_c_name(kind: ErrorKind) -> &'static CStr {
    static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        ALL_KINDS
            .iter()
            .map(|k| c_string(k.name().into()))
            .collect()
    });
    &names[kind_code(kind) as usize - 1]
}

// ---- runtime and modules ------------------------------------------------------------

/// A runtime with the default backend (what `FFIDL_BACKEND` says, else Cranelift).
#[no_mangle]
pub extern "C" fn ffidl_runtime_new() -> *mut ffidl_runtime {
    ffidl_runtime_new_with_backend(FFIDL_BACKEND_DEFAULT)
}

/// A runtime using `backend`; null for an unknown value.
#[no_mangle]
pub extern "C" fn ffidl_runtime_new_with_backend(backend: ffidl_backend) -> *mut ffidl_runtime {
    guard(std::ptr::null_mut(), || {
        let runtime = match backend {
            FFIDL_BACKEND_DEFAULT => Runtime::new(),
            FFIDL_BACKEND_CRANELIFT => Runtime::with_backend(Backend::Cranelift),
            FFIDL_BACKEND_ASM => Runtime::with_backend(Backend::Asm),
            other => return Err(Failure::misuse(format!("{other} is not an ffidl_backend"))),
        };
        Ok(Box::into_raw(Box::new(ffidl_runtime { runtime })))
    })
}

/// Frees a runtime (null: nothing). Its modules stay valid.
///
/// # Safety
/// `runtime` is null or a live handle from `ffidl_runtime_new*`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ffidl_runtime_free(runtime: *mut ffidl_runtime) {
    if !runtime.is_null() {
        // SAFETY: the caller passes a handle made by `Box::into_raw` and gives it up.
        guard_infallible(|| drop(unsafe { Box::from_raw(runtime) }));
    }
}

/// The runtime behind `runtime`, the default one for null.
///
/// # Safety
/// `runtime` is null or a live handle.
unsafe fn runtime_of(runtime: *const ffidl_runtime) -> Runtime {
    // SAFETY: the caller passes null or a live handle.
    unsafe { runtime.as_ref() }.map_or_else(Runtime::new, |r| r.runtime)
}

/// The UTF-8 string at `s`, or a misuse error naming `what`.
///
/// # Safety
/// `s` is null or a NUL-terminated string that outlives `'a`.
unsafe fn str_arg<'a>(s: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if s.is_null() {
        return Err(Failure::misuse(format!("{what} is NULL")));
    }
    // SAFETY: the caller passes a NUL-terminated string.
    unsafe { CStr::from_ptr(s) }
        .to_str()
        .map_err(|_| Failure::misuse(format!("{what} is not valid UTF-8")))
}

/// A path from C: any bytes on Unix, UTF-8 elsewhere.
fn path_of(path: &CStr) -> Result<&std::path::Path, Failure> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(std::path::Path::new(std::ffi::OsStr::from_bytes(
            path.to_bytes(),
        )))
    }
    #[cfg(not(unix))]
    {
        path.to_str()
            .map(std::path::Path::new)
            .map_err(|_| Failure::misuse("the path is not valid UTF-8"))
    }
}

fn module_handle(module: Module) -> *mut ffidl_module {
    Box::into_raw(Box::new(ffidl_module {
        module: Arc::new(module),
    }))
}

/// Loads the `.ffidl` file at `path` (null runtime: the default one); null on failure.
///
/// # Safety
/// `runtime` is null or a live handle; `path` is null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ffidl_load_file(
    runtime: *const ffidl_runtime,
    path: *const c_char,
) -> *mut ffidl_module {
    guard(std::ptr::null_mut(), || {
        if path.is_null() {
            return Err(Failure::misuse("the path is NULL"));
        }
        // SAFETY: as the caller guarantees.
        let (runtime, path) = unsafe { (runtime_of(runtime), CStr::from_ptr(path)) };
        Ok(module_handle(runtime.load_file(path_of(path)?)?))
    })
}

/// Loads `source`, named `name` in diagnostics; null on failure.
///
/// # Safety
/// `runtime` is null or a live handle; `name` and `source` are null or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn ffidl_load_string(
    runtime: *const ffidl_runtime,
    name: *const c_char,
    source: *const c_char,
) -> *mut ffidl_module {
    guard(std::ptr::null_mut(), || {
        // SAFETY: as the caller guarantees.
        let (runtime, name, source) = unsafe {
            (
                runtime_of(runtime),
                str_arg(name, "the name")?,
                str_arg(source, "the source")?,
            )
        };
        Ok(module_handle(runtime.load_str(name, source)?))
    })
}

/// Releases a module handle (null: nothing); function handles keep the module alive.
///
/// # Safety
/// `module` is null or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ffidl_module_free(module: *mut ffidl_module) {
    if !module.is_null() {
        // SAFETY: the caller passes a handle made by `Box::into_raw` and gives it up.
        guard_infallible(|| drop(unsafe { Box::from_raw(module) }));
    }
}

/// The module at `module`, or a misuse error.
///
/// # Safety
/// `module` is null or a live handle that outlives `'a`.
unsafe fn module_arg<'a>(module: *const ffidl_module) -> Result<&'a Module, Failure> {
    // SAFETY: the caller passes null or a live handle.
    unsafe { module.as_ref() }
        .map(|m| &*m.module)
        .ok_or_else(|| Failure::misuse("the module is NULL"))
}

/// The backend of `module`'s calls ([`FFIDL_BACKEND_DEFAULT`] for null).
///
/// # Safety
/// `module` is null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ffidl_module_backend(module: *const ffidl_module) -> ffidl_backend {
    guard(FFIDL_BACKEND_DEFAULT, || {
        // SAFETY: the caller passes null or a live handle.
        Ok(match unsafe { module_arg(module)? }.backend() {
            Backend::Cranelift => FFIDL_BACKEND_CRANELIFT,
            Backend::Asm => FFIDL_BACKEND_ASM,
        })
    })
}

/// Stores the size of the declared aggregate type `type_name` through `size`; 0 or -1.
///
/// # Safety
/// `module` is null or a live handle; `type_name` null or NUL-terminated; `size` null or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn ffidl_type_size(
    module: *const ffidl_module,
    type_name: *const c_char,
    size: *mut usize,
) -> c_int {
    guard(-1, || {
        // SAFETY: as the caller guarantees.
        let (module, name) = unsafe { (module_arg(module)?, str_arg(type_name, "the type name")?) };
        if size.is_null() {
            return Err(Failure::misuse("the size pointer is NULL"));
        }
        let bytes = module.new_struct(name)?.as_bytes().len();
        // SAFETY: `size` is not null and the caller passes a writable pointer.
        unsafe { size.write(bytes) };
        Ok(0)
    })
}

// ---- values -------------------------------------------------------------------------

/// The [`Value`] a C value stands for (struct values are copied into the module's type).
///
/// # Safety
/// `v`'s payload matches its tag; its strings and bytes are valid for the sizes it gives.
unsafe fn to_value<'m>(module: &'m Module, v: &ffidl_value) -> Result<Value<'m>, Failure> {
    let p = v.payload;
    // SAFETY: the caller guarantees the member named by the tag is initialised.
    unsafe {
        Ok(match v.tag {
            FFIDL_VOID => Value::Void,
            FFIDL_BOOL => Value::Bool(p.b != 0),
            FFIDL_I8 => Value::I8(p.i8),
            FFIDL_I16 => Value::I16(p.i16),
            FFIDL_I32 => Value::I32(p.i32),
            FFIDL_I64 => Value::I64(p.i64),
            FFIDL_U8 => Value::U8(p.u8),
            FFIDL_U16 => Value::U16(p.u16),
            FFIDL_U32 => Value::U32(p.u32),
            FFIDL_U64 => Value::U64(p.u64),
            FFIDL_F32 => Value::F32(p.f32),
            FFIDL_F64 => Value::F64(p.f64),
            FFIDL_PTR => Value::Ptr(p.ptr),
            FFIDL_CSTR => Value::CStr((!p.cstr.is_null()).then(|| CStr::from_ptr(p.cstr).into())),
            FFIDL_STRUCT => {
                let s = p.s;
                let name = str_arg(s.type_name, "a struct value's type name")?;
                let mut value = module.new_struct(name)?;
                let size = value.as_bytes().len();
                if s.size != size {
                    return Err(Failure::from(Error::new(
                        ErrorKind::ValueMismatch,
                        format!("`{name}` is {size} bytes, the struct value has {}", s.size),
                    )));
                }
                if s.bytes.is_null() && size > 0 {
                    return Err(Failure::misuse("a struct value's bytes are NULL"));
                }
                if size > 0 {
                    std::ptr::copy_nonoverlapping(
                        s.bytes.cast::<u8>(),
                        value.bytes.as_mut_ptr(),
                        size,
                    );
                }
                Value::Struct(value)
            }
            other => return Err(Failure::misuse(format!("{other} is not an ffidl_tag"))),
        })
    }
}

/// The alignment of the bytes of a struct result (enough for any C type).
const STRUCT_ALIGN: usize = 16;

fn struct_layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.max(1), STRUCT_ALIGN).ok()
}

/// A result as a C value that owns its string or struct bytes.
fn from_value(value: Value<'_>) -> Result<ffidl_value, Failure> {
    let (tag, payload) = match value {
        Value::Void => return Ok(VOID_VALUE),
        Value::Bool(b) => (FFIDL_BOOL, ffidl_payload { b: u8::from(b) }),
        Value::I8(v) => (FFIDL_I8, ffidl_payload { i8: v }),
        Value::I16(v) => (FFIDL_I16, ffidl_payload { i16: v }),
        Value::I32(v) => (FFIDL_I32, ffidl_payload { i32: v }),
        Value::I64(v) => (FFIDL_I64, ffidl_payload { i64: v }),
        Value::U8(v) => (FFIDL_U8, ffidl_payload { u8: v }),
        Value::U16(v) => (FFIDL_U16, ffidl_payload { u16: v }),
        Value::U32(v) => (FFIDL_U32, ffidl_payload { u32: v }),
        Value::U64(v) => (FFIDL_U64, ffidl_payload { u64: v }),
        Value::F32(v) => (FFIDL_F32, ffidl_payload { f32: v }),
        Value::F64(v) => (FFIDL_F64, ffidl_payload { f64: v }),
        Value::Ptr(v) => (FFIDL_PTR, ffidl_payload { ptr: v }),
        Value::CStr(s) => (
            FFIDL_CSTR,
            ffidl_payload {
                cstr: s.map_or(std::ptr::null(), |s| s.into_raw().cast_const()),
            },
        ),
        Value::Struct(s) => {
            let bytes = s.as_bytes();
            let layout = struct_layout(bytes.len())
                .ok_or_else(|| Failure::misuse("the struct result is too large"))?;
            // SAFETY: the layout has a non-zero size.
            let copy = unsafe { std::alloc::alloc(layout) };
            if copy.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            // SAFETY: `copy` has room for `bytes.len()` bytes and does not overlap them.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), copy, bytes.len()) };
            let name = c_string(s.type_name());
            (
                FFIDL_STRUCT,
                ffidl_payload {
                    s: ffidl_struct {
                        type_name: name.into_raw().cast_const(),
                        bytes: copy.cast(),
                        size: bytes.len(),
                    },
                },
            )
        }
    };
    Ok(ffidl_value { tag, payload })
}

/// Frees what a result written by ffidl owns and sets it to `FFIDL_VOID` (null: nothing).
///
/// # Safety
/// `value` is null or points to a value ffidl wrote as a result (or any value whose tag
/// is neither `FFIDL_CSTR` nor `FFIDL_STRUCT`), unchanged since.
#[no_mangle]
pub unsafe extern "C" fn ffidl_value_free(value: *mut ffidl_value) {
    guard_infallible(|| {
        // SAFETY: the caller passes null or a valid value.
        let Some(value) = (unsafe { value.as_mut() }) else {
            return;
        };
        // SAFETY: a result's string was made by `CString::into_raw`, its struct name too,
        // and its bytes by `alloc` with `struct_layout(size)`; each is freed once, as
        // the value is reset to void.
        unsafe {
            match value.tag {
                FFIDL_CSTR if !value.payload.cstr.is_null() => {
                    drop(CString::from_raw(value.payload.cstr.cast_mut()));
                }
                FFIDL_STRUCT => {
                    let s = value.payload.s;
                    if !s.type_name.is_null() {
                        drop(CString::from_raw(s.type_name.cast_mut()));
                    }
                    if let (false, Some(layout)) = (s.bytes.is_null(), struct_layout(s.size)) {
                        std::alloc::dealloc(s.bytes.cast(), layout);
                    }
                }
                _ => {}
            }
        }
        *value = VOID_VALUE;
    });
}

// ---- calls --------------------------------------------------------------------------

/// Most arguments a call converts without allocating.
const INLINE_ARGS: usize = 8;

/// Converts the C arguments, calls `function`, and stores the result.
///
/// # Safety
/// `args` is null or points to `nargs` valid values; `result` is null or writable.
unsafe fn call(
    module: &Module,
    function: &Function<'_>,
    args: *const ffidl_value,
    nargs: usize,
    result: *mut ffidl_value,
) -> Result<c_int, Failure> {
    let args: &[ffidl_value] = match (args.is_null(), nargs) {
        (_, 0) => &[],
        (true, _) => return Err(Failure::misuse("the argument array is NULL")),
        // SAFETY: the caller passes `nargs` values at `args`.
        (false, n) => unsafe { std::slice::from_raw_parts(args, n) },
    };
    let mut inline = [const { Value::Void }; INLINE_ARGS];
    let mut heap = Vec::new();
    let values: &mut [Value<'_>] = if args.len() <= INLINE_ARGS {
        &mut inline[..args.len()]
    } else {
        heap.resize(args.len(), Value::Void);
        &mut heap
    };
    for (i, (value, arg)) in values.iter_mut().zip(args).enumerate() {
        // SAFETY: the caller passes valid values.
        *value = unsafe { to_value(module, arg) }.map_err(|f| argument_failure(function, i, f))?;
    }
    // SAFETY: the caller passes a null or writable result pointer.
    unsafe { store(function.call(values)?, result) }
}

/// Stores `value` at `out` as a C value that owns its memory (drops it for null).
///
/// # Safety
/// `out` is null or writable.
unsafe fn store(value: Value<'_>, out: *mut ffidl_value) -> Result<c_int, Failure> {
    let mut value = from_value(value)?;
    if out.is_null() {
        // SAFETY: `value` was just made by `from_value`.
        unsafe { ffidl_value_free(&mut value) };
    } else {
        // SAFETY: the caller passes a writable pointer.
        unsafe { out.write(value) };
    }
    Ok(0)
}

fn argument_failure(function: &Function<'_>, index: usize, mut failure: Failure) -> Failure {
    failure.message = format!(
        "`{}`, argument {}: {}",
        function.name(),
        index + 1,
        failure.message
    );
    failure.rendered = failure.message.clone();
    failure
}

/// Returns `rc` after setting `*result` to void if the call failed, so a failed call
/// leaves nothing to free. (A result is written only after the arguments are read, so
/// `result` may point at one of them.)
///
/// # Safety
/// `result` is null or writable.
unsafe fn finish_call(rc: c_int, result: *mut ffidl_value) -> c_int {
    if rc != 0 && !result.is_null() {
        // SAFETY: the caller passes a writable pointer.
        unsafe { result.write(VOID_VALUE) };
    }
    rc
}

/// Calls the declared function `name` with `nargs` values; 0, or -1 on error.
///
/// # Safety
/// `module` is null or a live handle; `name` null or NUL-terminated; `args` null or
/// `nargs` valid values; `result` null or writable.
#[no_mangle]
pub unsafe extern "C" fn ffidl_call(
    module: *const ffidl_module,
    name: *const c_char,
    args: *const ffidl_value,
    nargs: usize,
    result: *mut ffidl_value,
) -> c_int {
    let rc = guard(-1, || {
        // SAFETY: as the caller guarantees.
        unsafe {
            let module = module_arg(module)?;
            let function = module.function(str_arg(name, "the function name")?)?;
            call(module, &function, args, nargs, result)
        }
    });
    // SAFETY: as the caller guarantees.
    unsafe { finish_call(rc, result) }
}

/// A prepared call of the declared function `name`; null on error.
///
/// # Safety
/// `module` is null or a live handle; `name` null or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn ffidl_function_get(
    module: *const ffidl_module,
    name: *const c_char,
) -> *mut ffidl_function {
    guard(std::ptr::null_mut(), || {
        // SAFETY: as the caller guarantees.
        let (handle, name) = unsafe {
            let handle = module
                .as_ref()
                .ok_or_else(|| Failure::misuse("the module is NULL"))?;
            (handle, str_arg(name, "the function name")?)
        };
        let module = Arc::clone(&handle.module);
        let function = module.function(name)?;
        // SAFETY: the function borrows the module inside the `Arc` stored beside it: the
        // module does not move (it is on the heap) and outlives the function, which is
        // dropped first (field order) and never handed out with the longer lifetime.
        let function = unsafe { std::mem::transmute::<Function<'_>, Function<'static>>(function) };
        Ok(Box::into_raw(Box::new(ffidl_function { function, module })))
    })
}

/// Calls a prepared function; 0, or -1 on error.
///
/// # Safety
/// `function` is null or a live handle; `args` null or `nargs` valid values; `result`
/// null or writable.
#[no_mangle]
pub unsafe extern "C" fn ffidl_function_call(
    function: *const ffidl_function,
    args: *const ffidl_value,
    nargs: usize,
    result: *mut ffidl_value,
) -> c_int {
    let rc = guard(-1, || {
        // SAFETY: as the caller guarantees.
        unsafe {
            let f = function
                .as_ref()
                .ok_or_else(|| Failure::misuse("the function is NULL"))?;
            call(&f.module, &f.function, args, nargs, result)
        }
    });
    // SAFETY: as the caller guarantees.
    unsafe { finish_call(rc, result) }
}

/// Frees a function handle (null: nothing).
///
/// # Safety
/// `function` is null or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ffidl_function_free(function: *mut ffidl_function) {
    if !function.is_null() {
        // SAFETY: the caller passes a handle made by `Box::into_raw` and gives it up.
        guard_infallible(|| drop(unsafe { Box::from_raw(function) }));
    }
}

// ---- declared constants -------------------------------------------------------------

/// Stores the value of the declared constant `name` at `out` (a `cstr` constant is a
/// copy to free with `ffidl_value_free`); 0, or -1 on error.
///
/// # Safety
/// `module` is null or a live handle; `name` null or NUL-terminated; `out` null or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn ffidl_constant(
    module: *const ffidl_module,
    name: *const c_char,
    out: *mut ffidl_value,
) -> c_int {
    let rc = guard(-1, || {
        // SAFETY: as the caller guarantees.
        unsafe {
            let module = module_arg(module)?;
            store(module.constant(str_arg(name, "the constant name")?)?, out)
        }
    });
    // SAFETY: as the caller guarantees.
    unsafe { finish_call(rc, out) }
}

/// Stores the value of variant `variant` of the declared enum `enum_name` at `out`, as
/// its representation's integer; 0, or -1 on error.
///
/// # Safety
/// `module` is null or a live handle; `enum_name` and `variant` null or NUL-terminated;
/// `out` null or writable.
#[no_mangle]
pub unsafe extern "C" fn ffidl_enum_value(
    module: *const ffidl_module,
    enum_name: *const c_char,
    variant: *const c_char,
    out: *mut ffidl_value,
) -> c_int {
    let rc = guard(-1, || {
        // SAFETY: as the caller guarantees.
        unsafe {
            let module = module_arg(module)?;
            let enum_name = str_arg(enum_name, "the enum name")?;
            store(
                module.enum_value(enum_name, str_arg(variant, "the variant name")?)?,
                out,
            )
        }
    });
    // SAFETY: as the caller guarantees.
    unsafe { finish_call(rc, out) }
}

// ---- running scripts ----------------------------------------------------------------

/// Script output passed to a C callback.
struct CallbackWriter {
    write: unsafe extern "C" fn(*mut c_void, *const c_char, usize),
    user: *mut c_void,
}

impl Write for CallbackWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !buf.is_empty() {
            // SAFETY: the C caller of `ffidl_module_run` promised a callback that accepts
            // `user` and a byte range; `buf` is valid for the call.
            unsafe { (self.write)(self.user, buf.as_ptr().cast(), buf.len()) };
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs the module's top-level statements, writing output through `write` (stdout when
/// null); 0 with the exit status stored, or -1 on a runtime error.
///
/// # Safety
/// `module` is null or a live handle; `write`, when not null, may be called with `user`
/// during this call; `exit_code` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn ffidl_module_run(
    module: *const ffidl_module,
    write: ffidl_write_fn,
    user: *mut c_void,
    exit_code: *mut c_int,
) -> c_int {
    guard(-1, || {
        // SAFETY: the caller passes null or a live handle.
        let module = unsafe { module_arg(module)? };
        let status: RunStatus = match write {
            Some(write) => module.run(CallbackWriter { write, user })?,
            None => module.run(std::io::stdout())?,
        };
        if !exit_code.is_null() {
            // SAFETY: the caller passes a writable pointer.
            unsafe { exit_code.write(status.code()) };
        }
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_has_the_c_layout() {
        assert_eq!(std::mem::size_of::<ffidl_value>(), 32);
        assert_eq!(std::mem::align_of::<ffidl_value>(), 8);
        assert_eq!(std::mem::offset_of!(ffidl_value, payload), 8);
        assert_eq!(std::mem::size_of::<ffidl_struct>(), 24);
    }

    #[test]
    fn every_kind_has_a_distinct_code_and_the_rust_name() {
        for (i, kind) in ALL_KINDS.iter().enumerate() {
            assert_eq!(kind_code(*kind), i as c_int + 1);
            // SAFETY: the names are static C strings.
            let name = unsafe { CStr::from_ptr(ffidl_error_kind_name(kind_code(*kind))) };
            assert_eq!(name.to_str(), Ok(kind.name()));
        }
    }
}
