//! Expression type checking: bidirectional typing of every expression (literals adopt
//! the expected type), implicit conversions made explicit ([`ExprKind::Coerce`]),
//! operators, casts, calls (script, foreign, callback values, builtins), places and
//! `&`, struct/array literals, `sizeof`/`alignof`/`offsetof`/`alloc`. Owns
//! `type-mismatch`, `literal-overflow` and `arity` diagnostics.
//!
//! The same checker runs constant expressions ([`FnCtx::constant`]); [`super::consts`]
//! folds the result.

use super::types::Use;
use super::{Checker, Sym};
use crate::ast::{self, BinOp, UnOp};
use crate::diag::{DiagKind, Diagnostic};
use crate::span::Span;
use crate::tir::{
    BinaryOp, Builtin, Callee, CastKind, CoerceKind, ConstValue, Expr, ExprKind, FloatTy, FnId,
    ForeignId, LocalDef, LocalId, TypeId, TypeKind, UnaryOp,
};

/// The frame being checked: locals, block scopes, loop depth, return type.
pub(super) struct FnCtx<'a> {
    /// Checking a constant expression: no variables, calls or `alloc`.
    pub const_mode: bool,
    /// The top-level statements (globals become visible at their `let`).
    pub is_main: bool,
    pub locals: Vec<LocalDef>,
    scopes: Vec<Vec<(&'a str, LocalId)>>,
    pub loops: u32,
    /// The function's return type; `None` at top level (no `return` allowed).
    pub ret: Option<TypeId>,
}

impl<'a> FnCtx<'a> {
    pub fn constant() -> FnCtx<'a> {
        FnCtx {
            const_mode: true,
            is_main: false,
            locals: Vec::new(),
            scopes: vec![Vec::new()],
            loops: 0,
            ret: None,
        }
    }

    pub fn body(ret: Option<TypeId>, is_main: bool) -> FnCtx<'a> {
        FnCtx {
            const_mode: false,
            is_main,
            ret,
            ..FnCtx::constant()
        }
    }

    pub fn push_scope(&mut self) {
        self.scopes.push(Vec::new());
    }

    pub fn pop_scope(&mut self) {
        self.scopes.pop();
    }

    /// A new local slot, visible from now on in the innermost scope.
    pub fn declare(&mut self, name: &'a str, ty: TypeId, span: Span) -> LocalId {
        let id = LocalId(self.locals.len() as u32);
        self.locals.push(LocalDef {
            name: name.to_string(),
            ty,
            addr_taken: false,
            span,
        });
        if let Some(s) = self.scopes.last_mut() {
            s.push((name, id));
        }
        id
    }

    fn find(&self, name: &str) -> Option<LocalId> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(n, _)| *n == name)
            .map(|(_, id)| *id)
    }

    fn visible_names(&self) -> Vec<&'a str> {
        self.scopes.iter().flatten().map(|(n, _)| *n).collect()
    }
}

/// The result of an implicit-conversion query.
enum Conv {
    /// Already the right type.
    Same,
    /// `null` (or an error) takes the target type as is.
    Retype,
    Node(CoerceKind),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LitKind {
    Int,
    Float,
}

/// Whether an expression is made only of numeric literals (its type comes from the
/// context), and which kind.
fn literal_kind(e: &ast::Expr) -> Option<LitKind> {
    match &e.kind {
        ast::ExprKind::Int(_) => Some(LitKind::Int),
        ast::ExprKind::Float(_) => Some(LitKind::Float),
        ast::ExprKind::Unary {
            op: UnOp::Neg | UnOp::BitNot,
            expr,
        } => literal_kind(expr),
        ast::ExprKind::Binary { op, lhs, rhs } if is_arith(*op) => {
            let (a, b) = (literal_kind(lhs)?, literal_kind(rhs)?);
            Some(if a == LitKind::Float || b == LitKind::Float {
                LitKind::Float
            } else {
                LitKind::Int
            })
        }
        _ => None,
    }
}

fn is_arith(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Add
            | BinOp::Sub
            | BinOp::Mul
            | BinOp::Div
            | BinOp::Rem
            | BinOp::BitAnd
            | BinOp::BitOr
            | BinOp::BitXor
    )
}

fn is_compare(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
    )
}

fn lower_op(op: BinOp) -> BinaryOp {
    match op {
        BinOp::Add => BinaryOp::Add,
        BinOp::Sub => BinaryOp::Sub,
        BinOp::Mul => BinaryOp::Mul,
        BinOp::Div => BinaryOp::Div,
        BinOp::Rem => BinaryOp::Rem,
        BinOp::BitAnd => BinaryOp::BitAnd,
        BinOp::BitOr => BinaryOp::BitOr,
        BinOp::BitXor => BinaryOp::BitXor,
        BinOp::Shl => BinaryOp::Shl,
        BinOp::Shr => BinaryOp::Shr,
        BinOp::Eq => BinaryOp::Eq,
        BinOp::Ne => BinaryOp::Ne,
        BinOp::Lt => BinaryOp::Lt,
        BinOp::Le => BinaryOp::Le,
        BinOp::Gt => BinaryOp::Gt,
        BinOp::Ge => BinaryOp::Ge,
        BinOp::And => BinaryOp::And,
        BinOp::Or => BinaryOp::Or,
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// An expression standing for an error (type `ERROR`, never reaches the runtime).
pub(super) fn error_expr(span: Span) -> Expr {
    Expr {
        kind: ExprKind::Const(ConstValue::Int(0)),
        ty: TypeId::ERROR,
        span,
    }
}

fn mk(kind: ExprKind, ty: TypeId, span: Span) -> Expr {
    Expr { kind, ty, span }
}

impl<'a> Checker<'a> {
    fn kind(&self, t: TypeId) -> &TypeKind {
        &self.types[t.index()].kind
    }

    /// `(pointee, is_const)` of a pointer type.
    fn ptr_parts(&self, t: TypeId) -> Option<(TypeId, bool)> {
        match *self.kind(t) {
            TypeKind::Ptr { pointee, is_const } => Some((pointee, is_const)),
            _ => None,
        }
    }

    pub(super) fn is_int(&self, t: TypeId) -> bool {
        matches!(self.kind(t), TypeKind::Int(_))
    }

    fn is_numeric(&self, t: TypeId) -> bool {
        matches!(self.kind(t), TypeKind::Int(_) | TypeKind::Float(_))
    }

    fn mismatch(&mut self, span: Span, expected: TypeId, found: TypeId) {
        let (e, f) = (self.type_name(expected), self.type_name(found));
        let mut d = Diagnostic::new(
            DiagKind::TypeMismatch,
            span,
            format!("expected `{e}`, found `{f}`"),
        )
        .with_label(format!("this is `{f}`"));
        if self.is_numeric(expected) && self.is_numeric(found) {
            d = d.with_help(format!("convert it with `as {e}`"));
        }
        self.error(d);
    }

    /// Check `e` against `to` (literal adoption), then convert it implicitly.
    pub(super) fn expr_as(
        &mut self,
        cx: &mut FnCtx<'a>,
        e: &'a ast::Expr,
        to: TypeId,
        foreign_arg: bool,
    ) -> Expr {
        let t = self.expr(cx, e, Some(to));
        self.coerce(t, to, foreign_arg)
    }

    /// Convert a typed expression to `to` by the implicit rules, or report a mismatch.
    pub(super) fn coerce(&mut self, e: Expr, to: TypeId, foreign_arg: bool) -> Expr {
        match self.implicit(e.ty, to, foreign_arg) {
            Some(Conv::Same) => e,
            Some(Conv::Retype) => Expr { ty: to, ..e },
            Some(Conv::Node(kind)) => {
                let span = e.span;
                mk(
                    ExprKind::Coerce {
                        kind,
                        expr: Box::new(e),
                    },
                    to,
                    span,
                )
            }
            None => {
                self.mismatch(e.span, to, e.ty);
                error_expr(e.span)
            }
        }
    }

    fn implicit(&self, from: TypeId, to: TypeId, foreign_arg: bool) -> Option<Conv> {
        if from == to || to == TypeId::ERROR {
            return Some(Conv::Same);
        }
        if from == TypeId::ERROR {
            return Some(Conv::Retype);
        }
        match (self.kind(from), self.kind(to)) {
            (TypeKind::Null, TypeKind::Ptr { .. } | TypeKind::Cstr | TypeKind::Callback(_)) => {
                Some(Conv::Retype)
            }
            (
                TypeKind::Ptr {
                    pointee: p1,
                    is_const: c1,
                },
                TypeKind::Ptr {
                    pointee: p2,
                    is_const: c2,
                },
            ) => {
                // `*u8` and `*i8` (either signedness of C `char`) convert freely, so
                // byte buffers pass to `*c_char` parameters on every target.
                let bytes = |p: TypeId| p == TypeId::U8 || p == TypeId::I8;
                let ok = (!*c1 || *c2)
                    && (p1 == p2
                        || *p1 == TypeId::VOID
                        || *p2 == TypeId::VOID
                        || (bytes(*p1) && bytes(*p2)));
                ok.then_some(Conv::Node(CoerceKind::Ptr))
            }
            (TypeKind::Int(_), TypeKind::Int(_)) if foreign_arg => {
                Some(Conv::Node(CoerceKind::IntChecked))
            }
            (TypeKind::Float(FloatTy::F64), TypeKind::Float(FloatTy::F32)) if foreign_arg => {
                Some(Conv::Node(CoerceKind::F64ToF32))
            }
            (
                TypeKind::Cstr,
                TypeKind::Ptr {
                    pointee,
                    is_const: true,
                },
            ) if foreign_arg && matches!(*pointee, TypeId::I8 | TypeId::U8 | TypeId::VOID) => {
                Some(Conv::Node(CoerceKind::CstrToPtr))
            }
            _ => None,
        }
    }

    /// Type-check an expression; `expected` guides literals, empty arrays and
    /// function names used as callbacks, but is not enforced (see [`Self::expr_as`]).
    pub(super) fn expr(
        &mut self,
        cx: &mut FnCtx<'a>,
        e: &'a ast::Expr,
        expected: Option<TypeId>,
    ) -> Expr {
        use ast::ExprKind as A;
        let span = e.span;
        match &e.kind {
            A::Error => error_expr(span),
            A::Int(v) => self.int_literal(*v, expected, span),
            A::Float(v) => match expected.map(|t| self.kind(t)) {
                Some(TypeKind::Float(FloatTy::F32)) => mk(
                    ExprKind::Const(ConstValue::Float(*v as f32 as f64)),
                    TypeId::F32,
                    span,
                ),
                _ => mk(ExprKind::Const(ConstValue::Float(*v)), TypeId::F64, span),
            },
            A::Str(s) => mk(
                ExprKind::Const(ConstValue::Str(s.clone())),
                TypeId::CSTR,
                span,
            ),
            A::Bool(b) => mk(ExprKind::Const(ConstValue::Bool(*b)), TypeId::BOOL, span),
            A::Null => {
                let ty = match expected.map(|t| self.kind(t)) {
                    Some(TypeKind::Ptr { .. } | TypeKind::Cstr | TypeKind::Callback(_)) => {
                        expected.unwrap_or(TypeId::NULL)
                    }
                    _ => TypeId::NULL,
                };
                mk(ExprKind::Const(ConstValue::Null), ty, span)
            }
            A::Name(id) => self.name_expr(cx, id, expected),
            A::Path { ty, member } => self.variant_expr(ty, member, span),
            A::Unary { op, expr } => self.unary(cx, *op, expr, expected, span),
            A::Binary { op, lhs, rhs } => self.binary(cx, *op, lhs, rhs, expected, span),
            A::Cast { expr, ty } => self.cast(cx, expr, ty, span),
            A::Call { callee, args } => self.call(cx, callee, args, span),
            A::CallValue { callee, args } => {
                if cx.const_mode {
                    return self.not_const(span, "a call");
                }
                let f = self.expr(cx, callee, None);
                self.call_value(cx, f, None, args, span)
            }
            A::SizeOf(te) | A::AlignOf(te) => {
                let t = self.resolve_type(te);
                let t = self.require_value(t, te.span, Use::Measured);
                if t == TypeId::ERROR {
                    return error_expr(span);
                }
                let (size, align) = self.layout(t);
                let v = if matches!(e.kind, A::SizeOf(_)) {
                    size
                } else {
                    align
                };
                mk(
                    ExprKind::Const(ConstValue::Int(v.into())),
                    TypeId::U64,
                    span,
                )
            }
            A::OffsetOf { ty, field } => {
                let t = self.resolve_type(ty);
                if t == TypeId::ERROR {
                    return error_expr(span);
                }
                self.layout(t);
                match self.field_index(t, field, ty.span) {
                    Some((_, off, _)) => mk(
                        ExprKind::Const(ConstValue::Int(off.into())),
                        TypeId::U64,
                        span,
                    ),
                    None => error_expr(span),
                }
            }
            A::Alloc { ty, count } => {
                if cx.const_mode {
                    return self.not_const(span, "`alloc`");
                }
                let t = self.resolve_type(ty);
                let t = self.require_value(t, ty.span, Use::Element);
                self.layout(t);
                let count = count.as_ref().map(|c| {
                    let n = self.expr(cx, c, Some(TypeId::U64));
                    self.require_int(n)
                });
                let pty = self.ptr_to(t, false);
                mk(
                    ExprKind::Alloc {
                        elem: t,
                        count: count.map(Box::new),
                    },
                    pty,
                    span,
                )
            }
            A::Field { expr, field } => {
                let base = self.expr(cx, expr, None);
                self.field_expr(base, field, span)
            }
            A::Index { expr, index } => {
                let base = self.expr(cx, expr, None);
                let idx = self.expr(cx, index, None);
                let idx = self.require_int(idx);
                let elem = match *self.kind(base.ty) {
                    TypeKind::Error => return error_expr(span),
                    TypeKind::Array { elem, .. } => elem,
                    TypeKind::Ptr { pointee, .. } => {
                        if !self.pointee_sized(pointee, base.span, "indexed") {
                            return error_expr(span);
                        }
                        pointee
                    }
                    _ => {
                        let n = self.type_name(base.ty);
                        self.error(
                            Diagnostic::new(
                                DiagKind::TypeMismatch,
                                base.span,
                                format!("cannot index a value of type `{n}`"),
                            )
                            .with_label("not an array or pointer"),
                        );
                        return error_expr(span);
                    }
                };
                if idx.ty == TypeId::ERROR {
                    return error_expr(span);
                }
                mk(
                    ExprKind::Index {
                        base: Box::new(base),
                        index: Box::new(idx),
                    },
                    elem,
                    span,
                )
            }
            A::StructLit { name, fields } => self.struct_lit(cx, name, fields, span),
            A::ArrayLit(items) => self.array_lit(cx, items, expected, span),
            A::ArrayRepeat { value, len } => {
                let n = self.const_int(len);
                let elem_expected = expected.and_then(|t| match self.kind(t) {
                    TypeKind::Array { elem, .. } => Some(*elem),
                    _ => None,
                });
                let v = match elem_expected {
                    Some(t) => self.expr_as(cx, value, t, false),
                    None => self.expr(cx, value, None),
                };
                let v = self.value_or_error(v, Use::Element);
                match n {
                    Some(n) if (0..=u32::MAX as i128).contains(&n) && v.ty != TypeId::ERROR => {
                        let ty = self.array_of(v.ty, n as u64);
                        self.layout(ty);
                        mk(
                            ExprKind::ArrayRepeat {
                                value: Box::new(v),
                                len: n as u64,
                            },
                            ty,
                            span,
                        )
                    }
                    Some(n) if v.ty != TypeId::ERROR => {
                        self.error(Diagnostic::new(
                            DiagKind::Const,
                            len.span,
                            format!("array length must be from 0 to 4294967295, found {n}"),
                        ));
                        error_expr(span)
                    }
                    _ => error_expr(span),
                }
            }
        }
    }

    fn not_const(&mut self, span: Span, what: &str) -> Expr {
        self.error(
            Diagnostic::new(
                DiagKind::Const,
                span,
                format!("{what} is not allowed in a constant expression"),
            )
            .with_label("not a constant"),
        );
        error_expr(span)
    }

    fn int_literal(&mut self, v: i128, expected: Option<TypeId>, span: Span) -> Expr {
        let target = expected.map(|t| match self.kind(t) {
            TypeKind::Int(i) => (t, Some(*i), None),
            TypeKind::Float(f) => (t, None, Some(*f)),
            _ => (t, None, None),
        });
        match target {
            Some((t, Some(i), _)) => {
                if i.fits(v) {
                    mk(ExprKind::Const(ConstValue::Int(v)), t, span)
                } else {
                    self.overflow(v, i, span);
                    error_expr(span)
                }
            }
            Some((t, _, Some(f))) => {
                let x = match f {
                    FloatTy::F32 => v as f32 as f64,
                    FloatTy::F64 => v as f64,
                };
                mk(ExprKind::Const(ConstValue::Float(x)), t, span)
            }
            _ => {
                let i = crate::tir::IntTy::I64;
                if i.fits(v) {
                    mk(ExprKind::Const(ConstValue::Int(v)), TypeId::I64, span)
                } else {
                    self.overflow(v, i, span);
                    error_expr(span)
                }
            }
        }
    }

    fn overflow(&mut self, v: i128, i: crate::tir::IntTy, span: Span) {
        let mut d = Diagnostic::new(
            DiagKind::LiteralOverflow,
            span,
            format!("literal `{v}` does not fit in `{}`", i.name()),
        )
        .with_label(format!("`{}` holds {}..={}", i.name(), i.min(), i.max()));
        if i == crate::tir::IntTy::I64 && v > i.max() {
            d = d.with_help("give it an unsigned type, e.g. `let x: u64 = ...`");
        }
        self.error(d);
    }

    fn require_int(&mut self, e: Expr) -> Expr {
        if e.ty == TypeId::ERROR || self.is_int(e.ty) {
            return e;
        }
        let n = self.type_name(e.ty);
        self.error(
            Diagnostic::new(
                DiagKind::TypeMismatch,
                e.span,
                format!("expected an integer, found `{n}`"),
            )
            .with_label("not an integer"),
        );
        error_expr(e.span)
    }

    /// A value usable as a variable/element: not `void`, not an unconverted `null`.
    pub(super) fn value_or_error(&mut self, e: Expr, usage: Use) -> Expr {
        match self.kind(e.ty) {
            TypeKind::Void => {
                self.error(
                    Diagnostic::new(
                        DiagKind::TypeMismatch,
                        e.span,
                        "expected a value, found `void`",
                    )
                    .with_label("this returns nothing"),
                );
                error_expr(e.span)
            }
            TypeKind::Null => {
                self.error(
                    Diagnostic::new(
                        DiagKind::TypeMismatch,
                        e.span,
                        "cannot infer the type of `null` here",
                    )
                    .with_help("write the type, e.g. `let p: *void = null;`"),
                );
                error_expr(e.span)
            }
            _ => {
                let ty = self.require_value(e.ty, e.span, usage);
                if ty == TypeId::ERROR {
                    error_expr(e.span)
                } else {
                    e
                }
            }
        }
    }

    fn pointee_sized(&mut self, pointee: TypeId, span: Span, what: &str) -> bool {
        match self.kind(pointee) {
            TypeKind::Void | TypeKind::Opaque { .. } => {
                let n = self.type_name(pointee);
                self.error(
                    Diagnostic::new(
                        DiagKind::Invalid,
                        span,
                        format!("a `*{n}` cannot be {what}: `{n}` has no size"),
                    )
                    .with_help("cast it to a pointer to a sized type first"),
                );
                false
            }
            _ => true,
        }
    }

    fn name_expr(
        &mut self,
        cx: &mut FnCtx<'a>,
        id: &'a ast::Ident,
        expected: Option<TypeId>,
    ) -> Expr {
        let span = id.span;
        if !cx.const_mode {
            if let Some(l) = cx.find(&id.name) {
                return mk(ExprKind::Local(l), cx.locals[l.0 as usize].ty, span);
            }
        }
        let invalid = |this: &mut Self, msg: String| {
            this.error(Diagnostic::new(DiagKind::Invalid, span, msg).with_label("not a value"));
            error_expr(span)
        };
        match self.lookup(&id.name) {
            Some(Sym::Global(first)) => {
                if cx.const_mode {
                    return self.not_const(span, &format!("variable `{}`", id.name));
                }
                let g = if cx.is_main {
                    match self.main_globals.get(&id.name) {
                        Some(&g) => g,
                        None => {
                            let decl = self.globals[first as usize].span;
                            self.error(
                                Diagnostic::new(
                                    DiagKind::Invalid,
                                    span,
                                    format!("`{}` is used before its `let`", id.name),
                                )
                                .with_label("not declared yet")
                                .with_note(decl, "declared here"),
                            );
                            return error_expr(span);
                        }
                    }
                } else {
                    if self.global_lets.get(&id.name).copied().unwrap_or(0) > 1 {
                        self.error(
                            Diagnostic::new(
                                DiagKind::Invalid,
                                span,
                                format!(
                                    "`{}` is declared by several top-level `let`s; a function cannot tell which one it means",
                                    id.name
                                ),
                            )
                            .with_label("ambiguous global")
                            .with_help("give the globals different names"),
                        );
                        return error_expr(span);
                    }
                    first
                };
                mk(
                    ExprKind::Global(crate::tir::GlobalId(g)),
                    self.globals[g as usize].ty,
                    span,
                )
            }
            Some(Sym::Const(c)) => match self.const_value(c) {
                Some((ty, v)) => mk(ExprKind::Const(v), ty, span),
                None => error_expr(span),
            },
            Some(Sym::Fn(f)) => {
                if cx.const_mode {
                    return self.not_const(span, &format!("function `{}`", id.name));
                }
                self.fn_ref(f, expected, span)
            }
            Some(Sym::Foreign(_)) => invalid(
                self,
                format!(
                    "foreign function `{}` cannot be used as a value; only script functions convert to callbacks",
                    id.name
                ),
            ),
            Some(Sym::Builtin(_)) => invalid(
                self,
                format!("builtin `{}` can only be called", id.name),
            ),
            Some(Sym::Type(_) | Sym::Alias(_)) => {
                invalid(self, format!("`{}` is a type, not a value", id.name))
            }
            Some(Sym::Library(_)) => {
                invalid(self, format!("`{}` is a library, not a value", id.name))
            }
            None => {
                let mut names: Vec<String> =
                    cx.visible_names().iter().map(|s| s.to_string()).collect();
                names.extend(self.scope_names(|s| {
                    matches!(
                        s,
                        Sym::Global(_) | Sym::Const(_) | Sym::Fn(_) | Sym::Foreign(_)
                    )
                }));
                self.unknown_name("name", &id.name, span, names.iter().map(String::as_str));
                error_expr(span)
            }
        }
    }

    /// A script function name where a value is expected: only converts to a callback
    /// type with exactly its signature.
    fn fn_ref(&mut self, f: u32, expected: Option<TypeId>, span: Span) -> Expr {
        let fname = self.fns[f as usize].decl.name.name.clone();
        let Some(cb) = expected.filter(|t| matches!(self.kind(*t), TypeKind::Callback(_))) else {
            if expected == Some(TypeId::ERROR) {
                return error_expr(span);
            }
            self.error(
                Diagnostic::new(
                    DiagKind::Invalid,
                    span,
                    format!(
                        "function `{fname}` used as a value where no callback type is expected"
                    ),
                )
                .with_help("a script function converts only to a declared `callback` type"),
            );
            return error_expr(span);
        };
        self.resolve_named(cb);
        let TypeKind::Callback(def) = self.kind(cb).clone() else {
            return error_expr(span);
        };
        let (params, ret) = (
            self.fns[f as usize].params.clone(),
            self.fns[f as usize].ret,
        );
        if params.len() != def.sig.params.len() {
            self.error(
                Diagnostic::new(
                    DiagKind::Arity,
                    span,
                    format!(
                        "function `{fname}` takes {} but callback `{}` has {}",
                        plural(params.len(), "parameter"),
                        def.name,
                        plural(def.sig.params.len(), "parameter")
                    ),
                )
                .with_label("signature differs from the callback's")
                .with_note(def.span, "callback declared here"),
            );
            return error_expr(span);
        }
        let bad_param = params
            .iter()
            .zip(&def.sig.params)
            .position(|(a, b)| a != b && *a != TypeId::ERROR && *b != TypeId::ERROR);
        let problem = if let Some(i) = bad_param {
            Some(format!(
                "parameter {} is `{}`, the callback's is `{}`",
                i + 1,
                self.type_name(params[i]),
                self.type_name(def.sig.params[i])
            ))
        } else if ret != def.sig.ret && ret != TypeId::ERROR && def.sig.ret != TypeId::ERROR {
            Some(format!(
                "it returns `{}`, the callback returns `{}`",
                self.type_name(ret),
                self.type_name(def.sig.ret)
            ))
        } else {
            None
        };
        if let Some(p) = problem {
            self.error(
                Diagnostic::new(
                    DiagKind::TypeMismatch,
                    span,
                    format!("function `{fname}` does not match callback `{}`", def.name),
                )
                .with_label(p)
                .with_note(def.span, "callback declared here"),
            );
            return error_expr(span);
        }
        mk(ExprKind::FnRef(FnId(f)), cb, span)
    }

    fn variant_expr(&mut self, ty: &'a ast::Ident, member: &'a ast::Ident, span: Span) -> Expr {
        let t = self.type_by_name(ty);
        if t == TypeId::ERROR {
            return error_expr(span);
        }
        self.resolve_named(t);
        let TypeKind::Enum(def) = self.kind(t) else {
            let n = self.type_name(t);
            self.error(
                Diagnostic::new(
                    DiagKind::TypeMismatch,
                    ty.span,
                    format!("`{n}` is not an enum"),
                )
                .with_label("`::` paths name enum variants"),
            );
            return error_expr(span);
        };
        if let Some(v) = def.variants.iter().find(|v| v.name == member.name) {
            return mk(ExprKind::Const(ConstValue::Int(v.value)), t, span);
        }
        let names: Vec<String> = def.variants.iter().map(|v| v.name.clone()).collect();
        let ename = def.name.clone();
        self.unknown_name(
            &format!("variant of `{ename}`:"),
            &member.name,
            member.span,
            names.iter().map(String::as_str),
        );
        error_expr(span)
    }

    fn unary(
        &mut self,
        cx: &mut FnCtx<'a>,
        op: UnOp,
        inner: &'a ast::Expr,
        expected: Option<TypeId>,
        span: Span,
    ) -> Expr {
        match op {
            UnOp::Neg | UnOp::BitNot => {
                let want_int = op == UnOp::BitNot;
                let exp = expected.filter(|t| {
                    if want_int {
                        self.is_int(*t)
                    } else {
                        self.is_numeric(*t)
                    }
                });
                let x = self.expr(cx, inner, exp);
                if x.ty == TypeId::ERROR {
                    return error_expr(span);
                }
                let ok = if want_int {
                    self.is_int(x.ty)
                } else {
                    self.is_numeric(x.ty)
                };
                if !ok {
                    let n = self.type_name(x.ty);
                    let sym = if want_int { "~" } else { "-" };
                    self.error(
                        Diagnostic::new(
                            DiagKind::TypeMismatch,
                            x.span,
                            format!("operator `{sym}` cannot be applied to `{n}`"),
                        )
                        .with_label(if want_int {
                            "not an integer"
                        } else {
                            "not a number"
                        }),
                    );
                    return error_expr(span);
                }
                let ty = x.ty;
                let op = if want_int {
                    UnaryOp::BitNot
                } else {
                    UnaryOp::Neg
                };
                mk(
                    ExprKind::Unary {
                        op,
                        expr: Box::new(x),
                    },
                    ty,
                    span,
                )
            }
            UnOp::Not => {
                let x = self.expr_as(cx, inner, TypeId::BOOL, false);
                mk(
                    ExprKind::Unary {
                        op: UnaryOp::Not,
                        expr: Box::new(x),
                    },
                    TypeId::BOOL,
                    span,
                )
            }
            UnOp::Deref => {
                if cx.const_mode {
                    return self.not_const(span, "`*` (dereference)");
                }
                let p = self.expr(cx, inner, None);
                self.deref(p, span)
            }
            UnOp::AddrOf => {
                if cx.const_mode {
                    return self.not_const(span, "`&` (address-of)");
                }
                let exp = expected.and_then(|t| match self.kind(t) {
                    TypeKind::Ptr { pointee, .. } => Some(*pointee),
                    _ => None,
                });
                let place = self.expr(cx, inner, exp);
                if place.ty == TypeId::ERROR {
                    return error_expr(span);
                }
                if !place.is_place(&self.types) {
                    self.error(
                        Diagnostic::new(
                            DiagKind::Invalid,
                            place.span,
                            "cannot take the address of a temporary value",
                        )
                        .with_label("not a variable, field, element or `*p`")
                        .with_help("store it in a variable first"),
                    );
                    return error_expr(span);
                }
                let is_const = self.place_is_const(&place);
                self.mark_addr_taken(cx, &place);
                let ty = self.ptr_to(place.ty, is_const);
                mk(ExprKind::AddrOf(Box::new(place)), ty, span)
            }
        }
    }

    fn deref(&mut self, p: Expr, span: Span) -> Expr {
        match *self.kind(p.ty) {
            TypeKind::Error => error_expr(span),
            TypeKind::Ptr { pointee, .. } => {
                if !self.pointee_sized(pointee, p.span, "dereferenced") {
                    return error_expr(span);
                }
                mk(ExprKind::Deref(Box::new(p)), pointee, span)
            }
            _ => {
                let n = self.type_name(p.ty);
                self.error(
                    Diagnostic::new(
                        DiagKind::TypeMismatch,
                        p.span,
                        format!("cannot dereference a value of type `{n}`"),
                    )
                    .with_label("not a pointer"),
                );
                error_expr(span)
            }
        }
    }

    /// Whether a place is reached through a `*const` pointer.
    pub(super) fn place_is_const(&self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Deref(p) => matches!(self.kind(p.ty), TypeKind::Ptr { is_const: true, .. }),
            ExprKind::Index { base, .. } => match self.kind(base.ty) {
                TypeKind::Ptr { is_const, .. } => *is_const,
                _ => self.place_is_const(base),
            },
            ExprKind::Field { base, .. } => self.place_is_const(base),
            _ => false,
        }
    }

    fn mark_addr_taken(&mut self, cx: &mut FnCtx<'a>, e: &Expr) {
        match &e.kind {
            ExprKind::Local(l) => cx.locals[l.0 as usize].addr_taken = true,
            ExprKind::Global(g) => self.globals[g.0 as usize].addr_taken = true,
            ExprKind::Field { base, .. } => self.mark_addr_taken(cx, base),
            ExprKind::Index { base, .. } if !matches!(self.kind(base.ty), TypeKind::Ptr { .. }) => {
                self.mark_addr_taken(cx, base)
            }
            _ => {}
        }
    }

    fn binary(
        &mut self,
        cx: &mut FnCtx<'a>,
        op: BinOp,
        lhs: &'a ast::Expr,
        rhs: &'a ast::Expr,
        expected: Option<TypeId>,
        span: Span,
    ) -> Expr {
        match op {
            BinOp::And | BinOp::Or => {
                let l = self.expr_as(cx, lhs, TypeId::BOOL, false);
                let r = self.expr_as(cx, rhs, TypeId::BOOL, false);
                mk(
                    ExprKind::Binary {
                        op: lower_op(op),
                        lhs: Box::new(l),
                        rhs: Box::new(r),
                    },
                    TypeId::BOOL,
                    span,
                )
            }
            BinOp::Shl | BinOp::Shr => {
                let l = self.expr(cx, lhs, expected.filter(|t| self.is_int(*t)));
                let r = self.expr(cx, rhs, None);
                self.binary_typed(op, l, r, span)
            }
            _ => {
                let exp = if is_compare(op) {
                    None
                } else {
                    expected.filter(|t| self.is_numeric(*t))
                };
                let (l, r) = if literal_kind(lhs).is_some() && literal_kind(rhs).is_none() {
                    let r = self.expr(cx, rhs, exp);
                    let l = self.expr(cx, lhs, Some(r.ty));
                    (l, r)
                } else {
                    let l = self.expr(cx, lhs, exp);
                    let r_exp = match self.kind(l.ty) {
                        TypeKind::Ptr { .. } if !is_compare(op) => None,
                        _ => Some(l.ty),
                    };
                    let r = self.expr(cx, rhs, r_exp);
                    (l, r)
                };
                self.binary_typed(op, l, r, span)
            }
        }
    }

    /// Apply operator rules to typed operands (also used by compound assignment).
    pub(super) fn binary_typed(&mut self, op: BinOp, l: Expr, r: Expr, span: Span) -> Expr {
        if l.ty == TypeId::ERROR || r.ty == TypeId::ERROR {
            return error_expr(span);
        }
        let bin = |op: BinaryOp, l: Expr, r: Expr, ty: TypeId| {
            mk(
                ExprKind::Binary {
                    op,
                    lhs: Box::new(l),
                    rhs: Box::new(r),
                },
                ty,
                span,
            )
        };
        // Pointer arithmetic.
        if let (BinOp::Add | BinOp::Sub, Some((pointee, _))) = (op, self.ptr_parts(l.ty)) {
            if !self.pointee_sized(pointee, l.span, "offset") {
                return error_expr(span);
            }
            let (elem_size, _) = self.layout(pointee);
            if self.is_int(r.ty) {
                let bop = if op == BinOp::Add {
                    BinaryOp::PtrAdd { elem_size }
                } else {
                    BinaryOp::PtrSub { elem_size }
                };
                let ty = l.ty;
                return bin(bop, l, r, ty);
            }
            if op == BinOp::Sub {
                if let TypeKind::Ptr { pointee: p2, .. } = self.kind(r.ty) {
                    if *p2 == pointee {
                        return bin(BinaryOp::PtrDiff { elem_size }, l, r, TypeId::I64);
                    }
                }
            }
            let (a, b) = (self.type_name(l.ty), self.type_name(r.ty));
            self.error(
                Diagnostic::new(
                    DiagKind::TypeMismatch,
                    span,
                    format!("cannot apply `{}` to `{a}` and `{b}`", op.symbol()),
                )
                .with_help("a pointer can be offset by an integer, or subtracted from a pointer of the same type"),
            );
            return error_expr(span);
        }
        if matches!(op, BinOp::Shl | BinOp::Shr) {
            for side in [&l, &r] {
                if !self.is_int(side.ty) {
                    let n = self.type_name(side.ty);
                    self.error(
                        Diagnostic::new(
                            DiagKind::TypeMismatch,
                            side.span,
                            format!("operator `{}` needs integers, found `{n}`", op.symbol()),
                        )
                        .with_label("not an integer"),
                    );
                    return error_expr(span);
                }
            }
            let ty = l.ty;
            return bin(lower_op(op), l, r, ty);
        }
        let (mut l, mut r) = (l, r);
        if is_compare(op) && l.ty != r.ty {
            if let Some(c) = self.implicit(r.ty, l.ty, false) {
                r = self.apply(c, r, l.ty);
            } else if let Some(c) = self.implicit(l.ty, r.ty, false) {
                l = self.apply(c, l, r.ty);
            }
            if l.ty == TypeId::NULL && r.ty == TypeId::NULL {
                let vp = self.ptr_to(TypeId::VOID, true);
                l.ty = vp;
                r.ty = vp;
            }
        }
        if l.ty != r.ty {
            let (a, b) = (self.type_name(l.ty), self.type_name(r.ty));
            let mut d = Diagnostic::new(
                DiagKind::TypeMismatch,
                span,
                format!("mismatched operand types: `{a}` {} `{b}`", op.symbol()),
            )
            .with_label(format!("`{a}` on the left, `{b}` on the right"));
            if self.is_numeric(l.ty) && self.is_numeric(r.ty) {
                d = d.with_help(format!("convert one side with `as`, e.g. `... as {a}`"));
            }
            self.error(d);
            return error_expr(span);
        }
        let t = l.ty;
        let k = self.kind(t);
        let ok = if is_compare(op) {
            match k {
                TypeKind::Int(_)
                | TypeKind::Float(_)
                | TypeKind::Enum(_)
                | TypeKind::Ptr { .. } => true,
                TypeKind::Bool | TypeKind::Cstr | TypeKind::Callback(_) => {
                    matches!(op, BinOp::Eq | BinOp::Ne)
                }
                _ => false,
            }
        } else if matches!(op, BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor) {
            matches!(k, TypeKind::Int(_))
        } else {
            matches!(k, TypeKind::Int(_) | TypeKind::Float(_))
        };
        if !ok {
            let n = self.type_name(t);
            self.error(
                Diagnostic::new(
                    DiagKind::TypeMismatch,
                    span,
                    format!("operator `{}` cannot be applied to `{n}`", op.symbol()),
                )
                .with_label(format!("both sides are `{n}`")),
            );
            return error_expr(span);
        }
        let ty = if is_compare(op) { TypeId::BOOL } else { t };
        bin(lower_op(op), l, r, ty)
    }

    fn apply(&mut self, c: Conv, e: Expr, to: TypeId) -> Expr {
        match c {
            Conv::Same => e,
            Conv::Retype => Expr { ty: to, ..e },
            Conv::Node(kind) => {
                let span = e.span;
                mk(
                    ExprKind::Coerce {
                        kind,
                        expr: Box::new(e),
                    },
                    to,
                    span,
                )
            }
        }
    }

    fn cast(
        &mut self,
        cx: &mut FnCtx<'a>,
        inner: &'a ast::Expr,
        te: &'a ast::TypeExpr,
        span: Span,
    ) -> Expr {
        let to = self.resolve_type(te);
        let x = match &inner.kind {
            // An integer literal takes the target type when it fits, else i64 or u64.
            ast::ExprKind::Int(v) => {
                let t = match self.kind(to) {
                    TypeKind::Int(i) if i.fits(*v) => to,
                    _ if crate::tir::IntTy::I64.fits(*v) => TypeId::I64,
                    _ if crate::tir::IntTy::U64.fits(*v) => TypeId::U64,
                    _ => TypeId::I64,
                };
                self.int_literal(*v, Some(t), inner.span)
            }
            _ => {
                let exp = if literal_kind(inner).is_some() && self.is_numeric(to) {
                    Some(to)
                } else {
                    None
                };
                self.expr(cx, inner, exp)
            }
        };
        if to == TypeId::ERROR || x.ty == TypeId::ERROR {
            return error_expr(span);
        }
        if x.ty == TypeId::NULL {
            if let Some(c) = self.implicit(x.ty, to, false) {
                return self.apply(c, x, to);
            }
        }
        let from = x.ty;
        let kind = if from == to {
            Some(CastKind::Identity)
        } else {
            match (self.kind(from), self.kind(to)) {
                (TypeKind::Int(_) | TypeKind::Float(_), TypeKind::Int(_) | TypeKind::Float(_))
                | (TypeKind::Bool, TypeKind::Int(_))
                | (TypeKind::Int(_), TypeKind::Enum(_))
                | (TypeKind::Enum(_), TypeKind::Int(_)) => Some(CastKind::Numeric),
                (TypeKind::Ptr { .. }, TypeKind::Ptr { .. })
                | (TypeKind::Int(_), TypeKind::Ptr { .. })
                | (TypeKind::Ptr { .. }, TypeKind::Int(_)) => Some(CastKind::Bits),
                (TypeKind::Callback(_), TypeKind::Ptr { pointee, .. })
                | (TypeKind::Ptr { pointee, .. }, TypeKind::Callback(_))
                    if *pointee == TypeId::VOID =>
                {
                    Some(CastKind::Bits)
                }
                (
                    TypeKind::Cstr,
                    TypeKind::Ptr {
                        pointee,
                        is_const: true,
                    },
                ) if matches!(*pointee, TypeId::I8 | TypeId::U8) => Some(CastKind::CstrToPtr),
                _ => None,
            }
        };
        let Some(kind) = kind else {
            let (a, b) = (self.type_name(from), self.type_name(to));
            self.error(
                Diagnostic::new(
                    DiagKind::TypeMismatch,
                    span,
                    format!("cannot cast `{a}` as `{b}`"),
                )
                .with_label("invalid cast"),
            );
            return error_expr(span);
        };
        if cx.const_mode && !matches!(kind, CastKind::Numeric | CastKind::Identity) {
            return self.not_const(span, "a pointer cast");
        }
        mk(
            ExprKind::Cast {
                kind,
                expr: Box::new(x),
            },
            to,
            span,
        )
    }

    /// `(index, offset, type)` of a field of a struct/union type, reporting unknown
    /// fields and non-aggregates.
    fn field_index(
        &mut self,
        t: TypeId,
        field: &ast::Ident,
        span: Span,
    ) -> Option<(u32, u64, TypeId)> {
        let (TypeKind::Struct(a) | TypeKind::Union(a)) = self.kind(t) else {
            let n = self.type_name(t);
            self.error(
                Diagnostic::new(
                    DiagKind::TypeMismatch,
                    span,
                    format!("type `{n}` has no fields"),
                )
                .with_label("not a struct or union"),
            );
            return None;
        };
        if let Some(i) = a.fields.iter().position(|f| f.name == field.name) {
            let f = &a.fields[i];
            return Some((i as u32, f.offset, f.ty));
        }
        let names: Vec<String> = a.fields.iter().map(|f| f.name.clone()).collect();
        let what = format!("field of `{}`:", a.name);
        self.unknown_name(
            &what,
            &field.name,
            field.span,
            names.iter().map(String::as_str),
        );
        None
    }

    fn field_expr(&mut self, base: Expr, field: &'a ast::Ident, span: Span) -> Expr {
        if base.ty == TypeId::ERROR {
            return error_expr(span);
        }
        let base = match self.ptr_parts(base.ty) {
            Some((pointee, _))
                if matches!(self.kind(pointee), TypeKind::Struct(_) | TypeKind::Union(_)) =>
            {
                let s = base.span;
                mk(ExprKind::Deref(Box::new(base)), pointee, s)
            }
            _ => base,
        };
        self.layout(base.ty);
        match self.field_index(base.ty, field, base.span) {
            Some((index, offset, ty)) => mk(
                ExprKind::Field {
                    base: Box::new(base),
                    field: index,
                    offset,
                },
                ty,
                span,
            ),
            None => error_expr(span),
        }
    }

    fn struct_lit(
        &mut self,
        cx: &mut FnCtx<'a>,
        name: &'a ast::Ident,
        fields: &'a [(ast::Ident, ast::Expr)],
        span: Span,
    ) -> Expr {
        let t = self.type_by_name(name);
        if t != TypeId::ERROR {
            self.layout(t);
        }
        let (def, is_union) = match self.kind(t) {
            TypeKind::Struct(a) => (Some(a.clone()), false),
            TypeKind::Union(a) => (Some(a.clone()), true),
            TypeKind::Error => (None, false),
            _ => {
                let n = self.type_name(t);
                self.error(
                    Diagnostic::new(
                        DiagKind::TypeMismatch,
                        name.span,
                        format!("`{n}` is not a struct or union"),
                    )
                    .with_label("cannot be built with `{ ... }`"),
                );
                (None, false)
            }
        };
        let Some(def) = def else {
            for (_, e) in fields {
                self.expr(cx, e, None);
            }
            return error_expr(span);
        };
        let mut out: Vec<(u32, Expr)> = Vec::with_capacity(fields.len());
        let mut seen: Vec<(u32, Span)> = Vec::new();
        let mut failed = false;
        for (fname, value) in fields {
            let Some(i) = def.fields.iter().position(|f| f.name == fname.name) else {
                let names: Vec<String> = def.fields.iter().map(|f| f.name.clone()).collect();
                let what = format!("field of `{}`:", def.name);
                self.unknown_name(
                    &what,
                    &fname.name,
                    fname.span,
                    names.iter().map(String::as_str),
                );
                self.expr(cx, value, None);
                failed = true;
                continue;
            };
            if let Some((_, prev)) = seen.iter().find(|(j, _)| *j == i as u32) {
                let prev = *prev;
                self.error(
                    Diagnostic::new(
                        DiagKind::Duplicate,
                        fname.span,
                        format!("field `{}` is given more than once", fname.name),
                    )
                    .with_note(prev, "first given here"),
                );
                failed = true;
                continue;
            }
            seen.push((i as u32, fname.span));
            let v = self.expr_as(cx, value, def.fields[i].ty, false);
            out.push((i as u32, v));
        }
        if is_union {
            if fields.len() != 1 && !failed {
                self.error(
                    Diagnostic::new(
                        DiagKind::Invalid,
                        span,
                        format!(
                            "a union literal names exactly one field; `{}` literal names {}",
                            def.name,
                            fields.len()
                        ),
                    )
                    .with_label("one field expected"),
                );
                return error_expr(span);
            }
        } else if !failed {
            let missing: Vec<String> = def
                .fields
                .iter()
                .enumerate()
                .filter(|(i, _)| !seen.iter().any(|(j, _)| *j == *i as u32))
                .map(|(_, f)| format!("`{}`", f.name))
                .collect();
            if !missing.is_empty() {
                self.error(
                    Diagnostic::new(
                        DiagKind::Invalid,
                        span,
                        format!(
                            "missing {} {} in `{}` literal",
                            if missing.len() == 1 {
                                "field"
                            } else {
                                "fields"
                            },
                            missing.join(", "),
                            def.name
                        ),
                    )
                    .with_label("every field must be given"),
                );
                return error_expr(span);
            }
        }
        if failed {
            return error_expr(span);
        }
        out.sort_by_key(|(i, _)| *i);
        mk(ExprKind::StructLit { fields: out }, t, span)
    }

    fn array_lit(
        &mut self,
        cx: &mut FnCtx<'a>,
        items: &'a [ast::Expr],
        expected: Option<TypeId>,
        span: Span,
    ) -> Expr {
        let expected_array = expected.and_then(|t| match *self.kind(t) {
            TypeKind::Array { elem, len } => Some((elem, len)),
            _ => None,
        });
        if let Some((elem, len)) = expected_array {
            let vals: Vec<Expr> = items
                .iter()
                .map(|e| self.expr_as(cx, e, elem, false))
                .collect();
            if vals.len() as u64 != len {
                let n = self.type_name(expected.unwrap_or(TypeId::ERROR));
                self.error(
                    Diagnostic::new(
                        DiagKind::TypeMismatch,
                        span,
                        format!(
                            "expected `{n}` ({}), found {}",
                            plural(len as usize, "element"),
                            plural(vals.len(), "element")
                        ),
                    )
                    .with_label("wrong number of elements"),
                );
                return error_expr(span);
            }
            return mk(
                ExprKind::ArrayLit(vals),
                expected.unwrap_or(TypeId::ERROR),
                span,
            );
        }
        let Some((first, rest)) = items.split_first() else {
            self.error(
                Diagnostic::new(
                    DiagKind::Invalid,
                    span,
                    "cannot infer the type of an empty array literal",
                )
                .with_help("write the type, e.g. `let a: [i32; 0] = [];`"),
            );
            return error_expr(span);
        };
        let f = self.expr(cx, first, None);
        let f = self.value_or_error(f, Use::Element);
        let elem = f.ty;
        let mut vals = vec![f];
        for e in rest {
            vals.push(self.expr_as(cx, e, elem, false));
        }
        if elem == TypeId::ERROR {
            return error_expr(span);
        }
        let ty = self.array_of(elem, vals.len() as u64);
        self.layout(ty);
        mk(ExprKind::ArrayLit(vals), ty, span)
    }

    fn call(
        &mut self,
        cx: &mut FnCtx<'a>,
        callee: &'a ast::Ident,
        args: &'a [ast::Expr],
        span: Span,
    ) -> Expr {
        if cx.const_mode {
            return self.not_const(span, "a call");
        }
        // A local of callback type shadows global functions.
        if let Some(l) = cx.find(&callee.name) {
            let ty = cx.locals[l.0 as usize].ty;
            let f = mk(ExprKind::Local(l), ty, callee.span);
            return self.call_value(cx, f, Some(&callee.name), args, span);
        }
        match self.lookup(&callee.name) {
            Some(Sym::Fn(f)) => {
                let (params, ret) = (
                    self.fns[f as usize].params.clone(),
                    self.fns[f as usize].ret,
                );
                let name = format!("function `{}`", callee.name);
                let args = self.call_args(cx, &name, &params, false, false, args, span);
                mk(
                    ExprKind::Call {
                        callee: Callee::Script(FnId(f)),
                        args,
                    },
                    ret,
                    span,
                )
            }
            Some(Sym::Foreign(f)) => {
                let Some(sig) = self.foreign[f as usize].as_ref().map(|ff| ff.sig.clone()) else {
                    for a in args {
                        self.expr(cx, a, None);
                    }
                    return error_expr(span);
                };
                let name = format!("function `{}`", callee.name);
                let args = self.call_args(cx, &name, &sig.params, sig.variadic, true, args, span);
                mk(
                    ExprKind::Call {
                        callee: Callee::Foreign(ForeignId(f)),
                        args,
                    },
                    sig.ret,
                    span,
                )
            }
            Some(Sym::Global(g)) => {
                let e = self.name_expr(cx, callee, None);
                if e.ty == TypeId::ERROR {
                    let _ = g;
                    for a in args {
                        self.expr(cx, a, None);
                    }
                    return error_expr(span);
                }
                self.call_value(cx, e, Some(&callee.name), args, span)
            }
            Some(Sym::Builtin(b)) => self.builtin_call(cx, b, callee, args, span),
            Some(_) => {
                self.error(
                    Diagnostic::new(
                        DiagKind::Invalid,
                        callee.span,
                        format!("`{}` is not a function", callee.name),
                    )
                    .with_label("cannot be called"),
                );
                for a in args {
                    self.expr(cx, a, None);
                }
                error_expr(span)
            }
            None => {
                let mut names: Vec<String> =
                    cx.visible_names().iter().map(|s| s.to_string()).collect();
                names.extend(self.scope_names(|s| {
                    matches!(
                        s,
                        Sym::Fn(_) | Sym::Foreign(_) | Sym::Builtin(_) | Sym::Global(_)
                    )
                }));
                self.unknown_name(
                    "function",
                    &callee.name,
                    callee.span,
                    names.iter().map(String::as_str),
                );
                for a in args {
                    self.expr(cx, a, None);
                }
                error_expr(span)
            }
        }
    }

    /// Call through a value of callback type: a variable named `name`, or (no name) a
    /// field, an element or a call's result.
    fn call_value(
        &mut self,
        cx: &mut FnCtx<'a>,
        f: Expr,
        name: Option<&str>,
        args: &'a [ast::Expr],
        span: Span,
    ) -> Expr {
        let TypeKind::Callback(def) = self.kind(f.ty).clone() else {
            if f.ty != TypeId::ERROR {
                let n = self.type_name(f.ty);
                let what = name.map_or("this expression".to_string(), |n| format!("`{n}`"));
                self.error(
                    Diagnostic::new(
                        DiagKind::TypeMismatch,
                        f.span,
                        format!("{what} has type `{n}` and cannot be called"),
                    )
                    .with_label("not a function or callback"),
                );
            }
            for a in args {
                self.expr(cx, a, None);
            }
            return error_expr(span);
        };
        let what = format!("callback `{}`", name.unwrap_or(&def.name));
        let args = self.call_args(cx, &what, &def.sig.params, false, true, args, span);
        mk(
            ExprKind::Call {
                callee: Callee::Value(Box::new(f)),
                args,
            },
            def.sig.ret,
            span,
        )
    }

    /// Check call arguments against parameter types (arity, then each argument).
    #[allow(clippy::too_many_arguments)]
    fn call_args(
        &mut self,
        cx: &mut FnCtx<'a>,
        what: &str,
        params: &[TypeId],
        variadic: bool,
        foreign: bool,
        args: &'a [ast::Expr],
        span: Span,
    ) -> Vec<Expr> {
        let bad = if variadic {
            args.len() < params.len()
        } else {
            args.len() != params.len()
        };
        if bad {
            self.error(
                Diagnostic::new(
                    DiagKind::Arity,
                    span,
                    format!(
                        "{what} takes {}{} but {} given",
                        if variadic { "at least " } else { "" },
                        plural(params.len(), "argument"),
                        if args.len() == 1 {
                            "1 was".to_string()
                        } else {
                            format!("{} were", args.len())
                        }
                    ),
                )
                .with_label("wrong number of arguments"),
            );
        }
        let mut out = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            let e = match params.get(i) {
                Some(&p) => self.expr_as(cx, a, p, foreign),
                None if variadic => self.variadic_arg(cx, a),
                None => self.expr(cx, a, None),
            };
            out.push(e);
        }
        out
    }

    /// An argument in a variadic position, after C's default promotions.
    fn variadic_arg(&mut self, cx: &mut FnCtx<'a>, a: &'a ast::Expr) -> Expr {
        let exp = match literal_kind(a) {
            Some(LitKind::Int) => Some(TypeId::I32),
            Some(LitKind::Float) => Some(TypeId::F64),
            None => None,
        };
        let e = self.expr(cx, a, exp);
        let promote = |this: &mut Self, e: Expr, to: TypeId| {
            this.apply(Conv::Node(CoerceKind::Promote), e, to)
        };
        match self.kind(e.ty).clone() {
            TypeKind::Null => {
                let vp = self.ptr_to(TypeId::VOID, false);
                Expr { ty: vp, ..e }
            }
            TypeKind::Int(i) if i.size() < 4 => promote(self, e, TypeId::I32),
            TypeKind::Bool => promote(self, e, TypeId::I32),
            TypeKind::Enum(en) => {
                let to = if en.repr.size() < 4 {
                    TypeId::I32
                } else {
                    TypeId::of_int(en.repr)
                };
                promote(self, e, to)
            }
            TypeKind::Float(FloatTy::F32) => promote(self, e, TypeId::F64),
            TypeKind::Struct(_) | TypeKind::Union(_) | TypeKind::Array { .. } => {
                let n = self.type_name(e.ty);
                self.error(
                    Diagnostic::new(
                        DiagKind::Invalid,
                        e.span,
                        format!("a `{n}` value cannot be passed in a variadic position"),
                    )
                    .with_help("pass a pointer to it with `&`"),
                );
                error_expr(e.span)
            }
            TypeKind::Void => self.value_or_error(e, Use::Param),
            _ => e,
        }
    }

    fn builtin_call(
        &mut self,
        cx: &mut FnCtx<'a>,
        b: Builtin,
        callee: &ast::Ident,
        args: &'a [ast::Expr],
        span: Span,
    ) -> Expr {
        let (min, max) = match b {
            Builtin::Print => (0, usize::MAX),
            Builtin::Assert | Builtin::String => (1, 2),
            Builtin::Exit => (1, 1),
        };
        if args.len() < min || args.len() > max {
            let expect = if min == max {
                plural(min, "argument")
            } else {
                format!("{min} or {max} arguments")
            };
            self.error(
                Diagnostic::new(
                    DiagKind::Arity,
                    span,
                    format!(
                        "`{}` takes {expect} but {} given",
                        callee.name,
                        if args.len() == 1 {
                            "1 was".to_string()
                        } else {
                            format!("{} were", args.len())
                        }
                    ),
                )
                .with_label("wrong number of arguments"),
            );
        }
        let mut out = Vec::with_capacity(args.len());
        let ret = match b {
            Builtin::Print => {
                for a in args {
                    let e = self.expr(cx, a, None);
                    let e = match self.kind(e.ty) {
                        TypeKind::Null => {
                            let vp = self.ptr_to(TypeId::VOID, false);
                            Expr { ty: vp, ..e }
                        }
                        TypeKind::Void => self.value_or_error(e, Use::Param),
                        _ => e,
                    };
                    out.push(e);
                }
                TypeId::VOID
            }
            Builtin::Assert => {
                for (i, a) in args.iter().enumerate() {
                    let t = if i == 0 { TypeId::BOOL } else { TypeId::CSTR };
                    out.push(self.expr_as(cx, a, t, false));
                }
                TypeId::VOID
            }
            Builtin::String => {
                for (i, a) in args.iter().enumerate() {
                    if i == 0 {
                        let e = self.expr(cx, a, None);
                        let ok = matches!(
                            self.kind(e.ty),
                            TypeKind::Ptr { .. } | TypeKind::Cstr | TypeKind::Error
                        );
                        if !ok {
                            let n = self.type_name(e.ty);
                            self.error(
                                Diagnostic::new(
                                    DiagKind::TypeMismatch,
                                    e.span,
                                    format!("`string` needs a pointer or `cstr`, found `{n}`"),
                                )
                                .with_label("not a pointer"),
                            );
                        }
                        let e = if e.ty == TypeId::NULL {
                            Expr {
                                ty: TypeId::CSTR,
                                ..e
                            }
                        } else {
                            e
                        };
                        out.push(e);
                    } else {
                        let e = self.expr(cx, a, Some(TypeId::U64));
                        out.push(self.require_int(e));
                    }
                }
                TypeId::CSTR
            }
            Builtin::Exit => {
                for a in args {
                    let e = self.expr(cx, a, Some(TypeId::I32));
                    out.push(self.require_int(e));
                }
                TypeId::VOID
            }
        };
        mk(
            ExprKind::Call {
                callee: Callee::Builtin(b),
                args: out,
            },
            ret,
            span,
        )
    }
}
