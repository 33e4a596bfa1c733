//! The parser (chumsky): tokens → [`crate::ast::File`], with error recovery. (stub)

use crate::ast;
use crate::diag::Diagnostic;
use crate::span::FileId;

/// Parse a whole file. Always returns a tree (with `Error` placeholders where
/// recovery happened) plus every syntax diagnostic found.
pub fn parse(_src: &str, _file: FileId) -> (ast::File, Vec<Diagnostic>) {
    (ast::File::default(), Vec::new())
}
