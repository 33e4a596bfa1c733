//! The typed program: the checker's output and the runtime's only input.
//!
//! Owns: the shape of a checked program ([`Program`]). Everything is resolved: every
//! type is an index into [`Program::types`] with its size, alignment and field
//! offsets; every name used in code is an index (local slot, global slot, script
//! function, foreign function, builtin) or an already folded constant; every implicit
//! conversion is an explicit [`ExprKind::Coerce`] node. The runtime never looks at
//! syntax and never looks anything up by name on its execution path.
//!
//! # Executing a program
//!
//! 1. Open every [`Library`] and look up every [`ForeignFn::symbol`] in its library
//!    (errors point at their `span`), before anything runs.
//! 2. Allocate every [`GlobalDef`] zeroed (native memory when `addr_taken`).
//! 3. Run [`Program::main`]: its `stmts` with a frame of `main.locals` slots (zeroed).
//!    A call to a script function runs its [`ScriptFn::body`] in a fresh frame whose
//!    first `params.len()` slots hold the arguments.
//!
//! Values: integers, floats, `bool`, enums (as their repr integer), pointers and
//! callbacks (addresses), `cstr` (a script string or null: passed to C as a temporary
//! NUL-terminated copy for the duration of a call; a `cstr` returned by C is copied into
//! a script string), and aggregates (structs, unions, arrays: bytes in C layout,
//! copied on assignment). Sizes, alignments and offsets are all in [`Program::types`].
//!
//! Invariants of a `Program` returned by the checker:
//! - no [`TypeKind::Error`] or [`TypeKind::Null`] type appears in any expression,
//!   variable, field or signature (`null` literals carry the pointer, `cstr` or callback
//!   type they were converted to);
//! - integer [`ConstValue::Int`] values are within the range of their expression's
//!   type (for an enum type: of its repr), float constants are already `f32`-rounded
//!   when their type is `f32`;
//! - operands of [`ExprKind::Binary`] have the types the operator needs (see
//!   [`BinaryOp`]), so the runtime can pick the operation from `lhs.ty` alone.

use crate::span::Span;
use crate::target::Target;

/// Index into [`Program::types`]. The builtin scalar types have fixed ids (the
/// associated constants); C aliases (`c_int`, `size_t`, ...) are these same ids as
/// sized by the target (`c_long` is [`TypeId::I64`] on LP64, [`TypeId::I32`] on Win64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId(pub u32);

impl TypeId {
    pub const VOID: TypeId = TypeId(0);
    pub const BOOL: TypeId = TypeId(1);
    pub const I8: TypeId = TypeId(2);
    pub const I16: TypeId = TypeId(3);
    pub const I32: TypeId = TypeId(4);
    pub const I64: TypeId = TypeId(5);
    pub const U8: TypeId = TypeId(6);
    pub const U16: TypeId = TypeId(7);
    pub const U32: TypeId = TypeId(8);
    pub const U64: TypeId = TypeId(9);
    pub const F32: TypeId = TypeId(10);
    pub const F64: TypeId = TypeId(11);
    /// A script string that converts to a NUL-terminated `const char*`.
    pub const CSTR: TypeId = TypeId(12);
    /// The type of an unconverted `null` literal (checker-internal).
    pub const NULL: TypeId = TypeId(13);
    /// The type of an erroneous expression (checker-internal; unifies with everything).
    pub const ERROR: TypeId = TypeId(14);
    /// Number of fixed builtin ids; declared and derived types come after.
    pub const BUILTIN_COUNT: u32 = 15;

    /// The id of an integer type.
    pub fn of_int(i: IntTy) -> TypeId {
        match i {
            IntTy::I8 => TypeId::I8,
            IntTy::I16 => TypeId::I16,
            IntTy::I32 => TypeId::I32,
            IntTy::I64 => TypeId::I64,
            IntTy::U8 => TypeId::U8,
            IntTy::U16 => TypeId::U16,
            IntTy::U32 => TypeId::U32,
            IntTy::U64 => TypeId::U64,
        }
    }

    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A fixed-size integer type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntTy {
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
}

impl IntTy {
    pub fn size(self) -> u64 {
        match self {
            IntTy::I8 | IntTy::U8 => 1,
            IntTy::I16 | IntTy::U16 => 2,
            IntTy::I32 | IntTy::U32 => 4,
            IntTy::I64 | IntTy::U64 => 8,
        }
    }

    pub fn signed(self) -> bool {
        matches!(self, IntTy::I8 | IntTy::I16 | IntTy::I32 | IntTy::I64)
    }

    pub fn bits(self) -> u32 {
        self.size() as u32 * 8
    }

    pub fn min(self) -> i128 {
        if self.signed() {
            -(1i128 << (self.bits() - 1))
        } else {
            0
        }
    }

    pub fn max(self) -> i128 {
        if self.signed() {
            (1i128 << (self.bits() - 1)) - 1
        } else {
            (1i128 << self.bits()) - 1
        }
    }

    /// Whether `v` is representable.
    pub fn fits(self, v: i128) -> bool {
        v >= self.min() && v <= self.max()
    }

    /// `v` wrapped (two's complement) into this type's range.
    pub fn wrap(self, v: i128) -> i128 {
        let bits = self.bits();
        let mask = (1i128 << bits) - 1;
        let low = v & mask;
        if self.signed() && low >= (1i128 << (bits - 1)) {
            low - (1i128 << bits)
        } else {
            low
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            IntTy::I8 => "i8",
            IntTy::I16 => "i16",
            IntTy::I32 => "i32",
            IntTy::I64 => "i64",
            IntTy::U8 => "u8",
            IntTy::U16 => "u16",
            IntTy::U32 => "u32",
            IntTy::U64 => "u64",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatTy {
    F32,
    F64,
}

/// Calling convention of a foreign function or callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Abi {
    /// The target platform's default C convention.
    C,
    SysV64,
    Win64,
    Aapcs64,
}

/// One entry of the type table.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeDef {
    pub kind: TypeKind,
    /// Size in bytes (0 for unsized types: `void`, `opaque`, errors).
    pub size: u64,
    /// Alignment in bytes (1 for unsized types).
    pub align: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeKind {
    Void,
    Bool,
    Int(IntTy),
    Float(FloatTy),
    /// Script string / NUL-terminated `const char*` (pointer-sized, may be null).
    /// Passing one to a foreign `cstr` parameter makes a temporary C copy for the call;
    /// a `cstr` returned from C (or read from native memory) is copied into a script
    /// string. In native memory (struct fields, globals) it is a `const char*`.
    Cstr,
    /// Checker-internal: an unconverted `null`.
    Null,
    /// Checker-internal: an erroneous type.
    Error,
    /// `*T` or `*const T`.
    Ptr {
        pointee: TypeId,
        is_const: bool,
    },
    /// `[T; N]`.
    Array {
        elem: TypeId,
        len: u64,
    },
    Struct(Aggregate),
    /// A union: every field at offset 0.
    Union(Aggregate),
    /// An enum: represented exactly as its repr integer.
    Enum(EnumDef),
    /// An opaque type (only ever behind a pointer).
    Opaque {
        name: String,
        span: Span,
    },
    /// A callback type: a C function pointer with this signature.
    Callback(CallbackDef),
}

/// Fields of a struct or union, with their computed offsets.
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate {
    pub name: String,
    /// In declaration order (`@layout(zig)` changes offsets, not this order).
    pub fields: Vec<FieldDef>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldDef {
    pub name: String,
    pub ty: TypeId,
    pub offset: u64,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumDef {
    pub name: String,
    pub repr: IntTy,
    pub variants: Vec<VariantDef>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VariantDef {
    pub name: String,
    /// The value, within `repr`'s range.
    pub value: i128,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CallbackDef {
    pub name: String,
    pub sig: Signature,
    pub span: Span,
}

/// A C function signature (foreign function or callback).
#[derive(Clone, Debug, PartialEq)]
pub struct Signature {
    pub params: Vec<TypeId>,
    /// Foreign functions only (callbacks cannot be variadic).
    pub variadic: bool,
    /// [`TypeId::VOID`] when nothing is returned.
    pub ret: TypeId,
    pub abi: Abi,
}

/// A `library` declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct Library {
    pub name: String,
    pub source: LibrarySource,
    /// The declaration (where load errors are reported).
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LibrarySource {
    /// `library x = "path"`.
    Path(String),
    /// `library x { linux = "...", macos = "...", windows = "..." }`: `(os key, path)`
    /// with keys among `linux`, `macos`, `windows` (each at most once). Whether the
    /// running OS has an entry is checked at load time.
    PerOs(Vec<(String, String)>),
}

/// Index into [`Program::libraries`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LibId(pub u32);
/// Index into [`Program::foreign_fns`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ForeignId(pub u32);
/// Index into [`Program::functions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FnId(pub u32);
/// Index into [`Program::globals`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GlobalId(pub u32);
/// Index into the [`Body::locals`] of the function (or main body) being executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LocalId(pub u32);

/// A function declared in an `extern` block.
#[derive(Clone, Debug, PartialEq)]
pub struct ForeignFn {
    /// The name the script calls it by.
    pub name: String,
    /// The symbol looked up in the library (`@symbol("...")`, else `name`).
    pub symbol: String,
    pub library: LibId,
    /// Parameter names (for messages) in order; types are in `sig.params`.
    pub param_names: Vec<String>,
    pub sig: Signature,
    /// The `fn` declaration (where a missing symbol is reported).
    pub span: Span,
}

/// A `const` declaration, evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstDef {
    pub name: String,
    pub ty: TypeId,
    pub value: ConstValue,
    pub span: Span,
}

/// A compile-time value.
#[derive(Clone, Debug, PartialEq)]
pub enum ConstValue {
    /// An integer, bool-free: within the range of the expression's integer (or enum
    /// repr) type.
    Int(i128),
    Float(f64),
    Bool(bool),
    /// A string literal (type `cstr`).
    Str(String),
    /// `null` (type: a pointer, `cstr` or callback).
    Null,
}

/// A script function (`fn name(params) -> R { ... }`).
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptFn {
    pub name: String,
    /// Parameter types; parameter `i` is local slot `i` of `body`.
    pub params: Vec<TypeId>,
    /// [`TypeId::VOID`] when nothing is returned.
    pub ret: TypeId,
    pub body: Body,
    pub span: Span,
}

/// A function body (or the program's top-level statements): its frame and code.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Body {
    /// Every local of the frame, numbered by [`LocalId`] (parameters first). Shadowing
    /// and nested blocks create new slots; slots are never reused.
    pub locals: Vec<LocalDef>,
    pub stmts: Vec<Stmt>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LocalDef {
    pub name: String,
    pub ty: TypeId,
    /// `&x` is taken somewhere (directly or of a field/element): the runtime must give
    /// this variable native storage with a stable address.
    pub addr_taken: bool,
    pub span: Span,
}

/// A top-level `let`: storage allocated and zeroed before the program starts.
#[derive(Clone, Debug, PartialEq)]
pub struct GlobalDef {
    pub name: String,
    pub ty: TypeId,
    pub addr_taken: bool,
    pub span: Span,
}

/// A variable slot written by a `let`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Var {
    Local(LocalId),
    Global(GlobalId),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// Initialise a variable: with `init`, or zero when `None` (executed every time the
    /// statement runs, so a `let` in a loop re-initialises).
    Let {
        var: Var,
        init: Option<Expr>,
    },
    /// `place = value`, or `place op= value` when `op` is `Some` (the place's address is
    /// evaluated once; `op` is applied as in [`ExprKind::Binary`] with the place's
    /// current value on the left). `place` is a place expression (see [`Expr::is_place`]).
    Assign {
        place: Expr,
        op: Option<BinaryOp>,
        value: Expr,
    },
    /// An expression evaluated for its effects; its value is dropped.
    Expr(Expr),
    If {
        cond: Expr,
        then: Vec<Stmt>,
        els: Vec<Stmt>,
    },
    While {
        cond: Expr,
        body: Vec<Stmt>,
    },
    /// `for var in start..end`: `start` and `end` (same integer type as `var`) are
    /// evaluated once, before the first iteration; `var` takes start, start+1, ...,
    /// end-1 (no iteration when start >= end). Assigning `var` in the body does not
    /// change the iteration.
    For {
        var: LocalId,
        start: Expr,
        end: Expr,
        body: Vec<Stmt>,
    },
    Break,
    Continue,
    Return(Option<Expr>),
    Block(Vec<Stmt>),
}

/// A typed expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    /// The resolved type of the value (never `Error`/`Null` in a checked program).
    pub ty: TypeId,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A literal, a `const` name, an enum variant, `sizeof`/`alignof`/`offsetof`: the
    /// value already converted to `ty`.
    Const(ConstValue),
    /// Read a local slot (a place).
    Local(LocalId),
    /// Read a global (a place).
    Global(GlobalId),
    /// A script function used as a callback value; `ty` is the callback type (whose
    /// signature, including the ABI, the function matches exactly).
    FnRef(FnId),
    /// `-x` (numeric, wrapping for integers), `!x` (bool), `~x` (integers).
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    /// `*p`: `p` is a pointer to a sized type (a place). Dereferencing null is a
    /// runtime error.
    Deref(Box<Expr>),
    /// `&place`: `ty` is `*T` (or `*const T` when the place is reached through a
    /// `*const`). The root variable, if any, is marked `addr_taken`.
    AddrOf(Box<Expr>),
    /// Binary operation; see [`BinaryOp`] for operand types.
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// An explicit `as` cast from `expr.ty` to `ty`.
    Cast {
        kind: CastKind,
        expr: Box<Expr>,
    },
    /// An implicit conversion from `expr.ty` to `ty` inserted by the checker.
    Coerce {
        kind: CoerceKind,
        expr: Box<Expr>,
    },
    Call {
        callee: Callee,
        args: Vec<Expr>,
    },
    /// `alloc(T)` / `alloc(T, n)`: `ty` is `*elem`; zeroed, owned by the script,
    /// bounds-checked (`count` is any integer type; `None` means 1).
    Alloc {
        elem: TypeId,
        count: Option<Box<Expr>>,
    },
    /// `base.field`: `base.ty` is a struct or union (a pointer base has been wrapped
    /// in an explicit `Deref`); a place when `base` is.
    Field {
        base: Box<Expr>,
        /// Index in the aggregate's `fields`.
        field: u32,
        /// Byte offset of the field (copied from the type table).
        offset: u64,
    },
    /// `base[index]`: `base.ty` is an array (bounds-checked against its length; a place
    /// when `base` is) or a pointer `*T` (checked against the allocation's bounds when
    /// known; always a place). `index` is any integer type.
    Index {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    /// Struct literal: one value per field, in declaration order. Union literal: exactly
    /// one entry (the named field); the rest of the union is zero.
    StructLit {
        fields: Vec<(u32, Expr)>,
    },
    /// `[a, b, c]` of type `[T; N]`.
    ArrayLit(Vec<Expr>),
    /// `[value; len]`.
    ArrayRepeat {
        value: Box<Expr>,
        len: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
    BitNot,
}

/// A binary operator with its operand rules.
///
/// - `Add Sub Mul Div Rem`: both operands and the result of one numeric type; integers
///   wrap; integer `/` and `%` by zero are runtime errors.
/// - `BitAnd BitOr BitXor`: one integer type.
/// - `Shl Shr`: lhs any integer type (the result type), rhs any integer type; the shift
///   count is taken modulo the lhs bit width; `Shr` is arithmetic for signed types.
/// - `Eq Ne Lt Le Gt Ge`: both operands of one type (numeric, bool, enum, pointer,
///   callback, or `cstr`, where equality compares contents and `null` equals only `null`);
///   result `bool`.
/// - `And Or`: bool, short-circuit.
/// - `PtrAdd PtrSub`: lhs `*T`, rhs any integer, result `*T`, address moves by
///   `rhs * elem_size`.
/// - `PtrDiff`: both `*T`, result `isize`, byte difference divided by `elem_size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
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
    PtrAdd { elem_size: u64 },
    PtrSub { elem_size: u64 },
    PtrDiff { elem_size: u64 },
}

/// What an explicit `as` does (from `expr.ty` to the cast's `ty`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CastKind {
    /// Between integer, float, bool (source only) and enum types: integers truncate or
    /// extend per the source's signedness, float to int saturates (NaN is 0), int to
    /// float rounds, enums behave as their repr.
    Numeric,
    /// Between pointers, callbacks and integers (address bits reinterpreted, truncated
    /// or zero-extended to the integer's width).
    Bits,
    /// `cstr` to `*const c_char`/`*const u8`/`*const i8`: the address of the string's
    /// NUL-terminated bytes (valid while the string value is alive).
    CstrToPtr,
    /// The same representation (e.g. `x as i32` where `x: i32`).
    Identity,
}

/// An implicit conversion inserted by the checker (from `expr.ty` to the node's `ty`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoerceKind {
    /// Pointer to pointer (`*T` to `*const T`, `*T` to `*void`, `*void` to `*T`):
    /// same bits.
    Ptr,
    /// An integer argument to a foreign function's integer parameter of another type:
    /// converted when the value fits, a runtime error at the argument's span otherwise.
    IntChecked,
    /// `f64` argument to a foreign `f32` parameter (rounds).
    F64ToF32,
    /// C default argument promotion in a variadic position, or widening of a `bool`:
    /// integer/bool/enum to `c_int` (sign- or zero-extended), `f32` to `f64`.
    Promote,
    /// `cstr` argument to a foreign `*const c_char`/`*const u8`/`*const i8`/
    /// `*const void` parameter: a temporary NUL-terminated copy valid for the call.
    CstrToPtr,
}

/// Who a call calls.
#[derive(Clone, Debug, PartialEq)]
pub enum Callee {
    Script(FnId),
    /// A foreign function. In a variadic call, arguments past the fixed ones have
    /// already been promoted; their `ty` is the type to pass.
    Foreign(ForeignId),
    /// A callback value (C function pointer) of a callback type: call through it.
    Value(Box<Expr>),
    Builtin(Builtin),
}

/// The value builtins (type-level builtins are folded to constants or `Alloc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// `print(a, b, ...)`: values separated by one space, then a newline. Returns void.
    Print,
    /// `assert(cond)` / `assert(cond, msg)` (`msg: cstr`).
    Assert,
    /// `string(p)` / `string(p, len)`: `p` is a pointer or `cstr`, `len` any integer;
    /// returns `cstr`.
    String,
    /// `exit(code)`: code any integer type; ends the program with that status.
    Exit,
}

/// The checked program.
#[derive(Clone, Debug)]
pub struct Program {
    pub target: Target,
    /// The type table, indexed by [`TypeId`]; the first [`TypeId::BUILTIN_COUNT`] entries
    /// are the builtin scalars.
    pub types: Vec<TypeDef>,
    /// Every type name in scope (builtin, C alias, declared, `type` alias) with its id,
    /// sorted by name. Not used during execution; for embedding and tests.
    pub type_names: Vec<(String, TypeId)>,
    pub libraries: Vec<Library>,
    pub foreign_fns: Vec<ForeignFn>,
    /// Every declared callback type (their signatures are in the type table).
    pub callbacks: Vec<TypeId>,
    pub consts: Vec<ConstDef>,
    pub functions: Vec<ScriptFn>,
    pub globals: Vec<GlobalDef>,
    /// The top-level statements of every file (imported files first, each once, in
    /// import order), run by `ffidl run`.
    pub main: Body,
}

/// Size, alignment and field offsets of one named struct/union/type, as the checker
/// computed them for the program's target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeLayout {
    pub size: u64,
    pub align: u64,
    /// `(field name, byte offset)` in declaration order.
    pub fields: Vec<(String, u64)>,
}

impl Program {
    pub fn ty(&self, id: TypeId) -> &TypeDef {
        &self.types[id.index()]
    }

    /// The id a type name denotes, if any.
    pub fn type_id(&self, name: &str) -> Option<TypeId> {
        self.type_names
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.type_names[i].1)
    }

    /// Layout of the type declared (or built in) under `name`, if there is one and it
    /// is sized.
    pub fn type_layout(&self, name: &str) -> Option<TypeLayout> {
        let id = self.type_id(name)?;
        let def = self.ty(id);
        let fields = match &def.kind {
            TypeKind::Void | TypeKind::Opaque { .. } | TypeKind::Error | TypeKind::Null => {
                return None
            }
            TypeKind::Struct(a) | TypeKind::Union(a) => a
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.offset))
                .collect(),
            _ => Vec::new(),
        };
        Some(TypeLayout {
            size: def.size,
            align: def.align,
            fields,
        })
    }

    /// A script function by name (linear search; for embedding).
    pub fn function(&self, name: &str) -> Option<FnId> {
        self.functions
            .iter()
            .position(|f| f.name == name)
            .map(|i| FnId(i as u32))
    }

    /// How a type is written in source (`*const Point`, `[u8; 4]`).
    pub fn type_name(&self, id: TypeId) -> String {
        type_name(&self.types, id)
    }
}

/// How a type is written in source, from a type table.
pub fn type_name(types: &[TypeDef], id: TypeId) -> String {
    match &types[id.index()].kind {
        TypeKind::Void => "void".into(),
        TypeKind::Bool => "bool".into(),
        TypeKind::Int(i) => i.name().into(),
        TypeKind::Float(FloatTy::F32) => "f32".into(),
        TypeKind::Float(FloatTy::F64) => "f64".into(),
        TypeKind::Cstr => "cstr".into(),
        TypeKind::Null => "null".into(),
        TypeKind::Error => "{error}".into(),
        TypeKind::Ptr { pointee, is_const } => format!(
            "*{}{}",
            if *is_const { "const " } else { "" },
            type_name(types, *pointee)
        ),
        TypeKind::Array { elem, len } => format!("[{}; {len}]", type_name(types, *elem)),
        TypeKind::Struct(a) | TypeKind::Union(a) => a.name.clone(),
        TypeKind::Enum(e) => e.name.clone(),
        TypeKind::Opaque { name, .. } => name.clone(),
        TypeKind::Callback(c) => c.name.clone(),
    }
}

impl Expr {
    /// Whether this expression denotes a storage location (assignable / addressable):
    /// a variable, `*p`, `p[i]` on a pointer, or a field/element of a place.
    pub fn is_place(&self, types: &[TypeDef]) -> bool {
        match &self.kind {
            ExprKind::Local(_) | ExprKind::Global(_) | ExprKind::Deref(_) => true,
            ExprKind::Field { base, .. } => base.is_place(types),
            ExprKind::Index { base, .. } => {
                matches!(types[base.ty.index()].kind, TypeKind::Ptr { .. }) || base.is_place(types)
            }
            _ => false,
        }
    }
}
