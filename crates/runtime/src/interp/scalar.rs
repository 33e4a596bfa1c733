//! Scalars in untagged 64-bit slots.
//!
//! Owns: the slot representation of every scalar type (integers sign- or zero-extended
//! from their width, `bool` as 0/1, `f32` as its bits in the low half, `f64` as its bits,
//! pointers/`cstr`/callbacks as the address), loads and stores of each kind from C-layout
//! memory, and the integer kinds as zero-sized types so that operations are compiled
//! into closures specialised per type (no matching on types at run time).

use ffidl_lang::tir::{FloatTy, IntTy, Program, TypeId, TypeKind};

/// How a scalar is stored in memory and in a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    Int(IntTy),
    F32,
    F64,
    Bool,
    /// Data pointer, `cstr` or callback (8 bytes).
    Ptr,
}

/// How a value of a type is held while the script runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repr {
    Void,
    Scalar(Scalar),
    /// Struct, union or array: the slot holds the address of its bytes.
    Agg {
        size: u64,
        align: u64,
    },
}

pub fn repr_of(program: &Program, ty: TypeId) -> Repr {
    let def = program.ty(ty);
    match &def.kind {
        TypeKind::Void | TypeKind::Error | TypeKind::Opaque { .. } => Repr::Void,
        TypeKind::Bool => Repr::Scalar(Scalar::Bool),
        TypeKind::Int(i) => Repr::Scalar(Scalar::Int(*i)),
        TypeKind::Enum(e) => Repr::Scalar(Scalar::Int(e.repr)),
        TypeKind::Float(FloatTy::F32) => Repr::Scalar(Scalar::F32),
        TypeKind::Float(FloatTy::F64) => Repr::Scalar(Scalar::F64),
        TypeKind::Cstr | TypeKind::Null | TypeKind::Ptr { .. } | TypeKind::Callback(_) => {
            Repr::Scalar(Scalar::Ptr)
        }
        TypeKind::Struct(_) | TypeKind::Union(_) | TypeKind::Array { .. } => Repr::Agg {
            size: def.size,
            align: def.align.max(1),
        },
    }
}

/// An integer type as a zero-sized type: its width and signedness are constants.
pub trait IntKind: ScalarKind {
    const BITS: u32;
    const SIGNED: bool;

    /// Bring a 64-bit value to this type's slot form (wrap, then extend).
    #[inline(always)]
    fn norm(v: u64) -> u64 {
        if Self::BITS == 64 {
            v
        } else if Self::SIGNED {
            (((v << (64 - Self::BITS)) as i64) >> (64 - Self::BITS)) as u64
        } else {
            v & ((1u64 << Self::BITS) - 1)
        }
    }

    /// `f` converted like Rust's `as` (saturating, NaN to 0), in slot form.
    fn saturate(f: f64) -> u64;

    /// The mathematical value of a slot of this type.
    #[inline(always)]
    fn value(v: u64) -> i128 {
        if Self::SIGNED {
            v as i64 as i128
        } else {
            v as i128
        }
    }
}

macro_rules! int_kinds {
    ($($name:ident = $ty:ident, $native:ty, $bits:expr, $signed:expr;)*) => {
        $(
            pub struct $name;
            impl IntKind for $name {
                const BITS: u32 = $bits;
                const SIGNED: bool = $signed;
                #[inline(always)]
                fn saturate(f: f64) -> u64 {
                    (f as $native) as i128 as u64
                }
            }
            impl ScalarKind for $name {
                #[inline(always)]
                unsafe fn load(p: *const u8) -> u64 {
                    // SAFETY: forwarded from the caller.
                    unsafe { p.cast::<$native>().read_unaligned() as i128 as u64 }
                }
                #[inline(always)]
                unsafe fn store(p: *mut u8, v: u64) {
                    // SAFETY: forwarded from the caller.
                    unsafe { p.cast::<$native>().write_unaligned(v as $native) }
                }
            }
        )*
    };
}

int_kinds! {
    KI8 = I8, i8, 8, true;
    KI16 = I16, i16, 16, true;
    KI32 = I32, i32, 32, true;
    KI64 = I64, i64, 64, true;
    KU8 = U8, u8, 8, false;
    KU16 = U16, u16, 16, false;
    KU32 = U32, u32, 32, false;
    KU64 = U64, u64, 64, false;
}

/// A scalar kind as a zero-sized type: loads and stores compiled without a match.
pub trait ScalarKind: 'static {
    /// # Safety
    /// `p` must be readable for the kind's size (any alignment).
    unsafe fn load(p: *const u8) -> u64;
    /// # Safety
    /// `p` must be writable for the kind's size (any alignment).
    unsafe fn store(p: *mut u8, v: u64);
}

macro_rules! bits_kinds {
    ($($name:ident = $scalar:ident, $native:ty;)*) => {
        $(
            pub struct $name;
            impl ScalarKind for $name {
                #[inline(always)]
                unsafe fn load(p: *const u8) -> u64 {
                    // SAFETY: forwarded from the caller.
                    unsafe { u64::from(p.cast::<$native>().read_unaligned()) }
                }
                #[inline(always)]
                unsafe fn store(p: *mut u8, v: u64) {
                    // SAFETY: forwarded from the caller.
                    unsafe { p.cast::<$native>().write_unaligned(v as $native) }
                }
            }
        )*
    };
}

bits_kinds! {
    KF32 = F32, u32;
    KF64 = F64, u64;
    KPtr = Ptr, u64;
}

pub struct KBool;
impl ScalarKind for KBool {
    #[inline(always)]
    unsafe fn load(p: *const u8) -> u64 {
        // SAFETY: forwarded from the caller.
        unsafe { u64::from(p.read() != 0) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut u8, v: u64) {
        // SAFETY: forwarded from the caller.
        unsafe { p.write(v as u8) }
    }
}

/// Expand `$body` with `$K` bound to the zero-sized [`ScalarKind`] of scalar `$s`.
macro_rules! with_scalar_kind {
    ($s:expr, $K:ident => $body:expr) => {
        match $s {
            $crate::interp::scalar::Scalar::Int(i) => {
                $crate::interp::scalar::with_int_kind!(i, $K => $body)
            }
            $crate::interp::scalar::Scalar::F32 => {
                type $K = $crate::interp::scalar::KF32;
                $body
            }
            $crate::interp::scalar::Scalar::F64 => {
                type $K = $crate::interp::scalar::KF64;
                $body
            }
            $crate::interp::scalar::Scalar::Ptr => {
                type $K = $crate::interp::scalar::KPtr;
                $body
            }
            $crate::interp::scalar::Scalar::Bool => {
                type $K = $crate::interp::scalar::KBool;
                $body
            }
        }
    };
}
pub(crate) use with_scalar_kind;

/// Expand `$body` with `$K` bound to the zero-sized kind of the integer type `$ty`.
macro_rules! with_int_kind {
    ($ty:expr, $K:ident => $body:expr) => {
        match $ty {
            ffidl_lang::tir::IntTy::I8 => {
                type $K = $crate::interp::scalar::KI8;
                $body
            }
            ffidl_lang::tir::IntTy::I16 => {
                type $K = $crate::interp::scalar::KI16;
                $body
            }
            ffidl_lang::tir::IntTy::I32 => {
                type $K = $crate::interp::scalar::KI32;
                $body
            }
            ffidl_lang::tir::IntTy::I64 => {
                type $K = $crate::interp::scalar::KI64;
                $body
            }
            ffidl_lang::tir::IntTy::U8 => {
                type $K = $crate::interp::scalar::KU8;
                $body
            }
            ffidl_lang::tir::IntTy::U16 => {
                type $K = $crate::interp::scalar::KU16;
                $body
            }
            ffidl_lang::tir::IntTy::U32 => {
                type $K = $crate::interp::scalar::KU32;
                $body
            }
            ffidl_lang::tir::IntTy::U64 => {
                type $K = $crate::interp::scalar::KU64;
                $body
            }
        }
    };
}
pub(crate) use with_int_kind;

/// The mathematical value of a slot of integer type `ty`.
pub fn int_value(ty: IntTy, v: u64) -> i128 {
    with_int_kind!(ty, K => K::value(v))
}

/// Read a scalar of kind `s` from memory into slot form.
///
/// # Safety
/// `p` must be valid for reading `s`'s size (any alignment).
#[inline(always)]
pub unsafe fn load(s: Scalar, p: *const u8) -> u64 {
    // SAFETY: the caller guarantees `p` is readable for the scalar's size; unaligned
    // reads are used because packed structs place fields at any offset.
    unsafe {
        match s {
            Scalar::Int(IntTy::I8) => p.cast::<i8>().read_unaligned() as i64 as u64,
            Scalar::Int(IntTy::I16) => p.cast::<i16>().read_unaligned() as i64 as u64,
            Scalar::Int(IntTy::I32) => p.cast::<i32>().read_unaligned() as i64 as u64,
            Scalar::Int(IntTy::I64) => p.cast::<i64>().read_unaligned() as u64,
            Scalar::Int(IntTy::U8) => u64::from(p.read()),
            Scalar::Int(IntTy::U16) => u64::from(p.cast::<u16>().read_unaligned()),
            Scalar::Int(IntTy::U32) | Scalar::F32 => u64::from(p.cast::<u32>().read_unaligned()),
            Scalar::Int(IntTy::U64) | Scalar::F64 | Scalar::Ptr => p.cast::<u64>().read_unaligned(),
            Scalar::Bool => u64::from(p.read() != 0),
        }
    }
}

/// Write a slot value of kind `s` to memory in C layout.
///
/// # Safety
/// `p` must be valid for writing `s`'s size (any alignment).
#[inline(always)]
pub unsafe fn store(s: Scalar, p: *mut u8, v: u64) {
    // SAFETY: the caller guarantees `p` is writable for the scalar's size.
    unsafe {
        match s {
            Scalar::Int(IntTy::I8 | IntTy::U8) | Scalar::Bool => p.write(v as u8),
            Scalar::Int(IntTy::I16 | IntTy::U16) => p.cast::<u16>().write_unaligned(v as u16),
            Scalar::Int(IntTy::I32 | IntTy::U32) | Scalar::F32 => {
                p.cast::<u32>().write_unaligned(v as u32)
            }
            Scalar::Int(IntTy::I64 | IntTy::U64) | Scalar::F64 | Scalar::Ptr => {
                p.cast::<u64>().write_unaligned(v)
            }
        }
    }
}

#[inline(always)]
pub fn f32_of(v: u64) -> f32 {
    f32::from_bits(v as u32)
}

#[inline(always)]
pub fn f64_of(v: u64) -> f64 {
    f64::from_bits(v)
}

#[inline(always)]
pub fn of_f32(f: f32) -> u64 {
    u64::from(f.to_bits())
}

#[inline(always)]
pub fn of_f64(f: f64) -> u64 {
    f.to_bits()
}
