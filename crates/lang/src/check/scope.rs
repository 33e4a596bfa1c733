//! The global declaration scope: builtin names, and every declaration of every file
//! registered under its name (one scope shared by all files). Owns `duplicate`
//! diagnostics for declarations and the `unknown-name` diagnostics of global look-ups
//! (with `did you mean` suggestions).

use super::{AliasEntry, Checker, ConstEntry, Entry, FnEntry, ForeignEntry, NamedType, State, Sym};
use crate::ast::{self, DeclKind, Item, StmtKind};
use crate::diag::{suggest, DiagKind, Diagnostic};
use crate::span::Span;
use crate::tir::{
    Aggregate, Builtin, CallbackDef, EnumDef, FloatTy, GlobalDef, IntTy, Signature, TypeDef,
    TypeId, TypeKind,
};

impl<'a> Checker<'a> {
    /// The fixed builtin type ids, the C aliases for this target and the value builtins.
    pub(super) fn add_builtins(&mut self) {
        let scalars: [(TypeKind, u64); 15] = [
            (TypeKind::Void, 0),
            (TypeKind::Bool, 1),
            (TypeKind::Int(IntTy::I8), 1),
            (TypeKind::Int(IntTy::I16), 2),
            (TypeKind::Int(IntTy::I32), 4),
            (TypeKind::Int(IntTy::I64), 8),
            (TypeKind::Int(IntTy::U8), 1),
            (TypeKind::Int(IntTy::U16), 2),
            (TypeKind::Int(IntTy::U32), 4),
            (TypeKind::Int(IntTy::U64), 8),
            (TypeKind::Float(FloatTy::F32), 4),
            (TypeKind::Float(FloatTy::F64), 8),
            (TypeKind::Cstr, self.target.pointer_size()),
            (TypeKind::Null, self.target.pointer_size()),
            (TypeKind::Error, 0),
        ];
        for (kind, size) in scalars {
            self.push_type(kind, size, size.max(1), super::State::Done);
        }
        let long = if self.target.c_long_size() == 8 {
            (TypeId::I64, TypeId::U64)
        } else {
            (TypeId::I32, TypeId::U32)
        };
        let c_char = if self.target.c_char_signed() {
            TypeId::I8
        } else {
            TypeId::U8
        };
        let names: [(&str, TypeId); 27] = [
            ("void", TypeId::VOID),
            ("bool", TypeId::BOOL),
            ("i8", TypeId::I8),
            ("i16", TypeId::I16),
            ("i32", TypeId::I32),
            ("i64", TypeId::I64),
            ("u8", TypeId::U8),
            ("u16", TypeId::U16),
            ("u32", TypeId::U32),
            ("u64", TypeId::U64),
            ("isize", TypeId::I64),
            ("usize", TypeId::U64),
            ("f32", TypeId::F32),
            ("f64", TypeId::F64),
            ("cstr", TypeId::CSTR),
            ("c_char", c_char),
            ("c_schar", TypeId::I8),
            ("c_uchar", TypeId::U8),
            ("c_short", TypeId::I16),
            ("c_ushort", TypeId::U16),
            ("c_int", TypeId::I32),
            ("c_uint", TypeId::U32),
            ("c_long", long.0),
            ("c_ulong", long.1),
            ("c_longlong", TypeId::I64),
            ("c_ulonglong", TypeId::U64),
            ("size_t", TypeId::U64),
        ];
        for (name, id) in names {
            self.scope.insert(
                name.into(),
                Entry {
                    sym: Sym::Type(id),
                    span: None,
                },
            );
        }
        self.scope.insert(
            "ssize_t".into(),
            Entry {
                sym: Sym::Type(TypeId::I64),
                span: None,
            },
        );
        for (name, b) in [
            ("print", Builtin::Print),
            ("assert", Builtin::Assert),
            ("string", Builtin::String),
            ("exit", Builtin::Exit),
        ] {
            self.scope.insert(
                name.into(),
                Entry {
                    sym: Sym::Builtin(b),
                    span: None,
                },
            );
        }
    }

    /// Append a type table entry (with its side tables).
    pub(super) fn push_type(
        &mut self,
        kind: TypeKind,
        size: u64,
        align: u64,
        layout: State,
    ) -> TypeId {
        let id = TypeId(self.types.len() as u32);
        self.types.push(TypeDef { kind, size, align });
        self.layout_state.push(layout);
        self.type_origin.push(None);
        self.cycle_reported.push(false);
        id
    }

    /// Register `name` in the global scope, or report a duplicate.
    fn declare(&mut self, name: &ast::Ident, sym: Sym) -> bool {
        if let Some(prev) = self.scope.get(&name.name) {
            let mut d = Diagnostic::new(
                DiagKind::Duplicate,
                name.span,
                format!("`{}` is declared more than once", name.name),
            )
            .with_label("declared again here");
            d = match prev.span {
                Some(s) => d.with_note(s, "first declared here"),
                None => d.with_help(format!(
                    "`{}` is a builtin {}; choose another name",
                    name.name,
                    if prev.sym.is_type() {
                        "type"
                    } else {
                        "function"
                    }
                )),
            };
            self.error(d);
            return false;
        }
        self.scope.insert(
            name.name.clone(),
            Entry {
                sym,
                span: Some(name.span),
            },
        );
        true
    }

    /// Pass 2: register every declaration and top-level `let` of a file.
    pub(super) fn collect(&mut self, file: &'a ast::File) {
        for item in &file.items {
            match item {
                Item::Decl(decl) => self.collect_decl(decl),
                Item::Stmt(stmt) => {
                    if let StmtKind::Let { name, .. } = &stmt.kind {
                        let g = self.globals.len() as u32;
                        self.globals.push(GlobalDef {
                            name: name.name.clone(),
                            ty: TypeId::ERROR,
                            addr_taken: false,
                            span: name.span,
                        });
                        *self.global_lets.entry(name.name.clone()).or_insert(0) += 1;
                        // A top-level `let` may shadow an earlier top-level `let`.
                        if !matches!(self.lookup(&name.name), Some(Sym::Global(_))) {
                            self.declare(name, Sym::Global(g));
                        }
                    }
                }
            }
        }
    }

    fn collect_decl(&mut self, decl: &'a ast::Decl) {
        self.all_decls.push(decl);
        let named_kind = |name: &ast::Ident| -> TypeKind {
            let agg = Aggregate {
                name: name.name.clone(),
                fields: Vec::new(),
                span: name.span,
            };
            match &decl.kind {
                DeclKind::Struct { .. } => TypeKind::Struct(agg),
                DeclKind::Union { .. } => TypeKind::Union(agg),
                DeclKind::Enum { .. } => TypeKind::Enum(EnumDef {
                    name: name.name.clone(),
                    repr: IntTy::I32,
                    variants: Vec::new(),
                    span: name.span,
                }),
                _ => TypeKind::Callback(CallbackDef {
                    name: name.name.clone(),
                    sig: Signature {
                        params: Vec::new(),
                        variadic: false,
                        ret: TypeId::VOID,
                        abi: crate::tir::Abi::C,
                    },
                    span: name.span,
                }),
            }
        };
        match &decl.kind {
            DeclKind::Import(_) => {}
            DeclKind::Library { name, .. } => {
                let idx = self.libraries.len() as u32;
                self.libraries.push(crate::tir::Library {
                    name: name.name.clone(),
                    source: crate::tir::LibrarySource::PerOs(Vec::new()),
                    span: decl.span,
                });
                self.declare(name, Sym::Library(idx));
            }
            DeclKind::Struct { name, .. }
            | DeclKind::Union { name, .. }
            | DeclKind::Enum { name, .. }
            | DeclKind::Callback { name, .. } => {
                let id = self.push_type(named_kind(name), 0, 1, State::Todo);
                self.type_origin[id.index()] = Some(self.named.len() as u32);
                self.named.push(NamedType {
                    decl,
                    state: State::Todo,
                    opts: Default::default(),
                });
                if matches!(decl.kind, DeclKind::Callback { .. }) {
                    self.callbacks.push(id);
                    let ptr = self.target.pointer_size();
                    self.types[id.index()].size = ptr;
                    self.types[id.index()].align = ptr;
                    self.layout_state[id.index()] = State::Done;
                }
                self.declare(name, Sym::Type(id));
            }
            DeclKind::Opaque { name } => {
                let id = self.push_type(
                    TypeKind::Opaque {
                        name: name.name.clone(),
                        span: name.span,
                    },
                    0,
                    1,
                    State::Done,
                );
                self.declare(name, Sym::Type(id));
            }
            DeclKind::TypeAlias { name, ty } => {
                let idx = self.aliases.len() as u32;
                self.aliases.push(AliasEntry {
                    name,
                    ty,
                    state: State::Todo,
                    result: TypeId::ERROR,
                });
                self.declare(name, Sym::Alias(idx));
            }
            DeclKind::Const { name, ty, value } => {
                let idx = self.consts.len() as u32;
                self.consts.push(ConstEntry {
                    name,
                    ty: ty.as_ref(),
                    value,
                    span: decl.span,
                    state: State::Todo,
                    result: None,
                });
                self.declare(name, Sym::Const(idx));
            }
            DeclKind::Extern { lib, fns } => {
                for f in fns {
                    let idx = self.foreign_decls.len() as u32;
                    self.foreign_decls.push(ForeignEntry {
                        lib,
                        block_attrs: &decl.attrs,
                        decl: f,
                    });
                    self.foreign.push(None);
                    self.declare(&f.name, Sym::Foreign(idx));
                }
            }
            DeclKind::Fn(f) => {
                let idx = self.fns.len() as u32;
                self.fns.push(FnEntry {
                    decl: f,
                    params: Vec::new(),
                    ret: TypeId::VOID,
                });
                self.fn_bodies.push(None);
                self.declare(&f.name, Sym::Fn(idx));
            }
        }
    }

    /// Locals and parameters may not take the name of a value builtin (`print`,
    /// `assert`, `string`, `exit`): a `duplicate` diagnostic.
    pub(super) fn check_local_name(&mut self, name: &ast::Ident) {
        if let Some(Sym::Builtin(_)) = self.lookup(&name.name) {
            self.error(
                Diagnostic::new(
                    DiagKind::Duplicate,
                    name.span,
                    format!("`{}` is declared more than once", name.name),
                )
                .with_label("declared again here")
                .with_help(format!(
                    "`{}` is a builtin function; choose another name",
                    name.name
                )),
            );
        }
    }

    /// The global entry for a name (no diagnostics).
    pub(super) fn lookup(&self, name: &str) -> Option<Sym> {
        self.scope.get(name).map(|e| e.sym)
    }

    /// An `unknown-name` diagnostic with a suggestion among `candidates`.
    pub(super) fn unknown_name<'n>(
        &mut self,
        what: &str,
        name: &str,
        span: Span,
        candidates: impl IntoIterator<Item = &'n str>,
    ) {
        let mut d = Diagnostic::new(
            DiagKind::UnknownName,
            span,
            format!("unknown {what} `{name}`"),
        )
        .with_label("not declared");
        if let Some(s) = suggest(name, candidates) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        self.error(d);
    }

    /// Names in the global scope for which `keep` holds (suggestion candidates).
    pub(super) fn scope_names(&self, keep: impl Fn(Sym) -> bool) -> Vec<String> {
        let mut v: Vec<String> = self
            .scope
            .iter()
            .filter(|(_, e)| keep(e.sym))
            .map(|(n, _)| n.clone())
            .collect();
        v.sort();
        v
    }
}
