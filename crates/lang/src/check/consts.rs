//! Constant evaluation: `const` declarations (on demand, with cycle detection), array
//! lengths, enum values and attribute arguments. Constant expressions are type-checked
//! by the ordinary expression checker (in constant mode, where only constants, enum
//! variants, literals, operators, numeric casts and `sizeof`/`alignof`/`offsetof` are
//! allowed) and then folded here. Owns `const` diagnostics.

use super::typeck::FnCtx;
use super::types::Use;
use super::{Checker, State};
use crate::diag::{DiagKind, Diagnostic};
use crate::span::Span;
use crate::tir::{
    BinaryOp, CastKind, CoerceKind, ConstDef, ConstValue, Expr, ExprKind, FloatTy, IntTy, TypeDef,
    TypeId, TypeKind, UnaryOp,
};

impl<'a> Checker<'a> {
    /// The type and value of constant `c`, evaluating it on first use. `None` after an
    /// error (already reported).
    pub(super) fn const_value(&mut self, c: u32) -> Option<(TypeId, ConstValue)> {
        let i = c as usize;
        match self.consts[i].state {
            State::Done => {
                return self.consts[i]
                    .result
                    .as_ref()
                    .map(|d| (d.ty, d.value.clone()))
            }
            State::Busy => {
                let name = self.consts[i].name;
                self.error(
                    Diagnostic::new(
                        DiagKind::Const,
                        name.span,
                        format!("constant `{}` depends on itself", name.name),
                    )
                    .with_label("cyclic constant"),
                );
                self.consts[i].state = State::Done;
                return None;
            }
            State::Todo => {}
        }
        self.consts[i].state = State::Busy;
        let (ty_expr, value) = (self.consts[i].ty, self.consts[i].value);
        let declared = ty_expr.map(|te| {
            let t = self.resolve_type(te);
            self.require_value(t, te.span, Use::Variable)
        });
        let mut cx = FnCtx::constant();
        let e = match declared {
            Some(t) => self.expr_as(&mut cx, value, t, false),
            None => self.expr(&mut cx, value, None),
        };
        let result = if e.ty == TypeId::ERROR || self.consts[i].state == State::Done {
            None
        } else if e.ty == TypeId::NULL {
            self.error(
                Diagnostic::new(
                    DiagKind::Const,
                    value.span,
                    "cannot infer the type of a `null` constant",
                )
                .with_help("write the pointer type: `const NAME: *void = null;`"),
            );
            None
        } else {
            match fold(&self.types, &e) {
                Ok(v) => Some(ConstDef {
                    name: self.consts[i].name.name.clone(),
                    ty: e.ty,
                    value: v,
                    span: self.consts[i].span,
                }),
                Err((span, msg)) => {
                    self.error(Diagnostic::new(DiagKind::Const, span, msg));
                    None
                }
            }
        };
        let out = result.as_ref().map(|d| (d.ty, d.value.clone()));
        if self.consts[i].state == State::Busy {
            self.consts[i].result = result;
            self.consts[i].state = State::Done;
        }
        out
    }

    /// An integer constant expression of any integer type (array lengths, `@align`).
    pub(super) fn const_int(&mut self, e: &'a crate::ast::Expr) -> Option<i128> {
        let mut cx = FnCtx::constant();
        let t = self.expr(&mut cx, e, None);
        if t.ty == TypeId::ERROR {
            return None;
        }
        if !matches!(self.types[t.ty.index()].kind, TypeKind::Int(_)) {
            let name = self.type_name(t.ty);
            self.error(
                Diagnostic::new(
                    DiagKind::TypeMismatch,
                    e.span,
                    format!("expected an integer constant, found `{name}`"),
                )
                .with_label("not an integer"),
            );
            return None;
        }
        self.fold_int(&t)
    }

    /// An integer constant expression of type `ty` (enum values).
    pub(super) fn const_int_of(&mut self, e: &'a crate::ast::Expr, ty: TypeId) -> Option<i128> {
        let mut cx = FnCtx::constant();
        let t = self.expr_as(&mut cx, e, ty, false);
        if t.ty == TypeId::ERROR {
            return None;
        }
        self.fold_int(&t)
    }

    fn fold_int(&mut self, e: &Expr) -> Option<i128> {
        match fold(&self.types, e) {
            Ok(ConstValue::Int(v)) => Some(v),
            Ok(_) => None,
            Err((span, msg)) => {
                self.error(Diagnostic::new(DiagKind::Const, span, msg));
                None
            }
        }
    }
}

/// The integer type of a type (an enum's repr).
pub(super) fn int_ty(types: &[TypeDef], t: TypeId) -> Option<IntTy> {
    match &types[t.index()].kind {
        TypeKind::Int(i) => Some(*i),
        TypeKind::Enum(e) => Some(e.repr),
        _ => None,
    }
}

fn float_ty(types: &[TypeDef], t: TypeId) -> Option<FloatTy> {
    match &types[t.index()].kind {
        TypeKind::Float(f) => Some(*f),
        _ => None,
    }
}

fn round_to(f: FloatTy, v: f64) -> f64 {
    match f {
        FloatTy::F32 => v as f32 as f64,
        FloatTy::F64 => v,
    }
}

/// Float to integer as Rust's `as`: saturating, NaN is 0.
fn float_to_int(i: IntTy, v: f64) -> i128 {
    if v.is_nan() {
        return 0;
    }
    let t = v.trunc();
    if t <= i.min() as f64 {
        i.min()
    } else if t >= i.max() as f64 {
        i.max()
    } else {
        t as i128
    }
}

/// Evaluate a typed constant expression. `Err` gives the span and message of the part
/// that is not constant (or divides by zero).
pub(super) fn fold(types: &[TypeDef], e: &Expr) -> Result<ConstValue, (Span, String)> {
    let not_const = || (e.span, "this expression is not a constant".to_string());
    match &e.kind {
        ExprKind::Const(v) => Ok(v.clone()),
        ExprKind::Unary { op, expr } => {
            let v = fold(types, expr)?;
            match (op, v) {
                (UnaryOp::Neg, ConstValue::Int(x)) => Ok(ConstValue::Int(
                    int_ty(types, e.ty).map_or(-x, |i| i.wrap(-x)),
                )),
                (UnaryOp::Neg, ConstValue::Float(x)) => Ok(ConstValue::Float(-x)),
                (UnaryOp::Not, ConstValue::Bool(b)) => Ok(ConstValue::Bool(!b)),
                (UnaryOp::BitNot, ConstValue::Int(x)) => Ok(ConstValue::Int(
                    int_ty(types, e.ty).map_or(!x, |i| i.wrap(!x)),
                )),
                _ => Err(not_const()),
            }
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let a = fold(types, lhs)?;
            // Short-circuit like the runtime does.
            match (op, &a) {
                (BinaryOp::And, ConstValue::Bool(false)) => return Ok(ConstValue::Bool(false)),
                (BinaryOp::Or, ConstValue::Bool(true)) => return Ok(ConstValue::Bool(true)),
                _ => {}
            }
            let b = fold(types, rhs)?;
            fold_binary(types, *op, lhs.ty, a, b, rhs.span).ok_or_else(not_const)?
        }
        ExprKind::Cast { expr, .. } | ExprKind::Coerce { expr, .. } if is_numeric_conv(e) => {
            let v = fold(types, expr)?;
            convert(types, v, e.ty).ok_or_else(not_const)
        }
        _ => Err(not_const()),
    }
}

fn is_numeric_conv(e: &Expr) -> bool {
    matches!(
        e.kind,
        ExprKind::Cast {
            kind: CastKind::Numeric | CastKind::Identity,
            ..
        } | ExprKind::Coerce {
            kind: CoerceKind::Promote | CoerceKind::F64ToF32,
            ..
        }
    )
}

/// Convert a constant to a numeric type (C/Rust `as` semantics).
fn convert(types: &[TypeDef], v: ConstValue, to: TypeId) -> Option<ConstValue> {
    if let Some(i) = int_ty(types, to) {
        return Some(ConstValue::Int(match v {
            ConstValue::Int(x) => i.wrap(x),
            ConstValue::Bool(b) => i128::from(b),
            ConstValue::Float(f) => float_to_int(i, f),
            _ => return None,
        }));
    }
    if let Some(f) = float_ty(types, to) {
        return Some(ConstValue::Float(match v {
            ConstValue::Int(x) => round_to(f, x as f64),
            ConstValue::Float(x) => round_to(f, x),
            _ => return None,
        }));
    }
    match (&types[to.index()].kind, v) {
        (TypeKind::Bool, v @ ConstValue::Bool(_)) => Some(v),
        _ => None,
    }
}

fn fold_binary(
    types: &[TypeDef],
    op: BinaryOp,
    ty: TypeId,
    a: ConstValue,
    b: ConstValue,
    rhs_span: Span,
) -> Option<Result<ConstValue, (Span, String)>> {
    use ConstValue::{Bool, Float, Int};
    let cmp = |o: std::cmp::Ordering| -> Option<bool> {
        use std::cmp::Ordering::*;
        Some(match op {
            BinaryOp::Eq => o == Equal,
            BinaryOp::Ne => o != Equal,
            BinaryOp::Lt => o == Less,
            BinaryOp::Le => o != Greater,
            BinaryOp::Gt => o == Greater,
            BinaryOp::Ge => o != Less,
            _ => return None,
        })
    };
    Some(Ok(match (a, b) {
        (Int(x), Int(y)) => {
            let i = int_ty(types, ty)?;
            let w = |v: i128| Int(i.wrap(v));
            match op {
                BinaryOp::Add => w(x + y),
                BinaryOp::Sub => w(x - y),
                BinaryOp::Mul => w(x.wrapping_mul(y)),
                BinaryOp::Div | BinaryOp::Rem if y == 0 => {
                    return Some(Err((
                        rhs_span,
                        "division by zero in a constant".to_string(),
                    )))
                }
                BinaryOp::Div => w(x / y),
                BinaryOp::Rem => w(x % y),
                BinaryOp::BitAnd => w(x & y),
                BinaryOp::BitOr => w(x | y),
                BinaryOp::BitXor => w(x ^ y),
                BinaryOp::Shl => w(x << (y.rem_euclid(i128::from(i.bits())) as u32)),
                BinaryOp::Shr => w(x >> (y.rem_euclid(i128::from(i.bits())) as u32)),
                _ => Bool(cmp(x.cmp(&y))?),
            }
        }
        (Float(x), Float(y)) => {
            let f = float_ty(types, ty)?;
            match op {
                BinaryOp::Add => Float(round_to(f, x + y)),
                BinaryOp::Sub => Float(round_to(f, x - y)),
                BinaryOp::Mul => Float(round_to(f, x * y)),
                BinaryOp::Div => Float(round_to(f, x / y)),
                BinaryOp::Rem => Float(round_to(f, x % y)),
                _ => match x.partial_cmp(&y) {
                    Some(o) => Bool(cmp(o)?),
                    None => Bool(op == BinaryOp::Ne),
                },
            }
        }
        (Bool(x), Bool(y)) => match op {
            BinaryOp::And => Bool(x && y),
            BinaryOp::Or => Bool(x || y),
            _ => Bool(cmp(x.cmp(&y))?),
        },
        (ConstValue::Str(x), ConstValue::Str(y)) => {
            Bool(cmp(x.cmp(&y)).filter(|_| matches!(op, BinaryOp::Eq | BinaryOp::Ne))?)
        }
        _ => return None,
    }))
}
