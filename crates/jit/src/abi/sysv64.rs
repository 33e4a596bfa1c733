//! System V AMD64 psABI classification (section 3.2.3 of the psABI).
//!
//! Each aggregate of at most 16 bytes is split into eightbytes; each eightbyte gets the
//! merged class of the scalars inside it (INTEGER wins over SSE, an eightbyte with no
//! scalar is NO_CLASS). Larger aggregates and aggregates with unaligned scalars are
//! MEMORY. An argument whose eightbytes do not all fit in the remaining registers goes
//! entirely onto the stack, and later arguments may still use registers.
//!
//! The classes come from walking the aggregate's declared shape the way gcc does, which
//! the flat psABI text leaves open in two places: an array is classified by its first
//! element, whose classes repeat over the array's eightbytes (so only the first
//! element's scalars can make a value MEMORY by being unaligned: a packed 7-byte struct
//! in `[S; 2]` still travels in registers), and a zero-length array that starts inside
//! an eightbyte is classified by its element there (`{ f32, [i32; 0] }` is INTEGER, and
//! MEMORY when that element would be unaligned).

use super::{AbiType, AggShape, ArgPass, CallPlan, Loc, Piece, PieceKind, RetPass, Signature};

const INT_ARG_REGS: u8 = 6;
const VEC_ARG_REGS: u8 = 8;

/// The class of one eightbyte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// NO_CLASS: only padding.
    Empty,
    Integer,
    Sse,
}

/// One eightbyte of a value passed in registers.
#[derive(Clone, Copy, Debug)]
struct Eightbyte {
    class: Class,
    offset: u32,
    size: u8,
}

/// The classification of a whole value: in register eightbytes, or MEMORY.
enum ValueClass {
    Regs(Vec<Eightbyte>),
    Memory,
}

fn classify_value(ty: &AbiType) -> ValueClass {
    match ty {
        AbiType::F32 => ValueClass::Regs(vec![Eightbyte {
            class: Class::Sse,
            offset: 0,
            size: 4,
        }]),
        AbiType::F64 => ValueClass::Regs(vec![Eightbyte {
            class: Class::Sse,
            offset: 0,
            size: 8,
        }]),
        AbiType::Aggregate(layout) => {
            if layout.size > 16 {
                return ValueClass::Memory;
            }
            let Some(classes) = classify_shape(&layout.shape, 0) else {
                return ValueClass::Memory;
            };
            ValueClass::Regs(
                classes
                    .into_iter()
                    .enumerate()
                    .map(|(i, class)| {
                        let offset = i as u32 * 8;
                        Eightbyte {
                            class,
                            offset,
                            size: (layout.size - offset).min(8) as u8,
                        }
                    })
                    .filter(|eightbyte| eightbyte.class != Class::Empty)
                    .collect(),
            )
        }
        scalar => ValueClass::Regs(vec![Eightbyte {
            class: Class::Integer,
            offset: 0,
            size: scalar.size() as u8,
        }]),
    }
}

/// The classes of the eightbytes a value of `shape` at byte `offset` (within its
/// outermost aggregate) touches, counted from the eightbyte holding `offset`; `None` is
/// MEMORY. The walk of gcc's `classify_argument`.
fn classify_shape(shape: &AggShape, offset: u32) -> Option<Vec<Class>> {
    if let AggShape::Scalar(kind) = shape {
        // An unaligned scalar makes the whole value MEMORY.
        if offset.checked_rem(kind.size()) != Some(0) {
            return None;
        }
        let class = if kind.is_float() {
            Class::Sse
        } else {
            Class::Integer
        };
        return Some(vec![class]);
    }
    let bytes = shape.size();
    if bytes > 64 {
        return None;
    }
    let words = (bytes + offset % 8).div_ceil(8) as usize;
    if words == 0 {
        // Zero-sized, starting on an eightbyte boundary: nothing to classify.
        return Some(vec![Class::Empty]);
    }
    let mut classes = vec![Class::Empty; words];
    match shape {
        AggShape::Struct { fields, .. } => {
            for (field_offset, field) in fields {
                let sub = classify_shape(field, offset + field_offset)?;
                let first = ((field_offset + offset % 8) / 8) as usize;
                for (class, merged) in sub.iter().zip(classes.iter_mut().skip(first)) {
                    *merged = merge(*merged, *class);
                }
            }
        }
        AggShape::Union { members, .. } => {
            for member in members {
                let sub = classify_shape(member, offset)?;
                for (class, merged) in sub.iter().zip(classes.iter_mut()) {
                    *merged = merge(*merged, *class);
                }
            }
        }
        AggShape::Array { elem, .. } => {
            // The first element's classes, repeated over the array's eightbytes.
            let sub = classify_shape(elem, offset)?;
            for (i, class) in classes.iter_mut().enumerate() {
                *class = sub[i % sub.len()];
            }
        }
        AggShape::Scalar(_) => {} // classified above
    }
    Some(classes)
}

fn merge(a: Class, b: Class) -> Class {
    match (a, b) {
        (Class::Empty, other) | (other, Class::Empty) => other,
        (Class::Integer, _) | (_, Class::Integer) => Class::Integer,
        (Class::Sse, Class::Sse) => Class::Sse,
    }
}

fn sse_kind(size: u8) -> PieceKind {
    if size == 4 {
        PieceKind::F32
    } else {
        PieceKind::F64
    }
}

fn piece_kind(eightbyte: &Eightbyte) -> PieceKind {
    match eightbyte.class {
        Class::Sse => sse_kind(eightbyte.size),
        _ => PieceKind::Int,
    }
}

/// Stack words (8 bytes each, in order) covering a value of `size` bytes at `offset`.
fn stack_pieces(eightbytes: &[Eightbyte], offset: u32) -> Vec<Piece> {
    eightbytes
        .iter()
        .map(|eightbyte| Piece {
            loc: Loc::Stack(offset + eightbyte.offset),
            src_offset: eightbyte.offset,
            size: eightbyte.size,
            kind: piece_kind(eightbyte),
        })
        .collect()
}

pub(super) fn classify(sig: &Signature) -> CallPlan {
    let mut next_int = 0u8;
    let mut next_vec = 0u8;
    let mut stack = 0u32;

    let ret = match &sig.ret {
        None => RetPass::Void,
        Some(ty) => match classify_value(ty) {
            ValueClass::Memory => {
                next_int = 1;
                RetPass::Sret {
                    ptr_loc: Loc::Int(0),
                    size: ty.size(),
                }
            }
            ValueClass::Regs(eightbytes) => {
                let (mut rax_rdx, mut xmm) = (0u8, 0u8);
                let pieces = eightbytes
                    .iter()
                    .map(|eightbyte| {
                        let loc = match eightbyte.class {
                            Class::Sse => {
                                xmm += 1;
                                Loc::Vec(xmm - 1)
                            }
                            _ => {
                                rax_rdx += 1;
                                Loc::Int(rax_rdx - 1)
                            }
                        };
                        Piece {
                            loc,
                            src_offset: eightbyte.offset,
                            size: eightbyte.size,
                            kind: piece_kind(eightbyte),
                        }
                    })
                    .collect();
                RetPass::Direct {
                    pieces,
                    ext: ty.extension(),
                    aggregate: ty.is_aggregate(),
                }
            }
        },
    };

    let mut args = Vec::with_capacity(sig.params.len());
    for ty in &sig.params {
        let arg = match classify_value(ty) {
            ValueClass::Memory => {
                let align = ty.align().max(8);
                let offset = stack.next_multiple_of(align);
                let size = ty.size();
                stack = offset + size.next_multiple_of(8);
                ArgPass::StackCopy { offset, size }
            }
            ValueClass::Regs(eightbytes) if eightbytes.is_empty() => ArgPass::Ignore,
            ValueClass::Regs(eightbytes) => {
                let need_int = eightbytes
                    .iter()
                    .filter(|e| e.class == Class::Integer)
                    .count() as u8;
                let need_vec = eightbytes.len() as u8 - need_int;
                let ext = ty.extension();
                if next_int + need_int <= INT_ARG_REGS && next_vec + need_vec <= VEC_ARG_REGS {
                    let pieces = eightbytes
                        .iter()
                        .map(|eightbyte| {
                            let loc = match eightbyte.class {
                                Class::Sse => {
                                    next_vec += 1;
                                    Loc::Vec(next_vec - 1)
                                }
                                _ => {
                                    next_int += 1;
                                    Loc::Int(next_int - 1)
                                }
                            };
                            Piece {
                                loc,
                                src_offset: eightbyte.offset,
                                size: eightbyte.size,
                                kind: piece_kind(eightbyte),
                            }
                        })
                        .collect();
                    ArgPass::Direct {
                        pieces,
                        ext,
                        aggregate: ty.is_aggregate(),
                    }
                } else {
                    // The whole value goes onto the stack, in its memory layout.
                    let align = ty.align().max(8);
                    let offset = stack.next_multiple_of(align);
                    stack = offset + ty.size().next_multiple_of(8);
                    ArgPass::Direct {
                        pieces: stack_pieces(&eightbytes, offset),
                        ext,
                        aggregate: ty.is_aggregate(),
                    }
                }
            }
        };
        args.push(arg);
    }

    CallPlan {
        abi: sig.abi,
        args,
        ret,
        stack_bytes: stack,
        int_regs_used: next_int,
        vec_regs_used: next_vec,
        variadic: sig.variadic_from.is_some(),
    }
}
