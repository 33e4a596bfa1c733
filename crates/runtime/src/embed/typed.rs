//! Rust types as C types: [`CType`] describes a Rust type's C shape ([`Shape`]) so that
//! it can be checked against a declaration; [`CFn`] does the same for `extern "C" fn`
//! pointer types; [`repr_c!`](crate::repr_c) declares `#[repr(C)]` structs and unions
//! with their shapes. Owns the rule for when a Rust type matches a declared type.

use ffidl_lang::tir::{FloatTy, Program, TypeId, TypeKind};

/// The C shape of a Rust type, compared with a declared `.ffidl` type by
/// [`crate::Module::check_layout`], typed handles and typed callbacks.
#[derive(Debug)]
pub enum Shape {
    /// `bool` (C `_Bool`).
    Bool,
    /// An integer of `size` bytes (also matches an `enum` with that representation).
    Int {
        /// Bytes: 1, 2, 4 or 8.
        size: u8,
        /// Whether the type is signed.
        signed: bool,
    },
    /// `f32` (C `float`).
    F32,
    /// `f64` (C `double`).
    F64,
    /// Any pointer: matches `*T`, `*const T`, `cstr` and callback types.
    Ptr,
    /// A `#[repr(C)]` struct (see [`repr_c!`](crate::repr_c)).
    Struct(&'static Aggregate),
    /// A `#[repr(C)]` union (see [`repr_c!`](crate::repr_c)).
    Union(&'static Aggregate),
    /// `[T; N]`.
    Array {
        /// The element's shape.
        elem: &'static Shape,
        /// The number of elements.
        len: usize,
    },
}

/// The fields of a Rust struct or union, as `repr_c!` records them.
#[derive(Debug)]
pub struct Aggregate {
    /// The Rust type's name (used in messages only).
    pub name: &'static str,
    /// `size_of` the Rust type.
    pub size: usize,
    /// `align_of` the Rust type.
    pub align: usize,
    /// `(name, byte offset, shape)` in declaration order.
    pub fields: &'static [(&'static str, usize, &'static Shape)],
}

/// A Rust type that has a C representation ffidl can check against a declaration.
///
/// # Safety
/// [`CType::SHAPE`] must describe the type exactly (size, alignment, every field's
/// offset and shape), and the type must be valid for every bit pattern C can produce
/// for that shape (so `bool` is allowed, since C's `_Bool` is 0 or 1, but a Rust `enum`
/// is not). [`repr_c!`](crate::repr_c) implements it soundly for the types it declares.
pub unsafe trait CType: Copy + 'static {
    /// The type's C shape.
    const SHAPE: Shape;
}

macro_rules! scalar_ctype {
    ($($t:ty => $shape:expr;)*) => {$(
        // SAFETY: a scalar of the named C shape; every bit pattern of its size is valid
        // (bool: C's `_Bool` only holds 0 or 1).
        unsafe impl CType for $t { const SHAPE: Shape = $shape; }
    )*};
}

scalar_ctype! {
    bool => Shape::Bool;
    i8 => Shape::Int { size: 1, signed: true };
    i16 => Shape::Int { size: 2, signed: true };
    i32 => Shape::Int { size: 4, signed: true };
    i64 => Shape::Int { size: 8, signed: true };
    isize => Shape::Int { size: std::mem::size_of::<isize>() as u8, signed: true };
    u8 => Shape::Int { size: 1, signed: false };
    u16 => Shape::Int { size: 2, signed: false };
    u32 => Shape::Int { size: 4, signed: false };
    u64 => Shape::Int { size: 8, signed: false };
    usize => Shape::Int { size: std::mem::size_of::<usize>() as u8, signed: false };
    f32 => Shape::F32;
    f64 => Shape::F64;
}

// SAFETY: a pointer is an address; every bit pattern is a valid raw pointer.
unsafe impl<T: ?Sized + 'static> CType for *const T {
    const SHAPE: Shape = Shape::Ptr;
}
// SAFETY: as for `*const T`.
unsafe impl<T: ?Sized + 'static> CType for *mut T {
    const SHAPE: Shape = Shape::Ptr;
}
// SAFETY: an array of `T` is `N` `T`s with no padding between them, as in C.
unsafe impl<T: CType, const N: usize> CType for [T; N] {
    const SHAPE: Shape = Shape::Array {
        elem: &T::SHAPE,
        len: N,
    };
}

/// Declares `#[repr(C)]` structs and unions together with their [`CType`] description,
/// so that they can be passed to and returned from typed handles and callbacks, and
/// checked against a `.ffidl` declaration ([`crate::Module::check_layout`]).
///
/// Field types must themselves be [`CType`]s. Extra attributes (`#[derive(...)]`,
/// `#[repr(packed)]`, `#[repr(align(16))]`) are kept; the layout check sees their effect.
///
/// ```
/// ffidl::repr_c! {
///     #[derive(Clone, Copy, Debug, PartialEq)]
///     pub struct Vec2 { pub x: f32, pub y: f32 }
///
///     #[derive(Clone, Copy)]
///     pub union Bits { pub f: f32, pub u: u32 }
/// }
/// let v = Vec2 { x: 1.0, y: 2.0 };
/// assert_eq!(v.y, 2.0);
/// ```
#[macro_export]
macro_rules! repr_c {
    () => {};
    (@shape struct) => { $crate::Shape::Struct };
    (@shape union) => { $crate::Shape::Union };
    ($(#[$attr:meta])* $vis:vis $kind:ident $name:ident { $($fvis:vis $field:ident : $fty:ty),* $(,)? } $($rest:tt)*) => {
        #[repr(C)]
        $(#[$attr])*
        $vis $kind $name { $($fvis $field: $fty),* }
        // SAFETY: `#[repr(C)]`, and the shape records every field's real offset and type
        // (each itself a `CType`, valid for every bit pattern C produces; a union's fields
        // all start at offset 0), the size and the alignment as the compiler laid them out.
        unsafe impl $crate::CType for $name {
            const SHAPE: $crate::Shape = $crate::repr_c!(@shape $kind)(&$crate::Aggregate {
                name: stringify!($name),
                size: ::std::mem::size_of::<$name>(),
                align: ::std::mem::align_of::<$name>(),
                fields: &[$((stringify!($field), ::std::mem::offset_of!($name, $field), &<$fty as $crate::CType>::SHAPE)),*],
            });
        }
        $crate::repr_c! { $($rest)* }
    };
}

/// Why `shape` does not match the declared type `ty` (`None` when it matches). `what`
/// names the place being compared (`parameter 2`, `field `x``).
pub(crate) fn mismatch(program: &Program, ty: TypeId, shape: &Shape, what: &str) -> Option<String> {
    let def = program.ty(ty);
    let declared = program.type_name(ty);
    let fail = |why: String| Some(format!("{what}: {why}"));
    let ok = match (&def.kind, shape) {
        (TypeKind::Bool, Shape::Bool)
        | (TypeKind::Float(FloatTy::F32), Shape::F32)
        | (TypeKind::Float(FloatTy::F64), Shape::F64) => true,
        (TypeKind::Int(i), Shape::Int { size, signed }) => {
            i.size() == u64::from(*size) && i.signed() == *signed
        }
        (TypeKind::Enum(e), Shape::Int { size, signed }) => {
            e.repr.size() == u64::from(*size) && e.repr.signed() == *signed
        }
        (TypeKind::Ptr { .. } | TypeKind::Cstr | TypeKind::Callback(_), Shape::Ptr) => true,
        (TypeKind::Struct(agg), Shape::Struct(rust))
        | (TypeKind::Union(agg), Shape::Union(rust)) => {
            if def.size != rust.size as u64 || def.align != rust.align as u64 {
                return fail(format!(
                    "`{declared}` is {} bytes aligned to {}, the Rust type `{}` is {} bytes aligned to {}",
                    def.size, def.align, rust.name, rust.size, rust.align
                ));
            }
            if agg.fields.len() != rust.fields.len() {
                return fail(format!(
                    "`{declared}` has {} fields, the Rust type `{}` has {}",
                    agg.fields.len(),
                    rust.name,
                    rust.fields.len()
                ));
            }
            for (field, (name, offset, fshape)) in agg.fields.iter().zip(rust.fields) {
                if field.name != *name {
                    return fail(format!(
                        "`{declared}` has field `{}` where the Rust type `{}` has `{name}`",
                        field.name, rust.name
                    ));
                }
                if field.offset != *offset as u64 {
                    return fail(format!(
                        "field `{name}` is at offset {} in `{declared}` but at {offset} in `{}`",
                        field.offset, rust.name
                    ));
                }
                let inner = format!("{what}, field `{name}`");
                if let Some(why) = mismatch(program, field.ty, fshape, &inner) {
                    return Some(why);
                }
            }
            true
        }
        (TypeKind::Array { elem, len }, Shape::Array { elem: rust, len: n }) => {
            if *len != *n as u64 {
                return fail(format!(
                    "`{declared}` has {len} elements, the Rust array {n}"
                ));
            }
            return mismatch(program, *elem, rust, &format!("{what}, element"));
        }
        _ => false,
    };
    if ok {
        None
    } else {
        fail(format!(
            "declared `{declared}`, Rust type is {}",
            describe(shape)
        ))
    }
}

fn describe(shape: &Shape) -> String {
    match shape {
        Shape::Bool => "`bool`".into(),
        Shape::Int { size, signed } => {
            format!(
                "`{}{}`",
                if *signed { "i" } else { "u" },
                u32::from(*size) * 8
            )
        }
        Shape::F32 => "`f32`".into(),
        Shape::F64 => "`f64`".into(),
        Shape::Ptr => "a pointer".into(),
        Shape::Struct(a) => format!("struct `{}`", a.name),
        Shape::Union(a) => format!("union `{}`", a.name),
        Shape::Array { elem, len } => format!("[{}; {len}]", describe(elem)),
    }
}

/// The calling convention of a Rust function pointer type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FnAbi {
    /// `extern "C"`: the host's C convention.
    C,
    /// `extern "win64"` (x86-64 only).
    Win64,
    /// `extern "sysv64"` (x86-64 only).
    SysV64,
}

/// A Rust function pointer type a declared foreign function or callback can be viewed
/// as: `extern "C" fn(A, B, ...) -> R` with up to 12 [`CType`] parameters and a
/// [`CType`] or `()` result (also `extern "win64"` and `extern "sysv64"` on x86-64).
///
/// # Safety
/// `PARAMS`, `RET` and `ABI` describe the function type exactly, and `from_ptr` turns an
/// address into that type.
pub unsafe trait CFn: Copy + Send + Sync + 'static {
    /// The argument tuple of [`crate::TypedFn::call`].
    type Args;
    /// The result type (`()` for none).
    type Output;
    /// The calling convention.
    const ABI: FnAbi;
    /// The parameters' shapes, in order.
    const PARAMS: &'static [&'static Shape];
    /// `None` for `()`.
    const RET: Option<&'static Shape>;
    /// # Safety
    /// `ptr` is a function with this exact signature.
    unsafe fn from_ptr(ptr: *const std::ffi::c_void) -> Self;
    /// Calls the function.
    fn invoke(self, args: Self::Args) -> Self::Output;
}

/// A result type: `()` or a [`CType`].
pub trait CReturn: 'static {
    /// The result's shape (`None` for `()`).
    const SHAPE: Option<&'static Shape>;
    /// Writes the value to a callback's result buffer.
    ///
    /// # Safety
    /// `ret` has room for the value.
    #[doc(hidden)]
    unsafe fn write_to(self, ret: *mut u8);
}
impl CReturn for () {
    const SHAPE: Option<&'static Shape> = None;
    unsafe fn write_to(self, _: *mut u8) {}
}
impl<T: CType> CReturn for T {
    const SHAPE: Option<&'static Shape> = Some(&T::SHAPE);
    unsafe fn write_to(self, ret: *mut u8) {
        // SAFETY: the caller guarantees room for a `T`.
        unsafe { ret.cast::<T>().write_unaligned(self) }
    }
}

macro_rules! cfn_impls {
    ($abi:literal, $fnabi:expr; $( ($($a:ident),*) )*) => {$(
        // SAFETY: the parameter and result shapes are those of the type's parameters,
        // and `from_ptr` transmutes a code address into a function pointer of that type.
        unsafe impl<R: CReturn, $($a: CType),*> CFn for extern $abi fn($($a),*) -> R {
            type Args = ($($a,)*);
            type Output = R;
            const ABI: FnAbi = $fnabi;
            const PARAMS: &'static [&'static Shape] = &[$(&$a::SHAPE),*];
            const RET: Option<&'static Shape> = R::SHAPE;
            unsafe fn from_ptr(ptr: *const std::ffi::c_void) -> Self {
                // SAFETY: the caller guarantees `ptr` is a function of this type.
                unsafe { std::mem::transmute::<*const std::ffi::c_void, Self>(ptr) }
            }
            #[inline(always)]
            #[allow(non_snake_case)]
            fn invoke(self, args: Self::Args) -> R {
                let ($($a,)*) = args;
                (self)($($a),*)
            }
        }
    )*};
}

macro_rules! cfn_all_arities {
    ($abi:literal, $fnabi:expr) => {
        cfn_impls! { $abi, $fnabi;
            () (A1) (A1, A2) (A1, A2, A3) (A1, A2, A3, A4) (A1, A2, A3, A4, A5)
            (A1, A2, A3, A4, A5, A6) (A1, A2, A3, A4, A5, A6, A7)
            (A1, A2, A3, A4, A5, A6, A7, A8) (A1, A2, A3, A4, A5, A6, A7, A8, A9)
            (A1, A2, A3, A4, A5, A6, A7, A8, A9, A10)
            (A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11)
            (A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12)
        }
    };
}

cfn_all_arities!("C", FnAbi::C);
#[cfg(target_arch = "x86_64")]
cfn_all_arities!("win64", FnAbi::Win64);
#[cfg(target_arch = "x86_64")]
cfn_all_arities!("sysv64", FnAbi::SysV64);
