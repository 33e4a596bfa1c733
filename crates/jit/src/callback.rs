//! Callback thunks: native functions with a C signature, made from a [`CallPlan`], that
//! hand their arguments to a Rust dispatcher.
//!
//! A callback thunk receives its arguments where the plan says the caller put them, stores
//! them into 8-byte slots (the same slot contract as call thunks: scalars by value in the
//! low bytes, narrow integers extended as declared; aggregates as a pointer to a copy of
//! their bytes in the thunk's frame, or, for Win64 by-reference arguments, to the caller's
//! copy), calls `dispatch(context, args, ret)` with the context pointer baked into the
//! code, and returns the result from `ret` through the ABI's return registers or the hidden
//! result pointer (which it also returns, as both ABIs require). Variadic callbacks are
//! not supported.

use std::ffi::c_void;
use std::time::Instant;

use cranelift_codegen::ir::{
    self, types, AbiParam, InstBuilder, StackSlotData, StackSlotKind, Value,
};
use cranelift_frontend::FunctionBuilder;

use crate::abi::{ArgPass, CallPlan, Ext, Loc, PieceKind, RetPass};
use crate::clif_lowering::{
    clif_layout, flags, load_piece, load_scalar, return_type, store_bytes, store_piece, ClifParam,
};
use crate::code_memory::CodeMemory;
use crate::thunk::{Codegen, ThunkError};

/// What a callback thunk calls: `context` is the pointer given when the thunk was made,
/// `args` the argument slots, `ret` the result buffer (at least 8 bytes, or the caller's
/// result memory for a hidden-pointer result). It must not unwind.
pub type DispatchFn = unsafe extern "C" fn(context: *const c_void, args: *const u64, ret: *mut u8);

/// A compiled callback thunk.
pub struct CompiledCallback {
    /// The native function; call it with the C signature the plan was made from.
    pub entry: *const c_void,
    /// The Cranelift IR, empty unless the cache keeps callback listings
    /// ([`crate::ThunkCache::set_callback_listings`]).
    pub clif: String,
    /// The machine instructions, empty unless the cache keeps callback listings.
    pub disassembly: String,
    pub code: Vec<u8>,
    pub compile_time: std::time::Duration,
}

impl CompiledCallback {
    /// The same listing as [`crate::thunk::CompiledThunk::listing`].
    pub fn listing(&self, plan: &CallPlan) -> String {
        crate::thunk::listing(plan, &self.clif, &self.disassembly, &self.code)
    }
}

fn frame_slot(b: &mut FunctionBuilder, size: u32) -> Value {
    let slot = b.create_sized_stack_slot(StackSlotData::new(
        StackSlotKind::ExplicitSlot,
        size.max(8),
        4,
    ));
    b.ins().stack_addr(types::I64, slot, 0)
}

pub(crate) fn compile_callback(
    memory: &mut CodeMemory,
    codegen: &mut Codegen,
    plan: &CallPlan,
    dispatch: DispatchFn,
    context: *const c_void,
    listing: bool,
) -> Result<CompiledCallback, ThunkError> {
    if plan.variadic {
        return Err(ThunkError::VariadicCallback);
    }
    let start = Instant::now();
    let layout = clif_layout(plan, false)?;
    let host_conv = codegen.isa().default_call_conv();
    let frontend_config = codegen.isa().frontend_config();

    let mut signature = ir::Signature::new(layout.call_conv);
    for &(param, ty) in &layout.params {
        signature.params.push(param.abi_param(ty));
    }
    match &plan.ret {
        RetPass::Void => {}
        RetPass::Sret { .. } => signature.returns.push(AbiParam::new(types::I64)),
        RetPass::Direct {
            pieces, aggregate, ..
        } => {
            for piece in pieces {
                let ty = match piece.kind {
                    // Narrow integer results leave the thunk already extended.
                    PieceKind::Int if !aggregate => types::I64,
                    _ => return_type(piece, *aggregate),
                };
                signature.returns.push(AbiParam::new(ty));
            }
        }
    }

    let mut b = codegen.start(signature);
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    b.seal_block(block);
    let incoming: Vec<Value> = b.block_params(block).to_vec();
    // A few dozen places at most: a vector searched linearly.
    let mut places: Vec<(Loc, Value)> = Vec::with_capacity(layout.params.len());
    for (&(param, _), &value) in layout.params.iter().zip(&incoming) {
        match param {
            ClifParam::Place(loc) => {
                places.push((loc, value));
            }
            // The pointer to the caller's copy on the stack.
            ClifParam::StackCopy { offset, .. } => {
                places.push((Loc::Stack(offset), value));
            }
            ClifParam::Padding | ClifParam::StubTarget => {}
        }
    }
    let place = |b: &mut FunctionBuilder, loc: Loc| match places.iter().find(|(at, _)| *at == loc) {
        Some(&(_, value)) => value,
        None => b.ins().iconst(types::I64, 0),
    };

    let slots = frame_slot(&mut b, 8 * plan.args.len() as u32);
    for (index, arg) in plan.args.iter().enumerate() {
        let slot = (index * 8) as i32;
        let slot_value = match arg {
            ArgPass::Ignore => b.ins().iconst(types::I64, 0),
            ArgPass::Direct {
                pieces,
                ext,
                aggregate: false,
            } => {
                let piece = &pieces[0];
                let value = place(&mut b, piece.loc);
                match (piece.kind, piece.loc) {
                    (PieceKind::F32 | PieceKind::F64, Loc::Int(_) | Loc::Vec(_)) => {
                        b.ins().store(flags(), value, slots, slot);
                        continue;
                    }
                    (PieceKind::Int, _) if piece.size < 8 => {
                        let narrow = b
                            .ins()
                            .ireduce(crate::clif_lowering::int_type(piece.size), value);
                        match ext {
                            Ext::Sign => b.ins().sextend(types::I64, narrow),
                            _ => b.ins().uextend(types::I64, narrow),
                        }
                    }
                    _ => value,
                }
            }
            ArgPass::Direct {
                pieces,
                aggregate: true,
                ..
            } => {
                let size = pieces
                    .iter()
                    .map(|p| p.src_offset + u32::from(p.size))
                    .max()
                    .unwrap_or(0);
                let copy = frame_slot(&mut b, size);
                for piece in pieces {
                    let value = place(&mut b, piece.loc);
                    if matches!(piece.loc, Loc::Stack(_)) {
                        store_bytes(&mut b, value, copy, piece.src_offset as i32, piece.size);
                    } else {
                        store_piece(&mut b, value, copy, piece);
                    }
                }
                copy
            }
            // The bytes stay where the caller put them, on the stack, for the whole call.
            ArgPass::StackCopy { offset, .. } => place(&mut b, Loc::Stack(*offset)),
            ArgPass::ByRef { loc, .. } => place(&mut b, *loc),
        };
        b.ins().store(flags(), slot_value, slots, slot);
    }

    let ret = match &plan.ret {
        RetPass::Sret { ptr_loc, .. } => place(&mut b, *ptr_loc),
        RetPass::Direct { pieces, .. } => {
            let size = pieces
                .iter()
                .map(|p| p.src_offset + u32::from(p.size))
                .max()
                .unwrap_or(8);
            frame_slot(&mut b, size)
        }
        RetPass::Void => frame_slot(&mut b, 8),
    };

    let mut dispatch_sig = ir::Signature::new(host_conv);
    for _ in 0..3 {
        dispatch_sig.params.push(AbiParam::new(types::I64));
    }
    let dispatch_sig = b.import_signature(dispatch_sig);
    let dispatch_addr = b.ins().iconst(types::I64, dispatch as usize as i64);
    let context_value = b.ins().iconst(types::I64, context as usize as i64);
    b.ins()
        .call_indirect(dispatch_sig, dispatch_addr, &[context_value, slots, ret]);

    match &plan.ret {
        RetPass::Void => {
            b.ins().return_(&[]);
        }
        RetPass::Sret { .. } => {
            b.ins().return_(&[ret]);
        }
        RetPass::Direct {
            pieces,
            ext,
            aggregate,
        } => {
            let values: Vec<Value> = pieces
                .iter()
                .map(|piece| {
                    if *aggregate {
                        load_piece(&mut b, ret, 0, piece)
                    } else {
                        load_scalar(&mut b, ret, 0, piece, *ext)
                    }
                })
                .collect();
            b.ins().return_(&values);
        }
    }
    b.finalize(frontend_config);

    let emitted = codegen.emit(listing)?;
    let entry = memory.install(&emitted.code)?;
    Ok(CompiledCallback {
        entry: entry.cast(),
        clif: emitted.clif,
        disassembly: emitted.disassembly,
        code: emitted.code.into_owned(),
        compile_time: start.elapsed(),
    })
}
