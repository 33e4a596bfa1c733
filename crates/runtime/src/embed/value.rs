//! Values crossing the embedding API: [`Value`] (a tagged C value) and [`StructValue`]
//! (the bytes of a declared struct, union or array, with C layout). Owns how a value of
//! each declared type is written to a call slot or native memory and read back
//! ([`Kind`]).

use super::error::{Error, ErrorKind};
use super::typed::{mismatch, CType};
use crate::interp::scalar::{load, repr_of, store, Repr, Scalar};
use ffidl_lang::tir::{IntTy, Program, TypeId, TypeKind};
use std::ffi::{c_void, CStr, CString};
use std::fmt;

/// A C value passed to or returned from a dynamic call ([`crate::Function::call`]), or
/// read from and written to a struct field.
///
/// Integer values convert to any integer parameter whose range holds them; an `f32`
/// value converts to an `f64` parameter. Everything else must match the declared kind.
/// `'m` is the [`crate::Module`] the struct values belong to.
// `repr(u8)`: a one-byte tag first, so that telling the variants apart is one load (the
// dynamic call's hot path), where the default layout hides it in a niche.
#[derive(Clone, Debug, PartialEq)]
#[repr(u8)]
pub enum Value<'m> {
    /// The result of a function declared without a result.
    Void,
    /// C `_Bool`.
    Bool(bool),
    /// `i8` (C `int8_t`, `signed char`).
    I8(i8),
    /// `i16`.
    I16(i16),
    /// `i32` (C `int`).
    I32(i32),
    /// `i64`.
    I64(i64),
    /// `u8`.
    U8(u8),
    /// `u16`.
    U16(u16),
    /// `u32`.
    U32(u32),
    /// `u64` (also `usize` on 64-bit targets).
    U64(u64),
    /// `f32` (C `float`).
    F32(f32),
    /// `f64` (C `double`).
    F64(f64),
    /// A pointer, a callback (a C function pointer, see [`crate::Callback::as_ptr`]) or null.
    Ptr(*mut c_void),
    /// A `cstr`: as an argument, the string is passed as a `const char*` for the call's
    /// duration (`None` passes null); as a result, a copy of the C string (`None` for null).
    CStr(Option<CString>),
    /// A struct, union or array value of a declared type.
    Struct(StructValue<'m>),
}

// SAFETY: a `Value` owns its data; the raw pointer of `Value::Ptr` is an address that
// `Value` itself never dereferences.
unsafe impl Send for Value<'_> {}
// SAFETY: as above; no interior mutability.
unsafe impl Sync for Value<'_> {}

macro_rules! value_from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Value<'_> {
            fn from(v: $t) -> Self { Value::$v(v) }
        }
    )*};
}
value_from!(bool => Bool, i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16,
    u32 => U32, u64 => U64, f32 => F32, f64 => F64, *mut c_void => Ptr);

impl From<&str> for Value<'_> {
    /// A `cstr` value. A string with an interior NUL is cut at the NUL.
    fn from(s: &str) -> Self {
        let bytes = s.as_bytes();
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        Value::CStr(CString::new(&bytes[..end]).ok())
    }
}

impl<'m> From<StructValue<'m>> for Value<'m> {
    fn from(v: StructValue<'m>) -> Self {
        Value::Struct(v)
    }
}

impl<'m> Value<'m> {
    /// The value as an `i64`, if it is an integer or `bool` that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_i128().and_then(|v| i64::try_from(v).ok())
    }

    /// The value as an `f64`, if it is a float.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(f) => Some(f64::from(f)),
            Value::F64(f) => Some(f),
            _ => None,
        }
    }

    /// The struct, union or array value, if it is one.
    pub fn as_struct(&self) -> Option<&StructValue<'m>> {
        match self {
            Value::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// The string of a `cstr` result, if it is one and is not null.
    pub fn as_cstr(&self) -> Option<&CStr> {
        match self {
            Value::CStr(Some(s)) => Some(s),
            _ => None,
        }
    }

    /// The pointer, if the value is one.
    pub fn as_ptr(&self) -> Option<*mut c_void> {
        match *self {
            Value::Ptr(p) => Some(p),
            _ => None,
        }
    }

    /// The value's variant and its slot bits when passed to a parameter of exactly its
    /// own type: scalars widened to 64 bits (signed ones sign-extended), a `cstr` as its
    /// pointer (or null), a struct as the address of its bytes.
    #[inline(always)]
    pub(crate) fn tag_bits(&self) -> (Tag, u64) {
        match self {
            Value::Void => (Tag::Void, 0),
            Value::Bool(b) => (Tag::Bool, u64::from(*b)),
            Value::I8(v) => (Tag::I8, i64::from(*v) as u64),
            Value::I16(v) => (Tag::I16, i64::from(*v) as u64),
            Value::I32(v) => (Tag::I32, i64::from(*v) as u64),
            Value::I64(v) => (Tag::I64, *v as u64),
            Value::U8(v) => (Tag::U8, u64::from(*v)),
            Value::U16(v) => (Tag::U16, u64::from(*v)),
            Value::U32(v) => (Tag::U32, u64::from(*v)),
            Value::U64(v) => (Tag::U64, *v),
            Value::F32(f) => (Tag::F32, u64::from(f.to_bits())),
            Value::F64(f) => (Tag::F64, f.to_bits()),
            Value::Ptr(p) => (Tag::Ptr, *p as u64),
            Value::CStr(s) => (
                Tag::CStr,
                s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()) as u64,
            ),
            Value::Struct(s) => (Tag::Struct, s.bytes.as_ptr() as u64),
        }
    }

    /// An integer value as `i128`, with its own type; `None` for everything else
    /// (`bool` included: it never converts to an integer parameter).
    #[inline(always)]
    fn int_bits(&self) -> Option<(i128, Option<IntTy>)> {
        Some(match *self {
            Value::I8(v) => (v.into(), Some(IntTy::I8)),
            Value::I16(v) => (v.into(), Some(IntTy::I16)),
            Value::I32(v) => (v.into(), Some(IntTy::I32)),
            Value::I64(v) => (v.into(), Some(IntTy::I64)),
            Value::U8(v) => (v.into(), Some(IntTy::U8)),
            Value::U16(v) => (v.into(), Some(IntTy::U16)),
            Value::U32(v) => (v.into(), Some(IntTy::U32)),
            Value::U64(v) => (v.into(), Some(IntTy::U64)),
            _ => return None,
        })
    }

    fn as_i128(&self) -> Option<i128> {
        Some(match *self {
            Value::Bool(b) => i128::from(b),
            Value::I8(v) => v.into(),
            Value::I16(v) => v.into(),
            Value::I32(v) => v.into(),
            Value::I64(v) => v.into(),
            Value::U8(v) => v.into(),
            Value::U16(v) => v.into(),
            Value::U32(v) => v.into(),
            Value::U64(v) => v.into(),
            _ => return None,
        })
    }

    /// A short name of the value's kind, for messages.
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            Value::Void => "void",
            Value::Bool(_) => "bool",
            Value::I8(_) => "i8",
            Value::I16(_) => "i16",
            Value::I32(_) => "i32",
            Value::I64(_) => "i64",
            Value::U8(_) => "u8",
            Value::U16(_) => "u16",
            Value::U32(_) => "u32",
            Value::U64(_) => "u64",
            Value::F32(_) => "f32",
            Value::F64(_) => "f64",
            Value::Ptr(_) => "pointer",
            Value::CStr(_) => "cstr",
            Value::Struct(_) => "struct",
        }
    }

    /// The type a variadic argument of this value is passed as (C's default promotions).
    pub(crate) fn variadic_type(&self) -> Option<TypeId> {
        Some(match self {
            Value::Bool(_)
            | Value::I8(_)
            | Value::I16(_)
            | Value::I32(_)
            | Value::U8(_)
            | Value::U16(_) => TypeId::I32,
            Value::U32(_) => TypeId::U32,
            Value::I64(_) => TypeId::I64,
            Value::U64(_) => TypeId::U64,
            Value::F32(_) | Value::F64(_) => TypeId::F64,
            Value::Ptr(_) | Value::CStr(_) => TypeId::CSTR,
            Value::Void | Value::Struct(_) => return None,
        })
    }
}

/// A [`Value`] variant, as one byte: a parameter whose [`Kind::exact_tag`] equals an
/// argument's tag takes the argument's [`Value::tag_bits`] unconverted (structs also
/// need their declared type checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Tag {
    Void,
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
    Ptr,
    CStr,
    Struct,
    /// No value passes unconverted (a parameter of no value kind).
    Never,
}

impl Tag {
    /// The scalar result a call stored widened in one 8-byte word (the thunk result
    /// contract), for a result kind whose [`Kind::result_tag`] is this tag (`void` and
    /// aggregates, which are read from their bytes, give `Value::Void`).
    ///
    /// # Safety
    /// `word` holds a value of that kind (for [`Tag::CStr`], a null or NUL-terminated
    /// string pointer).
    #[inline(always)]
    pub(crate) unsafe fn value_of_word<'m>(self, word: u64) -> Value<'m> {
        match self {
            Tag::Void => Value::Void,
            Tag::Bool => Value::Bool(word as u8 != 0),
            Tag::I8 => Value::I8(word as i8),
            Tag::I16 => Value::I16(word as i16),
            Tag::I32 => Value::I32(word as i32),
            Tag::I64 => Value::I64(word as i64),
            Tag::U8 => Value::U8(word as u8),
            Tag::U16 => Value::U16(word as u16),
            Tag::U32 => Value::U32(word as u32),
            Tag::U64 => Value::U64(word),
            Tag::F32 => Value::F32(f32::from_bits(word as u32)),
            Tag::F64 => Value::F64(f64::from_bits(word)),
            Tag::Ptr => Value::Ptr(word as *mut c_void),
            Tag::CStr => {
                let p = word as *const std::ffi::c_char;
                // SAFETY: the caller guarantees a null or NUL-terminated string pointer.
                Value::CStr((!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_owned()))
            }
            // Not scalar results: never asked for.
            Tag::Struct | Tag::Never => Value::Void,
        }
    }
}

/// The value a scalar [`Tag`] stands for, with a zero payload (`None` for the tags of
/// values that own memory or of no value).
fn scalar_sample(tag: Tag) -> Option<Value<'static>> {
    Some(match tag {
        Tag::Void => Value::Void,
        Tag::Bool => Value::Bool(false),
        Tag::I8 => Value::I8(0),
        Tag::I16 => Value::I16(0),
        Tag::I32 => Value::I32(0),
        Tag::I64 => Value::I64(0),
        Tag::U8 => Value::U8(0),
        Tag::U16 => Value::U16(0),
        Tag::U32 => Value::U32(0),
        Tag::U64 => Value::U64(0),
        Tag::F32 => Value::F32(0.0),
        Tag::F64 => Value::F64(0.0),
        Tag::Ptr => Value::Ptr(std::ptr::null_mut()),
        Tag::CStr | Tag::Struct | Tag::Never => return None,
    })
}

/// Where a value of a scalar variant keeps its tag byte and its payload: `Value` is
/// `repr(u8)`, so its first byte is the variant's discriminant and each variant's field
/// sits at a fixed offset. Both are measured on a real value here, not assumed.
/// `None` for the variants that are not plain scalars (`CStr`, `Struct`).
pub(crate) fn scalar_field(tag: Tag) -> Option<ffidl_jit::TaggedField> {
    let value = scalar_sample(tag)?;
    let base: *const Value<'_> = &value;
    // SAFETY: `Value` is `repr(u8)`: its first byte is the discriminant, initialised in
    // every value, so reading it as a `u8` is sound.
    let tag_byte = unsafe { base.cast::<u8>().read() };
    let payload: *const u8 = match &value {
        Value::Void => base.cast(),
        Value::Bool(v) => (v as *const bool).cast(),
        Value::I8(v) => (v as *const i8).cast(),
        Value::I16(v) => (v as *const i16).cast(),
        Value::I32(v) => (v as *const i32).cast(),
        Value::I64(v) => (v as *const i64).cast(),
        Value::U8(v) => v as *const u8,
        Value::U16(v) => (v as *const u16).cast(),
        Value::U32(v) => (v as *const u32).cast(),
        Value::U64(v) => (v as *const u64).cast(),
        Value::F32(v) => (v as *const f32).cast(),
        Value::F64(v) => (v as *const f64).cast(),
        Value::Ptr(v) => (v as *const *mut c_void).cast(),
        Value::CStr(_) | Value::Struct(_) => return None,
    };
    let payload_offset = payload as usize - base as usize;
    Some(ffidl_jit::TaggedField {
        tag: tag_byte,
        payload_offset: u32::try_from(payload_offset).ok()?,
    })
}

/// Whether `n` is in the range of `int` (inline: the checker's `IntTy::fits` is in
/// another crate).
#[inline(always)]
fn fits(int: IntTy, n: i128) -> bool {
    let (min, max): (i128, i128) = match int {
        IntTy::I8 => (i8::MIN.into(), i8::MAX.into()),
        IntTy::I16 => (i16::MIN.into(), i16::MAX.into()),
        IntTy::I32 => (i32::MIN.into(), i32::MAX.into()),
        IntTy::I64 => (i64::MIN.into(), i64::MAX.into()),
        IntTy::U8 => (0, u8::MAX.into()),
        IntTy::U16 => (0, u16::MAX.into()),
        IntTy::U32 => (0, u32::MAX.into()),
        IntTy::U64 => (0, u64::MAX.into()),
    };
    min <= n && n <= max
}

/// How a value of one declared type moves between a [`Value`] and a call slot or native
/// memory; decided once per parameter, result or field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Void,
    Bool,
    Int(IntTy),
    F32,
    F64,
    Ptr,
    Cstr,
    /// A struct, union or array of this type (`size` bytes).
    Agg {
        ty: TypeId,
        size: usize,
    },
}

impl Kind {
    /// The kind of values of `ty`: the interpreter's representation of the type
    /// ([`repr_of`]), with `cstr` told apart from other pointers (it converts strings).
    pub(crate) fn of(program: &Program, ty: TypeId) -> Kind {
        match repr_of(program, ty) {
            Repr::Void => Kind::Void,
            Repr::Agg { size, .. } => Kind::Agg {
                ty,
                size: size as usize,
            },
            Repr::Scalar(Scalar::Bool) => Kind::Bool,
            Repr::Scalar(Scalar::Int(i)) => Kind::Int(i),
            Repr::Scalar(Scalar::F32) => Kind::F32,
            Repr::Scalar(Scalar::F64) => Kind::F64,
            Repr::Scalar(Scalar::Ptr) if matches!(program.ty(ty).kind, TypeKind::Cstr) => {
                Kind::Cstr
            }
            Repr::Scalar(Scalar::Ptr) => Kind::Ptr,
        }
    }

    /// How a value of this kind is stored in memory (`None` for `void` and aggregates).
    fn scalar(self) -> Option<Scalar> {
        Some(match self {
            Kind::Bool => Scalar::Bool,
            Kind::Int(i) => Scalar::Int(i),
            Kind::F32 => Scalar::F32,
            Kind::F64 => Scalar::F64,
            Kind::Ptr | Kind::Cstr => Scalar::Ptr,
            Kind::Void | Kind::Agg { .. } => return None,
        })
    }

    /// The tag of the values that pass to this kind with no conversion.
    pub(crate) fn exact_tag(self) -> Tag {
        match self {
            Kind::Void => Tag::Never,
            Kind::Bool => Tag::Bool,
            Kind::Int(i) => match i {
                IntTy::I8 => Tag::I8,
                IntTy::I16 => Tag::I16,
                IntTy::I32 => Tag::I32,
                IntTy::I64 => Tag::I64,
                IntTy::U8 => Tag::U8,
                IntTy::U16 => Tag::U16,
                IntTy::U32 => Tag::U32,
                IntTy::U64 => Tag::U64,
            },
            Kind::F32 => Tag::F32,
            Kind::F64 => Tag::F64,
            Kind::Ptr => Tag::Ptr,
            Kind::Cstr => Tag::CStr,
            Kind::Agg { .. } => Tag::Struct,
        }
    }

    /// Whether `value` is a struct value of exactly this aggregate kind's declared type
    /// (from the same program).
    #[inline(always)]
    pub(crate) fn is_own_struct(self, program: &Program, value: &Value<'_>) -> bool {
        match (self, value) {
            (Kind::Agg { ty, .. }, Value::Struct(s)) => {
                s.ty == ty && std::ptr::eq(s.program, program)
            }
            _ => false,
        }
    }

    /// The slot for `value`: a scalar in the low bytes (integers extended to 64 bits),
    /// a pointer to the bytes of an aggregate (valid while `value` lives).
    ///
    /// The values that need no conversion are decided here, inline; conversions and
    /// errors go to [`Kind::encode_converted`].
    #[inline]
    pub(crate) fn encode(self, program: &Program, value: &Value<'_>) -> Result<u64, String> {
        match (self, value) {
            (Kind::Int(int), v) => match v.int_bits() {
                Some((n, same)) if same == Some(int) || fits(int, n) => Ok(n as i64 as u64),
                _ => self.encode_converted(program, value),
            },
            (Kind::F64, Value::F64(f)) => Ok(f.to_bits()),
            (Kind::F32, Value::F32(f)) => Ok(u64::from(f.to_bits())),
            (Kind::Ptr | Kind::Cstr, Value::Ptr(p)) => Ok(*p as u64),
            (Kind::Agg { ty, .. }, Value::Struct(s))
                if s.ty == ty && std::ptr::eq(s.program, program) =>
            {
                Ok(s.bytes.as_ptr() as u64)
            }
            _ => self.encode_converted(program, value),
        }
    }

    /// [`Kind::encode`] for everything but the exact matches: widening, strings, and the
    /// error messages.
    #[cold]
    #[inline(never)]
    pub(crate) fn encode_converted(
        self,
        program: &Program,
        value: &Value<'_>,
    ) -> Result<u64, String> {
        match (self, value) {
            (Kind::F64, Value::F64(f)) => Ok(f.to_bits()),
            (Kind::F64, Value::F32(f)) => Ok(f64::from(*f).to_bits()),
            (Kind::F32, Value::F32(f)) => Ok(u64::from(f.to_bits())),
            (Kind::Bool, Value::Bool(b)) => Ok(u64::from(*b)),
            (Kind::Ptr | Kind::Cstr, Value::Ptr(p)) => Ok(*p as u64),
            (Kind::Cstr, Value::CStr(s)) => {
                Ok(s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()) as u64)
            }
            (Kind::Agg { ty, .. }, Value::Struct(s)) => {
                if s.ty == ty && std::ptr::eq(s.program, program) {
                    Ok(s.bytes.as_ptr() as u64)
                } else {
                    Err(format!(
                        "expected `{}`, got a `{}` value",
                        program.type_name(ty),
                        s.type_name()
                    ))
                }
            }
            (Kind::Int(int), v) => match v.as_i128() {
                Some(n) if !matches!(v, Value::Bool(_)) => {
                    if int.fits(n) {
                        Ok(n as i64 as u64)
                    } else {
                        Err(format!("{n} does not fit `{}`", int.name()))
                    }
                }
                _ => Err(format!("expected `{}`, got {}", int.name(), v.kind_name())),
            },
            (kind, v) => Err(format!(
                "expected {}, got {}",
                kind.describe(program),
                v.kind_name()
            )),
        }
    }

    /// The tag of this kind's results ([`Tag::value_of_word`]): as
    /// [`Kind::exact_tag`], but `void` is [`Tag::Void`].
    pub(crate) fn result_tag(self) -> Tag {
        match self {
            Kind::Void => Tag::Void,
            kind => kind.exact_tag(),
        }
    }

    /// The value stored at `at` with this kind.
    ///
    /// # Safety
    /// `at` points to readable memory holding a value of this kind (for `Cstr`, a null or
    /// NUL-terminated string pointer).
    pub(crate) unsafe fn read<'m>(self, program: &'m Program, at: *const u8) -> Value<'m> {
        // SAFETY: the caller guarantees `at` holds a value of this kind; a scalar is read
        // by the interpreter's own load of its representation, into slot form.
        unsafe {
            match (self, self.scalar()) {
                (Kind::Agg { ty, size }, _) => {
                    let mut bytes = Bytes::zeroed(size);
                    std::ptr::copy_nonoverlapping(at, bytes.as_mut_ptr(), size);
                    Value::Struct(StructValue { program, ty, bytes })
                }
                (_, Some(scalar)) => self.result_tag().value_of_word(load(scalar, at)),
                (_, None) => Value::Void,
            }
        }
    }

    /// Writes `value` to `at` (the field's own size; a `cstr` field takes only a pointer
    /// or `None`, since a string owned by the value would dangle).
    ///
    /// # Safety
    /// `at` points to writable memory with room for a value of this kind.
    unsafe fn write(self, program: &Program, value: &Value<'_>, at: *mut u8) -> Result<(), String> {
        if let (Kind::Cstr, Value::CStr(Some(_))) = (self, value) {
            return Err(
                "a `cstr` field holds a pointer: store `Value::Ptr` to memory you keep alive"
                    .into(),
            );
        }
        let slot = self.encode(program, value)?;
        match (self, self.scalar()) {
            // SAFETY: `slot` points to `size` bytes of the source value; `at` has room.
            (Kind::Agg { size, .. }, _) => unsafe { std::ptr::copy(slot as *const u8, at, size) },
            // SAFETY: `at` has room for the scalar; the interpreter's store writes it in
            // C layout from slot form.
            (_, Some(scalar)) => unsafe { store(scalar, at, slot) },
            (_, None) => {}
        }
        Ok(())
    }

    fn describe(self, program: &Program) -> String {
        match self {
            Kind::Void => "void".into(),
            Kind::Bool => "bool".into(),
            Kind::Int(i) => i.name().into(),
            Kind::F32 => "f32".into(),
            Kind::F64 => "f64".into(),
            Kind::Ptr => "a pointer".into(),
            Kind::Cstr => "a cstr (string or pointer)".into(),
            Kind::Agg { ty, .. } => format!("`{}`", program.type_name(ty)),
        }
    }
}

/// The bytes of an aggregate value, 8-aligned; up to 32 bytes inline (no allocation).
#[derive(Clone)]
pub(crate) enum Bytes {
    Inline([u64; 4], usize),
    Heap(Box<[u64]>, usize),
}

impl Bytes {
    #[inline]
    pub(crate) fn zeroed(size: usize) -> Bytes {
        if size <= 32 {
            Bytes::Inline([0; 4], size)
        } else {
            Bytes::Heap(vec![0u64; size.div_ceil(8)].into_boxed_slice(), size)
        }
    }

    #[inline]
    pub(crate) fn as_ptr(&self) -> *const u8 {
        match self {
            Bytes::Inline(words, _) => words.as_ptr().cast(),
            Bytes::Heap(words, _) => words.as_ptr().cast(),
        }
    }

    #[inline]
    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        match self {
            Bytes::Inline(words, _) => words.as_mut_ptr().cast(),
            Bytes::Heap(words, _) => words.as_mut_ptr().cast(),
        }
    }

    fn as_slice(&self) -> &[u8] {
        let len = match self {
            Bytes::Inline(_, len) | Bytes::Heap(_, len) => *len,
        };
        // SAFETY: the words hold at least `len` initialised bytes.
        unsafe { std::slice::from_raw_parts(self.as_ptr(), len) }
    }
}

/// A value of a declared struct, union or array type, in C layout: build one with
/// [`crate::Module::new_struct`] or [`crate::Module::struct_value`], read and write its
/// fields by name, pass it to and get it back from dynamic calls.
///
/// ```
/// let module = ffidl::Runtime::new()
///     .load_str("p.ffidl", "struct Point { x: i32, y: f64 }")
///     .unwrap();
/// let mut p = module.new_struct("Point").unwrap();
/// p.set("x", 3).unwrap();
/// p.set("y", 0.5).unwrap();
/// assert_eq!(p.get("x").unwrap(), ffidl::Value::I32(3));
/// assert_eq!(p.get("y").unwrap().as_f64(), Some(0.5));
/// assert_eq!(p.as_bytes().len(), 16);
/// ```
#[derive(Clone)]
pub struct StructValue<'m> {
    pub(crate) program: &'m Program,
    pub(crate) ty: TypeId,
    pub(crate) bytes: Bytes,
}

impl PartialEq for StructValue<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.program, other.program)
            && self.ty == other.ty
            && self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Debug for StructValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct(&self.type_name());
        for name in self.field_names() {
            match self.get(name) {
                Ok(v) => s.field(name, &v),
                Err(_) => s.field(name, &"?"),
            };
        }
        s.finish()
    }
}

impl<'m> StructValue<'m> {
    #[inline]
    pub(crate) fn zeroed(program: &'m Program, ty: TypeId) -> StructValue<'m> {
        StructValue {
            program,
            ty,
            bytes: Bytes::zeroed(program.ty(ty).size as usize),
        }
    }

    /// The declared type's name (`Point`, `[i32; 4]`).
    pub fn type_name(&self) -> String {
        self.program.type_name(self.ty)
    }

    /// The bytes, exactly as C sees them.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.as_slice()
    }

    /// The field names, in declaration order (none for arrays).
    pub fn field_names(&self) -> Vec<&'m str> {
        match &self.program.ty(self.ty).kind {
            TypeKind::Struct(a) | TypeKind::Union(a) => {
                a.fields.iter().map(|f| f.name.as_str()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The number of elements of an array value (0 for structs and unions).
    pub fn len(&self) -> usize {
        match self.program.ty(self.ty).kind {
            TypeKind::Array { len, .. } => len as usize,
            _ => 0,
        }
    }

    /// Whether this is an array value with no elements, or not an array.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of field `name` (a copy; nested structs, unions and arrays are
    /// [`Value::Struct`]).
    pub fn get(&self, name: &str) -> Result<Value<'m>, Error> {
        let (ty, offset) = self.field(name)?;
        // SAFETY: the field lies within the value's bytes, as the checker laid it out.
        Ok(unsafe {
            Kind::of(self.program, ty).read(self.program, self.bytes.as_ptr().add(offset))
        })
    }

    /// Sets field `name` to `value` (converted as for a call argument).
    pub fn set(&mut self, name: &str, value: impl Into<Value<'m>>) -> Result<(), Error> {
        let (ty, offset) = self.field(name)?;
        let value = value.into();
        let at = self.bytes.as_mut_ptr();
        // SAFETY: the field lies within the value's bytes.
        unsafe { Kind::of(self.program, ty).write(self.program, &value, at.add(offset)) }
            .map_err(|m| Error::new(ErrorKind::ValueMismatch, format!("field `{name}`: {m}")))
    }

    /// Element `index` of an array value.
    pub fn element(&self, index: usize) -> Result<Value<'m>, Error> {
        let (ty, offset) = self.elem(index)?;
        // SAFETY: the element lies within the array's bytes.
        Ok(unsafe {
            Kind::of(self.program, ty).read(self.program, self.bytes.as_ptr().add(offset))
        })
    }

    /// Sets element `index` of an array value.
    pub fn set_element(&mut self, index: usize, value: impl Into<Value<'m>>) -> Result<(), Error> {
        let (ty, offset) = self.elem(index)?;
        let value = value.into();
        let at = self.bytes.as_mut_ptr();
        // SAFETY: the element lies within the array's bytes.
        unsafe { Kind::of(self.program, ty).write(self.program, &value, at.add(offset)) }
            .map_err(|m| Error::new(ErrorKind::ValueMismatch, format!("element {index}: {m}")))
    }

    /// The value as the `#[repr(C)]` Rust type `T`, whose layout must match the declared
    /// type (else a [`ErrorKind::Layout`] error).
    pub fn to_repr<T: CType>(&self) -> Result<T, Error> {
        if let Some(why) = mismatch(self.program, self.ty, &T::SHAPE, "value") {
            return Err(Error::new(ErrorKind::Layout, why));
        }
        // SAFETY: `T`'s shape matches the declared type exactly (size and every field), and
        // a `CType` is valid for every bit pattern C produces for it.
        Ok(unsafe { self.bytes.as_ptr().cast::<T>().read_unaligned() })
    }

    /// Overwrites the value's bytes with `value`, whose layout must match.
    pub(crate) fn from_repr<T: CType>(
        program: &'m Program,
        ty: TypeId,
        value: &T,
    ) -> Result<Self, Error> {
        if let Some(why) = mismatch(program, ty, &T::SHAPE, "value") {
            return Err(Error::new(ErrorKind::Layout, why));
        }
        let mut out = StructValue::zeroed(program, ty);
        // SAFETY: `T` has the declared size (checked), the buffer has room for it.
        unsafe { out.bytes.as_mut_ptr().cast::<T>().write_unaligned(*value) };
        Ok(out)
    }

    fn field(&self, name: &str) -> Result<(TypeId, usize), Error> {
        let (TypeKind::Struct(agg) | TypeKind::Union(agg)) = &self.program.ty(self.ty).kind else {
            return Err(Error::new(
                ErrorKind::UnknownName,
                format!("`{}` has no fields", self.type_name()),
            ));
        };
        agg.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| (f.ty, f.offset as usize))
            .ok_or_else(|| {
                Error::unknown_name(
                    format!("`{}` has no field `{name}`", self.type_name()),
                    name,
                    agg.fields.iter().map(|f| f.name.as_str()),
                )
            })
    }

    fn elem(&self, index: usize) -> Result<(TypeId, usize), Error> {
        match self.program.ty(self.ty).kind {
            TypeKind::Array { elem, len } if (index as u64) < len => {
                Ok((elem, index * self.program.ty(elem).size as usize))
            }
            TypeKind::Array { len, .. } => Err(Error::new(
                ErrorKind::ValueMismatch,
                format!(
                    "index {index} is out of bounds for `{}` of length {len}",
                    self.type_name()
                ),
            )),
            _ => Err(Error::new(
                ErrorKind::ValueMismatch,
                format!("`{}` is not an array", self.type_name()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{scalar_field, Tag, Value};
    use std::mem::MaybeUninit;

    /// Writes `tag` and the `size` payload bytes `bits` at the measured offsets into an
    /// uninitialised `Value`, as a value thunk does, and reads it back.
    fn built(tag: Tag, bits: u64, size: usize) -> Value<'static> {
        let field = scalar_field(tag).unwrap();
        let mut out = MaybeUninit::<Value<'static>>::uninit();
        let base = out.as_mut_ptr().cast::<u8>();
        // SAFETY: the offsets are inside the value (checked below); the bytes written
        // are the tag of a scalar variant and every byte of its field, a valid value.
        unsafe {
            assert!(field.payload_offset as usize + size <= std::mem::size_of::<Value>());
            base.write(field.tag);
            let payload = base.add(field.payload_offset as usize);
            std::ptr::copy_nonoverlapping(bits.to_le_bytes().as_ptr(), payload, size);
            out.assume_init()
        }
    }

    #[test]
    fn scalar_fields_are_where_values_keep_them() {
        assert_eq!(built(Tag::Void, 0, 0), Value::Void);
        assert_eq!(built(Tag::Bool, 1, 1), Value::Bool(true));
        assert_eq!(built(Tag::I8, 0x80, 1), Value::I8(i8::MIN));
        assert_eq!(built(Tag::I16, 0x8001, 2), Value::I16(-32767));
        assert_eq!(built(Tag::I32, 0xffff_fffe, 4), Value::I32(-2));
        assert_eq!(built(Tag::I64, 1 << 63, 8), Value::I64(i64::MIN));
        assert_eq!(built(Tag::U8, 0xfe, 1), Value::U8(254));
        assert_eq!(built(Tag::U16, 0xfffe, 2), Value::U16(65534));
        assert_eq!(built(Tag::U32, 0xffff_fffe, 4), Value::U32(u32::MAX - 1));
        assert_eq!(built(Tag::U64, u64::MAX, 8), Value::U64(u64::MAX));
        let f32_bits = u64::from(1.5f32.to_bits());
        assert_eq!(built(Tag::F32, f32_bits, 4), Value::F32(1.5));
        assert_eq!(built(Tag::F64, (-0.25f64).to_bits(), 8), Value::F64(-0.25));
        assert_eq!(built(Tag::Ptr, 0x1000, 8), Value::Ptr(0x1000 as *mut _));
        // Distinct tags, none for the values that own memory.
        let tags: Vec<u8> = [Tag::Void, Tag::Bool, Tag::I8, Tag::I32, Tag::F64, Tag::Ptr]
            .iter()
            .map(|&t| scalar_field(t).unwrap().tag)
            .collect();
        let mut unique = tags.clone();
        unique.dedup();
        assert_eq!(tags, unique);
        assert!(scalar_field(Tag::CStr).is_none() && scalar_field(Tag::Struct).is_none());
        assert!(scalar_field(Tag::Never).is_none());
    }
}
