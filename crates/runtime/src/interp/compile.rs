//! Compilation of the typed program into closures.
//!
//! Owns: the translation of every [`ffidl_lang::tir`] statement and expression into a
//! closure specialised for its operation and types (integer kinds and scalar kinds are
//! generic parameters, see [`super::scalar`]); frame layouts (every local and global at
//! a C-layout offset); foreign call sites (each owns its target and thunk pointers and
//! fills its argument slots in a fixed-size array on the Rust stack); script calls;
//! runtime checks (null, bounds, division by zero, argument ranges, asserts).

use super::callback::{self, CallbackEnv, CallbackTarget};
use super::print::{formatter, Fmt};
use super::scalar::{
    f32_of, f64_of, int_value, of_f32, of_f64, repr_of, with_int_kind, with_scalar_kind, IntKind,
    Repr, Scalar, ScalarKind,
};
use super::{
    align_up, run_block, runtime_error, AddrFn, Ctx, ExprFn, Flow, StmtFn, Trap, TrapKind, R,
};
use crate::backend::CallEntries;
use crate::fallback::CallEntry;
use crate::lower::jit_signature;
use crate::memory::{c_str_bytes, StringArena};
use ffidl_jit::classify;
use ffidl_lang::diag::{DiagKind, Diagnostic};
use ffidl_lang::span::Span;
use ffidl_lang::tir::{
    BinaryOp, Body, Builtin, Callee, CastKind, CoerceKind, ConstValue, Expr, ExprKind, IntTy,
    Program, Stmt, StmtKind, TypeId, TypeKind, UnaryOp, Var,
};
use std::cell::OnceCell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::rc::Rc;

type C<T> = Result<T, Diagnostic>;

/// A compiled script function.
pub struct CompiledFn {
    pub frame_size: u64,
    pub frame_align: u64,
    /// Offset in the frame and representation of each parameter.
    pub params: Vec<(u64, Repr)>,
    pub body: Vec<StmtFn>,
}

/// Compiled functions by [`ffidl_lang::tir::FnId`] index (filled before the run starts).
pub type FnTable = Rc<Vec<OnceCell<CompiledFn>>>;

/// A resolved foreign function: its address and, unless variadic, its call entry.
#[derive(Clone)]
pub struct ForeignLink {
    pub target: *const c_void,
    pub thunk: Option<CallEntry>,
}

/// The whole program, compiled.
pub struct CompiledProgram {
    pub main_frame_size: u64,
    pub main_frame_align: u64,
    pub main: Vec<StmtFn>,
    /// The script functions' table, owned here for as long as the closures (and the
    /// callback targets) that point into it.
    pub _fns: FnTable,
    /// The contexts of the callback thunks made from script functions (boxed: each
    /// thunk holds the address of its target, which must not move).
    #[allow(clippy::vec_box)]
    pub callbacks: Vec<Box<CallbackTarget>>,
}

/// State while compiling.
pub struct Compiler<'a> {
    pub program: &'a Program,
    pub reprs: Vec<Repr>,
    pub foreign: &'a [ForeignLink],
    pub cache: &'a mut CallEntries,
    pub fns: FnTable,
    pub literals: &'a mut StringArena,
    pub globals_base: *mut u8,
    pub global_offsets: Vec<u64>,
    /// Shared by every callback thunk made from a script function (set by the loader).
    pub callback_env: *const CallbackEnv,
    /// Callback thunks by (script function, callback type), made on first use.
    callback_entries: HashMap<(u32, u32), *const c_void>,
    // Boxed: each thunk holds the address of its target, which must not move.
    #[allow(clippy::vec_box)]
    callbacks: Vec<Box<CallbackTarget>>,
    /// Frame offsets and types of the locals of the body being compiled.
    local_offsets: Vec<u64>,
    local_types: Vec<TypeId>,
}

/// C-layout offsets of a list of variables, the total size (rounded to 16) and the
/// alignment the block needs (at least 16).
pub fn frame_layout(
    program: &Program,
    types: impl Iterator<Item = TypeId>,
) -> (Vec<u64>, u64, u64) {
    let mut offsets = Vec::new();
    let mut end = 0u64;
    let mut align = 16u64;
    for ty in types {
        let def = program.ty(ty);
        let start = align_up(end as usize, def.align.max(1) as usize) as u64;
        offsets.push(start);
        end = start + def.size;
        align = align.max(def.align);
    }
    (offsets, align_up(end as usize, 16) as u64, align)
}

fn abi_error(span: Span, message: String) -> Diagnostic {
    Diagnostic::new(DiagKind::AbiUnsupported, span, message)
}

impl<'a> Compiler<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        program: &'a Program,
        foreign: &'a [ForeignLink],
        cache: &'a mut CallEntries,
        literals: &'a mut StringArena,
        globals_base: *mut u8,
        global_offsets: Vec<u64>,
    ) -> Compiler<'a> {
        let reprs = (0..program.types.len())
            .map(|i| repr_of(program, TypeId(i as u32)))
            .collect();
        let fns: FnTable = Rc::new(
            (0..program.functions.len())
                .map(|_| OnceCell::new())
                .collect(),
        );
        Compiler {
            program,
            reprs,
            foreign,
            cache,
            fns,
            literals,
            globals_base,
            global_offsets,
            callback_env: std::ptr::null(),
            callback_entries: HashMap::new(),
            callbacks: Vec::new(),
            local_offsets: Vec::new(),
            local_types: Vec::new(),
        }
    }

    /// Compile every script function and the top-level statements.
    pub fn compile_program(mut self) -> C<CompiledProgram> {
        let program = self.program;
        for (i, f) in program.functions.iter().enumerate() {
            let (frame_size, frame_align, body) = self.body(&f.body)?;
            let params = (0..f.params.len())
                .map(|p| (self.local_offsets[p], self.repr(f.params[p])))
                .collect();
            let compiled = CompiledFn {
                frame_size,
                frame_align,
                params,
                body,
            };
            let _ = self.fns[i].set(compiled);
        }
        let (main_frame_size, main_frame_align, main) = self.body(&program.main)?;
        Ok(CompiledProgram {
            main_frame_size,
            main_frame_align,
            main,
            _fns: self.fns,
            callbacks: self.callbacks,
        })
    }

    fn body(&mut self, body: &Body) -> C<(u64, u64, Vec<StmtFn>)> {
        let (offsets, size, align) = frame_layout(self.program, body.locals.iter().map(|l| l.ty));
        self.local_offsets = offsets;
        self.local_types = body.locals.iter().map(|l| l.ty).collect();
        let stmts = self.block(&body.stmts)?;
        Ok((size, align, stmts))
    }

    fn repr(&self, ty: TypeId) -> Repr {
        self.reprs[ty.index()]
    }

    fn scalar(&self, ty: TypeId) -> Scalar {
        match self.repr(ty) {
            Repr::Scalar(s) => s,
            // A checked program only asks this of scalar types; bool is a safe fallback.
            _ => Scalar::Bool,
        }
    }

    fn int_ty(&self, ty: TypeId) -> IntTy {
        match self.repr(ty) {
            Repr::Scalar(Scalar::Int(i)) => i,
            Repr::Scalar(Scalar::Ptr) => IntTy::U64,
            _ => IntTy::U8,
        }
    }

    fn is_cstr(&self, ty: TypeId) -> bool {
        matches!(self.program.ty(ty).kind, TypeKind::Cstr)
    }

    fn type_name(&self, ty: TypeId) -> String {
        self.program.type_name(ty)
    }

    // ----- statements -----

    fn block(&mut self, stmts: &[Stmt]) -> C<Vec<StmtFn>> {
        stmts.iter().map(|s| self.stmt(s)).collect()
    }

    fn var_ty(&self, var: Var, body_locals: Option<TypeId>) -> TypeId {
        match var {
            Var::Local(_) => body_locals.unwrap_or(TypeId::VOID),
            Var::Global(g) => self.program.globals[g.0 as usize].ty,
        }
    }

    /// A store of a value of type `ty` into `dest`.
    fn store_into(&mut self, ty: TypeId, dest: Dest, value: ExprFn) -> StmtFn {
        match (self.repr(ty), dest) {
            (Repr::Scalar(s), Dest::Frame(off)) => {
                with_scalar_kind!(s, K => Box::new(move |ctx: &mut Ctx| {
                    let v = value(ctx)?;
                    // SAFETY: the variable lies inside the current frame.
                    unsafe { K::store(ctx.fp.add(off), v) };
                    Ok(Flow::Next)
                }))
            }
            (Repr::Scalar(s), Dest::Fixed(p)) => {
                with_scalar_kind!(s, K => Box::new(move |ctx: &mut Ctx| {
                    let v = value(ctx)?;
                    // SAFETY: the global lies inside the globals block.
                    unsafe { K::store(p as *mut u8, v) };
                    Ok(Flow::Next)
                }))
            }
            (Repr::Scalar(s), Dest::Dyn(addr)) => {
                with_scalar_kind!(s, K => Box::new(move |ctx: &mut Ctx| {
                    let p = addr(ctx)?;
                    let v = value(ctx)?;
                    // SAFETY: `addr` yields a checked place of this scalar type.
                    unsafe { K::store(p, v) };
                    Ok(Flow::Next)
                }))
            }
            (Repr::Agg { size, .. }, dest) => {
                let addr = dest.into_addr();
                Box::new(move |ctx| {
                    let p = addr(ctx)?;
                    let src = value(ctx)? as *const u8;
                    // SAFETY: both are places/temporaries of `size` bytes; they may overlap.
                    unsafe { std::ptr::copy(src, p, size as usize) };
                    Ok(Flow::Next)
                })
            }
            (Repr::Void, _) => Box::new(move |ctx| {
                value(ctx)?;
                Ok(Flow::Next)
            }),
        }
    }

    /// Where a place is: a fixed frame offset or address when known at compile time.
    fn dest(&mut self, e: &Expr) -> C<Dest> {
        Ok(match &e.kind {
            ExprKind::Local(l) => Dest::Frame(self.local_offsets[l.0 as usize] as usize),
            ExprKind::Global(g) => Dest::Fixed(self.global_addr(g.0 as usize)),
            ExprKind::Field { base, offset, .. } => match self.dest(base)? {
                Dest::Frame(off) => Dest::Frame(off + *offset as usize),
                Dest::Fixed(p) => Dest::Fixed(p + *offset as usize),
                Dest::Dyn(base) => {
                    let off = *offset as usize;
                    // SAFETY: the field lies inside the checked base object.
                    Dest::Dyn(Box::new(move |ctx| Ok(unsafe { base(ctx)?.add(off) })))
                }
            },
            _ => Dest::Dyn(self.addr(e)?),
        })
    }

    /// `x = x op e` for an integer variable and a wrapping operator (`+ - * & | ^`),
    /// compiled as one closure that reads `x`, evaluates `e` and stores in place: the
    /// hot shape of accumulating loops. `x` is read before `e` runs, as the separate
    /// nodes would; the store truncates to the width, so the result wraps exactly as
    /// [`BinaryOp`] requires. `None` when the statement has another shape.
    fn fused_update(&mut self, place: &Expr, value: &Expr) -> C<Option<StmtFn>> {
        let ExprKind::Binary { op, lhs, rhs } = &value.kind else {
            return Ok(None);
        };
        let same_var = match (&place.kind, &lhs.kind) {
            (ExprKind::Local(a), ExprKind::Local(b)) => a == b,
            (ExprKind::Global(a), ExprKind::Global(b)) => a == b,
            _ => false,
        };
        let Repr::Scalar(Scalar::Int(ity)) = self.repr(place.ty) else {
            return Ok(None);
        };
        if !same_var || value.ty != place.ty || lhs.ty != place.ty {
            return Ok(None);
        }
        let at = match self.dest(place)? {
            Dest::Frame(off) => UpdateAt::Frame(off),
            Dest::Fixed(p) => UpdateAt::Fixed(p),
            Dest::Dyn(_) => return Ok(None),
        };
        let rhs = self.expr(rhs)?;
        Ok(Some(with_int_kind!(ity, K => match op {
            BinaryOp::Add => update::<K>(at, rhs, u64::wrapping_add),
            BinaryOp::Sub => update::<K>(at, rhs, u64::wrapping_sub),
            BinaryOp::Mul => update::<K>(at, rhs, u64::wrapping_mul),
            BinaryOp::BitAnd => update::<K>(at, rhs, |a, b| a & b),
            BinaryOp::BitOr => update::<K>(at, rhs, |a, b| a | b),
            BinaryOp::BitXor => update::<K>(at, rhs, |a, b| a ^ b),
            _ => return Ok(None),
        })))
    }

    fn global_addr(&self, index: usize) -> usize {
        self.globals_base as usize + self.global_offsets[index] as usize
    }

    fn var_dest(&self, var: Var) -> Dest {
        match var {
            Var::Local(l) => Dest::Frame(self.local_offsets[l.0 as usize] as usize),
            Var::Global(g) => Dest::Fixed(self.global_addr(g.0 as usize)),
        }
    }

    fn stmt(&mut self, s: &Stmt) -> C<StmtFn> {
        Ok(match &s.kind {
            StmtKind::Let { var, init } => {
                let local_ty = match var {
                    Var::Local(l) => Some(self.local_ty(l.0 as usize)),
                    Var::Global(_) => None,
                };
                let ty = self.var_ty(*var, local_ty);
                match init {
                    Some(e) => {
                        let value = self.expr(e)?;
                        let dest = self.var_dest(*var);
                        self.store_into(ty, dest, value)
                    }
                    None => {
                        let addr = self.var_dest(*var).into_addr();
                        let size = self.program.ty(ty).size as usize;
                        Box::new(move |ctx| {
                            let p = addr(ctx)?;
                            // SAFETY: the variable's storage has `size` bytes.
                            unsafe { std::ptr::write_bytes(p, 0, size) };
                            Ok(Flow::Next)
                        })
                    }
                }
            }
            StmtKind::Assign { place, op, value } => {
                match op {
                    None => match self.fused_update(place, value)? {
                        Some(f) => f,
                        None => {
                            let dest = self.dest(place)?;
                            let value = self.expr(value)?;
                            self.store_into(place.ty, dest, value)
                        }
                    },
                    Some(op) => {
                        let addr = self.addr(place)?;
                        let s = self.scalar(place.ty);
                        let lhs: ExprFn = with_scalar_kind!(s, K => Box::new(|ctx: &mut Ctx| {
                            // SAFETY: `ctx.place` was set to this checked place just before.
                            Ok(unsafe { K::load(ctx.place) })
                        }));
                        let rhs = self.expr(value)?;
                        let combined =
                            self.binary_of(*op, place.ty, value.ty, lhs, rhs, place.span)?;
                        with_scalar_kind!(s, K => Box::new(move |ctx: &mut Ctx| {
                            let p = addr(ctx)?;
                            ctx.place = p;
                            let v = combined(ctx)?;
                            // SAFETY: `p` is a checked place of this scalar type.
                            unsafe { K::store(p, v) };
                            Ok(Flow::Next)
                        }))
                    }
                }
            }
            StmtKind::Expr(e) => {
                let f = self.expr(e)?;
                Box::new(move |ctx| {
                    f(ctx)?;
                    Ok(Flow::Next)
                })
            }
            StmtKind::If { cond, then, els } => {
                let cond = self.expr(cond)?;
                let then = self.block(then)?;
                let els = self.block(els)?;
                Box::new(move |ctx| {
                    if cond(ctx)? != 0 {
                        run_block(&then, ctx)
                    } else {
                        run_block(&els, ctx)
                    }
                })
            }
            StmtKind::While { cond, body } => {
                let cond = self.expr(cond)?;
                let body = self.block(body)?;
                Box::new(move |ctx| {
                    loop {
                        // Temporaries of the condition are released every iteration.
                        let mark = ctx.sp;
                        let go = cond(ctx)?;
                        ctx.sp = mark;
                        if go == 0 {
                            break;
                        }
                        match run_block(&body, ctx)? {
                            Flow::Break => break,
                            Flow::Return => return Ok(Flow::Return),
                            Flow::Next | Flow::Continue => {}
                        }
                    }
                    Ok(Flow::Next)
                })
            }
            StmtKind::For {
                var,
                start,
                end,
                body,
            } => {
                let ity = self.int_ty(start.ty);
                let off = self.local_offsets[var.0 as usize] as usize;
                let start = self.expr(start)?;
                let end = self.expr(end)?;
                let body = self.block(body)?;
                with_int_kind!(ity, K => for_loop::<K>(off, start, end, body))
            }
            StmtKind::Break => Box::new(|_| Ok(Flow::Break)),
            StmtKind::Continue => Box::new(|_| Ok(Flow::Continue)),
            StmtKind::Return(None) => Box::new(|_| Ok(Flow::Return)),
            StmtKind::Return(Some(e)) => {
                let f = self.expr(e)?;
                Box::new(move |ctx| {
                    ctx.ret = f(ctx)?;
                    Ok(Flow::Return)
                })
            }
            StmtKind::Block(stmts) => {
                let stmts = self.block(stmts)?;
                Box::new(move |ctx| run_block(&stmts, ctx))
            }
        })
    }

    fn local_ty(&self, index: usize) -> TypeId {
        self.local_types.get(index).copied().unwrap_or(TypeId::VOID)
    }
}

fn for_loop<K: IntKind>(off: usize, start: ExprFn, end: ExprFn, body: Vec<StmtFn>) -> StmtFn {
    // Order-preserving key: signed values compare as unsigned after flipping the sign bit.
    let key = |v: u64| if K::SIGNED { v ^ (1 << 63) } else { v };
    Box::new(move |ctx| {
        let mut i = start(ctx)?;
        let stop = end(ctx)?;
        while key(i) < key(stop) {
            // SAFETY: the loop variable's slot lies inside the current frame.
            unsafe { K::store(ctx.fp.add(off), i) };
            match run_block(&body, ctx)? {
                Flow::Break => break,
                Flow::Return => return Ok(Flow::Return),
                Flow::Next | Flow::Continue => {}
            }
            i = K::norm(i.wrapping_add(1));
        }
        Ok(Flow::Next)
    })
}

/// Where a place lives, as far as it is known at compile time.
enum Dest {
    /// At this offset in the current frame.
    Frame(usize),
    /// At this fixed address (globals).
    Fixed(usize),
    /// Computed at run time.
    Dyn(AddrFn),
}

impl Dest {
    fn into_addr(self) -> AddrFn {
        match self {
            // SAFETY: the offset lies inside the current frame.
            Dest::Frame(off) => Box::new(move |ctx| Ok(unsafe { ctx.fp.add(off) })),
            Dest::Fixed(p) => Box::new(move |_| Ok(p as *mut u8)),
            Dest::Dyn(a) => a,
        }
    }
}

/// A checked pointer access: `p` must be non-null, and when it points into an `alloc`
/// buffer, `byte_off .. byte_off + size` from `p` must stay inside that buffer.
#[inline]
fn check_ptr(ctx: &Ctx, p: u64, byte_off: i128, size: u64, span: Span) -> R<()> {
    if p == 0 {
        return Err(runtime_error(span, "null pointer dereference"));
    }
    if let Some((base, len)) = ctx.allocs.containing(p as usize) {
        let start = i128::from(p) - base as i128 + byte_off;
        if start < 0 || start + i128::from(size) > len as i128 {
            return Err(oob_buffer(span, start, size, len));
        }
    }
    Ok(())
}

#[cold]
fn oob_buffer(span: Span, start: i128, size: u64, len: usize) -> Trap {
    let size = size.max(1) as i128;
    let count = len as i128 / size;
    let index = start.div_euclid(size);
    runtime_error(
        span,
        format!("index {index} is out of bounds of an `alloc` buffer of {count} elements"),
    )
}

impl Compiler<'_> {
    fn const_value(&mut self, c: &ConstValue, ty: TypeId) -> u64 {
        match c {
            ConstValue::Int(v) => match self.repr(ty) {
                Repr::Scalar(Scalar::F32) => of_f32(*v as f32),
                Repr::Scalar(Scalar::F64) => of_f64(*v as f64),
                _ => *v as u64,
            },
            ConstValue::Float(f) => match self.repr(ty) {
                Repr::Scalar(Scalar::F32) => of_f32(*f as f32),
                _ => of_f64(*f),
            },
            ConstValue::Bool(b) => u64::from(*b),
            ConstValue::Str(s) => self.literals.intern(s.as_bytes()),
            ConstValue::Null => 0,
        }
    }

    /// The value of an expression.
    pub fn expr(&mut self, e: &Expr) -> C<ExprFn> {
        let span = e.span;
        Ok(match &e.kind {
            ExprKind::Const(c) => {
                let v = self.const_value(c, e.ty);
                Box::new(move |_| Ok(v))
            }
            ExprKind::Local(_)
            | ExprKind::Global(_)
            | ExprKind::Deref(_)
            | ExprKind::Field { .. }
            | ExprKind::Index { .. } => match (self.repr(e.ty), self.dest(e)?) {
                (Repr::Scalar(s), Dest::Frame(off)) => {
                    with_scalar_kind!(s, K => Box::new(move |ctx: &mut Ctx| {
                        // SAFETY: the variable lies inside the current frame.
                        Ok(unsafe { K::load(ctx.fp.add(off)) })
                    }))
                }
                (Repr::Scalar(s), Dest::Fixed(p)) => {
                    with_scalar_kind!(s, K => Box::new(move |_: &mut Ctx| {
                        // SAFETY: the global lies inside the globals block.
                        Ok(unsafe { K::load(p as *const u8) })
                    }))
                }
                (Repr::Scalar(s), Dest::Dyn(addr)) => {
                    with_scalar_kind!(s, K => Box::new(move |ctx: &mut Ctx| {
                        let p = addr(ctx)?;
                        // SAFETY: `addr` yields a checked place of this scalar type.
                        Ok(unsafe { K::load(p) })
                    }))
                }
                (_, dest) => {
                    let addr = dest.into_addr();
                    Box::new(move |ctx| Ok(addr(ctx)? as u64))
                }
            },
            ExprKind::FnRef(id) => {
                let entry = self.callback_entry(id.0, e.ty, span)? as u64;
                Box::new(move |_| Ok(entry))
            }
            ExprKind::AddrOf(place) => {
                let addr = self.addr(place)?;
                Box::new(move |ctx| Ok(addr(ctx)? as u64))
            }
            ExprKind::Unary { op, expr } => {
                let inner = self.expr(expr)?;
                match (op, self.scalar(e.ty)) {
                    (UnaryOp::Neg, Scalar::F32) => map(inner, |v| v ^ 0x8000_0000),
                    (UnaryOp::Neg, Scalar::F64) => map(inner, |v| v ^ (1 << 63)),
                    (UnaryOp::Neg, s) => {
                        with_int_kind!(int_of(s), K => map(inner, |v| K::norm(0u64.wrapping_sub(v))))
                    }
                    (UnaryOp::Not, _) => map(inner, |v| v ^ 1),
                    (UnaryOp::BitNot, s) => {
                        with_int_kind!(int_of(s), K => map(inner, |v| K::norm(!v)))
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } if self.fusable(*op, lhs.ty) => {
                let Repr::Scalar(Scalar::Int(ity)) = self.repr(lhs.ty) else {
                    unreachable!("fusable checks for an integer operand")
                };
                let l = self.operand(lhs, true)?;
                let r = self.operand(rhs, false)?;
                with_int_kind!(ity, K => int_binary_operands::<K>(*op, l, r, span))
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.expr(lhs)?;
                let r = self.expr(rhs)?;
                self.binary_of(*op, lhs.ty, rhs.ty, l, r, span)?
            }
            ExprKind::Cast { kind, expr } => self.cast(*kind, expr, e.ty)?,
            ExprKind::Coerce { kind, expr } => self.coerce(*kind, expr, e.ty, None)?,
            ExprKind::Call { callee, args } => self.call(callee, args, e)?,
            ExprKind::Alloc { elem, count } => {
                let size = self.program.ty(*elem).size.max(1);
                let elem_name = self.type_name(*elem);
                let count = match count {
                    Some(c) => {
                        let ity = self.int_ty(c.ty);
                        Some((self.expr(c)?, ity))
                    }
                    None => None,
                };
                Box::new(move |ctx| {
                    let n = match &count {
                        Some((c, ity)) => int_value(*ity, c(ctx)?),
                        None => 1,
                    };
                    if n < 0 {
                        return Err(runtime_error(
                            span,
                            format!("`alloc` count {n} is negative"),
                        ));
                    }
                    let bytes = n * i128::from(size);
                    if bytes > 1 << 40 {
                        return Err(runtime_error(
                            span,
                            format!("`alloc` of {n} `{elem_name}` is too large"),
                        ));
                    }
                    match ctx.allocs.alloc(bytes as usize) {
                        Some(p) => Ok(p as u64),
                        None => Err(runtime_error(
                            span,
                            format!("out of memory: `alloc` of {n} `{elem_name}` ({bytes} bytes) failed"),
                        )),
                    }
                })
            }
            ExprKind::StructLit { fields } => {
                let agg = match &self.program.ty(e.ty).kind {
                    TypeKind::Struct(a) | TypeKind::Union(a) => a.clone(),
                    _ => {
                        return Err(abi_error(
                            span,
                            "struct literal of a non-struct type".into(),
                        ))
                    }
                };
                let mut parts = Vec::new();
                for (index, value) in fields {
                    let f = &agg.fields[*index as usize];
                    let v = self.expr(value)?;
                    parts.push((f.offset, self.repr(f.ty), v));
                }
                self.literal(e.ty, parts, span)
            }
            ExprKind::ArrayLit(items) => {
                let (elem, _) = self.array_of(e.ty);
                let esize = self.program.ty(elem).size;
                let mut parts = Vec::new();
                for (k, item) in items.iter().enumerate() {
                    let v = self.expr(item)?;
                    parts.push((k as u64 * esize, self.repr(elem), v));
                }
                self.literal(e.ty, parts, span)
            }
            ExprKind::ArrayRepeat { value, len } => {
                let (elem, _) = self.array_of(e.ty);
                let esize = self.program.ty(elem).size as usize;
                let repr = self.repr(elem);
                let v = self.expr(value)?;
                let def = self.program.ty(e.ty);
                let (size, align) = (def.size, def.align);
                let len = *len as usize;
                Box::new(move |ctx| {
                    let value = v(ctx)?;
                    let p = ctx.alloc_temp(size, align, span)?;
                    for k in 0..len {
                        // SAFETY: element k of the temporary array.
                        unsafe { put(repr, p.add(k * esize), value) };
                    }
                    Ok(p as u64)
                })
            }
        })
    }

    /// Whether an operation is an integer operation whose operands may be fetched
    /// directly (see [`Operand`]).
    fn fusable(&self, op: BinaryOp, lhs_ty: TypeId) -> bool {
        use BinaryOp::*;
        !matches!(
            op,
            And | Or | PtrAdd { .. } | PtrSub { .. } | PtrDiff { .. }
        ) && matches!(self.repr(lhs_ty), Repr::Scalar(Scalar::Int(_)))
    }

    /// How to reach an operand: variables only on the left (whose type is the
    /// operation's type); constants only on the right.
    fn operand(&mut self, e: &Expr, left: bool) -> C<Operand> {
        match &e.kind {
            ExprKind::Const(c) if !left => Ok(Operand::Const(self.const_value(c, e.ty))),
            ExprKind::Local(_) | ExprKind::Global(_) | ExprKind::Field { .. } if left => {
                Ok(match self.dest(e)? {
                    Dest::Frame(off) => Operand::Frame(off),
                    Dest::Fixed(p) => Operand::Fixed(p),
                    Dest::Dyn(addr) => {
                        let s = self.scalar(e.ty);
                        Operand::Dyn(with_scalar_kind!(s, K => Box::new(move |ctx: &mut Ctx| {
                            let p = addr(ctx)?;
                            // SAFETY: `addr` yields a checked place of this scalar type.
                            Ok(unsafe { K::load(p) })
                        })))
                    }
                })
            }
            _ => Ok(Operand::Dyn(self.expr(e)?)),
        }
    }

    fn array_of(&self, ty: TypeId) -> (TypeId, u64) {
        match self.program.ty(ty).kind {
            TypeKind::Array { elem, len } => (elem, len),
            _ => (TypeId::U8, 0),
        }
    }

    /// An aggregate literal: a zeroed temporary with each part stored at its offset.
    fn literal(&self, ty: TypeId, parts: Vec<(u64, Repr, ExprFn)>, span: Span) -> ExprFn {
        let def = self.program.ty(ty);
        let (size, align) = (def.size, def.align);
        Box::new(move |ctx| {
            let p = ctx.alloc_temp(size, align, span)?;
            for (off, repr, v) in &parts {
                let value = v(ctx)?;
                // SAFETY: the part lies inside the temporary.
                unsafe { put(*repr, p.add(*off as usize), value) };
            }
            Ok(p as u64)
        })
    }

    /// The address of a place, or of the bytes of an aggregate value.
    pub fn addr(&mut self, e: &Expr) -> C<AddrFn> {
        let span = e.span;
        Ok(match &e.kind {
            ExprKind::Local(l) => {
                let off = self.local_offsets[l.0 as usize] as usize;
                // SAFETY: the offset lies inside the current frame.
                Box::new(move |ctx| Ok(unsafe { ctx.fp.add(off) }))
            }
            ExprKind::Global(g) => {
                // SAFETY: the offset lies inside the globals block.
                let p = unsafe {
                    self.globals_base
                        .add(self.global_offsets[g.0 as usize] as usize)
                } as usize;
                Box::new(move |_| Ok(p as *mut u8))
            }
            ExprKind::Deref(p) => {
                let ptr = self.expr(p)?;
                let size = self.program.ty(e.ty).size;
                Box::new(move |ctx| {
                    let v = ptr(ctx)?;
                    check_ptr(ctx, v, 0, size, span)?;
                    Ok(v as *mut u8)
                })
            }
            ExprKind::Field { base, offset, .. } => {
                let off = *offset as usize;
                if let ExprKind::Local(l) = base.kind {
                    let off = off + self.local_offsets[l.0 as usize] as usize;
                    // SAFETY: the field lies inside the current frame.
                    return Ok(Box::new(move |ctx| Ok(unsafe { ctx.fp.add(off) })));
                }
                let base = self.addr(base)?;
                // SAFETY: the field lies inside the checked base object.
                Box::new(move |ctx| Ok(unsafe { base(ctx)?.add(off) }))
            }
            ExprKind::Index { base, index } => {
                let ity = self.int_ty(index.ty);
                let idx = self.expr(index)?;
                let esize = self.program.ty(e.ty).size;
                match self.program.ty(base.ty).kind {
                    TypeKind::Array { len, .. } => {
                        let base_addr = self.addr(base)?;
                        let ty_name = self.type_name(base.ty);
                        Box::new(move |ctx| {
                            let p = base_addr(ctx)?;
                            let i = int_value(ity, idx(ctx)?);
                            if i < 0 || i >= i128::from(len) {
                                return Err(runtime_error(
                                    span,
                                    format!(
                                        "index {i} is out of bounds for `{ty_name}` (length {len})"
                                    ),
                                ));
                            }
                            // SAFETY: 0 <= i < len, so the element is inside the array.
                            Ok(unsafe { p.add(i as usize * esize as usize) })
                        })
                    }
                    _ => {
                        let ptr = self.expr(base)?;
                        Box::new(move |ctx| {
                            let p = ptr(ctx)?;
                            let i = int_value(ity, idx(ctx)?);
                            let off = i * i128::from(esize);
                            check_ptr(ctx, p, off, esize, span)?;
                            Ok((p as i128 + off) as u64 as *mut u8)
                        })
                    }
                }
            }
            _ => {
                let v = self.expr(e)?;
                Box::new(move |ctx| Ok(v(ctx)? as *mut u8))
            }
        })
    }

    /// A binary operation on compiled operands (`lhs_ty`, `rhs_ty` are their types).
    pub fn binary_of(
        &mut self,
        op: BinaryOp,
        lhs_ty: TypeId,
        rhs_ty: TypeId,
        l: ExprFn,
        r: ExprFn,
        span: Span,
    ) -> C<ExprFn> {
        use BinaryOp::*;
        Ok(match op {
            And => Box::new(move |ctx| Ok(if l(ctx)? != 0 { r(ctx)? } else { 0 })),
            Or => Box::new(move |ctx| Ok(if l(ctx)? != 0 { 1 } else { r(ctx)? })),
            PtrAdd { elem_size } | PtrSub { elem_size } => {
                let ity = self.int_ty(rhs_ty);
                let neg = matches!(op, PtrSub { .. });
                with_int_kind!(ity, K => Box::new(move |ctx: &mut Ctx| {
                    let p = l(ctx)?;
                    let n = K::value(r(ctx)?);
                    let delta = n * i128::from(elem_size);
                    let moved = if neg { i128::from(p) - delta } else { i128::from(p) + delta };
                    // A pointer into an `alloc` buffer stays inside it (or one past its
                    // end), so that its accesses can still be checked.
                    if let Some((base, len)) = ctx.allocs.containing(p as usize) {
                        if moved < base as i128 || moved > (base + len) as i128 {
                            let elems = elem_size.max(1) as i128;
                            let at = (moved - base as i128).div_euclid(elems);
                            return Err(runtime_error(
                                span,
                                format!(
                                    "pointer arithmetic leaves its `alloc` buffer \
                                     (element {at} of {})",
                                    len as i128 / elems
                                ),
                            ));
                        }
                    }
                    Ok(moved as u64)
                }))
            }
            PtrDiff { elem_size } => {
                let es = elem_size.max(1) as i64;
                bin(l, r, move |a, b| (a.wrapping_sub(b) as i64 / es) as u64)
            }
            _ if self.is_cstr(lhs_ty) => {
                let want: fn(std::cmp::Ordering) -> bool = match op {
                    Eq => |o| o.is_eq(),
                    Ne => |o| o.is_ne(),
                    Lt => |o| o.is_lt(),
                    Le => |o| o.is_le(),
                    Gt => |o| o.is_gt(),
                    _ => |o| o.is_ge(),
                };
                bin(l, r, move |a, b| {
                    let o = match (a, b) {
                        (0, 0) => std::cmp::Ordering::Equal,
                        (0, _) => std::cmp::Ordering::Less,
                        (_, 0) => std::cmp::Ordering::Greater,
                        // SAFETY: non-null `cstr` values are NUL-terminated strings.
                        _ => unsafe { c_str_bytes(a).cmp(c_str_bytes(b)) },
                    };
                    u64::from(want(o))
                })
            }
            _ => match self.repr(lhs_ty) {
                Repr::Scalar(Scalar::Int(i)) => {
                    with_int_kind!(i, K => int_binary::<K, _, _>(op, l, r, span))
                }
                Repr::Scalar(Scalar::F64) => float_binary(op, l, r, f64_of, of_f64),
                Repr::Scalar(Scalar::F32) => float_binary(op, l, r, f32_of, of_f32),
                // bool and pointers: unsigned comparisons of the slot.
                _ => int_binary::<super::scalar::KU64, _, _>(op, l, r, span),
            },
        })
    }

    fn cast(&mut self, kind: CastKind, inner: &Expr, to: TypeId) -> C<ExprFn> {
        let from = inner.ty;
        // Narrowing an integer variable: on a little-endian machine the narrow value is
        // the variable's first bytes, so one load of the target kind does the cast.
        if let (
            CastKind::Numeric | CastKind::Bits,
            Repr::Scalar(Scalar::Int(a)),
            Repr::Scalar(Scalar::Int(b)),
        ) = (kind, self.repr(from), self.repr(to))
        {
            if cfg!(target_endian = "little")
                && b.size() < a.size()
                && matches!(inner.kind, ExprKind::Local(_) | ExprKind::Global(_))
            {
                match self.dest(inner)? {
                    Dest::Frame(off) => {
                        return Ok(with_int_kind!(b, K => Box::new(move |ctx: &mut Ctx| {
                            FrameOp::<K>(off, std::marker::PhantomData).fetch(ctx)
                        })))
                    }
                    Dest::Fixed(p) => {
                        return Ok(with_int_kind!(b, K => Box::new(move |ctx: &mut Ctx| {
                            FixedOp::<K>(p, std::marker::PhantomData).fetch(ctx)
                        })))
                    }
                    Dest::Dyn(_) => {}
                }
            }
        }
        let v = self.expr(inner)?;
        Ok(match kind {
            CastKind::Identity | CastKind::CstrToPtr => v,
            CastKind::Bits => match self.repr(to) {
                Repr::Scalar(Scalar::Int(i)) => with_int_kind!(i, K => map(v, K::norm)),
                _ => v,
            },
            CastKind::Numeric => self.numeric(self.scalar(from), self.scalar(to), v),
        })
    }

    fn numeric(&self, from: Scalar, to: Scalar, v: ExprFn) -> ExprFn {
        match (from, to) {
            (a, b) if a == b => v,
            // Slots are sign- or zero-extended to 64 bits: widening to 64 bits, or to a
            // type that holds every value of the source, changes nothing.
            (Scalar::Int(a), Scalar::Int(b))
                if b.size() == 8 || (b.min() <= a.min() && a.max() <= b.max()) =>
            {
                v
            }
            (Scalar::Bool, Scalar::Int(_)) => v,
            (Scalar::Int(_), Scalar::Int(i)) => {
                with_int_kind!(i, K => map(v, K::norm))
            }
            (Scalar::Int(i), Scalar::F64) => {
                if i.signed() {
                    map(v, |x| of_f64(x as i64 as f64))
                } else {
                    map(v, |x| of_f64(x as f64))
                }
            }
            (Scalar::Int(i), Scalar::F32) => {
                if i.signed() {
                    map(v, |x| of_f32(x as i64 as f32))
                } else {
                    map(v, |x| of_f32(x as f32))
                }
            }
            (Scalar::Bool, Scalar::F64) => map(v, |x| of_f64(x as f64)),
            (Scalar::Bool, Scalar::F32) => map(v, |x| of_f32(x as f32)),
            (Scalar::F64, Scalar::Int(i)) => {
                with_int_kind!(i, K => map(v, |x| K::saturate(f64_of(x))))
            }
            (Scalar::F32, Scalar::Int(i)) => {
                with_int_kind!(i, K => map(v, |x| K::saturate(f64::from(f32_of(x)))))
            }
            (Scalar::F32, Scalar::F64) => map(v, |x| of_f64(f64::from(f32_of(x)))),
            (Scalar::F64, Scalar::F32) => map(v, |x| of_f32(f64_of(x) as f32)),
            (_, Scalar::Bool) => map(v, |x| u64::from(x != 0)),
            _ => v,
        }
    }

    /// An implicit conversion; `param` names the foreign parameter for range errors.
    fn coerce(
        &mut self,
        kind: CoerceKind,
        inner: &Expr,
        to: TypeId,
        param: Option<String>,
    ) -> C<ExprFn> {
        let span = inner.span;
        let from = self.scalar(inner.ty);
        let v = self.expr(inner)?;
        Ok(match kind {
            CoerceKind::Ptr | CoerceKind::CstrToPtr => v,
            CoerceKind::F64ToF32 => map(v, |x| of_f32(f64_of(x) as f32)),
            CoerceKind::Promote => self.numeric(from, self.scalar(to), v),
            CoerceKind::IntChecked => {
                let to_int = self.int_ty(to);
                let from_int = int_of(from);
                let what = match param {
                    Some(p) => format!("parameter {p}"),
                    None => format!("`{}`", to_int.name()),
                };
                Box::new(move |ctx| {
                    let x = v(ctx)?;
                    let value = int_value(from_int, x);
                    if !to_int.fits(value) {
                        return Err(runtime_error(
                            span,
                            format!("value {value} does not fit {what}"),
                        ));
                    }
                    Ok(value as u64)
                })
            }
        })
    }

    fn call(&mut self, callee: &Callee, args: &[Expr], e: &Expr) -> C<ExprFn> {
        let span = e.span;
        match callee {
            Callee::Builtin(b) => self.builtin(*b, args, span),
            Callee::Script(id) => {
                let mut arg_fns = Vec::with_capacity(args.len());
                for a in args {
                    arg_fns.push(self.expr(a)?);
                }
                let ret = self.repr(e.ty);
                let fns = self.fns.clone();
                let index = id.0 as usize;
                Ok(Box::new(move |ctx| {
                    let ret_tmp = match ret {
                        Repr::Agg { size, align } => ctx.alloc_temp(size, align, span)?,
                        _ => std::ptr::null_mut(),
                    };
                    let Some(f) = fns[index].get() else {
                        return Err(runtime_error(span, "function is not compiled"));
                    };
                    let frame = ctx.alloc_temp(f.frame_size, f.frame_align, span)?;
                    for (a, (off, repr)) in arg_fns.iter().zip(&f.params) {
                        let v = a(ctx)?;
                        // SAFETY: the parameter lies inside the new frame.
                        unsafe { put(*repr, frame.add(*off as usize), v) };
                    }
                    if super::native_stack_exhausted(ctx) {
                        return Err(runtime_error(
                            span,
                            "stack overflow: script function calls are nested too deeply",
                        ));
                    }
                    let saved = ctx.fp;
                    ctx.fp = frame;
                    let flow = run_block(&f.body, ctx);
                    ctx.fp = saved;
                    flow?;
                    let v = match ret {
                        Repr::Agg { size, .. } => {
                            // SAFETY: `ctx.ret` addresses the returned value's bytes in the
                            // callee's (popped but untouched) frame; `ret_tmp` is below it.
                            unsafe { std::ptr::copy(ctx.ret as *const u8, ret_tmp, size as usize) };
                            ret_tmp as u64
                        }
                        _ => ctx.ret,
                    };
                    ctx.sp = frame;
                    Ok(v)
                }))
            }
            Callee::Foreign(id) => {
                let f = &self.program.foreign_fns[id.0 as usize];
                let link = self.foreign[id.0 as usize].clone();
                let fixed = f.sig.params.len();
                let mut arg_fns = Vec::with_capacity(args.len());
                for (i, a) in args.iter().enumerate() {
                    let fv = match &a.kind {
                        ExprKind::Coerce {
                            kind: CoerceKind::IntChecked,
                            expr,
                        } => {
                            let pname = f.param_names.get(i).cloned().unwrap_or_default();
                            let what =
                                format!("`{pname}: {}` of `{}`", self.type_name(a.ty), f.name);
                            self.coerce(CoerceKind::IntChecked, expr, a.ty, Some(what))?
                        }
                        ExprKind::Const(c) if matches!(self.repr(a.ty), Repr::Scalar(_)) => {
                            let v = self.const_value(c, a.ty);
                            arg_fns.push((Box::new(move |_: &mut Ctx| Ok(v)) as ExprFn, Some(v)));
                            continue;
                        }
                        // An aggregate place is copied when it is evaluated, so that later
                        // arguments cannot change what C receives.
                        _ if matches!(self.repr(a.ty), Repr::Agg { .. })
                            && a.is_place(&self.program.types)
                            && i + 1 < args.len() =>
                        {
                            let Repr::Agg { size, align } = self.repr(a.ty) else {
                                unreachable!("matched above")
                            };
                            let place = self.expr(a)?;
                            let span = a.span;
                            Box::new(move |ctx: &mut Ctx| {
                                let src = place(ctx)? as *const u8;
                                let copy = ctx.alloc_temp(size, align, span)?;
                                // SAFETY: `src` addresses a live value of `size` bytes and
                                // `copy` is a fresh temporary of the same size.
                                unsafe { std::ptr::copy_nonoverlapping(src, copy, size as usize) };
                                Ok(copy as u64)
                            })
                        }
                        _ => self.expr(a)?,
                    };
                    arg_fns.push((fv, None));
                }
                let thunk = match &link.thunk {
                    Some(t) if args.len() == fixed && !f.sig.variadic => t.clone(),
                    _ => {
                        let extra: Vec<TypeId> =
                            args[fixed.min(args.len())..].iter().map(|a| a.ty).collect();
                        let sig = jit_signature(self.program, &f.sig, &extra)
                            .map_err(|m| abi_error(span, m))?;
                        let plan = classify(&sig).map_err(|m| abi_error(span, m.to_string()))?;
                        self.cache.entry(&plan).map_err(|m| abi_error(span, m))?
                    }
                };
                Ok(self.foreign_call(link.target, thunk, arg_fns, e.ty, span, None))
            }
            Callee::Value(fexpr) => {
                let TypeKind::Callback(cb) = &self.program.ty(fexpr.ty).kind else {
                    return Err(abi_error(
                        span,
                        "call of a value that is not a callback".into(),
                    ));
                };
                let sig = cb.sig.clone();
                let jsig =
                    jit_signature(self.program, &sig, &[]).map_err(|m| abi_error(span, m))?;
                let plan = classify(&jsig).map_err(|m| abi_error(span, m.to_string()))?;
                let thunk = self.cache.entry(&plan).map_err(|m| abi_error(span, m))?;
                let target = self.expr(fexpr)?;
                let mut arg_fns = Vec::with_capacity(args.len());
                for a in args {
                    arg_fns.push((self.expr(a)?, None));
                }
                Ok(self.foreign_call(std::ptr::null(), thunk, arg_fns, e.ty, span, Some(target)))
            }
        }
    }

    /// A call through a thunk. `dynamic_target` computes the function pointer at run time
    /// (callback values); otherwise `target` is fixed.
    fn foreign_call(
        &self,
        target: *const c_void,
        thunk: CallEntry,
        args: Vec<(ExprFn, Option<u64>)>,
        ret_ty: TypeId,
        span: Span,
        dynamic_target: Option<ExprFn>,
    ) -> ExprFn {
        let ret = self.repr(ret_ty);
        let ret_is_cstr = self.is_cstr(ret_ty);
        let target = target as usize;
        let fast = dynamic_target.is_none() && !ret_is_cstr && args.len() <= 6;
        if fast {
            match ret {
                Repr::Void => {
                    return fixed_call::<super::scalar::KU64>(target, thunk, args, true, span)
                }
                Repr::Scalar(s) => {
                    return with_scalar_kind!(s, K => fixed_call::<K>(target, thunk.clone(), args, false, span))
                }
                Repr::Agg { .. } => {}
            }
        }
        Box::new(move |ctx| {
            let target = match &dynamic_target {
                Some(t) => {
                    let p = t(ctx)?;
                    if p == 0 {
                        return Err(runtime_error(span, "call through a null callback"));
                    }
                    p as usize
                }
                None => target,
            };
            // Up to 16 arguments live in an array on the stack; more take a vector.
            let mut small = [0u64; 16];
            let mut large = Vec::new();
            let slots: &mut [u64] = if args.len() <= small.len() {
                &mut small[..args.len()]
            } else {
                large.resize(args.len(), 0);
                &mut large
            };
            for (slot, (a, _)) in slots.iter_mut().zip(&args) {
                *slot = a(ctx)?;
            }
            let mut small = [0u64; 2];
            let ret_ptr = match ret {
                Repr::Agg { size, align } => ctx.alloc_temp(size, align, span)?,
                _ => small.as_mut_ptr().cast(),
            };
            if !ctx.out.is_empty() {
                ctx.flush();
            }
            // Callbacks C makes during the call run on this state.
            let previous = callback::publish(ctx);
            // SAFETY: the entry was made from the plan of this call's C signature; the
            // slots hold one value (or aggregate address) per argument, and `ret_ptr` has
            // room for the result.
            let called = unsafe { thunk.call(target as *const c_void, slots, ret_ptr) };
            callback::restore(previous);
            called.map_err(|e| runtime_error(span, e.to_string()))?;
            Ok(match ret {
                Repr::Agg { .. } => ret_ptr as u64,
                Repr::Void => 0,
                Repr::Scalar(s) => {
                    // SAFETY: the thunk stored the scalar result in `small`.
                    let v = unsafe { super::scalar::load(s, ret_ptr) };
                    if ret_is_cstr && v != 0 {
                        // SAFETY: a non-null `cstr` result is a NUL-terminated string.
                        let bytes = unsafe { c_str_bytes(v) };
                        ctx.strings.intern(bytes)
                    } else {
                        v
                    }
                }
            })
        })
    }

    /// The native function pointer of script function `index` as a value of the callback
    /// type `ty`: one callback thunk per (function, callback type), made on first use.
    fn callback_entry(&mut self, index: u32, ty: TypeId, span: Span) -> C<*const c_void> {
        if let Some(&entry) = self.callback_entries.get(&(index, ty.0)) {
            return Ok(entry);
        }
        let TypeKind::Callback(cb) = &self.program.ty(ty).kind else {
            return Err(abi_error(
                span,
                "a script function used where no callback type is expected".into(),
            ));
        };
        let sig = jit_signature(self.program, &cb.sig, &[]).map_err(|m| abi_error(span, m))?;
        let plan = classify(&sig).map_err(|m| abi_error(span, m.to_string()))?;
        let f = &self.program.functions[index as usize];
        let target = Box::new(CallbackTarget::new(
            Rc::as_ptr(&self.fns),
            index as usize,
            f.name.clone(),
            self.repr(f.ret),
            &plan,
            f.span,
            self.callback_env,
        ));
        let context = (&*target as *const CallbackTarget).cast::<c_void>();
        let entry = self
            .cache
            .callback(&plan, callback::dispatch, context)
            .map_err(|m| abi_error(span, m))?;
        self.callbacks.push(target);
        self.callback_entries.insert((index, ty.0), entry);
        Ok(entry)
    }

    fn builtin(&mut self, b: Builtin, args: &[Expr], span: Span) -> C<ExprFn> {
        Ok(match b {
            Builtin::Print => {
                let mut parts: Vec<(ExprFn, Fmt)> = Vec::new();
                for a in args {
                    let f = formatter(self.program, &self.reprs, a.ty, true);
                    parts.push((self.expr(a)?, f));
                }
                Box::new(move |ctx| {
                    // Every argument is evaluated before anything is written, so output
                    // made while evaluating one (a call that prints, a callback) comes
                    // before this line instead of inside it. Aggregate values stay valid:
                    // temporaries live until the end of the statement.
                    let mut values = [0u64; 8];
                    let mut spill = Vec::new();
                    for (i, (v, _)) in parts.iter().enumerate() {
                        let value = v(ctx)?;
                        match values.get_mut(i) {
                            Some(slot) => *slot = value,
                            None => spill.push(value),
                        }
                    }
                    for (i, (_, f)) in parts.iter().enumerate() {
                        let value = values.get(i).copied().unwrap_or_else(|| spill[i - 8]);
                        if i > 0 {
                            ctx.out.push(b' ');
                        }
                        f(value, &mut ctx.out);
                    }
                    ctx.out.push(b'\n');
                    if ctx.out.len() > 1 << 16 {
                        ctx.flush();
                    }
                    Ok(0)
                })
            }
            Builtin::Assert => {
                let cond = self.expr(&args[0])?;
                let msg = match args.get(1) {
                    Some(m) => Some(self.expr(m)?),
                    None => None,
                };
                Box::new(move |ctx| {
                    if cond(ctx)? != 0 {
                        return Ok(0);
                    }
                    let text = match &msg {
                        Some(m) => {
                            let p = m(ctx)?;
                            if p == 0 {
                                "assertion failed".to_string()
                            } else {
                                // SAFETY: a non-null `cstr` is a NUL-terminated string.
                                let bytes = unsafe { c_str_bytes(p) };
                                format!("assertion failed: {}", String::from_utf8_lossy(bytes))
                            }
                        }
                        None => "assertion failed".to_string(),
                    };
                    Err(runtime_error(span, text))
                })
            }
            Builtin::String => {
                let p = self.expr(&args[0])?;
                let len = match args.get(1) {
                    Some(l) => {
                        let ity = self.int_ty(l.ty);
                        Some((self.expr(l)?, ity))
                    }
                    None => None,
                };
                Box::new(move |ctx| {
                    let addr = p(ctx)?;
                    if addr == 0 {
                        return Err(runtime_error(span, "`string` of a null pointer"));
                    }
                    match &len {
                        Some((l, ity)) => {
                            let n = int_value(*ity, l(ctx)?);
                            if n < 0 {
                                return Err(runtime_error(
                                    span,
                                    format!("`string` length {n} is negative"),
                                ));
                            }
                            check_ptr(ctx, addr, 0, n as u64, span)?;
                            // SAFETY: `addr` is non-null and, when inside an `alloc`
                            // buffer, `n` bytes fit; otherwise C memory is trusted.
                            let bytes = unsafe {
                                std::slice::from_raw_parts(addr as *const u8, n as usize)
                            };
                            let v = ctx.strings.intern(bytes);
                            Ok(v)
                        }
                        None => {
                            if let Some((base, blen)) = ctx.allocs.containing(addr as usize) {
                                let avail = base + blen - addr as usize;
                                // SAFETY: `avail` bytes from `addr` lie inside the buffer.
                                let bytes =
                                    unsafe { std::slice::from_raw_parts(addr as *const u8, avail) };
                                if !bytes.contains(&0) {
                                    return Err(runtime_error(
                                        span,
                                        "`string` found no NUL terminator inside the buffer",
                                    ));
                                }
                                return Ok(ctx.strings.intern(bytes));
                            }
                            // SAFETY: a pointer outside script buffers is trusted to be a
                            // NUL-terminated C string, as in C.
                            let bytes = unsafe { c_str_bytes(addr) };
                            Ok(ctx.strings.intern(bytes))
                        }
                    }
                })
            }
            Builtin::Exit => {
                let ity = self.int_ty(args[0].ty);
                let code = self.expr(&args[0])?;
                let span = args[0].span;
                Box::new(move |ctx| {
                    let c = int_value(ity, code(ctx)?);
                    match i32::try_from(c) {
                        Ok(c) => Err(Box::new(TrapKind::Exit(c))),
                        Err(_) => Err(runtime_error(
                            span,
                            format!("exit code {c} does not fit in `c_int`"),
                        )),
                    }
                })
            }
        })
    }
}

/// Where [`Compiler::fused_update`] updates its variable.
#[derive(Clone, Copy)]
enum UpdateAt {
    Frame(usize),
    Fixed(usize),
}

/// `x = f(x, rhs)` in one closure, specialised by kind and operator.
fn update<K: ScalarKind>(
    at: UpdateAt,
    rhs: ExprFn,
    f: impl Fn(u64, u64) -> u64 + 'static,
) -> StmtFn {
    match at {
        UpdateAt::Frame(off) => Box::new(move |ctx: &mut Ctx| {
            // SAFETY: the variable lies inside the current frame (read before `rhs`
            // runs, written after it; `fp` is the same again once `rhs` returns).
            let a = unsafe { K::load(ctx.fp.add(off)) };
            let b = rhs(ctx)?;
            // SAFETY: as above.
            unsafe { K::store(ctx.fp.add(off), f(a, b)) };
            Ok(Flow::Next)
        }),
        UpdateAt::Fixed(p) => Box::new(move |ctx: &mut Ctx| {
            // SAFETY: the global lies inside the globals block.
            let a = unsafe { K::load(p as *const u8) };
            let b = rhs(ctx)?;
            // SAFETY: as above.
            unsafe { K::store(p as *mut u8, f(a, b)) };
            Ok(Flow::Next)
        }),
    }
}

/// Store a slot value of representation `repr` at `p` (aggregates: copy its bytes).
///
/// # Safety
/// `p` must be writable for the representation's size; an aggregate `v` must address
/// that many readable bytes.
#[inline]
unsafe fn put(repr: Repr, p: *mut u8, v: u64) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match repr {
            Repr::Scalar(s) => super::scalar::store(s, p, v),
            Repr::Agg { size, .. } => std::ptr::copy(v as *const u8, p, size as usize),
            Repr::Void => {}
        }
    }
}

fn int_of(s: Scalar) -> IntTy {
    match s {
        Scalar::Int(i) => i,
        Scalar::Bool => IntTy::U8,
        _ => IntTy::U64,
    }
}

fn map(v: ExprFn, f: impl Fn(u64) -> u64 + 'static) -> ExprFn {
    Box::new(move |ctx| Ok(f(v(ctx)?)))
}

fn bin<L: Fetch, Rr: Fetch>(l: L, r: Rr, f: impl Fn(u64, u64) -> u64 + 'static) -> ExprFn {
    Box::new(move |ctx| {
        let a = l.fetch(ctx)?;
        let b = r.fetch(ctx)?;
        Ok(f(a, b))
    })
}

/// An operand of a binary operation, fetched without a boxed call when it is a
/// constant or a variable at a compile-time offset.
pub trait Fetch: 'static {
    fn fetch(&self, ctx: &mut Ctx) -> R<u64>;
}

impl Fetch for ExprFn {
    #[inline(always)]
    fn fetch(&self, ctx: &mut Ctx) -> R<u64> {
        self(ctx)
    }
}

/// A constant operand.
pub struct ConstOp(u64);

impl Fetch for ConstOp {
    #[inline(always)]
    fn fetch(&self, _: &mut Ctx) -> R<u64> {
        Ok(self.0)
    }
}

/// A variable of kind `K` at an offset in the current frame.
pub struct FrameOp<K>(usize, std::marker::PhantomData<fn() -> K>);

impl<K: ScalarKind> Fetch for FrameOp<K> {
    #[inline(always)]
    fn fetch(&self, ctx: &mut Ctx) -> R<u64> {
        // SAFETY: the variable lies inside the current frame.
        Ok(unsafe { K::load(ctx.fp.add(self.0)) })
    }
}

/// A global of kind `K` at a fixed address.
pub struct FixedOp<K>(usize, std::marker::PhantomData<fn() -> K>);

impl<K: ScalarKind> Fetch for FixedOp<K> {
    #[inline(always)]
    fn fetch(&self, _: &mut Ctx) -> R<u64> {
        // SAFETY: the global lies inside the globals block.
        Ok(unsafe { K::load(self.0 as *const u8) })
    }
}

/// How an operand is reached, decided at compile time.
enum Operand {
    Const(u64),
    Frame(usize),
    Fixed(usize),
    Dyn(ExprFn),
}

/// An integer operation with its operands fetched the cheapest way.
fn int_binary_operands<K: IntKind>(op: BinaryOp, l: Operand, r: Operand, span: Span) -> ExprFn {
    use std::marker::PhantomData as P;
    let frame = |o| FrameOp::<K>(o, P);
    let fixed = |p| FixedOp::<K>(p, P);
    match (l, r) {
        (Operand::Frame(o), Operand::Const(c)) => {
            int_binary::<K, _, _>(op, frame(o), ConstOp(c), span)
        }
        (Operand::Frame(o), Operand::Dyn(f)) => int_binary::<K, _, _>(op, frame(o), f, span),
        (Operand::Fixed(p), Operand::Const(c)) => {
            int_binary::<K, _, _>(op, fixed(p), ConstOp(c), span)
        }
        (Operand::Fixed(p), Operand::Dyn(f)) => int_binary::<K, _, _>(op, fixed(p), f, span),
        (Operand::Dyn(f), Operand::Const(c)) => int_binary::<K, _, _>(op, f, ConstOp(c), span),
        (l, r) => int_binary::<K, _, _>(op, operand_fn::<K>(l), operand_fn::<K>(r), span),
    }
}

fn operand_fn<K: ScalarKind>(o: Operand) -> ExprFn {
    match o {
        Operand::Const(c) => Box::new(move |_| Ok(c)),
        Operand::Frame(off) => {
            Box::new(move |ctx| FrameOp::<K>(off, std::marker::PhantomData).fetch(ctx))
        }
        Operand::Fixed(p) => {
            Box::new(move |ctx| FixedOp::<K>(p, std::marker::PhantomData).fetch(ctx))
        }
        Operand::Dyn(f) => f,
    }
}

fn int_binary<K: IntKind, L: Fetch, Rr: Fetch>(op: BinaryOp, l: L, r: Rr, span: Span) -> ExprFn {
    use BinaryOp::*;
    let lt = |a: u64, b: u64| {
        if K::SIGNED {
            (a as i64) < (b as i64)
        } else {
            a < b
        }
    };
    match op {
        Add => bin(l, r, |a, b| K::norm(a.wrapping_add(b))),
        Sub => bin(l, r, |a, b| K::norm(a.wrapping_sub(b))),
        Mul => bin(l, r, |a, b| K::norm(a.wrapping_mul(b))),
        Div | Rem => {
            let is_div = op == Div;
            Box::new(move |ctx| {
                let a = l.fetch(ctx)?;
                let b = r.fetch(ctx)?;
                if b == 0 {
                    return Err(runtime_error(
                        span,
                        if is_div {
                            "division by zero"
                        } else {
                            "remainder by zero"
                        },
                    ));
                }
                let v = match (K::SIGNED, is_div) {
                    (true, true) => (a as i64).wrapping_div(b as i64) as u64,
                    (true, false) => (a as i64).wrapping_rem(b as i64) as u64,
                    (false, true) => a / b,
                    (false, false) => a % b,
                };
                Ok(K::norm(v))
            })
        }
        BitAnd => bin(l, r, |a, b| a & b),
        BitOr => bin(l, r, |a, b| a | b),
        BitXor => bin(l, r, |a, b| a ^ b),
        Shl => bin(l, r, |a, b| K::norm(a << (b % u64::from(K::BITS)))),
        Shr => bin(l, r, |a, b| {
            let n = b % u64::from(K::BITS);
            if K::SIGNED {
                ((a as i64) >> n) as u64
            } else {
                a >> n
            }
        }),
        Eq => bin(l, r, |a, b| u64::from(a == b)),
        Ne => bin(l, r, |a, b| u64::from(a != b)),
        Lt => bin(l, r, move |a, b| u64::from(lt(a, b))),
        Le => bin(l, r, move |a, b| u64::from(!lt(b, a))),
        Gt => bin(l, r, move |a, b| u64::from(lt(b, a))),
        Ge => bin(l, r, move |a, b| u64::from(!lt(a, b))),
        And | Or | PtrAdd { .. } | PtrSub { .. } | PtrDiff { .. } => {
            // Handled before dispatching on the operand type.
            bin(l, r, |_, _| 0)
        }
    }
}

fn float_binary<F>(
    op: BinaryOp,
    l: ExprFn,
    r: ExprFn,
    get: fn(u64) -> F,
    put: fn(F) -> u64,
) -> ExprFn
where
    F: Copy
        + PartialOrd
        + std::ops::Add<Output = F>
        + std::ops::Sub<Output = F>
        + std::ops::Mul<Output = F>
        + std::ops::Div<Output = F>
        + std::ops::Rem<Output = F>
        + 'static,
{
    use BinaryOp::*;
    match op {
        Add => bin(l, r, move |a, b| put(get(a) + get(b))),
        Sub => bin(l, r, move |a, b| put(get(a) - get(b))),
        Mul => bin(l, r, move |a, b| put(get(a) * get(b))),
        Div => bin(l, r, move |a, b| put(get(a) / get(b))),
        Rem => bin(l, r, move |a, b| put(get(a) % get(b))),
        Eq => bin(l, r, move |a, b| u64::from(get(a) == get(b))),
        Ne => bin(l, r, move |a, b| u64::from(get(a) != get(b))),
        Lt => bin(l, r, move |a, b| u64::from(get(a) < get(b))),
        Le => bin(l, r, move |a, b| u64::from(get(a) <= get(b))),
        Gt => bin(l, r, move |a, b| u64::from(get(a) > get(b))),
        Ge => bin(l, r, move |a, b| u64::from(get(a) >= get(b))),
        _ => bin(l, r, |_, _| 0),
    }
}

/// A foreign call with a fixed target, at most 6 arguments and a scalar or void
/// result: the hot path (slots in a stack array, result read by a specialised load).
fn fixed_call<K: ScalarKind>(
    target: usize,
    entry: CallEntry,
    args: Vec<(ExprFn, Option<u64>)>,
    void: bool,
    span: Span,
) -> ExprFn {
    let count = args.len();
    // Constant arguments are written once into a template; only the others run.
    let mut template = [0u64; 7];
    let mut dynamic: Vec<(usize, ExprFn)> = Vec::new();
    for (i, (f, c)) in args.into_iter().enumerate() {
        match c {
            Some(v) => template[i] = v,
            None => dynamic.push((i, f)),
        }
    }
    let dynamic = dynamic.into_boxed_slice();
    // One closure per backend, so that the Cranelift path does not look at the entry.
    macro_rules! call_n {
        ($n:literal, $call:ident) => {{
            let mut start = [0u64; $n + 1];
            start.copy_from_slice(&template[..$n + 1]);
            Box::new(move |ctx: &mut Ctx| {
                let mut slots = start;
                for (i, a) in dynamic.iter() {
                    slots[*i] = a(ctx)?;
                }
                if !ctx.out.is_empty() {
                    ctx.flush();
                }
                let mut ret = [0u64; 2];
                // Callbacks C makes during the call run on this state.
                let previous = callback::publish(ctx);
                let called = $call(&slots[..$n], ret.as_mut_ptr().cast());
                callback::restore(previous);
                called?;
                if void {
                    return Ok(0);
                }
                // SAFETY: the call stored the scalar result at the start of `ret`.
                Ok(unsafe { K::load(ret.as_ptr().cast()) })
            }) as ExprFn
        }};
    }
    macro_rules! by_count {
        ($call:ident) => {
            match count {
                0 => call_n!(0, $call),
                1 => call_n!(1, $call),
                2 => call_n!(2, $call),
                3 => call_n!(3, $call),
                4 => call_n!(4, $call),
                5 => call_n!(5, $call),
                _ => call_n!(6, $call),
            }
        };
    }
    match entry {
        CallEntry::Thunk(thunk) => {
            let call = move |slots: &[u64], ret: *mut u8| -> R<()> {
                // SAFETY: the thunk was built from the plan of this function's C
                // signature and the slots hold one value per argument; `ret` has room
                // for any scalar result.
                unsafe { thunk(target as *const c_void, slots.as_ptr(), ret) };
                Ok(())
            };
            by_count!(call)
        }
        asm => {
            let call = move |slots: &[u64], ret: *mut u8| {
                // SAFETY: as for a thunk, with the plan the assembly entry was made from.
                unsafe { asm.call(target as *const c_void, slots, ret) }
                    .map_err(|e| runtime_error(span, e.to_string()))
            };
            by_count!(call)
        }
    }
}
