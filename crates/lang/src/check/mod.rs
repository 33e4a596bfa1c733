//! The checker: imports, names, types, layouts, constants and type checking,
//! producing the typed program that the runtime executes. (stub, being written)

use crate::diag::Diagnostic;
use crate::span::SourceMap;
use crate::target::Target;
use std::path::PathBuf;

pub use crate::tir::{Program, TypeLayout};

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
    let file = map.add(name, path, text);
    let (_ast, diagnostics) = crate::parse::parse(&map.get(file).text, file);
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    Ok(empty_program(target))
}

/// A program with the builtin type table and nothing else (stub until the checker lands).
fn empty_program(target: Target) -> Program {
    use crate::tir::{FloatTy, IntTy, TypeDef, TypeKind};
    let scalar = |kind: TypeKind, size: u64| TypeDef {
        kind,
        size,
        align: size.max(1),
    };
    let types = vec![
        TypeDef {
            kind: TypeKind::Void,
            size: 0,
            align: 1,
        },
        scalar(TypeKind::Bool, 1),
        scalar(TypeKind::Int(IntTy::I8), 1),
        scalar(TypeKind::Int(IntTy::I16), 2),
        scalar(TypeKind::Int(IntTy::I32), 4),
        scalar(TypeKind::Int(IntTy::I64), 8),
        scalar(TypeKind::Int(IntTy::U8), 1),
        scalar(TypeKind::Int(IntTy::U16), 2),
        scalar(TypeKind::Int(IntTy::U32), 4),
        scalar(TypeKind::Int(IntTy::U64), 8),
        scalar(TypeKind::Float(FloatTy::F32), 4),
        scalar(TypeKind::Float(FloatTy::F64), 8),
        scalar(TypeKind::Cstr, 8),
        scalar(TypeKind::Null, 8),
        scalar(TypeKind::Error, 0),
    ];
    Program {
        target,
        types,
        type_names: Vec::new(),
        libraries: Vec::new(),
        foreign_fns: Vec::new(),
        callbacks: Vec::new(),
        consts: Vec::new(),
        functions: Vec::new(),
        globals: Vec::new(),
        main: Default::default(),
    }
}
