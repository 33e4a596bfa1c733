//! Callbacks through the fixed trampoline tables: a slot table (index → plan, dispatcher,
//! context), allocation and release of indices, and the decoder the shared entries call.
//!
//! The decoder turns the saved registers and the caller's stack arguments into the same
//! slots a Cranelift callback thunk makes ([`ffidl_jit::callback`]: scalars in the low
//! bytes, narrow integers extended as declared, aggregates as a pointer to a copy or, for
//! stack-passed and by-reference ones, to the caller's bytes), calls the
//! [`DispatchFn`] with them, and encodes its result into the return registers (for a
//! hidden result pointer: the caller's memory, and the pointer itself in rax).
//!
//! Lookups on the hot path are one atomic load; allocation and release take a mutex.

use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Mutex;

use ffidl_jit::abi::{Abi, ArgPass, CallPlan, Ext, Loc, PieceKind, RetPass};
use ffidl_jit::DispatchFn;

use super::asm::{trampoline_address, CallbackFrame, TRAMPOLINES};
use super::call::zeroed_prefix;
use super::word;
use super::FallbackError;

/// What trampoline `index` calls.
struct Slot {
    plan: CallPlan,
    dispatch: DispatchFn,
    context: *const c_void,
}

static SLOTS: [AtomicPtr<Slot>; TRAMPOLINES] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; TRAMPOLINES];

/// Indices never handed out yet start at `next_fresh`; released ones are reused first.
struct FreeIndices {
    next_fresh: usize,
    released: Vec<usize>,
}

static FREE: Mutex<FreeIndices> = Mutex::new(FreeIndices {
    next_fresh: 0,
    released: Vec::new(),
});

/// A trampoline bound to a plan, a dispatcher and a context: a native function with the
/// plan's C signature. Dropping it releases the index for reuse, after which the entry
/// must not be called any more.
#[derive(Debug)]
pub struct Trampoline {
    index: usize,
    entry: *const c_void,
}

// SAFETY: a trampoline is an index into a process-wide table; it can be released from
// any thread (the table is synchronised).
unsafe impl Send for Trampoline {}

impl Trampoline {
    /// Binds a free trampoline to `plan`, `dispatch` and `context`.
    ///
    /// `context` must stay valid for as long as the trampoline may be called.
    pub fn new(
        plan: &CallPlan,
        dispatch: DispatchFn,
        context: *const c_void,
    ) -> Result<Trampoline, FallbackError> {
        if !cfg!(all(target_arch = "x86_64", unix)) {
            return Err(FallbackError::UnsupportedHost);
        }
        let win64 = match plan.abi {
            Abi::SysV64 => false,
            Abi::Win64 => true,
            other => return Err(FallbackError::UnsupportedAbi(other)),
        };
        if plan.variadic {
            return Err(FallbackError::VariadicCallback);
        }
        let index = {
            let mut free = FREE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match free.released.pop() {
                Some(index) => index,
                None if free.next_fresh < TRAMPOLINES => {
                    free.next_fresh += 1;
                    free.next_fresh - 1
                }
                None => return Err(FallbackError::TrampolinesExhausted(TRAMPOLINES)),
            }
        };
        let slot = Box::into_raw(Box::new(Slot {
            plan: plan.clone(),
            dispatch,
            context,
        }));
        SLOTS[index].store(slot, Ordering::Release);
        Ok(Trampoline {
            index,
            entry: trampoline_address(index, win64).cast(),
        })
    }

    /// The native function (call it with the plan's C signature and ABI).
    pub fn entry(&self) -> *const c_void {
        self.entry
    }

    /// Its index in the table.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl Drop for Trampoline {
    fn drop(&mut self) {
        let slot = SLOTS[self.index].swap(std::ptr::null_mut(), Ordering::AcqRel);
        if !slot.is_null() {
            // SAFETY: the pointer came from Box::into_raw in `new` and was swapped out
            // exactly once; the owner of the trampoline guarantees it is no longer called.
            drop(unsafe { Box::from_raw(slot) });
        }
        let mut free = FREE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        free.released.push(self.index);
    }
}

/// Trampolines currently bound (for tests and diagnostics).
pub fn trampolines_in_use() -> usize {
    SLOTS
        .iter()
        .filter(|slot| !slot.load(Ordering::Relaxed).is_null())
        .count()
}

/// Argument slots kept on the Rust stack (more are heap-allocated for the call).
const INLINE_SLOTS: usize = 16;
/// Words for copies of register-passed aggregates kept on the Rust stack.
const INLINE_COPY_WORDS: usize = 32;

/// Called by the shared trampoline entries with the trampoline's index and the saved
/// registers. Never unwinds (an `extern "C"` function aborts on panic).
pub(super) unsafe extern "C" fn dispatch_trampoline(index: u32, frame: *mut CallbackFrame) {
    // SAFETY: the shared entry passes a frame on its own stack, valid for this call.
    let frame = unsafe { &mut *frame };
    let slot = match SLOTS.get(index as usize) {
        Some(slot) => slot.load(Ordering::Acquire),
        None => std::ptr::null_mut(),
    };
    if slot.is_null() {
        // A released trampoline was called: return zeros rather than jump anywhere.
        return;
    }
    // SAFETY: bound slots stay alive until their trampoline is dropped, which its owner
    // does only when C can no longer call it.
    let slot = unsafe { &*slot };
    // SAFETY: the frame was filled by the entry for a caller using the slot's plan.
    unsafe { decode_and_dispatch(slot, frame) };
}

/// The value saved for a register place, or the stack word at a stack place.
///
/// # Safety
/// For stack places, the caller's stack arguments must hold 8 bytes at that offset.
unsafe fn place(frame: &CallbackFrame, loc: Loc, size: u8) -> u64 {
    match loc {
        Loc::Int(n) => frame.int_regs[usize::from(n) % 6],
        Loc::Vec(n) => frame.vec_regs[usize::from(n) % 8],
        // SAFETY: the caller passed this argument at that offset.
        Loc::Stack(offset) => unsafe { word::read(frame.stack_args.add(offset as usize), size) },
    }
}

unsafe fn decode_and_dispatch(slot: &Slot, frame: &mut CallbackFrame) {
    let plan = &slot.plan;
    let count = plan.args.len();
    let mut inline_slots = [MaybeUninit::<u64>::uninit(); INLINE_SLOTS];
    let mut heap_slots: Vec<u64>;
    let slots: &mut [u64] = if count <= INLINE_SLOTS {
        zeroed_prefix(&mut inline_slots, count)
    } else {
        heap_slots = vec![0; count];
        &mut heap_slots
    };

    let copy_words: usize = plan
        .args
        .iter()
        .map(|arg| match arg {
            ArgPass::Direct {
                pieces,
                aggregate: true,
                ..
            } => aggregate_size(pieces).div_ceil(8),
            _ => 0,
        })
        .sum();
    let mut inline_copies = [MaybeUninit::<u64>::uninit(); INLINE_COPY_WORDS];
    let mut heap_copies: Vec<u64>;
    let copies: &mut [u64] = if copy_words <= INLINE_COPY_WORDS {
        zeroed_prefix(&mut inline_copies, copy_words)
    } else {
        heap_copies = vec![0; copy_words];
        &mut heap_copies
    };
    let copies_base = copies.as_mut_ptr();
    let mut copies_used = 0usize;

    for (arg, out) in plan.args.iter().zip(slots.iter_mut()) {
        *out = match arg {
            ArgPass::Ignore => 0,
            ArgPass::Direct {
                pieces,
                ext,
                aggregate: false,
            } => match pieces.first() {
                Some(piece) => {
                    // SAFETY: the caller put this argument at that place.
                    let value = unsafe { place(frame, piece.loc, 8) };
                    match piece.kind {
                        PieceKind::Int => word::extend(value, piece.size, *ext),
                        PieceKind::F32 | PieceKind::F64 => {
                            word::extend(value, piece.size, Ext::Zero)
                        }
                    }
                }
                None => 0,
            },
            ArgPass::Direct {
                pieces,
                aggregate: true,
                ..
            } => {
                // SAFETY: `copies` was sized for every register-passed aggregate.
                let copy = unsafe { copies_base.add(copies_used) }.cast::<u8>();
                copies_used += aggregate_size(pieces).div_ceil(8);
                for piece in pieces {
                    // SAFETY: the caller put this piece at that place; the copy has room
                    // for every piece.
                    unsafe {
                        let value = place(frame, piece.loc, piece.size);
                        word::write(copy.add(piece.src_offset as usize), value, piece.size);
                    }
                }
                copy as u64
            }
            // The caller's copy on its stack stays there for the whole call.
            ArgPass::StackCopy { offset, .. } => {
                frame.stack_args.wrapping_add(*offset as usize) as u64
            }
            // SAFETY: the caller passed the address of its copy at that place.
            ArgPass::ByRef { loc, .. } => unsafe { place(frame, *loc, 8) },
        };
    }

    let mut ret_buffer = [0u64; 4];
    let ret: *mut u8 = match plan.ret {
        // SAFETY: the caller passed its result memory at that place.
        RetPass::Sret { ptr_loc, .. } => (unsafe { place(frame, ptr_loc, 8) }) as *mut u8,
        _ => ret_buffer.as_mut_ptr().cast(),
    };

    // SAFETY: the slots follow the call-thunk contract for this plan and `ret` has room for
    // the result; the dispatcher and context were bound together by the trampoline's owner.
    unsafe { (slot.dispatch)(slot.context, slots.as_ptr(), ret) };

    match &plan.ret {
        RetPass::Void => {}
        RetPass::Sret { .. } => frame.ret_int[0] = ret as u64,
        RetPass::Direct {
            pieces,
            ext,
            aggregate,
        } => {
            for piece in pieces {
                // SAFETY: the result buffer holds 32 bytes, more than any register result.
                let value = unsafe {
                    if *aggregate {
                        word::read(ret.add(piece.src_offset as usize), piece.size)
                    } else {
                        match piece.kind {
                            PieceKind::Int => word::extend(word::read(ret, 8), piece.size, *ext),
                            PieceKind::F32 => word::read(ret, 4),
                            PieceKind::F64 => word::read(ret, 8),
                        }
                    }
                };
                match piece.loc {
                    Loc::Int(n) => frame.ret_int[usize::from(n) % 2] = value,
                    Loc::Vec(n) => frame.ret_vec[usize::from(n) % 2] = value,
                    Loc::Stack(_) => {}
                }
            }
        }
    }
}

/// Bytes spanned by an aggregate's pieces.
fn aggregate_size(pieces: &[ffidl_jit::abi::Piece]) -> usize {
    pieces
        .iter()
        .map(|piece| piece.src_offset as usize + usize::from(piece.size))
        .max()
        .unwrap_or(0)
}
