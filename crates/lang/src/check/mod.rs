//! The checker: imports, names, types, layouts, constants and type checking,
//! producing the typed program ([`crate::tir::Program`]) that the runtime executes.
//!
//! Owns the order of the passes, and the checker state they share (`Checker`):
//! 1. `imports`: read the root file and every import (once each), parse them; stop on
//!    syntax or import errors.
//! 2. `scope`: put every declaration of every file into one global scope.
//! 3. `types`, `layout`, `consts`, `attrs`: resolve every declaration. These are
//!    demand-driven (a constant may need a `sizeof`, an array length a constant), each
//!    with a cycle check.
//! 4. `typeck` / `stmts`: check the top-level statements (which fixes the globals'
//!    types), then every function body.
//!
//! Errors never stop a pass: an erroneous type or expression gets [`TypeId::ERROR`],
//! which unifies with everything, so one mistake gives one diagnostic.

mod attrs;
mod consts;
mod imports;
pub mod layout;
mod scope;
mod stmts;
mod typeck;
mod types;

#[cfg(test)]
mod tests;

pub use crate::tir::{Program, TypeLayout};

use crate::ast;
use crate::diag::Diagnostic;
use crate::span::{SourceMap, Span};
use crate::target::Target;
use crate::tir::{Body, ConstDef, ForeignFn, GlobalDef, Library, ScriptFn, TypeDef, TypeId};
use std::collections::HashMap;
use std::path::PathBuf;

/// Check a root source file and everything it imports.
///
/// `name` is what diagnostics show for this file; `path` (when the text came from
/// disk) anchors relative imports and cycle detection. Imports are read from disk and
/// added to `map`.
pub fn check_source(
    map: &mut SourceMap,
    name: &str,
    path: Option<PathBuf>,
    text: String,
    target: Target,
) -> Result<Program, Vec<Diagnostic>> {
    let (files, mut diags) = imports::load(map, name, path, text);
    if !diags.is_empty() {
        diags.sort_by_key(|d| (d.span.file, d.span.start));
        return Err(diags);
    }
    let mut checker = Checker::new(target);
    checker.run(&files);
    if checker.diags.is_empty() {
        Ok(checker.finish())
    } else {
        // Passes find errors in their own order; show them in source order.
        let mut diags = checker.diags;
        diags.sort_by_key(|d| (d.span.file, d.span.start));
        Err(diags)
    }
}

/// Progress of a demand-driven resolution (for cycle detection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Todo,
    Busy,
    Done,
}

/// What a name in the global scope denotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sym {
    /// A builtin, C alias or declared struct/union/enum/opaque/callback type.
    Type(TypeId),
    /// A `type` alias (index into `Checker::aliases`).
    Alias(u32),
    Const(u32),
    Fn(u32),
    Foreign(u32),
    Library(u32),
    Global(u32),
    Builtin(crate::tir::Builtin),
}

impl Sym {
    fn is_type(self) -> bool {
        matches!(self, Sym::Type(_) | Sym::Alias(_))
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    sym: Sym,
    /// The declaring name's span (`None` for builtins).
    span: Option<Span>,
}

/// A declared struct, union, enum or callback type awaiting (or done with) resolution.
struct NamedType<'a> {
    decl: &'a ast::Decl,
    /// Field/variant/signature resolution.
    state: State,
    /// Layout attributes (valid once `state` is `Done`).
    opts: layout::LayoutOptions,
}

struct AliasEntry<'a> {
    name: &'a ast::Ident,
    ty: &'a ast::TypeExpr,
    state: State,
    result: TypeId,
}

struct ConstEntry<'a> {
    name: &'a ast::Ident,
    ty: Option<&'a ast::TypeExpr>,
    value: &'a ast::Expr,
    span: Span,
    state: State,
    result: Option<ConstDef>,
}

struct ForeignEntry<'a> {
    lib: &'a ast::Ident,
    block_attrs: &'a [ast::Attr],
    decl: &'a ast::ExternFn,
}

struct FnEntry<'a> {
    decl: &'a ast::FnDecl,
    params: Vec<TypeId>,
    ret: TypeId,
}

/// Shared state of all checker passes.
pub(crate) struct Checker<'a> {
    target: Target,
    diags: Vec<Diagnostic>,
    scope: HashMap<String, Entry>,
    /// The type table being built (becomes `Program::types`).
    types: Vec<TypeDef>,
    /// Per type: layout progress (`Done` once size/align/offsets are final).
    layout_state: Vec<State>,
    /// Per type: index into `named` for declared struct/union/enum/callback types.
    type_origin: Vec<Option<u32>>,
    /// Per type: whether a layout cycle was already reported for it.
    cycle_reported: Vec<bool>,
    ptr_types: HashMap<(TypeId, bool), TypeId>,
    array_types: HashMap<(TypeId, u64), TypeId>,
    named: Vec<NamedType<'a>>,
    aliases: Vec<AliasEntry<'a>>,
    consts: Vec<ConstEntry<'a>>,
    libraries: Vec<Library>,
    foreign_decls: Vec<ForeignEntry<'a>>,
    foreign: Vec<Option<ForeignFn>>,
    fns: Vec<FnEntry<'a>>,
    fn_bodies: Vec<Option<ScriptFn>>,
    globals: Vec<GlobalDef>,
    /// While checking the main body: the global slot a name currently denotes (a
    /// global is visible to top-level statements only after its `let`, and a later
    /// top-level `let` of the same name shadows it).
    main_globals: HashMap<String, u32>,
    /// How many top-level `let`s declare each global name (functions cannot refer to
    /// a name declared more than once).
    global_lets: HashMap<String, u32>,
    callbacks: Vec<TypeId>,
    /// Every declaration of every file, in execution order.
    all_decls: Vec<&'a ast::Decl>,
    main: Body,
}

impl<'a> Checker<'a> {
    fn new(target: Target) -> Checker<'a> {
        let mut c = Checker {
            target,
            diags: Vec::new(),
            scope: HashMap::new(),
            types: Vec::new(),
            layout_state: Vec::new(),
            type_origin: Vec::new(),
            cycle_reported: Vec::new(),
            ptr_types: HashMap::new(),
            array_types: HashMap::new(),
            named: Vec::new(),
            aliases: Vec::new(),
            consts: Vec::new(),
            libraries: Vec::new(),
            foreign_decls: Vec::new(),
            foreign: Vec::new(),
            fns: Vec::new(),
            fn_bodies: Vec::new(),
            globals: Vec::new(),
            main_globals: HashMap::new(),
            global_lets: HashMap::new(),
            callbacks: Vec::new(),
            all_decls: Vec::new(),
            main: Body::default(),
        };
        c.add_builtins();
        c
    }

    fn run(&mut self, files: &'a [(crate::span::FileId, ast::File)]) {
        for (_, file) in files {
            self.collect(file);
        }
        self.resolve_declarations();
        let items: Vec<&'a ast::Item> = files.iter().flat_map(|(_, f)| f.items.iter()).collect();
        self.check_main(&items);
        self.check_fn_bodies();
        // Types created while checking code (array literals, ...) get final layouts.
        for i in 0..self.types.len() {
            self.layout(TypeId(i as u32));
        }
    }

    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn finish(self) -> Program {
        let mut type_names: Vec<(String, TypeId)> = Vec::new();
        for (name, entry) in &self.scope {
            match entry.sym {
                Sym::Type(id) => type_names.push((name.clone(), id)),
                Sym::Alias(i) => type_names.push((name.clone(), self.aliases[i as usize].result)),
                _ => {}
            }
        }
        type_names.sort();
        Program {
            target: self.target,
            types: self.types,
            type_names,
            libraries: self.libraries,
            foreign_fns: self.foreign.into_iter().flatten().collect(),
            callbacks: self.callbacks,
            consts: self.consts.into_iter().filter_map(|c| c.result).collect(),
            functions: self.fn_bodies.into_iter().flatten().collect(),
            globals: self.globals,
            main: self.main,
        }
    }
}
