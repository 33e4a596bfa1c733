//! The checker: imports, names, types, layouts, constants and type checking,
//! producing the typed program that the runtime executes. (stub, being written)

use crate::diag::Diagnostic;
use crate::span::SourceMap;
use crate::target::Target;
use std::path::PathBuf;

/// The typed program. (stub)
#[derive(Debug)]
pub struct Program {}

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
    /// Layout of the type declared (or built in) under `name`, if there is one.
    pub fn type_layout(&self, _name: &str) -> Option<TypeLayout> {
        None
    }
}

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
    let _ = target;
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    Ok(Program {})
}
