//! Statement checking: `let` (locals and top-level globals), assignment and compound
//! assignment (places, `*const`), `if`/`while`/`for`, `break`/`continue` outside loops,
//! `return` against the function's type, and the missing-return rule; then the
//! top-level statement list (the main body) and every function body.

use super::typeck::{error_expr, FnCtx};
use super::types::Use;
use super::Checker;
use crate::ast::{self, Item, StmtKind as S};
use crate::diag::{DiagKind, Diagnostic};
use crate::tir::{
    Body, Builtin, Callee, ConstValue, ExprKind, GlobalId, ScriptFn, Stmt, StmtKind, TypeId, Var,
};

impl<'a> Checker<'a> {
    /// Check the top-level statements of every file, in execution order.
    pub(super) fn check_main(&mut self, items: &[&'a ast::Item]) {
        let mut cx = FnCtx::body(None, true);
        let mut stmts = Vec::new();
        let mut next_global = 0u32;
        for item in items {
            let Item::Stmt(stmt) = item else { continue };
            if let S::Let { name, ty, init } = &stmt.kind {
                let g = next_global;
                next_global += 1;
                let (t, init) =
                    self.let_parts(&mut cx, name, ty.as_ref(), init.as_ref(), stmt.span);
                self.globals[g as usize].ty = t;
                self.main_globals.insert(name.name.clone(), g);
                stmts.push(Stmt {
                    kind: StmtKind::Let {
                        var: Var::Global(GlobalId(g)),
                        init,
                    },
                    span: stmt.span,
                });
                continue;
            }
            if let Some(s) = self.stmt(&mut cx, stmt) {
                stmts.push(s);
            }
        }
        self.main = Body {
            locals: cx.locals,
            stmts,
        };
    }

    /// Check every script function's body.
    pub(super) fn check_fn_bodies(&mut self) {
        for f in 0..self.fns.len() {
            let decl = self.fns[f].decl;
            let (params, ret) = (self.fns[f].params.clone(), self.fns[f].ret);
            let mut cx = FnCtx::body(Some(ret), false);
            for (p, &t) in decl.params.iter().zip(&params) {
                self.check_local_name(&p.name);
                cx.declare(&p.name.name, t, p.name.span);
            }
            let body = self.block(&mut cx, &decl.body);
            if ret != TypeId::VOID && ret != TypeId::ERROR && !diverges_all(&body) {
                let rname = self.type_name(ret);
                self.error(
                    Diagnostic::new(
                        DiagKind::Invalid,
                        decl.name.span,
                        format!(
                            "function `{}` does not return a value on every path",
                            decl.name.name
                        ),
                    )
                    .with_label(format!("must return `{rname}`"))
                    .with_help("add a `return` at the end of the body"),
                );
            }
            self.fn_bodies[f] = Some(ScriptFn {
                name: decl.name.name.clone(),
                params,
                ret,
                body: Body {
                    locals: cx.locals,
                    stmts: body,
                },
                span: decl.span,
            });
        }
    }

    fn block(&mut self, cx: &mut FnCtx<'a>, b: &'a ast::Block) -> Vec<Stmt> {
        cx.push_scope();
        let out = b.stmts.iter().filter_map(|s| self.stmt(cx, s)).collect();
        cx.pop_scope();
        out
    }

    /// The type and checked initialiser of a `let`.
    fn let_parts(
        &mut self,
        cx: &mut FnCtx<'a>,
        name: &'a ast::Ident,
        ty: Option<&'a ast::TypeExpr>,
        init: Option<&'a ast::Expr>,
        span: crate::span::Span,
    ) -> (TypeId, Option<crate::tir::Expr>) {
        let declared = ty.map(|te| {
            let t = self.resolve_type(te);
            let t = self.require_value(t, te.span, Use::Variable);
            self.layout(t);
            t
        });
        match (declared, init) {
            (Some(t), Some(e)) => (t, Some(self.expr_as(cx, e, t, false))),
            (None, Some(e)) => {
                let x = self.expr(cx, e, None);
                let x = self.value_or_error(x, Use::Variable);
                (x.ty, Some(x))
            }
            (Some(t), None) => (t, None),
            (None, None) => {
                self.error(
                    Diagnostic::new(
                        DiagKind::Invalid,
                        span,
                        format!("`let {}` needs a type or an initial value", name.name),
                    )
                    .with_help(format!(
                        "write `let {}: T;` or `let {} = value;`",
                        name.name, name.name
                    )),
                );
                (TypeId::ERROR, None)
            }
        }
    }

    fn stmt(&mut self, cx: &mut FnCtx<'a>, s: &'a ast::Stmt) -> Option<Stmt> {
        let span = s.span;
        let kind = match &s.kind {
            S::Error => return None,
            S::Let { name, ty, init } => {
                let (t, init) = self.let_parts(cx, name, ty.as_ref(), init.as_ref(), span);
                self.check_local_name(name);
                let l = cx.declare(&name.name, t, name.span);
                StmtKind::Let {
                    var: Var::Local(l),
                    init,
                }
            }
            S::Assign { target, op, value } => {
                let place = self.expr(cx, target, None);
                let (op, value) = match op {
                    None => (None, self.expr_as(cx, value, place.ty, false)),
                    Some(op) => {
                        let r = self.expr(cx, value, Some(place.ty));
                        let bin = self.binary_typed(*op, place.clone(), r, span);
                        if bin.ty != TypeId::ERROR && bin.ty != place.ty {
                            let (a, b) = (self.type_name(place.ty), self.type_name(bin.ty));
                            self.error(Diagnostic::new(
                                DiagKind::TypeMismatch,
                                span,
                                format!("`{}=` gives `{b}`, cannot store it in `{a}`", op.symbol()),
                            ));
                        }
                        match bin.kind {
                            ExprKind::Binary { op, rhs, .. } => (Some(op), *rhs),
                            _ => (Some(crate::tir::BinaryOp::Add), error_expr(span)),
                        }
                    }
                };
                if place.ty != TypeId::ERROR {
                    if !place.is_place(&self.types) {
                        self.error(
                            Diagnostic::new(
                                DiagKind::Invalid,
                                place.span,
                                "cannot assign to this expression",
                            )
                            .with_label("not a variable, field, element or `*p`"),
                        );
                    } else if self.place_is_const(&place) {
                        self.error(
                            Diagnostic::new(
                                DiagKind::Invalid,
                                place.span,
                                "cannot assign through a `*const` pointer",
                            )
                            .with_label("read-only place"),
                        );
                    }
                }
                StmtKind::Assign { place, op, value }
            }
            S::Expr(e) => StmtKind::Expr(self.expr(cx, e, None)),
            S::If { cond, then, els } => {
                let cond = self.expr_as(cx, cond, TypeId::BOOL, false);
                let then = self.block(cx, then);
                let els = match els {
                    None => Vec::new(),
                    Some(st) => self.stmt(cx, st).map_or_else(Vec::new, |s| match s.kind {
                        StmtKind::Block(b) => b,
                        _ => vec![s],
                    }),
                };
                StmtKind::If { cond, then, els }
            }
            S::While { cond, body } => {
                let cond = self.expr_as(cx, cond, TypeId::BOOL, false);
                cx.loops += 1;
                let body = self.block(cx, body);
                cx.loops -= 1;
                StmtKind::While { cond, body }
            }
            S::For {
                var,
                start,
                end,
                body,
            } => {
                let lit = |e: &ast::Expr| matches!(e.kind, ast::ExprKind::Int(_));
                let (start, end) = if lit(start) && !lit(end) {
                    let en = self.expr(cx, end, None);
                    let st = self.expr_as(cx, start, en.ty, false);
                    (st, en)
                } else {
                    let st = self.expr(cx, start, None);
                    let en = self.expr_as(cx, end, st.ty, false);
                    (st, en)
                };
                let ty = start.ty;
                if ty != TypeId::ERROR && !self.is_int(ty) {
                    let n = self.type_name(ty);
                    self.error(
                        Diagnostic::new(
                            DiagKind::TypeMismatch,
                            start.span,
                            format!("a `for` range needs integers, found `{n}`"),
                        )
                        .with_label("not an integer"),
                    );
                }
                cx.push_scope();
                self.check_local_name(var);
                let v = cx.declare(&var.name, ty, var.span);
                cx.loops += 1;
                let body = self.block(cx, body);
                cx.loops -= 1;
                cx.pop_scope();
                StmtKind::For {
                    var: v,
                    start,
                    end,
                    body,
                }
            }
            S::Break | S::Continue => {
                let word = if matches!(s.kind, S::Break) {
                    "break"
                } else {
                    "continue"
                };
                if cx.loops == 0 {
                    self.error(
                        Diagnostic::new(
                            DiagKind::Invalid,
                            span,
                            format!("`{word}` outside of a loop"),
                        )
                        .with_label("not inside `while` or `for`"),
                    );
                }
                if word == "break" {
                    StmtKind::Break
                } else {
                    StmtKind::Continue
                }
            }
            S::Return(value) => match cx.ret {
                None => {
                    self.error(
                        Diagnostic::new(DiagKind::Invalid, span, "`return` outside of a function")
                            .with_help("use `exit(code)` to end the program"),
                    );
                    if let Some(v) = value {
                        self.expr(cx, v, None);
                    }
                    StmtKind::Return(None)
                }
                Some(ret) => match value {
                    None if ret != TypeId::VOID && ret != TypeId::ERROR => {
                        let n = self.type_name(ret);
                        self.error(
                            Diagnostic::new(
                                DiagKind::TypeMismatch,
                                span,
                                format!("`return` without a value in a function returning `{n}`"),
                            )
                            .with_label(format!("expected a `{n}` value")),
                        );
                        StmtKind::Return(None)
                    }
                    None => StmtKind::Return(None),
                    Some(v) if ret == TypeId::VOID => {
                        self.expr(cx, v, None);
                        self.error(
                            Diagnostic::new(
                                DiagKind::Invalid,
                                v.span,
                                "`return` with a value in a function that returns nothing",
                            )
                            .with_help("declare the return type: `fn name(...) -> T`"),
                        );
                        StmtKind::Return(None)
                    }
                    Some(v) => StmtKind::Return(Some(self.expr_as(cx, v, ret, false))),
                },
            },
            S::Block(b) => StmtKind::Block(self.block(cx, b)),
        };
        Some(Stmt { kind, span })
    }
}

/// Whether running these statements never reaches their end normally.
fn diverges_all(stmts: &[Stmt]) -> bool {
    stmts.iter().any(diverges)
}

fn diverges(s: &Stmt) -> bool {
    match &s.kind {
        StmtKind::Return(_) => true,
        StmtKind::Expr(e) => matches!(
            e.kind,
            ExprKind::Call {
                callee: Callee::Builtin(Builtin::Exit),
                ..
            }
        ),
        StmtKind::If { then, els, .. } => diverges_all(then) && diverges_all(els),
        StmtKind::Block(b) => diverges_all(b),
        StmtKind::While { cond, body } => {
            matches!(cond.kind, ExprKind::Const(ConstValue::Bool(true))) && !breaks(body)
        }
        _ => false,
    }
}

/// Whether a loop body contains a `break` for this loop.
fn breaks(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|s| match &s.kind {
        StmtKind::Break => true,
        StmtKind::If { then, els, .. } => breaks(then) || breaks(els),
        StmtKind::Block(b) => breaks(b),
        _ => false,
    })
}
