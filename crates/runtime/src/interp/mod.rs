//! The interpreter: a checked program compiled once into closures, then run.
//!
//! Execution model: every expression of the typed program is compiled (see [`compile`])
//! into a boxed closure specialised for its operation and type, that returns the value
//! as an untagged 64-bit slot (see [`scalar`]); aggregate values are the address of
//! their C-layout bytes. Statements are closures returning a [`Flow`]. Variables of
//! every kind live in native memory with C layout (frames on the value stack, globals in
//! one block), so `&x` is a stable address and C writes through it are seen. Nothing on
//! the steady-state path hashes, looks a name up, or allocates: a foreign call site owns
//! its thunk and target pointers and builds its argument slots in a fixed array on the
//! Rust stack.

pub mod callback;
pub mod compile;
pub mod print;
pub mod scalar;

use crate::memory::{AllocRegistry, Block, StringArena};
use ffidl_lang::diag::{DiagKind, Diagnostic};
use ffidl_lang::span::Span;
use std::io::Write;

/// Why execution stops early.
pub enum TrapKind {
    /// A runtime error (null dereference, out of bounds, failed assert, ...).
    Error(Diagnostic),
    /// `exit(code)`.
    Exit(i32),
}

/// Boxed so that `R<u64>` is two words and comes back in registers.
pub type Trap = Box<TrapKind>;

pub type R<T> = Result<T, Trap>;

/// A runtime error at `span`.
#[cold]
pub fn runtime_error(span: Span, message: impl Into<String>) -> Trap {
    Box::new(TrapKind::Error(Diagnostic::new(
        DiagKind::Runtime,
        span,
        message,
    )))
}

/// What a statement tells the enclosing block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Next,
    Break,
    Continue,
    Return,
}

pub type ExprFn = Box<dyn Fn(&mut Ctx) -> R<u64>>;
pub type AddrFn = Box<dyn Fn(&mut Ctx) -> R<*mut u8>>;
pub type StmtFn = Box<dyn Fn(&mut Ctx) -> R<Flow>>;

/// Native (Rust) stack a run may use for nested script calls unless told otherwise;
/// safe on a default 2 MiB thread stack.
pub const DEFAULT_NATIVE_STACK_BUDGET: usize = 1 << 20;
/// Bytes of the value stack (frames and aggregate temporaries).
pub const VALUE_STACK_BYTES: usize = 64 << 20;

/// The mutable state of one run.
pub struct Ctx {
    /// Base of the current frame.
    pub fp: *mut u8,
    /// First free byte of the value stack.
    pub sp: *mut u8,
    pub stack_end: *mut u8,
    /// The value of the last `return` (aggregates: the address of its bytes).
    pub ret: u64,
    /// The place of a compound assignment being evaluated.
    pub place: *mut u8,
    /// Lowest native stack address a script call may start at (see
    /// [`native_stack_exhausted`]).
    pub native_stack_limit: usize,
    pub allocs: AllocRegistry,
    pub strings: StringArena,
    /// Text printed and not yet written to `writer`.
    pub out: Vec<u8>,
    pub writer: Box<dyn Write>,
    _stack: Block,
}

impl Ctx {
    pub fn new(writer: Box<dyn Write>) -> Ctx {
        let mut stack = Block::zeroed(VALUE_STACK_BYTES);
        let base = stack.ptr();
        // SAFETY: `base + len` is one past the end of the block.
        let end = unsafe { base.add(stack.len()) };
        Ctx {
            fp: base,
            sp: base,
            stack_end: end,
            ret: 0,
            place: std::ptr::null_mut(),
            native_stack_limit: 0,
            allocs: AllocRegistry::default(),
            strings: StringArena::default(),
            out: Vec::with_capacity(8192),
            writer,
            _stack: stack,
        }
    }

    /// Allow nested script calls to use about `budget` bytes of the native stack below
    /// the caller's current position.
    #[inline(never)]
    pub fn set_native_stack_budget(&mut self, budget: usize) {
        let here = 0u8;
        let addr = std::hint::black_box(&here) as *const u8 as usize;
        self.native_stack_limit = addr.saturating_sub(budget);
    }

    /// Zeroed room for `size` bytes aligned to `align` (<= 16 guaranteed, more honoured)
    /// on the value stack; released when the enclosing statement ends.
    #[inline]
    pub fn alloc_temp(&mut self, size: u64, align: u64, span: Span) -> R<*mut u8> {
        let start = align_up(self.sp as usize, align.max(1) as usize);
        let end = start.checked_add(size as usize);
        match end {
            Some(end) if end <= self.stack_end as usize => {
                let p = start as *mut u8;
                // SAFETY: [start, end) lies inside the value stack block.
                unsafe { std::ptr::write_bytes(p, 0, size as usize) };
                self.sp = end as *mut u8;
                Ok(p)
            }
            _ => Err(runtime_error(
                span,
                "stack overflow: the value stack is full",
            )),
        }
    }

    /// Write pending printed text to the writer. C's stdio buffers are flushed first, so
    /// that text C printed (with `printf`, ...) before this point comes out before ours.
    pub fn flush(&mut self) {
        flush_c_stdio();
        if !self.out.is_empty() {
            let _ = self.writer.write_all(&self.out);
            self.out.clear();
        }
        let _ = self.writer.flush();
    }
}

#[inline(always)]
pub fn align_up(v: usize, align: usize) -> usize {
    (v + align - 1) & !(align - 1)
}

/// Run a block: each statement's temporaries are released when it ends.
#[inline]
pub fn run_block(stmts: &[StmtFn], ctx: &mut Ctx) -> R<Flow> {
    for s in stmts {
        let mark = ctx.sp;
        let flow = s(ctx);
        ctx.sp = mark;
        match flow? {
            Flow::Next => {}
            other => return Ok(other),
        }
    }
    Ok(Flow::Next)
}

/// Whether the native stack is too deep to enter another script function (the
/// interpreter recurses on the Rust stack; this turns a would-be overflow into a
/// runtime error).
#[inline(always)]
pub fn native_stack_exhausted(ctx: &Ctx) -> bool {
    let here = 0u8;
    (std::hint::black_box(&here) as *const u8 as usize) < ctx.native_stack_limit
}

#[cfg(unix)]
fn flush_c_stdio() {
    extern "C" {
        fn fflush(stream: *mut std::ffi::c_void) -> std::ffi::c_int;
    }
    // SAFETY: `fflush(NULL)` flushes every open output stream of the C library that
    // the process links; it takes no pointer from us.
    unsafe {
        fflush(std::ptr::null_mut());
    }
}

#[cfg(not(unix))]
fn flush_c_stdio() {}
