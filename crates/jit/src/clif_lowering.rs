//! How a [`CallPlan`] becomes a Cranelift signature, and the memory moves both kinds of
//! thunk share.
//!
//! Cranelift knows no C aggregates and no variadic calls. [`clif_layout`] turns the plan's
//! places into an ordered list of Cranelift parameters ([`ClifParam`]) that Cranelift's own
//! `SystemV` / `WindowsFastcall` assignment puts exactly where the plan says:
//! - SysV: integer registers in order, then vector registers in order (Cranelift assigns
//!   the two files independently). When anything goes on the stack, the integer registers
//!   are padded to all six so that every stack word (declared I64) lands in its own stack
//!   slot in order, and no register argument is pulled onto the stack or the other way.
//! - Win64: one parameter per position; the first four padded when anything follows.
//! - A SysV MEMORY-class argument is one `StructArgument` parameter: Cranelift copies its
//!   bytes into the outgoing stack area in order with the stack words around it.
//! - A variadic call passes the real target as one extra stack word after the arguments
//!   and calls a per-thunk stub ([`variadic_stub_code`]).
//!
//! The same layout read from the callee side gives a callback thunk its incoming values.

use std::ffi::c_void;

use std::collections::BTreeMap;

use cranelift_codegen::ir::{
    self, types, AbiParam, ArgumentPurpose, InstBuilder, MemFlagsData, Type, Value,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::FunctionBuilder;

use crate::abi::{Abi, ArgPass, CallPlan, Ext, Loc, Piece, PieceKind, RetPass};
use crate::thunk::ThunkError;

/// Where one Cranelift parameter goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClifParam {
    /// The plan's `Loc::Int(n)` / `Loc::Vec(n)` / `Loc::Stack(offset)`.
    Place(Loc),
    /// A register that carries nothing but must be filled so later parameters land right.
    Padding,
    /// The real call target, read by the variadic stub (call thunks only).
    StubTarget,
    /// A SysV MEMORY-class argument: a pointer to `size` bytes (a multiple of 8) that
    /// Cranelift copies into the outgoing stack area at `offset`
    /// (`ArgumentPurpose::StructArgument`); on the callee side, a pointer to them.
    StackCopy { offset: u32, size: u32 },
}

impl ClifParam {
    /// The Cranelift parameter for this place.
    pub(crate) fn abi_param(self, ty: Type) -> AbiParam {
        match self {
            ClifParam::StackCopy { size, .. } => {
                AbiParam::special(ty, ArgumentPurpose::StructArgument(size))
            }
            _ => AbiParam::new(ty),
        }
    }
}

/// Cranelift's view of a C call described by a plan.
pub(crate) struct ClifLayout {
    pub call_conv: CallConv,
    pub params: Vec<(ClifParam, Type)>,
}

pub(crate) fn call_conv(abi: Abi) -> Result<CallConv, ThunkError> {
    match abi {
        Abi::SysV64 => Ok(CallConv::SystemV),
        Abi::Win64 => Ok(CallConv::WindowsFastcall),
        other => Err(ThunkError::UnsupportedAbi(other)),
    }
}

/// The ordered Cranelift parameters for `plan`; `with_stub` adds the stub's target word.
pub(crate) fn clif_layout(plan: &CallPlan, with_stub: bool) -> Result<ClifLayout, ThunkError> {
    let call_conv = call_conv(plan.abi)?;
    let mut params = Vec::new();
    let first_stack = plan.stack_arg_start();
    let has_stack = plan.stack_bytes > first_stack;
    match plan.abi {
        Abi::Win64 => {
            let hidden = usize::from(matches!(plan.ret, RetPass::Sret { .. }));
            let positions = plan.args.len() + hidden;
            for position in 0..4u8 {
                if has_int_place(plan, position) {
                    params.push((ClifParam::Place(Loc::Int(position)), types::I64));
                } else if let Some(ty) = vec_place_type(plan, position) {
                    params.push((ClifParam::Place(Loc::Vec(position)), ty));
                } else if usize::from(position) < positions || with_stub {
                    params.push((ClifParam::Padding, types::I64));
                }
            }
        }
        _ => {
            let int_count = if has_stack || with_stub {
                6
            } else {
                plan.int_regs_used
            };
            for n in 0..int_count {
                let param = if n < plan.int_regs_used {
                    ClifParam::Place(Loc::Int(n))
                } else {
                    ClifParam::Padding
                };
                params.push((param, types::I64));
            }
            for n in 0..plan.vec_regs_used {
                params.push((
                    ClifParam::Place(Loc::Vec(n)),
                    vec_place_type(plan, n).unwrap_or(types::F64),
                ));
            }
        }
    }
    let stack_copies: BTreeMap<u32, u32> = plan
        .args
        .iter()
        .filter_map(|arg| match arg {
            ArgPass::StackCopy { offset, size } => Some((*offset, size.next_multiple_of(8))),
            _ => None,
        })
        .collect();
    let mut offset = first_stack;
    while offset < plan.stack_bytes {
        match stack_copies.get(&offset) {
            Some(&size) => {
                params.push((ClifParam::StackCopy { offset, size }, types::I64));
                offset += size;
            }
            None => {
                params.push((ClifParam::Place(Loc::Stack(offset)), types::I64));
                offset += 8;
            }
        }
    }
    if with_stub {
        params.push((ClifParam::StubTarget, types::I64));
    }
    Ok(ClifLayout { call_conv, params })
}

fn all_locs(plan: &CallPlan) -> impl Iterator<Item = (Loc, Option<PieceKind>)> + '_ {
    let sret = match plan.ret {
        RetPass::Sret { ptr_loc, .. } => Some((ptr_loc, None)),
        _ => None,
    };
    sret.into_iter().chain(
        plan.args
            .iter()
            .flat_map(|arg| -> Vec<(Loc, Option<PieceKind>)> {
                match arg {
                    ArgPass::Direct { pieces, .. } => {
                        pieces.iter().map(|p| (p.loc, Some(p.kind))).collect()
                    }
                    ArgPass::ByRef { loc, .. } => vec![(*loc, None)],
                    _ => Vec::new(),
                }
            }),
    )
}

fn has_int_place(plan: &CallPlan, n: u8) -> bool {
    all_locs(plan).any(|(loc, _)| loc == Loc::Int(n))
}

/// The type of vector register `n`: F32 when a 4-byte float travels there, else F64.
fn vec_place_type(plan: &CallPlan, n: u8) -> Option<Type> {
    all_locs(plan)
        .find(|(loc, _)| *loc == Loc::Vec(n))
        .map(|(_, kind)| match kind {
            Some(PieceKind::F32) => types::F32,
            _ => types::F64,
        })
}

/// Flags for every access the thunks make: slots and C values may be unaligned.
pub(crate) fn flags() -> MemFlagsData {
    MemFlagsData::new()
}

/// Converts `value` to the 8-byte integer a stack word is declared as.
pub(crate) fn to_stack_word(b: &mut FunctionBuilder, value: Value) -> Value {
    match b.func.dfg.value_type(value) {
        types::F64 => b.ins().bitcast(types::I64, flags(), value),
        types::F32 => {
            let bits = b.ins().bitcast(types::I32, flags(), value);
            b.ins().uextend(types::I64, bits)
        }
        ty if ty.bits() < 64 => b.ins().uextend(types::I64, value),
        _ => value,
    }
}

/// The machine code of the stub a variadic call goes through, if the plan needs one.
///
/// Cranelift cannot set `%al` (SysV) nor put one value in two registers (Win64), so the
/// thunk passes the real target as one extra stack word after the arguments and calls a
/// stub that finishes the register set-up and tail-jumps with the stack untouched:
/// SysV `mov eax, AL`; Win64 `movq xmmN, <int register N>` for each variadic float
/// position; then `mov r11, [rsp + 8 + target_offset]; jmp r11`.
pub(crate) fn variadic_stub_code(plan: &CallPlan) -> Option<Vec<u8>> {
    if !plan.variadic {
        return None;
    }
    let mut code = Vec::new();
    match plan.abi {
        Abi::SysV64 => {
            code.push(0xb8); // mov eax, imm32
            code.extend_from_slice(&u32::from(plan.vec_regs_used).to_le_bytes());
        }
        Abi::Win64 => {
            // movq xmmN, rcx/rdx/r8/r9
            const MOVQ_XMM_FROM_INT: [[u8; 5]; 4] = [
                [0x66, 0x48, 0x0f, 0x6e, 0xc1],
                [0x66, 0x48, 0x0f, 0x6e, 0xca],
                [0x66, 0x49, 0x0f, 0x6e, 0xd0],
                [0x66, 0x49, 0x0f, 0x6e, 0xd9],
            ];
            for arg in &plan.args {
                if let ArgPass::Direct { pieces, .. } = arg {
                    let in_int = pieces.iter().find_map(|p| match p.loc {
                        Loc::Int(n) => Some(n),
                        _ => None,
                    });
                    let in_vec = pieces.iter().any(|p| matches!(p.loc, Loc::Vec(_)));
                    if let (Some(n), true) = (in_int, in_vec) {
                        code.extend_from_slice(&MOVQ_XMM_FROM_INT[usize::from(n)]);
                    }
                }
            }
            if code.is_empty() {
                return None;
            }
        }
        Abi::Aapcs64 => return None,
    }
    // mov r11, [rsp + disp32]
    code.extend_from_slice(&[0x4c, 0x8b, 0x9c, 0x24]);
    code.extend_from_slice(&(8 + plan.stack_bytes).to_le_bytes());
    // jmp r11
    code.extend_from_slice(&[0x41, 0xff, 0xe3]);
    Some(code)
}

pub(crate) fn int_type(size: u8) -> Type {
    match size {
        1 => types::I8,
        2 => types::I16,
        4 => types::I32,
        _ => types::I64,
    }
}

pub(crate) fn return_type(piece: &Piece, aggregate: bool) -> Type {
    match piece.kind {
        PieceKind::F32 => types::F32,
        PieceKind::F64 => types::F64,
        PieceKind::Int if aggregate => types::I64,
        PieceKind::Int => int_type(piece.size),
    }
}

/// A scalar argument from its slot: integers widened to 64 bits as `ext` says
/// (zero-extended when the ABI requires nothing), floats as themselves.
pub(crate) fn load_scalar(
    b: &mut FunctionBuilder,
    slot_base: Value,
    slot: i32,
    piece: &Piece,
    ext: Ext,
) -> Value {
    let in_register = !matches!(piece.loc, Loc::Stack(_));
    match piece.kind {
        PieceKind::F32 if in_register => b.ins().load(types::F32, flags(), slot_base, slot),
        PieceKind::F64 if in_register => b.ins().load(types::F64, flags(), slot_base, slot),
        PieceKind::F32 | PieceKind::F64 => load_bytes(b, slot_base, slot, piece.size),
        PieceKind::Int => match (piece.size, ext) {
            (1, Ext::Sign) => b.ins().sload8(types::I64, flags(), slot_base, slot),
            (2, Ext::Sign) => b.ins().sload16(types::I64, flags(), slot_base, slot),
            (4, Ext::Sign) => b.ins().sload32(flags(), slot_base, slot),
            (size, _) => load_bytes(b, slot_base, slot, size),
        },
    }
}

/// One piece of an aggregate, as the type its place needs.
pub(crate) fn load_piece(
    b: &mut FunctionBuilder,
    base: Value,
    base_offset: i32,
    piece: &Piece,
) -> Value {
    let offset = base_offset + piece.src_offset as i32;
    match (piece.loc, piece.kind, piece.size) {
        (Loc::Stack(_), _, size) | (_, PieceKind::Int, size) => load_bytes(b, base, offset, size),
        (_, PieceKind::F32, 4) => b.ins().load(types::F32, flags(), base, offset),
        (_, PieceKind::F64, 8) => b.ins().load(types::F64, flags(), base, offset),
        (_, _, size) => {
            let bits = load_bytes(b, base, offset, size);
            b.ins().bitcast(types::F64, flags(), bits)
        }
    }
}

/// Exactly `size` bytes (1..=8) at `base + offset`, zero-extended into an I64.
pub(crate) fn load_bytes(b: &mut FunctionBuilder, base: Value, offset: i32, size: u8) -> Value {
    if size == 8 {
        return b.ins().load(types::I64, flags(), base, offset);
    }
    let mut result: Option<Value> = None;
    let mut done = 0u8;
    while done < size {
        let left = size - done;
        let chunk = if left >= 4 {
            4
        } else if left >= 2 {
            2
        } else {
            1
        };
        let at = offset + i32::from(done);
        let part = match chunk {
            4 => b.ins().uload32(flags(), base, at),
            2 => b.ins().uload16(types::I64, flags(), base, at),
            _ => b.ins().uload8(types::I64, flags(), base, at),
        };
        let part = if done == 0 {
            part
        } else {
            b.ins().ishl_imm_u(part, i64::from(done) * 8)
        };
        result = Some(match result {
            Some(acc) => b.ins().bor(acc, part),
            None => part,
        });
        done += chunk;
    }
    result.unwrap_or_else(|| b.ins().iconst(types::I64, 0))
}

/// Stores the low `size` bytes (1..=8) of the I64 `value` at `base + offset`.
pub(crate) fn store_bytes(
    b: &mut FunctionBuilder,
    value: Value,
    base: Value,
    offset: i32,
    size: u8,
) {
    if size == 8 {
        b.ins().store(flags(), value, base, offset);
        return;
    }
    let mut done = 0u8;
    while done < size {
        let left = size - done;
        let chunk = if left >= 4 {
            4
        } else if left >= 2 {
            2
        } else {
            1
        };
        let at = offset + i32::from(done);
        let part = if done == 0 {
            value
        } else {
            b.ins().ushr_imm_u(value, i64::from(done) * 8)
        };
        match chunk {
            4 => b.ins().istore32(flags(), part, base, at),
            2 => b.ins().istore16(flags(), part, base, at),
            _ => b.ins().istore8(flags(), part, base, at),
        };
        done += chunk;
    }
}

/// A scalar result into `ret`: integers widened to 8 bytes, floats as themselves.
pub(crate) fn store_scalar(b: &mut FunctionBuilder, value: Value, ret: Value, ext: Ext) {
    let ty = b.func.dfg.value_type(value);
    let value = if ty.is_int() && ty != types::I64 {
        match ext {
            Ext::Sign => b.ins().sextend(types::I64, value),
            _ => b.ins().uextend(types::I64, value),
        }
    } else {
        value
    };
    b.ins().store(flags(), value, ret, 0);
}

/// One returned piece of an aggregate into its bytes of the result buffer.
pub(crate) fn store_piece(b: &mut FunctionBuilder, value: Value, ret: Value, piece: &Piece) {
    let offset = piece.src_offset as i32;
    match (piece.kind, piece.size) {
        (PieceKind::F32, 4) | (PieceKind::F64, 8) => {
            b.ins().store(flags(), value, ret, offset);
        }
        (PieceKind::Int, size) => store_bytes(b, value, ret, offset, size),
        (_, size) => {
            let ty = b.func.dfg.value_type(value);
            let bits = b.ins().bitcast(ty.as_int(), flags(), value);
            let bits = if bits_type_is_narrow(ty) {
                b.ins().uextend(types::I64, bits)
            } else {
                bits
            };
            store_bytes(b, bits, ret, offset, size);
        }
    }
}

fn bits_type_is_narrow(ty: Type) -> bool {
    ty.bits() < 64
}

/// Copies `size` bytes from `src` to `dst` (inline for small sizes, `memcpy` beyond).
pub(crate) fn copy_bytes(b: &mut FunctionBuilder, src: Value, dst: Value, size: u32) {
    if size > 256 {
        let memcpy_sig = {
            let mut sig = ir::Signature::new(CallConv::SystemV);
            for _ in 0..3 {
                sig.params.push(AbiParam::new(types::I64));
            }
            sig.returns.push(AbiParam::new(types::I64));
            b.import_signature(sig)
        };
        let memcpy_addr = b
            .ins()
            .iconst(types::I64, libc_memcpy as *const () as usize as i64);
        let len = b.ins().iconst(types::I64, i64::from(size));
        b.ins()
            .call_indirect(memcpy_sig, memcpy_addr, &[dst, src, len]);
        return;
    }
    let mut done = 0u32;
    while done < size {
        let chunk = (size - done).min(8) as u8;
        let value = load_bytes(b, src, done as i32, chunk);
        store_bytes(b, value, dst, done as i32, chunk);
        done += u32::from(chunk);
    }
}

extern "C" {
    #[link_name = "memcpy"]
    fn libc_memcpy(dst: *mut c_void, src: *const c_void, len: usize) -> *mut c_void;
}
