//! Arm 64-bit procedure call standard (AAPCS64, the Linux/ELF variant) classification.
//!
//! Eight integer registers x0-x7 and eight vector registers v0-v7, filled in order; the
//! hidden result pointer travels in x8 and takes no argument register. Homogeneous float
//! aggregates (one to four members of one float type, no gaps) go in consecutive vector
//! registers, other aggregates of at most 16 bytes in consecutive integer registers (an
//! aggregate aligned to 16 starts at an even register), larger ones as a pointer to a
//! caller copy. Whatever does not fit goes whole onto the stack in 8-byte-aligned slots,
//! and a register file that overflowed once stays closed. Narrow integers are not
//! extended by the caller. Variadic arguments follow the same rules (Apple's arm64 ABI,
//! which puts them all on the stack and packs stack arguments, is not covered here).

use super::{AbiType, ArgPass, CallPlan, Ext, LeafKind, Loc, Piece, PieceKind, RetPass, Signature};

const INT_ARG_REGS: u8 = 8;
const VEC_ARG_REGS: u8 = 8;
/// x8: the indirect result location register.
const SRET_REG: u8 = 8;

/// How a value travels, before registers are assigned.
enum Shape {
    /// One integer register's worth (scalar).
    IntScalar { size: u8 },
    /// One float scalar.
    Float { kind: PieceKind, size: u8 },
    /// A homogeneous float aggregate of `count` members of `kind`.
    Hfa {
        kind: PieceKind,
        member: u8,
        count: u8,
    },
    /// An aggregate of at most 16 bytes in 1 or 2 integer registers.
    SmallAggregate { size: u32, align: u32 },
    /// An aggregate larger than 16 bytes (not an HFA): passed by reference.
    Large { size: u32, align: u32 },
}

fn shape(ty: &AbiType) -> Shape {
    match ty {
        AbiType::F32 => Shape::Float {
            kind: PieceKind::F32,
            size: 4,
        },
        AbiType::F64 => Shape::Float {
            kind: PieceKind::F64,
            size: 8,
        },
        AbiType::Aggregate(layout) => {
            if let Some((kind, member, count)) = hfa(layout) {
                Shape::Hfa {
                    kind,
                    member,
                    count,
                }
            } else if layout.size > 16 {
                Shape::Large {
                    size: layout.size,
                    align: layout.align,
                }
            } else {
                Shape::SmallAggregate {
                    size: layout.size,
                    align: layout.align,
                }
            }
        }
        scalar => Shape::IntScalar {
            size: scalar.size() as u8,
        },
    }
}

/// `(kind, member size, count)` if the aggregate is a homogeneous float aggregate.
fn hfa(layout: &super::AggLayout) -> Option<(PieceKind, u8, u8)> {
    let mut leaves: Vec<_> = layout
        .leaves
        .iter()
        .map(|leaf| (leaf.offset, leaf.kind))
        .collect();
    leaves.sort_by_key(|(offset, _)| *offset);
    leaves.dedup();
    let first = leaves.first()?.1;
    let (kind, member) = match first {
        LeafKind::F32 => (PieceKind::F32, 4u32),
        LeafKind::F64 => (PieceKind::F64, 8u32),
        LeafKind::Int(_) => return None,
    };
    let count = leaves.len() as u32;
    let contiguous = leaves
        .iter()
        .enumerate()
        .all(|(i, (offset, leaf))| *leaf == first && *offset == i as u32 * member);
    (contiguous && (1..=4).contains(&count) && layout.size == count * member).then_some((
        kind,
        member as u8,
        count as u8,
    ))
}

struct State {
    next_int: u8,
    next_vec: u8,
    stack: u32,
}

impl State {
    fn stack_slot(&mut self, size: u32, align: u32) -> u32 {
        let offset = self.stack.next_multiple_of(align.clamp(8, 16));
        self.stack = offset + size.next_multiple_of(8);
        offset
    }

    /// The next integer register, or a stack word once they are gone.
    fn int_or_stack(&mut self) -> Loc {
        if self.next_int < INT_ARG_REGS {
            self.next_int += 1;
            Loc::Int(self.next_int - 1)
        } else {
            Loc::Stack(self.stack_slot(8, 8))
        }
    }
}

fn words(size: u32, loc_of_word: impl Fn(u32) -> Loc) -> Vec<Piece> {
    (0..size.div_ceil(8))
        .map(|i| Piece {
            loc: loc_of_word(i),
            src_offset: i * 8,
            size: (size - i * 8).min(8) as u8,
            kind: PieceKind::Int,
        })
        .collect()
}

fn hfa_pieces(kind: PieceKind, member: u8, count: u8, first_reg: u8) -> Vec<Piece> {
    (0..count)
        .map(|i| Piece {
            loc: Loc::Vec(first_reg + i),
            src_offset: u32::from(i) * u32::from(member),
            size: member,
            kind,
        })
        .collect()
}

fn classify_arg(state: &mut State, ty: &AbiType) -> ArgPass {
    let aggregate = ty.is_aggregate();
    let direct = |pieces| ArgPass::Direct {
        pieces,
        ext: Ext::None,
        aggregate,
    };
    match shape(ty) {
        Shape::Float { kind, size } => {
            let loc = if state.next_vec < VEC_ARG_REGS {
                state.next_vec += 1;
                Loc::Vec(state.next_vec - 1)
            } else {
                Loc::Stack(state.stack_slot(8, 8))
            };
            direct(vec![Piece {
                loc,
                src_offset: 0,
                size,
                kind,
            }])
        }
        Shape::Hfa {
            kind,
            member,
            count,
        } => {
            if state.next_vec + count <= VEC_ARG_REGS {
                let pieces = hfa_pieces(kind, member, count, state.next_vec);
                state.next_vec += count;
                direct(pieces)
            } else {
                state.next_vec = VEC_ARG_REGS;
                let size = ty.size();
                let offset = state.stack_slot(size, ty.align());
                direct(words(size, |i| Loc::Stack(offset + 8 * i)))
            }
        }
        Shape::IntScalar { size } => {
            let loc = state.int_or_stack();
            direct(vec![Piece {
                loc,
                src_offset: 0,
                size,
                kind: PieceKind::Int,
            }])
        }
        Shape::SmallAggregate { size, align } => {
            if size == 0 {
                return ArgPass::Ignore;
            }
            if align >= 16 {
                state.next_int = state.next_int.next_multiple_of(2);
            }
            let count = size.div_ceil(8) as u8;
            if state.next_int + count <= INT_ARG_REGS {
                let first = state.next_int;
                state.next_int += count;
                direct(words(size, |i| Loc::Int(first + i as u8)))
            } else {
                state.next_int = INT_ARG_REGS;
                let offset = state.stack_slot(size, align);
                direct(words(size, |i| Loc::Stack(offset + 8 * i)))
            }
        }
        Shape::Large { size, align } => ArgPass::ByRef {
            loc: state.int_or_stack(),
            size,
            align,
        },
    }
}

pub(super) fn classify(sig: &Signature) -> CallPlan {
    let ret = match &sig.ret {
        None => RetPass::Void,
        Some(ty) => {
            let aggregate = ty.is_aggregate();
            let ext = ty.extension();
            match shape(ty) {
                Shape::Float { kind, size } => RetPass::Direct {
                    pieces: vec![Piece {
                        loc: Loc::Vec(0),
                        src_offset: 0,
                        size,
                        kind,
                    }],
                    ext,
                    aggregate,
                },
                Shape::Hfa {
                    kind,
                    member,
                    count,
                } => RetPass::Direct {
                    pieces: hfa_pieces(kind, member, count, 0),
                    ext,
                    aggregate,
                },
                Shape::IntScalar { size } => RetPass::Direct {
                    pieces: vec![Piece {
                        loc: Loc::Int(0),
                        src_offset: 0,
                        size,
                        kind: PieceKind::Int,
                    }],
                    ext,
                    aggregate,
                },
                Shape::SmallAggregate { size, .. } if size > 0 => RetPass::Direct {
                    pieces: words(size, |i| Loc::Int(i as u8)),
                    ext,
                    aggregate,
                },
                Shape::SmallAggregate { .. } => RetPass::Void,
                Shape::Large { size, .. } => RetPass::Sret {
                    ptr_loc: Loc::Int(SRET_REG),
                    size,
                },
            }
        }
    };
    let mut state = State {
        next_int: 0,
        next_vec: 0,
        stack: 0,
    };
    let args = sig
        .params
        .iter()
        .map(|ty| classify_arg(&mut state, ty))
        .collect();
    CallPlan {
        abi: sig.abi,
        args,
        ret,
        stack_bytes: state.stack,
        int_regs_used: state.next_int,
        vec_regs_used: state.next_vec,
        variadic: sig.variadic_from.is_some(),
    }
}
