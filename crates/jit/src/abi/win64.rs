//! Microsoft x64 calling convention classification.
//!
//! Every argument takes one position; the first four positions travel in rcx/rdx/r8/r9
//! (integers, pointers, small aggregates) or xmm0-3 (floats), the rest in 8-byte stack
//! words above the caller's 32-byte shadow space. Aggregates of 1, 2, 4 or 8 bytes go
//! by value as integers; any other aggregate goes as a pointer to a caller-made copy.
//! Results: integers in rax, floats in xmm0, aggregates of 1/2/4/8 bytes in rax, any
//! other aggregate through a hidden pointer in the first position (returned in rax),
//! except an empty one (gcc's `struct {}`, which MSVC C has not): gcc's `ms_abi` passes
//! no hidden pointer for it and returns nothing. An empty argument still takes its
//! position, as a pointer to a copy.
//! Variadic floats are also placed in the integer register of their position.

use super::{
    scalar_piece_kind, AbiType, ArgPass, CallPlan, Ext, Loc, Piece, PieceKind, RetPass, Signature,
};

/// Bytes of shadow ("home") space the caller reserves below the stack arguments.
pub(super) const SHADOW_BYTES: u32 = 32;
const REG_POSITIONS: u32 = 4;

fn by_value_aggregate(size: u32) -> bool {
    matches!(size, 1 | 2 | 4 | 8)
}

fn position_loc(position: u32, float: bool) -> Loc {
    if position < REG_POSITIONS {
        if float {
            Loc::Vec(position as u8)
        } else {
            Loc::Int(position as u8)
        }
    } else {
        Loc::Stack(SHADOW_BYTES + 8 * (position - REG_POSITIONS))
    }
}

pub(super) fn classify(sig: &Signature) -> CallPlan {
    let mut position = 0u32;
    let ret = match &sig.ret {
        None => RetPass::Void,
        Some(AbiType::Aggregate(layout)) if layout.size == 0 => RetPass::Direct {
            pieces: Vec::new(),
            ext: Ext::None,
            aggregate: true,
        },
        Some(AbiType::Aggregate(layout)) if !by_value_aggregate(layout.size) => {
            position = 1;
            RetPass::Sret {
                ptr_loc: Loc::Int(0),
                size: layout.size,
            }
        }
        Some(ty) => {
            let kind = scalar_piece_kind(ty);
            let loc = if kind == PieceKind::Int {
                Loc::Int(0)
            } else {
                Loc::Vec(0)
            };
            RetPass::Direct {
                pieces: vec![Piece {
                    loc,
                    src_offset: 0,
                    size: ty.size() as u8,
                    kind,
                }],
                ext: ty.extension(),
                aggregate: ty.is_aggregate(),
            }
        }
    };

    let mut args = Vec::with_capacity(sig.params.len());
    let (mut int_used, mut vec_used) = (u8::from(position > 0), 0u8);
    for (index, ty) in sig.params.iter().enumerate() {
        let arg = match ty {
            AbiType::Aggregate(layout) if !by_value_aggregate(layout.size) => ArgPass::ByRef {
                loc: position_loc(position, false),
                size: layout.size,
                align: layout.align,
            },
            _ => {
                let kind = scalar_piece_kind(ty);
                let float = kind != PieceKind::Int;
                let mut pieces = vec![Piece {
                    loc: position_loc(position, float),
                    src_offset: 0,
                    size: ty.size() as u8,
                    kind,
                }];
                if float && position < REG_POSITIONS && sig.is_variadic_arg(index) {
                    // Variadic callees spill rcx/rdx/r8/r9 to the shadow space and read
                    // every argument from there, so the float also goes in the int register.
                    pieces.push(Piece {
                        loc: Loc::Int(position as u8),
                        src_offset: 0,
                        size: ty.size() as u8,
                        kind: PieceKind::Int,
                    });
                }
                ArgPass::Direct {
                    pieces,
                    // The callee may not assume anything of the upper bits.
                    ext: Ext::None,
                    aggregate: ty.is_aggregate(),
                }
            }
        };
        if position < REG_POSITIONS {
            for loc in arg_locs(&arg) {
                match loc {
                    Loc::Int(_) => int_used = int_used.max(position as u8 + 1),
                    Loc::Vec(_) => vec_used = vec_used.max(position as u8 + 1),
                    Loc::Stack(_) => {}
                }
            }
        }
        args.push(arg);
        position += 1;
    }

    CallPlan {
        abi: sig.abi,
        args,
        ret,
        stack_bytes: SHADOW_BYTES + 8 * position.saturating_sub(REG_POSITIONS),
        int_regs_used: int_used,
        vec_regs_used: vec_used,
        variadic: sig.variadic_from.is_some(),
    }
}

fn arg_locs(arg: &ArgPass) -> Vec<Loc> {
    match arg {
        ArgPass::Direct { pieces, .. } => pieces.iter().map(|piece| piece.loc).collect(),
        ArgPass::ByRef { loc, .. } => vec![*loc],
        _ => Vec::new(),
    }
}
