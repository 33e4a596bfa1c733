//! The one source of truth for C calling conventions.
//!
//! This module owns the ABI-level description of a C signature ([`AbiType`],
//! [`Signature`]) and the decision of where every byte of every argument and of the
//! result travels ([`CallPlan`]). It knows nothing of the script language: the
//! language crate lowers its types to [`AbiType`] (flattening nested structs, arrays
//! and unions into scalar [`Leaf`]s), and both code generators (the Cranelift thunks
//! and the assembly fallback) read the plan without re-deriving any rule.
//!
//! One file per ABI: `sysv64` (System V x86-64 psABI), `win64` (Microsoft x64) and
//! `aapcs64` (Arm 64-bit, ELF variant) is classified too, but no thunks are generated
//! for it yet.

mod aapcs64;
mod sysv64;
#[cfg(test)]
mod tests;
mod win64;

use std::fmt;

/// A calling convention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Abi {
    /// System V AMD64 psABI (Linux, BSDs, macOS on x86-64).
    SysV64,
    /// Microsoft x64 (Windows, and `__attribute__((ms_abi))` functions elsewhere).
    Win64,
    /// Arm 64-bit procedure call standard, ELF (Linux) variant. Plans only: this crate
    /// does not generate arm64 thunks yet.
    Aapcs64,
}

impl Abi {
    /// The default C calling convention of the machine this crate was built for.
    pub fn host() -> Abi {
        if cfg!(all(target_arch = "x86_64", windows)) {
            Abi::Win64
        } else if cfg!(target_arch = "aarch64") {
            Abi::Aapcs64
        } else {
            Abi::SysV64
        }
    }

    /// The ABI named `sysv64`, `win64` or `aapcs64` (as in `@abi(win64)`).
    pub fn from_name(name: &str) -> Option<Abi> {
        match name {
            "sysv64" => Some(Abi::SysV64),
            "win64" => Some(Abi::Win64),
            "aapcs64" => Some(Abi::Aapcs64),
            _ => None,
        }
    }

    /// Lower-case name as written in scripts and diagnostics (`sysv64`, `win64`, `aapcs64`).
    pub fn name(self) -> &'static str {
        match self {
            Abi::SysV64 => "sysv64",
            Abi::Win64 => "win64",
            Abi::Aapcs64 => "aapcs64",
        }
    }
}

impl fmt::Display for Abi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The C type of one argument or result, as far as the ABI cares.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AbiType {
    /// An integer of `size` bytes (1, 2, 4 or 8).
    Int {
        size: u8,
        signed: bool,
    },
    /// C `_Bool` / `bool` (one byte, 0 or 1).
    Bool,
    F32,
    F64,
    /// Any data or function pointer (8 bytes).
    Ptr,
    /// A struct, union or array passed by value.
    Aggregate(AggLayout),
}

impl AbiType {
    pub const I8: AbiType = AbiType::Int {
        size: 1,
        signed: true,
    };
    pub const U8: AbiType = AbiType::Int {
        size: 1,
        signed: false,
    };
    pub const I16: AbiType = AbiType::Int {
        size: 2,
        signed: true,
    };
    pub const U16: AbiType = AbiType::Int {
        size: 2,
        signed: false,
    };
    pub const I32: AbiType = AbiType::Int {
        size: 4,
        signed: true,
    };
    pub const U32: AbiType = AbiType::Int {
        size: 4,
        signed: false,
    };
    pub const I64: AbiType = AbiType::Int {
        size: 8,
        signed: true,
    };
    pub const U64: AbiType = AbiType::Int {
        size: 8,
        signed: false,
    };

    /// Size in bytes.
    pub fn size(&self) -> u32 {
        match self {
            AbiType::Int { size, .. } => u32::from(*size),
            AbiType::Bool => 1,
            AbiType::F32 => 4,
            AbiType::F64 | AbiType::Ptr => 8,
            AbiType::Aggregate(layout) => layout.size,
        }
    }

    /// Alignment in bytes.
    pub fn align(&self) -> u32 {
        match self {
            AbiType::Aggregate(layout) => layout.align,
            scalar => scalar.size(),
        }
    }

    pub fn is_aggregate(&self) -> bool {
        matches!(self, AbiType::Aggregate(_))
    }

    /// How a scalar appears as a leaf inside an aggregate; `None` for aggregates.
    pub fn leaf_kind(&self) -> Option<LeafKind> {
        match self {
            AbiType::Int { size, .. } => Some(LeafKind::Int(*size)),
            AbiType::Bool => Some(LeafKind::Int(1)),
            AbiType::Ptr => Some(LeafKind::Int(8)),
            AbiType::F32 => Some(LeafKind::F32),
            AbiType::F64 => Some(LeafKind::F64),
            AbiType::Aggregate(_) => None,
        }
    }

    /// The extension a narrow integer of this type needs when it is widened.
    pub fn extension(&self) -> Ext {
        match self {
            AbiType::Int { size, signed } if *size < 8 => {
                if *signed {
                    Ext::Sign
                } else {
                    Ext::Zero
                }
            }
            AbiType::Bool => Ext::Zero,
            _ => Ext::None,
        }
    }
}

/// Memory layout of an aggregate: size, alignment, every scalar it contains, and the
/// declared structure those scalars come from.
///
/// `leaves` flattens nested structs and arrays; union members simply give overlapping
/// leaves; padding and zero-length arrays have none. `shape` keeps the nesting, for the
/// rules that depend on it (gcc's SysV classifier walks the declaration: an array by its
/// first element, a zero-length array by its element). The two describe one type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AggLayout {
    pub size: u32,
    pub align: u32,
    pub leaves: Vec<Leaf>,
    pub shape: AggShape,
}

/// The declared structure of an aggregate, down to its scalars.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AggShape {
    Scalar(LeafKind),
    /// Fields at their byte offsets (which may overlap, as a flat leaf list's do).
    Struct {
        size: u32,
        fields: Vec<(u32, AggShape)>,
    },
    /// Members, all at offset 0.
    Union {
        size: u32,
        members: Vec<AggShape>,
    },
    /// `len` elements of `elem_size` bytes; `len` may be 0.
    Array {
        len: u32,
        elem_size: u32,
        elem: Box<AggShape>,
    },
}

impl AggShape {
    /// Size in bytes.
    pub fn size(&self) -> u32 {
        match self {
            AggShape::Scalar(kind) => kind.size(),
            AggShape::Struct { size, .. } | AggShape::Union { size, .. } => *size,
            AggShape::Array { len, elem_size, .. } => len.saturating_mul(*elem_size),
        }
    }
}

impl AggLayout {
    /// A layout from `(offset, kind)` pairs; its shape is a struct of those scalars.
    pub fn new(size: u32, align: u32, leaves: impl IntoIterator<Item = (u32, LeafKind)>) -> Self {
        let leaves: Vec<Leaf> = leaves
            .into_iter()
            .map(|(offset, kind)| Leaf { offset, kind })
            .collect();
        let shape = AggShape::Struct {
            size,
            fields: leaves
                .iter()
                .map(|leaf| (leaf.offset, AggShape::Scalar(leaf.kind)))
                .collect(),
        };
        AggLayout {
            size,
            align,
            leaves,
            shape,
        }
    }

    /// The layout of a plain C struct of scalars with natural alignment: a convenience
    /// for tests and benchmarks. Programs never use it: the runtime lowers aggregates
    /// from the checker's layouts (`ffidl::lower`), the one layout engine.
    pub fn c_struct(fields: &[LeafKind]) -> Self {
        let mut offset = 0u32;
        let mut align = 1u32;
        let mut leaves = Vec::with_capacity(fields.len());
        for &kind in fields {
            let size = kind.size();
            offset = offset.next_multiple_of(size);
            leaves.push((offset, kind));
            offset += size;
            align = align.max(size);
        }
        AggLayout::new(offset.next_multiple_of(align), align, leaves)
    }

    /// The layout of a packed C struct of scalars (`__attribute__((packed))`): no
    /// padding, alignment 1. For tests and benchmarks, like [`AggLayout::c_struct`].
    pub fn packed_struct(fields: &[LeafKind]) -> Self {
        let mut offset = 0u32;
        let mut leaves = Vec::with_capacity(fields.len());
        for &kind in fields {
            leaves.push((offset, kind));
            offset += kind.size();
        }
        AggLayout::new(offset, 1, leaves)
    }
}

/// One scalar inside an aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Leaf {
    /// Byte offset from the start of the aggregate.
    pub offset: u32,
    pub kind: LeafKind,
}

/// What the ABI needs to know of a scalar inside an aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeafKind {
    /// An integer, bool or pointer of this many bytes.
    Int(u8),
    F32,
    F64,
}

impl LeafKind {
    pub fn size(self) -> u32 {
        match self {
            LeafKind::Int(size) => u32::from(size),
            LeafKind::F32 => 4,
            LeafKind::F64 => 8,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, LeafKind::F32 | LeafKind::F64)
    }
}

/// A C function type as the ABI sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    pub params: Vec<AbiType>,
    /// `None` for `void`.
    pub ret: Option<AbiType>,
    /// For a variadic function: the index of the first variadic argument in `params`
    /// (the number of fixed parameters). The call's actual argument types are in `params`,
    /// after C's default argument promotions (the caller passes `f64` for a `float` and at
    /// least `i32`/`u32` for narrower integers and `bool`); classification does not promote.
    pub variadic_from: Option<usize>,
    pub abi: Abi,
}

impl Signature {
    /// A non-variadic signature.
    pub fn new(abi: Abi, params: Vec<AbiType>, ret: Option<AbiType>) -> Self {
        Signature {
            params,
            ret,
            variadic_from: None,
            abi,
        }
    }

    /// Whether argument `index` is passed through the `...`.
    pub fn is_variadic_arg(&self, index: usize) -> bool {
        self.variadic_from.is_some_and(|first| index >= first)
    }
}

/// A register or stack place.
///
/// For arguments `Int(n)` / `Vec(n)` index the ABI's argument registers
/// (SysV: rdi rsi rdx rcx r8 r9 / xmm0-7; Win64: rcx rdx r8 r9 / xmm0-3 by position).
/// For results they index the return registers (rax rdx / xmm0 xmm1).
/// `Stack(offset)` is a byte offset from the stack pointer at the call instruction
/// (Win64 offsets include the 32-byte shadow space, so the first stack argument is at 32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Loc {
    Int(u8),
    Vec(u8),
    Stack(u32),
}

/// How the bits of a piece are moved: as an integer, or as a float in a vector register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PieceKind {
    Int,
    F32,
    F64,
}

/// A contiguous run of bytes of an argument or result and the place it travels in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Piece {
    pub loc: Loc,
    /// Byte offset within the argument's (or result's) value.
    pub src_offset: u32,
    /// Number of bytes (1..=8).
    pub size: u8,
    pub kind: PieceKind,
}

/// Extension of a narrow integer to a full register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ext {
    /// Nothing required.
    None,
    /// Sign-extend.
    Sign,
    /// Zero-extend.
    Zero,
}

/// How one argument is passed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ArgPass {
    /// Nothing is passed (an empty aggregate under SysV).
    Ignore,
    /// By value in registers and/or stack words. `ext` applies to narrow integer scalars
    /// and names what the caller must do (SysV: extend to 32 bits; Win64: nothing).
    /// `aggregate` tells a struct/union (pieces read from its bytes) from a scalar.
    Direct {
        pieces: Vec<Piece>,
        ext: Ext,
        aggregate: bool,
    },
    /// SysV MEMORY class: the bytes are copied onto the stack at `offset`.
    StackCopy { offset: u32, size: u32 },
    /// Win64: the caller makes a copy (aligned to `align`) and passes its address in `loc`.
    ByRef { loc: Loc, size: u32, align: u32 },
}

/// How the result comes back.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RetPass {
    Void,
    /// In return registers. `ext` says how the declared type widens a narrow integer
    /// (the callee leaves upper bits unspecified, so the caller extends).
    /// `aggregate` tells a struct/union (pieces written to its bytes) from a scalar.
    Direct {
        pieces: Vec<Piece>,
        ext: Ext,
        aggregate: bool,
    },
    /// Through a hidden pointer to caller memory passed in `ptr_loc`; the callee also
    /// returns that pointer in rax.
    Sret {
        ptr_loc: Loc,
        size: u32,
    },
}

/// Where everything goes for one call: the data both code generators consume.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CallPlan {
    pub abi: Abi,
    /// One entry per parameter, in order.
    pub args: Vec<ArgPass>,
    pub ret: RetPass,
    /// Bytes of outgoing argument area (Win64: including the 32-byte shadow space),
    /// a multiple of 8 (the caller keeps the stack 16-byte aligned at the call).
    pub stack_bytes: u32,
    /// Integer argument registers used (including a hidden sret pointer).
    pub int_regs_used: u8,
    /// Vector argument registers used. For a variadic SysV call this is the value the
    /// caller puts in `%al`.
    pub vec_regs_used: u8,
    /// Whether the callee is variadic (SysV: `%al` must be set).
    pub variadic: bool,
}

impl CallPlan {
    /// Offset of the first stack argument: 32 under Win64 (after the shadow space), else 0.
    pub fn stack_arg_start(&self) -> u32 {
        match self.abi {
            Abi::Win64 => win64::SHADOW_BYTES,
            _ => 0,
        }
    }
}

/// Why a signature cannot be classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AbiError {
    UnsupportedAbi(Abi),
    /// An integer size other than 1, 2, 4 or 8.
    BadIntSize(u8),
    /// An aggregate layout that is not self-consistent (leaf outside, zero alignment...).
    BadLayout(String),
    /// `variadic_from` beyond the parameter list.
    BadVariadicIndex {
        variadic_from: usize,
        params: usize,
    },
}

impl fmt::Display for AbiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbiError::UnsupportedAbi(abi) => {
                write!(f, "the {abi} calling convention is not supported yet")
            }
            AbiError::BadIntSize(size) => write!(f, "integers of {size} bytes cannot be passed"),
            AbiError::BadLayout(why) => write!(f, "bad aggregate layout: {why}"),
            AbiError::BadVariadicIndex {
                variadic_from,
                params,
            } => write!(
                f,
                "variadic arguments start at {variadic_from} but there are only {params} parameters"
            ),
        }
    }
}

impl std::error::Error for AbiError {}

/// The largest aggregate passed or returned by value (keeps every offset in range).
pub const MAX_AGGREGATE_BYTES: u32 = 1 << 24;

/// Decides where every argument and the result of a call go.
pub fn classify(sig: &Signature) -> Result<CallPlan, AbiError> {
    if let Some(first) = sig.variadic_from {
        if first > sig.params.len() {
            return Err(AbiError::BadVariadicIndex {
                variadic_from: first,
                params: sig.params.len(),
            });
        }
    }
    for ty in sig.params.iter().chain(sig.ret.iter()) {
        validate(ty)?;
    }
    match sig.abi {
        Abi::SysV64 => Ok(sysv64::classify(sig)),
        Abi::Win64 => Ok(win64::classify(sig)),
        Abi::Aapcs64 => Ok(aapcs64::classify(sig)),
    }
}

fn validate(ty: &AbiType) -> Result<(), AbiError> {
    match ty {
        AbiType::Int { size, .. } if !matches!(size, 1 | 2 | 4 | 8) => {
            Err(AbiError::BadIntSize(*size))
        }
        AbiType::Aggregate(layout) => {
            if layout.size > MAX_AGGREGATE_BYTES {
                return Err(AbiError::BadLayout(format!(
                    "{} bytes is too large to pass by value (the limit is {MAX_AGGREGATE_BYTES})",
                    layout.size
                )));
            }
            if !layout.align.is_power_of_two() {
                return Err(AbiError::BadLayout(format!(
                    "alignment {} is not a power of two",
                    layout.align
                )));
            }
            for leaf in &layout.leaves {
                if let LeafKind::Int(size) = leaf.kind {
                    if !matches!(size, 1 | 2 | 4 | 8) {
                        return Err(AbiError::BadIntSize(size));
                    }
                }
                if leaf
                    .offset
                    .checked_add(leaf.kind.size())
                    .is_none_or(|end| end > layout.size)
                {
                    return Err(AbiError::BadLayout(format!(
                        "a field at offset {} runs past the end of a {}-byte aggregate",
                        leaf.offset, layout.size
                    )));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The piece kind of a scalar in a register of the given class.
fn scalar_piece_kind(ty: &AbiType) -> PieceKind {
    match ty {
        AbiType::F32 => PieceKind::F32,
        AbiType::F64 => PieceKind::F64,
        _ => PieceKind::Int,
    }
}

const SYSV_INT_ARG_REGS: [&str; 6] = ["rdi", "rsi", "rdx", "rcx", "r8", "r9"];
const WIN64_INT_ARG_REGS: [&str; 4] = ["rcx", "rdx", "r8", "r9"];
const INT_RET_REGS: [&str; 2] = ["rax", "rdx"];

impl CallPlan {
    fn loc_name(&self, loc: Loc, is_ret: bool) -> String {
        match loc {
            Loc::Int(n) if self.abi == Abi::Aapcs64 => format!("x{n}"),
            Loc::Vec(n) if self.abi == Abi::Aapcs64 => format!("v{n}"),
            Loc::Int(n) if is_ret => INT_RET_REGS.get(n as usize).unwrap_or(&"?").to_string(),
            Loc::Int(n) => {
                let regs: &[&str] = if self.abi == Abi::Win64 {
                    &WIN64_INT_ARG_REGS
                } else {
                    &SYSV_INT_ARG_REGS
                };
                regs.get(n as usize).unwrap_or(&"?").to_string()
            }
            Loc::Vec(n) => format!("xmm{n}"),
            Loc::Stack(offset) => format!("[sp+{offset}]"),
        }
    }

    fn write_pieces(
        &self,
        f: &mut fmt::Formatter<'_>,
        pieces: &[Piece],
        ext: Ext,
        is_ret: bool,
    ) -> fmt::Result {
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            let kind = match piece.kind {
                PieceKind::Int => "i",
                PieceKind::F32 | PieceKind::F64 => "f",
            };
            write!(
                f,
                "{}:{kind}{}@{}",
                self.loc_name(piece.loc, is_ret),
                piece.size,
                piece.src_offset
            )?;
        }
        match ext {
            Ext::None => Ok(()),
            Ext::Sign => f.write_str(" sext"),
            Ext::Zero => f.write_str(" zext"),
        }
    }
}

/// One line: `a0 rdi:i4@0 sext; a1 [sp+0]:i8@0 ...; ret rax:i8@0; stack 8; al 0`.
/// Each piece is `place:{i|f}{size}@{offset within the value}`.
impl fmt::Display for CallPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, arg) in self.args.iter().enumerate() {
            write!(f, "a{index} ")?;
            match arg {
                ArgPass::Ignore => f.write_str("ignored")?,
                ArgPass::Direct { pieces, ext, .. } => self.write_pieces(f, pieces, *ext, false)?,
                ArgPass::StackCopy { offset, size } => write!(f, "copy{size}->[sp+{offset}]")?,
                ArgPass::ByRef { loc, size, .. } => {
                    write!(f, "{}:&copy{size}", self.loc_name(*loc, false))?
                }
            }
            f.write_str("; ")?;
        }
        f.write_str("ret ")?;
        match &self.ret {
            RetPass::Void => f.write_str("void")?,
            RetPass::Direct { pieces, ext, .. } => self.write_pieces(f, pieces, *ext, true)?,
            RetPass::Sret { ptr_loc, size } => {
                write!(f, "sret{size}:{}", self.loc_name(*ptr_loc, false))?
            }
        }
        write!(f, "; stack {}", self.stack_bytes)?;
        if self.variadic && self.abi == Abi::SysV64 {
            write!(f, "; al {}", self.vec_regs_used)?;
        }
        Ok(())
    }
}
