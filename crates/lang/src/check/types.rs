//! Type resolution: written types ([`ast::TypeExpr`]) to [`TypeId`]s, `type` aliases
//! (with cycle checks), interning of pointer and array types, and resolution of every
//! declaration (struct/union fields, enum variants, callback and function signatures,
//! foreign functions, libraries). Owns `invalid-type` diagnostics for misplaced types.

use super::attrs::AttrTarget;
use super::{Checker, State, Sym};
use crate::ast::{self, DeclKind, LibSource, TypeExprKind};
use crate::diag::{DiagKind, Diagnostic};
use crate::span::Span;
use crate::tir::{
    Abi, FieldDef, ForeignFn, IntTy, LibId, LibrarySource, Signature, TypeId, TypeKind, VariantDef,
};

/// Where a type is used, for the "sized value type" rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Use {
    Field,
    Param,
    /// A foreign or callback parameter/return (C cannot pass arrays by value).
    ForeignParam,
    Variable,
    Element,
    /// The operand of `sizeof`/`alignof`.
    Measured,
}

impl Use {
    fn what(self) -> &'static str {
        match self {
            Use::Field => "a field",
            Use::Param | Use::ForeignParam => "a parameter",
            Use::Variable => "a variable",
            Use::Element => "an array element",
            Use::Measured => "`sizeof`/`alignof`",
        }
    }
}

impl<'a> Checker<'a> {
    /// Resolve a written type. Reports unknown names; any type may result (use
    /// [`Checker::require_value`] where only sized value types are allowed).
    pub(super) fn resolve_type(&mut self, te: &'a ast::TypeExpr) -> TypeId {
        match &te.kind {
            TypeExprKind::Error => TypeId::ERROR,
            TypeExprKind::Named(id) => self.type_by_name(id),
            TypeExprKind::Ptr { is_const, pointee } => {
                let p = self.resolve_type(pointee);
                self.ptr_to(p, *is_const)
            }
            TypeExprKind::Array { elem, len } => {
                let e = self.resolve_type(elem);
                let e = self.require_value(e, elem.span, Use::Element);
                let n = self.const_int(len);
                match n {
                    Some(n) if n >= 0 && n <= u32::MAX as i128 => self.array_of(e, n as u64),
                    Some(n) => {
                        self.error(
                            Diagnostic::new(
                                DiagKind::Const,
                                len.span,
                                format!("array length must be from 0 to 4294967295, found {n}"),
                            )
                            .with_label("invalid length"),
                        );
                        TypeId::ERROR
                    }
                    None => TypeId::ERROR,
                }
            }
        }
    }

    /// The type a name denotes (through aliases), reporting unknown names.
    pub(super) fn type_by_name(&mut self, id: &ast::Ident) -> TypeId {
        match self.lookup(&id.name) {
            Some(Sym::Type(t)) => t,
            Some(Sym::Alias(a)) => self.alias(a),
            Some(_) => {
                self.error(
                    Diagnostic::new(
                        DiagKind::InvalidType,
                        id.span,
                        format!("`{}` is not a type", id.name),
                    )
                    .with_label("a value, not a type"),
                );
                TypeId::ERROR
            }
            None => {
                let names = self.scope_names(Sym::is_type);
                self.unknown_name("type", &id.name, id.span, names.iter().map(String::as_str));
                TypeId::ERROR
            }
        }
    }

    fn alias(&mut self, a: u32) -> TypeId {
        let i = a as usize;
        match self.aliases[i].state {
            State::Done => self.aliases[i].result,
            State::Busy => {
                let name = self.aliases[i].name;
                self.error(
                    Diagnostic::new(
                        DiagKind::InvalidType,
                        name.span,
                        format!("type alias `{}` refers to itself", name.name),
                    )
                    .with_label("cyclic alias"),
                );
                self.aliases[i].state = State::Done;
                TypeId::ERROR
            }
            State::Todo => {
                self.aliases[i].state = State::Busy;
                let t = self.resolve_type(self.aliases[i].ty);
                if self.aliases[i].state == State::Busy {
                    self.aliases[i].result = t;
                    self.aliases[i].state = State::Done;
                }
                self.aliases[i].result
            }
        }
    }

    /// The interned `*T` / `*const T`.
    pub(super) fn ptr_to(&mut self, pointee: TypeId, is_const: bool) -> TypeId {
        if pointee == TypeId::ERROR {
            return TypeId::ERROR;
        }
        if let Some(&t) = self.ptr_types.get(&(pointee, is_const)) {
            return t;
        }
        let size = self.target.pointer_size();
        let t = self.push_type(TypeKind::Ptr { pointee, is_const }, size, size, State::Done);
        self.ptr_types.insert((pointee, is_const), t);
        t
    }

    /// The interned `[T; N]` (layout computed on demand).
    pub(super) fn array_of(&mut self, elem: TypeId, len: u64) -> TypeId {
        if elem == TypeId::ERROR {
            return TypeId::ERROR;
        }
        if let Some(&t) = self.array_types.get(&(elem, len)) {
            return t;
        }
        let t = self.push_type(TypeKind::Array { elem, len }, 0, 1, State::Todo);
        self.array_types.insert((elem, len), t);
        t
    }

    /// Check that `ty` may be stored in `usage` (sized, not `void`, not opaque; no
    /// arrays for C parameters). Returns `ty`, or `ERROR` after reporting.
    pub(super) fn require_value(&mut self, ty: TypeId, span: Span, usage: Use) -> TypeId {
        let problem = match &self.types[ty.index()].kind {
            TypeKind::Void | TypeKind::Opaque { .. } if usage == Use::Measured => {
                Some(format!("`{}` has no size", self.type_name(ty)))
            }
            TypeKind::Void => Some(format!(
                "`void` cannot be the type of {}; it is only allowed as a return type or behind a pointer",
                usage.what()
            )),
            TypeKind::Opaque { name, .. } => Some(format!(
                "opaque type `{name}` cannot be the type of {}; use a pointer `*{name}`",
                usage.what()
            )),
            TypeKind::Array { .. } if usage == Use::ForeignParam => Some(
                "arrays cannot be passed to or returned from C by value; use a pointer".to_string(),
            ),
            _ => None,
        };
        match problem {
            Some(msg) => {
                self.error(
                    Diagnostic::new(DiagKind::InvalidType, span, msg)
                        .with_label("invalid type here"),
                );
                TypeId::ERROR
            }
            None => ty,
        }
    }

    /// A return type: `void` or a value type.
    fn return_type(&mut self, te: Option<&'a ast::TypeExpr>, foreign: bool) -> TypeId {
        match te {
            None => TypeId::VOID,
            Some(te) => {
                let t = self.resolve_type(te);
                if t == TypeId::VOID {
                    t
                } else {
                    let usage = if foreign {
                        Use::ForeignParam
                    } else {
                        Use::Param
                    };
                    self.require_value(t, te.span, usage)
                }
            }
        }
    }

    /// Resolve a declared struct/union (fields), enum (repr, variants) or callback
    /// (signature), once.
    pub(super) fn resolve_named(&mut self, id: TypeId) {
        let Some(origin) = self.type_origin[id.index()] else {
            return;
        };
        let o = origin as usize;
        if self.named[o].state != State::Todo {
            return;
        }
        self.named[o].state = State::Busy;
        let decl = self.named[o].decl;
        match &decl.kind {
            DeclKind::Struct { fields, .. } | DeclKind::Union { fields, .. } => {
                let on = if matches!(decl.kind, DeclKind::Struct { .. }) {
                    AttrTarget::Struct
                } else {
                    AttrTarget::Union
                };
                let set = self.attrs(&decl.attrs, on);
                self.named[o].opts = super::layout::LayoutOptions {
                    packed: set.packed,
                    min_align: set.align,
                    zig: set.zig,
                };
                let mut defs: Vec<FieldDef> = Vec::with_capacity(fields.len());
                for f in fields {
                    if let Some(prev) = defs.iter().find(|d| d.name == f.name.name) {
                        let prev = prev.span;
                        self.error(
                            Diagnostic::new(
                                DiagKind::Duplicate,
                                f.name.span,
                                format!("field `{}` is declared more than once", f.name.name),
                            )
                            .with_label("declared again here")
                            .with_note(prev, "first declared here"),
                        );
                        continue;
                    }
                    let t = self.resolve_type(&f.ty);
                    let t = self.require_value(t, f.ty.span, Use::Field);
                    defs.push(FieldDef {
                        name: f.name.name.clone(),
                        ty: t,
                        offset: 0,
                        span: f.name.span,
                    });
                }
                if let TypeKind::Struct(a) | TypeKind::Union(a) = &mut self.types[id.index()].kind {
                    a.fields = defs;
                }
            }
            DeclKind::Enum { repr, variants, .. } => {
                self.attrs(&decl.attrs, AttrTarget::Other("an enum"));
                let repr_ty = match repr {
                    None => TypeId::I32,
                    Some(te) => {
                        let t = self.resolve_type(te);
                        match self.types[t.index()].kind {
                            TypeKind::Int(_) | TypeKind::Error => t,
                            _ => {
                                let name = self.type_name(t);
                                self.error(
                                    Diagnostic::new(
                                        DiagKind::InvalidType,
                                        te.span,
                                        format!(
                                            "enum repr must be an integer type, found `{name}`"
                                        ),
                                    )
                                    .with_label("not an integer type"),
                                );
                                TypeId::ERROR
                            }
                        }
                    }
                };
                let int = match self.types[repr_ty.index()].kind {
                    TypeKind::Int(i) => i,
                    _ => IntTy::I32,
                };
                if let TypeKind::Enum(e) = &mut self.types[id.index()].kind {
                    e.repr = int;
                }
                let mut next: Option<i128> = Some(0);
                for v in variants {
                    let dup = match &self.types[id.index()].kind {
                        TypeKind::Enum(e) => e
                            .variants
                            .iter()
                            .find(|x| x.name == v.name.name)
                            .map(|x| x.span),
                        _ => None,
                    };
                    if let Some(prev) = dup {
                        self.error(
                            Diagnostic::new(
                                DiagKind::Duplicate,
                                v.name.span,
                                format!("variant `{}` is declared more than once", v.name.name),
                            )
                            .with_label("declared again here")
                            .with_note(prev, "first declared here"),
                        );
                        continue;
                    }
                    let value = match &v.value {
                        Some(e) => self.const_int_of(e, TypeId::of_int(int)),
                        None => match next {
                            Some(n) if int.fits(n) => Some(n),
                            Some(n) => {
                                self.error(
                                    Diagnostic::new(
                                        DiagKind::Const,
                                        v.name.span,
                                        format!(
                                            "implicit value {n} of `{}` does not fit the enum repr `{}`",
                                            v.name.name,
                                            int.name()
                                        ),
                                    )
                                    .with_label("previous value + 1"),
                                );
                                None
                            }
                            None => None,
                        },
                    };
                    next = value.map(|x| x + 1);
                    if let TypeKind::Enum(e) = &mut self.types[id.index()].kind {
                        e.variants.push(VariantDef {
                            name: v.name.name.clone(),
                            value: value.unwrap_or(0),
                            span: v.name.span,
                        });
                    }
                }
            }
            DeclKind::Callback { sig, .. } => {
                let set = self.attrs(&decl.attrs, AttrTarget::Callback);
                if let Some(span) = sig.variadic {
                    self.error(
                        Diagnostic::new(DiagKind::Invalid, span, "a callback cannot be variadic")
                            .with_label("`...` not allowed here"),
                    );
                }
                let s = self.signature(sig, set.abi.unwrap_or(Abi::C));
                if let TypeKind::Callback(c) = &mut self.types[id.index()].kind {
                    c.sig = s;
                }
            }
            _ => {}
        }
        self.named[o].state = State::Done;
    }

    /// A C signature (foreign function or callback).
    fn signature(&mut self, sig: &'a ast::FnSig, abi: Abi) -> Signature {
        let mut params = Vec::with_capacity(sig.params.len());
        for (i, p) in sig.params.iter().enumerate() {
            if let Some(prev) = sig.params[..i].iter().find(|q| q.name.name == p.name.name) {
                self.error(
                    Diagnostic::new(
                        DiagKind::Duplicate,
                        p.name.span,
                        format!("parameter `{}` is declared more than once", p.name.name),
                    )
                    .with_label("declared again here")
                    .with_note(prev.name.span, "first declared here"),
                );
            }
            let t = self.resolve_type(&p.ty);
            params.push(self.require_value(t, p.ty.span, Use::ForeignParam));
        }
        Signature {
            params,
            variadic: sig.variadic.is_some(),
            ret: self.return_type(sig.ret.as_ref(), true),
            abi,
        }
    }

    /// Pass 3: resolve every declaration (in source order), so every error is reported
    /// even for unused declarations.
    pub(super) fn resolve_declarations(&mut self) {
        for i in 0..self.types.len() {
            let id = TypeId(i as u32);
            if self.type_origin[i].is_some() {
                self.resolve_named(id);
                self.layout(id);
            }
        }
        for a in 0..self.aliases.len() {
            self.alias(a as u32);
        }
        for c in 0..self.consts.len() {
            self.const_value(c as u32);
        }
        self.resolve_libraries();
        for f in 0..self.foreign_decls.len() {
            self.resolve_foreign(f);
        }
        for f in 0..self.fns.len() {
            self.resolve_fn_sig(f);
        }
        // Types created while resolving (arrays of structs, ...) get their layouts too.
        for i in 0..self.types.len() {
            self.layout(TypeId(i as u32));
        }
    }

    /// Libraries, and attributes of declarations that take none.
    fn resolve_libraries(&mut self) {
        for i in 0..self.all_decls.len() {
            let decl = self.all_decls[i];
            let what = match &decl.kind {
                DeclKind::Library { .. } => {
                    self.resolve_library(decl);
                    continue;
                }
                DeclKind::Extern { .. } => {
                    self.attrs(&decl.attrs, AttrTarget::ExternBlock);
                    continue;
                }
                DeclKind::Import(_) => "an import",
                DeclKind::Const { .. } => "a constant",
                DeclKind::Opaque { .. } => "an opaque type",
                DeclKind::TypeAlias { .. } => "a type alias",
                DeclKind::Fn(_) => "a script function",
                _ => continue,
            };
            self.attrs(&decl.attrs, AttrTarget::Other(what));
        }
    }

    fn resolve_foreign(&mut self, f: usize) {
        let entry = &self.foreign_decls[f];
        let (lib, block_attrs, decl) = (entry.lib, entry.block_attrs, entry.decl);
        let library = match self.lookup(&lib.name) {
            Some(Sym::Library(l)) => Some(LibId(l)),
            Some(_) => {
                self.error(
                    Diagnostic::new(
                        DiagKind::Invalid,
                        lib.span,
                        format!("`{}` is not a library", lib.name),
                    )
                    .with_label("expected a `library` name"),
                );
                None
            }
            None => {
                let names = self.scope_names(|s| matches!(s, Sym::Library(_)));
                self.unknown_name(
                    "library",
                    &lib.name,
                    lib.span,
                    names.iter().map(String::as_str),
                );
                None
            }
        };
        // The block's attributes are validated (and reported) once, in
        // `resolve_libraries`.
        let block_set = self.attrs_silent_abi(block_attrs);
        let set = self.attrs(&decl.attrs, AttrTarget::ExternFn);
        let abi = set.abi.or(block_set.abi).unwrap_or(Abi::C);
        let sig = self.signature(&decl.sig, abi);
        if let Some(library) = library {
            self.foreign[f] = Some(ForeignFn {
                name: decl.name.name.clone(),
                symbol: set.symbol.unwrap_or_else(|| decl.name.name.clone()),
                library,
                param_names: decl
                    .sig
                    .params
                    .iter()
                    .map(|p| p.name.name.clone())
                    .collect(),
                sig,
                span: decl.span,
            });
        }
    }

    /// The `@abi` of an already validated `extern` block, without reporting again.
    fn attrs_silent_abi(&mut self, attrs: &'a [ast::Attr]) -> super::attrs::AttrSet {
        let before = self.diags.len();
        let set = self.attrs(attrs, AttrTarget::ExternBlock);
        self.diags.truncate(before);
        set
    }

    fn resolve_fn_sig(&mut self, f: usize) {
        let decl = self.fns[f].decl;
        let mut params = Vec::with_capacity(decl.params.len());
        for (i, p) in decl.params.iter().enumerate() {
            if let Some(prev) = decl.params[..i].iter().find(|q| q.name.name == p.name.name) {
                self.error(
                    Diagnostic::new(
                        DiagKind::Duplicate,
                        p.name.span,
                        format!("parameter `{}` is declared more than once", p.name.name),
                    )
                    .with_label("declared again here")
                    .with_note(prev.name.span, "first declared here"),
                );
            }
            let t = self.resolve_type(&p.ty);
            params.push(self.require_value(t, p.ty.span, Use::Param));
        }
        let ret = self.return_type(decl.ret.as_ref(), false);
        self.fns[f].params = params;
        self.fns[f].ret = ret;
    }

    /// Resolve a `library` declaration's sources.
    pub(super) fn resolve_library(&mut self, decl: &'a ast::Decl) {
        let DeclKind::Library { name, source } = &decl.kind else {
            return;
        };
        self.attrs(&decl.attrs, AttrTarget::Other("a library"));
        let Some(Sym::Library(l)) = self.lookup(&name.name) else {
            return;
        };
        if self.libraries[l as usize].span != decl.span {
            return; // a duplicate declaration, already reported
        }
        let src = match source {
            LibSource::Path(p) => LibrarySource::Path(p.value.clone()),
            LibSource::PerOs(entries) => {
                let mut out: Vec<(String, String)> = Vec::new();
                let mut seen: Vec<&ast::Ident> = Vec::new();
                for (key, path) in entries {
                    if !matches!(key.name.as_str(), "linux" | "macos" | "windows") {
                        let mut d = Diagnostic::new(
                            DiagKind::Invalid,
                            key.span,
                            format!("unknown operating system `{}`; expected `linux`, `macos` or `windows`", key.name),
                        );
                        if let Some(s) =
                            crate::diag::suggest(&key.name, ["linux", "macos", "windows"])
                        {
                            d = d.with_help(format!("did you mean `{s}`?"));
                        }
                        self.error(d);
                        continue;
                    }
                    if let Some(prev) = seen.iter().find(|k| k.name == key.name) {
                        self.error(
                            Diagnostic::new(
                                DiagKind::Duplicate,
                                key.span,
                                format!("`{}` is given more than once", key.name),
                            )
                            .with_note(prev.span, "first given here"),
                        );
                        continue;
                    }
                    seen.push(key);
                    out.push((key.name.clone(), path.value.clone()));
                }
                LibrarySource::PerOs(out)
            }
        };
        self.libraries[l as usize].source = src;
    }

    /// How a type is written, for messages.
    pub(super) fn type_name(&self, t: TypeId) -> String {
        crate::tir::type_name(&self.types, t)
    }
}
