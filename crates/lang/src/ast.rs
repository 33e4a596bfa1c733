//! The syntax tree: what the parser produces and the checker consumes.
//!
//! Owns: the shape of a parsed `.ffidl` file. Every node keeps its [`Span`]. Nothing
//! here is resolved: names are plain identifiers, types are as written, literals are
//! untyped. Unary minus applied directly to a numeric literal is folded by the parser
//! into a negative literal (so `-128` is one `Int(-128)` with the span of both tokens).

use crate::span::Span;

/// An identifier with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A string literal after escape processing.
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

/// A whole file: declarations and statements in source order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Decl(Decl),
    Stmt(Stmt),
}

/// `@name` or `@name(args)`. Arguments are expressions: `@align(16)`,
/// `@symbol("abs")`, `@abi(win64)` and `@layout(zig)` (a bare identifier is a `Name`).
#[derive(Clone, Debug, PartialEq)]
pub struct Attr {
    pub name: Ident,
    pub args: Vec<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Decl {
    pub attrs: Vec<Attr>,
    pub kind: DeclKind,
    /// From the first attribute (or keyword) to the end of the declaration.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DeclKind {
    /// `import "path.ffidl";`
    Import(StrLit),
    /// `library name = "soname";` or `library name { linux = "...", ... }`
    Library { name: Ident, source: LibSource },
    /// `const NAME: T = expr;` (the type is optional: `const N = 4;`)
    Const {
        name: Ident,
        ty: Option<TypeExpr>,
        value: Expr,
    },
    /// `struct Name { a: T, b: U }` (trailing comma allowed)
    Struct { name: Ident, fields: Vec<Field> },
    /// `union Name { a: T, b: U }`
    Union { name: Ident, fields: Vec<Field> },
    /// `enum Name: Repr { A = 0, B, C = 8 }` (`: Repr` optional, default `c_int`)
    Enum {
        name: Ident,
        repr: Option<TypeExpr>,
        variants: Vec<Variant>,
    },
    /// `opaque name;`
    Opaque { name: Ident },
    /// `type Name = T;`
    TypeAlias { name: Ident, ty: TypeExpr },
    /// `callback Name = fn(a: T, ...) -> R;`
    Callback { name: Ident, sig: FnSig },
    /// `extern lib { fn f(...) -> R; ... }`
    Extern { lib: Ident, fns: Vec<ExternFn> },
    /// A script function: `fn name(params) -> R { body }`.
    Fn(FnDecl),
}

#[derive(Clone, Debug, PartialEq)]
pub enum LibSource {
    /// `= "name"`
    Path(StrLit),
    /// `{ linux = "...", macos = "...", windows = "..." }`
    PerOs(Vec<(Ident, StrLit)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    pub name: Ident,
    pub value: Option<Expr>,
    pub span: Span,
}

/// A parameter: `name: T`. Names are required in `fn`, `callback` and `extern` alike.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}

/// A foreign or callback signature: `(params [, ...]) [-> R]`.
#[derive(Clone, Debug, PartialEq)]
pub struct FnSig {
    pub params: Vec<Param>,
    /// Span of a trailing `...`, when present.
    pub variadic: Option<Span>,
    /// `None` means `void`.
    pub ret: Option<TypeExpr>,
    pub span: Span,
}

/// One `fn` inside an `extern` block (attributes such as `@symbol`, `@abi`).
#[derive(Clone, Debug, PartialEq)]
pub struct ExternFn {
    pub attrs: Vec<Attr>,
    pub name: Ident,
    pub sig: FnSig,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FnDecl {
    pub name: Ident,
    pub params: Vec<Param>,
    /// `None` means `void`.
    pub ret: Option<TypeExpr>,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeExprKind {
    /// Any type name: builtin (`i32`, `c_long`, `cstr`, `void`, ...) or declared.
    Named(Ident),
    /// `*T` (`is_const == false`) or `*const T`.
    Ptr {
        is_const: bool,
        pointee: Box<TypeExpr>,
    },
    /// `[T; N]`; `N` is a constant expression.
    Array { elem: Box<TypeExpr>, len: Box<Expr> },
    /// A placeholder produced by error recovery.
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `let name [: T] [= init];` (without `init` the variable is zero-initialised
    /// and the type is required).
    Let {
        name: Ident,
        ty: Option<TypeExpr>,
        init: Option<Expr>,
    },
    /// `place = value;` or compound `place op= value;` (`op` is `Some`).
    Assign {
        target: Expr,
        op: Option<BinOp>,
        value: Expr,
    },
    /// An expression evaluated for its effect: `f(x);`
    Expr(Expr),
    /// `if c { } else if d { } else { }`: `els` is either a block or another `If`.
    If {
        cond: Expr,
        then: Block,
        els: Option<Box<Stmt>>,
    },
    While {
        cond: Expr,
        body: Block,
    },
    /// `for var in start..end { }` (end exclusive).
    For {
        var: Ident,
        start: Expr,
        end: Expr,
        body: Block,
    },
    Break,
    Continue,
    Return(Option<Expr>),
    Block(Block),
    /// A placeholder produced by error recovery.
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// Integer literal (already negated when written `-N`). Range covers `-2^63..2^64`.
    Int(i128),
    Float(f64),
    Str(String),
    Bool(bool),
    Null,
    /// A variable, constant, function or callback name.
    Name(Ident),
    /// `Enum::Variant`
    Path {
        ty: Ident,
        member: Ident,
    },
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `expr as T`
    Cast {
        expr: Box<Expr>,
        ty: TypeExpr,
    },
    /// `f(args)`: script functions, foreign functions and the value builtins
    /// (`print`, `assert`, `string`, `exit`). The callee is a name.
    Call {
        callee: Ident,
        args: Vec<Expr>,
    },
    /// `e(args)` where `e` is not a plain name (`s.on_event(x)`, `table[i](x)`,
    /// `get_op(0)(1, 2)`): a call through a value of callback type.
    CallValue {
        callee: Box<Expr>,
        args: Vec<Expr>,
    },
    /// `sizeof(T)`
    SizeOf(TypeExpr),
    /// `alignof(T)`
    AlignOf(TypeExpr),
    /// `offsetof(T, field)`
    OffsetOf {
        ty: TypeExpr,
        field: Ident,
    },
    /// `alloc(T)` or `alloc(T, n)`
    Alloc {
        ty: TypeExpr,
        count: Option<Box<Expr>>,
    },
    /// `expr.field` (auto-dereferences pointers to structs)
    Field {
        expr: Box<Expr>,
        field: Ident,
    },
    /// `expr[index]`
    Index {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    /// `Name { a: x, b: y }` (not allowed directly in `if`/`while`/`for` heads, as in Rust)
    StructLit {
        name: Ident,
        fields: Vec<(Ident, Expr)>,
    },
    /// `[a, b, c]`
    ArrayLit(Vec<Expr>),
    /// `[value; N]`
    ArrayRepeat {
        value: Box<Expr>,
        len: Box<Expr>,
    },
    /// A placeholder produced by error recovery.
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `!x` (bool)
    Not,
    /// `~x` (integers)
    BitNot,
    /// `*p`
    Deref,
    /// `&place`
    AddrOf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }
}
