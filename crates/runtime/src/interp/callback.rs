//! Script functions as C callbacks.
//!
//! Owns: the native function pointer a script function becomes when it is used as a
//! `callback` value (one JIT callback thunk per distinct (function, callback type) pair,
//! made while compiling, so evaluating the value at run time is a constant), the
//! dispatcher those thunks call (argument slots into a new frame, the body run, the
//! result written back in the slot contract), which interpreter state a callback runs on,
//! and what happens when a callback fails (never an unwind through C frames: the error is
//! rendered, output flushed, and the process exits).
//!
//! Interpreter state per thread: every foreign call publishes the caller's [`Ctx`] in a
//! thread-local for the duration of the call (and restores the previous one after); a
//! callback on that thread (re-entrant, from inside the foreign call) pushes its frame on the same value stack above everything
//! live and restores `fp`, `sp`, `ret` and `place` before returning. A callback on any
//! other thread (one C created) gets that thread's own `Ctx`, made on its first entry and
//! dropped when the thread ends; globals are native memory shared by all threads. There
//! is no lock: the compiled closures and functions are only read while running.
//! Consequences: text printed on a foreign thread goes to the process's stdout (flushed
//! when the callback returns), and `alloc` buffers and strings made there live until that
//! thread ends.

use super::compile::CompiledFn;
use super::scalar::{load, store, Repr};
use super::{native_stack_exhausted, run_block, runtime_error, Ctx, TrapKind, R};
use ffidl_jit::abi::RetPass;
use ffidl_jit::CallPlan;
use ffidl_lang::diag::render;
use ffidl_lang::span::{SourceMap, Span};
use std::cell::{Cell, OnceCell, RefCell};
use std::ffi::c_void;
use std::io::Write;

/// What every callback of one loaded program shares: the sources (to render a failure).
pub struct CallbackEnv {
    pub map: SourceMap,
}

/// The context pointer baked into one callback thunk: which script function to run.
pub struct CallbackTarget {
    /// The program's compiled functions (kept alive by the compiled program).
    fns: *const Vec<OnceCell<CompiledFn>>,
    index: usize,
    name: String,
    ret: Repr,
    /// Bytes of an aggregate result the thunk's result buffer holds.
    ret_bytes: usize,
    span: Span,
    env: *const CallbackEnv,
}

impl CallbackTarget {
    /// The target for function `index` called through a thunk made from `plan`.
    pub fn new(
        fns: *const Vec<OnceCell<CompiledFn>>,
        index: usize,
        name: String,
        ret: Repr,
        plan: &CallPlan,
        span: Span,
        env: *const CallbackEnv,
    ) -> CallbackTarget {
        let ret_bytes = match (&plan.ret, ret) {
            (RetPass::Sret { .. }, Repr::Agg { size, .. }) => size as usize,
            (RetPass::Direct { pieces, .. }, Repr::Agg { size, .. }) => {
                let extent = pieces
                    .iter()
                    .map(|p| (p.src_offset + u32::from(p.size)) as usize)
                    .max()
                    .unwrap_or(0)
                    .max(8);
                extent.min(size as usize)
            }
            _ => 8,
        };
        CallbackTarget {
            fns,
            index,
            name,
            ret,
            ret_bytes,
            span,
            env,
        }
    }
}

thread_local! {
    /// The interpreter state callbacks on this thread run on (null: none yet).
    static CURRENT: Cell<*mut Ctx> = const { Cell::new(std::ptr::null_mut()) };
    /// This thread's own state, when it is not the thread of a run.
    static OWN: RefCell<Option<Box<Ctx>>> = const { RefCell::new(None) };
}

/// Publish `ctx` as the state of callbacks on this thread for the duration of a foreign
/// call; returns what was published before (give it back to [`restore`]). The pointer
/// is derived from the caller's own `&mut Ctx` right before C runs, so a callback's
/// access through it is a use of that borrow while its owner is suspended in C.
#[inline(always)]
pub fn publish(ctx: &mut Ctx) -> *mut Ctx {
    CURRENT.with(|c| c.replace(ctx as *mut Ctx))
}

/// Restore the state published before [`publish`], once the foreign call returned.
#[inline(always)]
pub fn restore(previous: *mut Ctx) {
    CURRENT.with(|c| c.set(previous));
}

/// The state for a callback on this thread, made on the first entry of a foreign thread.
fn current_ctx() -> *mut Ctx {
    let ctx = CURRENT.with(Cell::get);
    if !ctx.is_null() {
        return ctx;
    }
    let own = OWN.with(|own| {
        let mut own = own.borrow_mut();
        let ctx = own.get_or_insert_with(|| {
            let mut ctx = Box::new(Ctx::new(Box::new(std::io::stdout())));
            ctx.set_native_stack_budget(super::DEFAULT_NATIVE_STACK_BUDGET / 2);
            ctx
        });
        &mut **ctx as *mut Ctx
    });
    CURRENT.with(|c| c.set(own));
    own
}

/// What every callback thunk calls: runs the script function `context` names.
///
/// # Safety
/// `context` is a live [`CallbackTarget`]; `args` holds one slot per parameter as the
/// thunk's plan stores them and `ret` has room for the result (see
/// [`ffidl_jit::DispatchFn`]).
pub unsafe extern "C" fn dispatch(context: *const c_void, args: *const u64, ret: *mut u8) {
    // SAFETY: the thunk passes back the context it was made with: a `CallbackTarget`
    // owned by the compiled program, which outlives every call of its thunks.
    let target = unsafe { &*context.cast::<CallbackTarget>() };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let ctx = current_ctx();
        // SAFETY: `ctx` is this thread's interpreter state; the code that holds it
        // (a run inside a foreign call, or nothing) does not touch it until we return.
        let ctx = unsafe { &mut *ctx };
        // SAFETY: forwarded from the caller.
        let result = unsafe { run_callback(target, ctx, args, ret) };
        if let Err(trap) = result {
            ctx.flush();
            fail(target, *trap);
        }
    }));
    if let Err(panic) = outcome {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let _ = std::io::stdout().flush();
        eprintln!(
            "error: internal error in callback `{}`: {message}",
            target.name
        );
        std::process::exit(1);
    }
}

/// Report a callback's trap and end the process (C frames cannot be unwound through).
fn fail(target: &CallbackTarget, trap: TrapKind) -> ! {
    match trap {
        TrapKind::Exit(code) => std::process::exit(code),
        TrapKind::Error(d) => {
            // SAFETY: the environment is owned by the loaded program, which outlives
            // every call of its callbacks.
            let env = unsafe { &*target.env };
            eprint!("{}", render(&env.map, std::slice::from_ref(&d)));
            let _ = std::io::stderr().flush();
            std::process::exit(1);
        }
    }
}

/// Run the target's function on `ctx`, leaving `ctx` as it was.
///
/// # Safety
/// As [`dispatch`].
unsafe fn run_callback(
    target: &CallbackTarget,
    ctx: &mut Ctx,
    args: *const u64,
    ret: *mut u8,
) -> R<()> {
    // SAFETY: the table is owned by the compiled program (see `CallbackTarget::fns`).
    let fns = unsafe { &*target.fns };
    let Some(f) = fns.get(target.index).and_then(OnceCell::get) else {
        return Err(runtime_error(target.span, "function is not compiled"));
    };
    if native_stack_exhausted(ctx) {
        return Err(runtime_error(
            target.span,
            "stack overflow: callbacks are nested too deeply",
        ));
    }
    let (saved_fp, saved_sp, saved_ret, saved_place) = (ctx.fp, ctx.sp, ctx.ret, ctx.place);
    let result = (|| {
        let frame = ctx.alloc_temp(f.frame_size, f.frame_align, target.span)?;
        for (i, &(offset, repr)) in f.params.iter().enumerate() {
            // SAFETY: the thunk stored one slot per parameter; scalars are read from the
            // slot's low bytes, aggregates are the address of their bytes, and the
            // parameter lies inside the new frame.
            unsafe {
                let slot = args.add(i);
                let dst = frame.add(offset as usize);
                match repr {
                    Repr::Scalar(s) => store(s, dst, load(s, slot.cast())),
                    Repr::Agg { size, .. } => {
                        std::ptr::copy_nonoverlapping(*slot as *const u8, dst, size as usize)
                    }
                    Repr::Void => {}
                }
            }
        }
        ctx.fp = frame;
        run_block(&f.body, ctx)?;
        match target.ret {
            Repr::Scalar(s) => {
                let mut normal = [0u8; 8];
                // SAFETY: `normal` has 8 bytes; `ret` has at least 8 (the slot contract).
                unsafe {
                    store(s, normal.as_mut_ptr(), ctx.ret);
                    let widened = load(s, normal.as_ptr());
                    ret.cast::<u64>().write_unaligned(widened);
                }
            }
            // SAFETY: `ctx.ret` addresses the returned bytes in the (untouched) frame and
            // the result buffer holds `ret_bytes` of them.
            Repr::Agg { .. } => unsafe {
                std::ptr::copy_nonoverlapping(ctx.ret as *const u8, ret, target.ret_bytes)
            },
            Repr::Void => {}
        }
        Ok(())
    })();
    ctx.fp = saved_fp;
    ctx.sp = saved_sp;
    ctx.ret = saved_ret;
    ctx.place = saved_place;
    if result.is_ok() && !ctx.out.is_empty() {
        ctx.flush();
    }
    result
}
