//! The `.ffidl` language front end.
//!
//! Flow: [`lex`] (logos tokens with byte spans) → [`parse`] (chumsky → [`ast`]) →
//! [`check`] (imports, names, types, layouts, constants, type checking → a typed
//! program). Diagnostics are values ([`diag::Diagnostic`]) rendered by ariadne only at
//! the edge. Nothing after this crate looks at syntax.

pub mod ast;
pub mod check;
pub mod diag;
pub mod lex;
pub mod parse;
pub mod span;
pub mod target;
pub mod tir;

pub use check::{check_source, Program, TypeLayout};
pub use diag::{DiagKind, Diagnostic};
pub use span::{FileId, SourceMap, Span};
pub use target::Target;

use std::path::Path;

/// Read a source file for checking: a missing file, a directory, or text that is not
/// UTF-8 is a one-line error message (no span exists yet to point at).
pub fn read_source(path: &Path) -> Result<String, String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("{shown}: is a directory, not a .ffidl file"));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{shown}: not valid UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Read and check the file at `path` (diagnostics name it as given).
pub fn check_path(
    map: &mut SourceMap,
    path: &Path,
    target: Target,
) -> Result<Program, CheckFailure> {
    let text = read_source(path).map_err(CheckFailure::Unreadable)?;
    let canonical = path.canonicalize().ok();
    check_source(map, &path.display().to_string(), canonical, text, target)
        .map_err(CheckFailure::Diagnostics)
}

/// Why [`check_path`] failed.
#[derive(Debug)]
pub enum CheckFailure {
    /// The root file could not be read (one-line message).
    Unreadable(String),
    /// The program has errors.
    Diagnostics(Vec<Diagnostic>),
}
