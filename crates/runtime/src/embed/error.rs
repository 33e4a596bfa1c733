//! The one error type of the embedding API: a kind to match on, a location where the
//! error has one, and the text a user should see (diagnostics rendered by ariadne).

use ffidl_lang::diag::{render, DiagKind, Diagnostic};
use ffidl_lang::span::{SourceMap, Span};
use std::fmt;

/// What kind of failure an [`Error`] is.
///
/// ```
/// let err = ffidl::Runtime::new().load_str("bad.ffidl", "let x: i32 = ;").unwrap_err();
/// assert_eq!(err.kind(), ffidl::ErrorKind::Parse);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be read (missing, a directory, not UTF-8): the file loaded, or
    /// one it imports (then located at the `import`).
    Io,
    /// The source does not lex or parse.
    Parse,
    /// The program does not type-check (names, types, imports, attributes, constants).
    Type,
    /// A declared library cannot be loaded.
    LibraryNotFound,
    /// A declared symbol is not in its library.
    SymbolNotFound,
    /// A Rust type's layout does not match the declared struct, union or array.
    Layout,
    /// A signature the calling convention cannot express, or a backend that cannot run.
    AbiUnsupported,
    /// A script failed while running (runtime error or failed `assert`).
    Runtime,
    /// Every callback trampoline of the assembly fallback is in use.
    CallbackTableFull,
    /// No function, type or field of that name is declared.
    UnknownName,
    /// A Rust function or closure type does not match the declared signature.
    SignatureMismatch,
    /// A value of the wrong kind, out of range, or the wrong number of values.
    ValueMismatch,
}

impl ErrorKind {
    /// A stable lower-case name (`parse`, `library-not-found`, ...), as the C API reports.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::Parse => "parse",
            ErrorKind::Type => "type",
            ErrorKind::LibraryNotFound => "library-not-found",
            ErrorKind::SymbolNotFound => "symbol-not-found",
            ErrorKind::Layout => "layout",
            ErrorKind::AbiUnsupported => "abi-unsupported",
            ErrorKind::Runtime => "runtime",
            ErrorKind::CallbackTableFull => "callback-table-full",
            ErrorKind::UnknownName => "unknown-name",
            ErrorKind::SignatureMismatch => "signature-mismatch",
            ErrorKind::ValueMismatch => "value-mismatch",
        }
    }

    fn of_diag(kind: DiagKind) -> ErrorKind {
        match kind {
            DiagKind::Lex | DiagKind::Syntax => ErrorKind::Parse,
            DiagKind::ImportNotFound => ErrorKind::Io,
            DiagKind::LibraryNotFound => ErrorKind::LibraryNotFound,
            DiagKind::SymbolNotFound => ErrorKind::SymbolNotFound,
            DiagKind::AbiUnsupported => ErrorKind::AbiUnsupported,
            DiagKind::Runtime => ErrorKind::Runtime,
            _ => ErrorKind::Type,
        }
    }
}

/// Where in a `.ffidl` source an error was found (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file name as given (or the name given to [`crate::Runtime::load_str`]).
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// An embedding API failure: its [`ErrorKind`], its [`Location`] when it comes from a
/// declaration or statement, and its text. `Display` shows the whole text (for
/// diagnostics, as `ffidl check` renders them, without colour).
#[derive(Clone, Debug)]
pub struct Error {
    // Boxed: a `Result` that carries an `Error` stays as small as its `Ok` side.
    inner: Box<ErrorInner>,
}

#[derive(Clone, Debug)]
struct ErrorInner {
    kind: ErrorKind,
    message: String,
    rendered: String,
    location: Option<Location>,
}

impl Error {
    /// An error with no location.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        let message = message.into();
        Error {
            inner: Box::new(ErrorInner {
                kind,
                rendered: message.clone(),
                message,
                location: None,
            }),
        }
    }

    /// An [`ErrorKind::UnknownName`] error: `message`, plus a "did you mean" for the
    /// closest of `candidates` to `name`.
    pub(crate) fn unknown_name<'a>(
        message: String,
        name: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Error {
        let hint = ffidl_lang::diag::suggest(name, candidates)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        Error::new(ErrorKind::UnknownName, format!("{message}{hint}"))
    }

    /// An error from diagnostics (at least one); the kind and location are the first's.
    pub(crate) fn from_diagnostics(map: &SourceMap, diags: &[Diagnostic]) -> Error {
        let Some(first) = diags.first() else {
            return Error::new(ErrorKind::Type, "no diagnostics");
        };
        Error {
            inner: Box::new(ErrorInner {
                kind: ErrorKind::of_diag(first.kind),
                message: first.message.clone(),
                rendered: render(map, diags),
                location: locate(map, first.span),
            }),
        }
    }

    /// Attach the location of `span` (kept only when the span is in a known file).
    pub(crate) fn at(mut self, map: &SourceMap, span: Span) -> Error {
        let inner = &mut *self.inner;
        inner.location = locate(map, span);
        if let Some(loc) = &inner.location {
            inner.rendered = format!("{loc}: {}", inner.message);
        }
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The first diagnostic's message, or the error's one-line message.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The full text: every diagnostic rendered with its source excerpt.
    pub fn rendered(&self) -> &str {
        &self.inner.rendered
    }

    /// Where the (first) error is, when it has a place in a source file.
    pub fn location(&self) -> Option<&Location> {
        self.inner.location.as_ref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.rendered)
    }
}

impl std::error::Error for Error {}

fn locate(map: &SourceMap, span: Span) -> Option<Location> {
    let file = map.files().find(|(id, _)| *id == span.file)?.1;
    let (line, column) = file.line_col(span.start as usize);
    Some(Location {
        file: file.name.clone(),
        line,
        column,
    })
}
