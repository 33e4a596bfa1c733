//! Calls through the generic assembly routine: a [`CallPlan`] and the argument slots
//! become a `CallFrame` (registers, stack words, by-reference copies, hidden result
//! pointer), and the registers the routine saved become the result.
//!
//! The slot contract is the call thunk's ([`ffidl_jit::ThunkFn`]): one 8-byte slot per
//! argument, scalars by value in the low bytes, aggregates as a pointer to their bytes;
//! `ret` receives a scalar widened to 8 bytes (an `f32` as 4 bytes), an aggregate as its
//! own bytes, or, for a hidden-pointer result, is the memory the callee writes.
//! Frames up to [`INLINE_STACK_WORDS`] stack words and [`INLINE_COPY_BYTES`] of
//! by-reference copies live on the Rust stack; bigger ones are allocated per call.

use std::ffi::c_void;
use std::mem::MaybeUninit;

use ffidl_jit::abi::{Abi, ArgPass, CallPlan, Loc, PieceKind, RetPass};

use super::asm::{ffidl_fallback_call, CallFrame};
use super::word;
use super::FallbackError;

/// Stack words kept on the Rust stack (more are heap-allocated for the call).
pub const INLINE_STACK_WORDS: usize = 32;
/// Bytes of Win64 by-reference copies kept on the Rust stack.
pub const INLINE_COPY_BYTES: usize = 256;

#[repr(C, align(16))]
struct InlineCopies([u8; INLINE_COPY_BYTES]);

/// The first `len` words of `words`, set to zero (the rest stay uninitialised, so a call
/// pays only for the words it uses).
pub(super) fn zeroed_prefix(words: &mut [MaybeUninit<u64>], len: usize) -> &mut [u64] {
    let prefix = &mut words[..len];
    for word in prefix.iter_mut() {
        word.write(0);
    }
    // SAFETY: every element of `prefix` was initialised just above, and `MaybeUninit<u64>`
    // has the layout of `u64`.
    unsafe { &mut *(prefix as *mut [MaybeUninit<u64>] as *mut [u64]) }
}

/// Calls `target` as `plan` describes, with `args` (one slot per parameter) and the result
/// written to `ret`.
///
/// # Safety
/// `target` must be a function whose C signature is the one `plan` was classified from;
/// every aggregate slot must point to a readable value of its size; `ret` must be valid
/// for the result (8 bytes for a scalar, the aggregate's size otherwise, nothing for void).
pub unsafe fn call(
    plan: &CallPlan,
    target: *const c_void,
    args: &[u64],
    ret: *mut u8,
) -> Result<(), FallbackError> {
    if !cfg!(all(target_arch = "x86_64", unix)) {
        return Err(FallbackError::UnsupportedHost);
    }
    let win64 = match plan.abi {
        Abi::SysV64 => false,
        Abi::Win64 => true,
        other => return Err(FallbackError::UnsupportedAbi(other)),
    };
    if args.len() != plan.args.len() {
        return Err(FallbackError::ArgumentCount {
            expected: plan.args.len(),
            given: args.len(),
        });
    }

    // Outgoing stack words (Win64: the shadow space first, even when nothing follows).
    let stack_bytes = if win64 {
        plan.stack_bytes.max(plan.stack_arg_start())
    } else {
        plan.stack_bytes
    } as usize;
    let words = stack_bytes.div_ceil(8);
    let mut inline_stack = [MaybeUninit::<u64>::uninit(); INLINE_STACK_WORDS];
    let mut heap_stack: Vec<u64>;
    let stack: &mut [u64] = if words <= INLINE_STACK_WORDS {
        zeroed_prefix(&mut inline_stack, words)
    } else {
        heap_stack = vec![0; words];
        &mut heap_stack
    };
    let stack_base = stack.as_mut_ptr().cast::<u8>();

    // Room for the Win64 by-reference copies, each at its own alignment.
    let (copy_bytes, copy_align) = plan
        .args
        .iter()
        .fold((0usize, 1usize), |(bytes, max), arg| match arg {
            ArgPass::ByRef { size, align, .. } => {
                let align = (*align).max(1) as usize;
                (
                    bytes.next_multiple_of(align) + *size as usize,
                    max.max(align),
                )
            }
            _ => (bytes, max),
        });
    // Every copy is written in full before its address is passed: no zeroing needed.
    let mut inline_copies = MaybeUninit::<InlineCopies>::uninit();
    let mut heap_copies: Vec<u8>;
    let copies_base: *mut u8 = if copy_bytes <= INLINE_COPY_BYTES && copy_align <= 16 {
        inline_copies.as_mut_ptr().cast()
    } else {
        heap_copies = vec![0; copy_bytes + copy_align];
        let start = heap_copies.as_mut_ptr();
        start.wrapping_add(start.align_offset(copy_align))
    };
    let mut copies_used = 0usize;

    let mut frame = CallFrame {
        int_regs: [0; 6],
        vec_regs: [0; 8],
        stack: stack_base.cast_const().cast(),
        stack_words: words as u64,
        target: target as u64,
        al: if win64 {
            0
        } else {
            u64::from(plan.vec_regs_used)
        },
        abi: u64::from(win64),
        ret_int: [0; 2],
        ret_vec: [0; 2],
    };
    let put = |frame: &mut CallFrame, loc: Loc, value: u64| match loc {
        Loc::Int(n) => frame.int_regs[usize::from(n) % 6] = value,
        Loc::Vec(n) => frame.vec_regs[usize::from(n) % 8] = value,
        Loc::Stack(offset) => {
            let offset = offset as usize;
            let room = stack_bytes.saturating_sub(offset).min(8) as u8;
            // SAFETY: `room` bytes at `offset` lie inside the stack words.
            unsafe { word::write(stack_base.add(offset), value, room) };
        }
    };

    if let RetPass::Sret { ptr_loc, .. } = plan.ret {
        put(&mut frame, ptr_loc, ret as u64);
    }
    for (arg, &slot) in plan.args.iter().zip(args) {
        match arg {
            ArgPass::Ignore => {}
            ArgPass::Direct {
                pieces,
                ext,
                aggregate: false,
            } => {
                for piece in pieces {
                    let value = match piece.kind {
                        PieceKind::Int => word::extend(slot, piece.size, *ext),
                        PieceKind::F32 | PieceKind::F64 => {
                            word::extend(slot, piece.size, ffidl_jit::abi::Ext::Zero)
                        }
                    };
                    put(&mut frame, piece.loc, value);
                }
            }
            ArgPass::Direct {
                pieces,
                aggregate: true,
                ..
            } => {
                let bytes = slot as *const u8;
                for piece in pieces {
                    // SAFETY: the slot points to the aggregate, which holds this piece.
                    let value =
                        unsafe { word::read(bytes.add(piece.src_offset as usize), piece.size) };
                    put(&mut frame, piece.loc, value);
                }
            }
            ArgPass::StackCopy { offset, size } => {
                let (offset, size) = (*offset as usize, *size as usize);
                if offset + size > stack_bytes {
                    return Err(FallbackError::BadPlan(
                        "a stack copy runs past the stack area",
                    ));
                }
                // SAFETY: the slot points to `size` readable bytes; the destination lies
                // inside the stack words (checked above).
                unsafe {
                    std::ptr::copy_nonoverlapping(slot as *const u8, stack_base.add(offset), size)
                };
            }
            ArgPass::ByRef { loc, size, align } => {
                let align = (*align).max(1) as usize;
                copies_used = copies_used.next_multiple_of(align);
                // SAFETY: the copy area was sized for every by-reference argument at its
                // alignment; the slot points to `size` readable bytes.
                let copy = unsafe { copies_base.add(copies_used) };
                unsafe { std::ptr::copy_nonoverlapping(slot as *const u8, copy, *size as usize) };
                copies_used += *size as usize;
                put(&mut frame, *loc, copy as u64);
            }
        }
    }

    // SAFETY: the frame holds the registers and stack words the plan describes for a
    // function of that signature (the caller's guarantee); the stack words and copies
    // outlive the call.
    unsafe { ffidl_fallback_call(&mut frame) };

    if let RetPass::Direct {
        pieces,
        ext,
        aggregate,
    } = &plan.ret
    {
        for piece in pieces {
            let value = match piece.loc {
                Loc::Int(n) => frame.ret_int[usize::from(n) % 2],
                Loc::Vec(n) => frame.ret_vec[usize::from(n) % 2],
                Loc::Stack(_) => return Err(FallbackError::BadPlan("a result on the stack")),
            };
            // SAFETY: `ret` has room for the result (the caller's guarantee).
            unsafe {
                if *aggregate {
                    word::write(ret.add(piece.src_offset as usize), value, piece.size);
                } else {
                    match piece.kind {
                        PieceKind::Int => {
                            word::write(ret, word::extend(value, piece.size, *ext), 8)
                        }
                        PieceKind::F32 => word::write(ret, value, 4),
                        PieceKind::F64 => word::write(ret, value, 8),
                    }
                }
            }
        }
    }
    Ok(())
}
