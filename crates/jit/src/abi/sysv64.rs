//! System V AMD64 psABI classification (section 3.2.3 of the psABI).
//!
//! Each aggregate of at most 16 bytes is split into eightbytes; each eightbyte gets the
//! merged class of the leaves inside it (INTEGER wins over SSE, an eightbyte with no
//! leaf is NO_CLASS). Larger aggregates and aggregates with unaligned leaves are
//! MEMORY. An argument whose eightbytes do not all fit in the remaining registers goes
//! entirely onto the stack, and later arguments may still use registers.
//!
//! Two rules follow gcc where the flat psABI text is silent. gcc classifies an array by
//! its first element and repeats that class, so only the first element's leaves can make
//! an aggregate MEMORY by being unaligned (a packed 7-byte struct in `[S; 2]` has its
//! second element's fields unaligned, and the array still travels in registers). And a
//! zero-length array `[T; 0]` that starts inside an eightbyte is classified by its
//! element there: `{ f32, [i32; 0] }` is INTEGER, and a misaligned one is MEMORY.

use super::{AbiType, ArgPass, CallPlan, Loc, Piece, PieceKind, RetPass, Signature};

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
            let count = layout.size.div_ceil(8) as usize;
            let mut classes = vec![Class::Empty; count];
            for leaf in &layout.leaves {
                let size = leaf.kind.size();
                if let Some(start) = leaf.zero_length_at {
                    // Only a zero-length array starting inside an eightbyte counts.
                    if start % 8 == 0 {
                        continue;
                    }
                }
                // An unaligned field of the first element makes the whole value MEMORY.
                if !leaf.repeated && leaf.offset % size != 0 {
                    return ValueClass::Memory;
                }
                if leaf
                    .zero_length_at
                    .is_some_and(|start| start / 8 != leaf.offset / 8)
                {
                    // The zero-length array spans one eightbyte: its element's class
                    // counts there only.
                    continue;
                }
                let index = (leaf.offset / 8) as usize;
                if index >= count {
                    continue;
                }
                let class = if leaf.kind.is_float() {
                    Class::Sse
                } else {
                    Class::Integer
                };
                classes[index] = merge(classes[index], class);
            }
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
