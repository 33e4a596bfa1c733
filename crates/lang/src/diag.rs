//! Diagnostics: errors as values with spans, rendered by ariadne at the edge.
//!
//! Owns: the [`Diagnostic`] type every stage of the front end (and the runtime) reports
//! with, the closed list of diagnostic kinds ([`DiagKind`]), and rendering to text.
//! Nothing here decides *whether* something is an error.

use crate::span::{SourceMap, Span};

/// What went wrong, as a closed list; each kind has a stable code shown in output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiagKind {
    /// A character or token the lexer cannot read (bad escape, bad number, stray byte).
    Lex,
    /// The token stream does not match the grammar.
    Syntax,
    /// An `import` names a file that cannot be read.
    ImportNotFound,
    /// An `import` that leads back to a file already being imported.
    ImportCycle,
    /// A name declared twice in one scope.
    Duplicate,
    /// A name that is not declared.
    UnknownName,
    /// A type where it is not allowed (`void` field, `opaque` by value, ...), or a
    /// recursive struct by value.
    InvalidType,
    /// An attribute that is unknown, misplaced, or has bad arguments.
    Attribute,
    /// A constant expression that cannot be evaluated at check time.
    Const,
    /// Operand, argument or assignment types that do not match.
    TypeMismatch,
    /// A literal that cannot be represented in the type its context requires.
    LiteralOverflow,
    /// Wrong number of arguments, or a callback signature that does not match.
    Arity,
    /// Everything else the checker rejects (assignment to an rvalue, `break` outside a
    /// loop, `return` value in a void function, ...).
    Invalid,
    /// A library that cannot be loaded (runtime load stage).
    LibraryNotFound,
    /// A symbol that cannot be found in its library (runtime load stage).
    SymbolNotFound,
    /// A signature the target ABI cannot express.
    AbiUnsupported,
    /// An error while the program runs.
    Runtime,
}

impl DiagKind {
    /// Stable short code shown in rendered output, e.g. `E-unknown-name`.
    pub fn code(self) -> &'static str {
        match self {
            DiagKind::Lex => "lex",
            DiagKind::Syntax => "syntax",
            DiagKind::ImportNotFound => "import-not-found",
            DiagKind::ImportCycle => "import-cycle",
            DiagKind::Duplicate => "duplicate",
            DiagKind::UnknownName => "unknown-name",
            DiagKind::InvalidType => "invalid-type",
            DiagKind::Attribute => "attribute",
            DiagKind::Const => "const",
            DiagKind::TypeMismatch => "type-mismatch",
            DiagKind::LiteralOverflow => "literal-overflow",
            DiagKind::Arity => "arity",
            DiagKind::Invalid => "invalid",
            DiagKind::LibraryNotFound => "library-not-found",
            DiagKind::SymbolNotFound => "symbol-not-found",
            DiagKind::AbiUnsupported => "abi-unsupported",
            DiagKind::Runtime => "runtime",
        }
    }
}

/// One error, located.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub kind: DiagKind,
    /// One line, lower case, no trailing period: `unknown type `Pointt``.
    pub message: String,
    /// The offending span; underlined in output.
    pub span: Span,
    /// Text under the underline; defaults to nothing.
    pub label: Option<String>,
    /// Secondary spans with their notes (e.g. the first declaration of a duplicate).
    pub notes: Vec<(Span, String)>,
    /// A fix, when one is obvious: ``did you mean `Point`?``.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(kind: DiagKind, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            kind,
            message: message.into(),
            span,
            label: None,
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    pub fn with_note(mut self, span: Span, note: impl Into<String>) -> Diagnostic {
        self.notes.push((span, note.into()));
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
}

/// Render diagnostics as plain text (no colour): each is ariadne's report, headed
/// `[code] Error: message`, then the file, line and column and the underlined source.
pub fn render(map: &SourceMap, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&render_one(map, d));
    }
    out
}

/// Render one diagnostic; see [`render`].
pub fn render_one(map: &SourceMap, d: &Diagnostic) -> String {
    use ariadne::{Config, Label, Report, ReportKind};

    let file = map.get(d.span.file);
    let name = file.name.clone();
    let clamp = |s: Span| {
        let len = map.get(s.file).text.len();
        let a = (s.start as usize).min(len);
        let b = (s.end as usize).clamp(a, len);
        a..b
    };
    let mut report = Report::build(ReportKind::Error, (name.clone(), clamp(d.span)))
        .with_config(Config::default().with_color(false).with_compact(false))
        .with_code(d.kind.code())
        .with_message(&d.message);
    // ariadne draws an underline only for a label with text.
    let label = d.label.as_deref().unwrap_or("here");
    report = report.with_label(Label::new((name.clone(), clamp(d.span))).with_message(label));
    let mut sources = vec![(name.clone(), file.text.clone())];
    for (span, note) in &d.notes {
        let nname = map.get(span.file).name.clone();
        if !sources.iter().any(|(n, _)| *n == nname) {
            sources.push((nname.clone(), map.get(span.file).text.clone()));
        }
        report = report.with_label(Label::new((nname, clamp(*span))).with_message(note));
    }
    if let Some(h) = &d.help {
        report = report.with_help(h);
    }
    let mut buf = Vec::new();
    let cache = ariadne::sources(sources);
    match report.finish().write(cache, &mut buf) {
        Ok(()) => String::from_utf8_lossy(&buf).into_owned(),
        // Rendering only fails on I/O to a Vec (never) or a broken cache; keep the
        // essentials rather than nothing.
        Err(_) => format!(
            "[{}] Error: {}\n  at {}\n",
            d.kind.code(),
            d.message,
            map.location(d.span)
        ),
    }
}

/// Levenshtein-based suggestion: the candidate closest to `name`, if close enough
/// to be a likely typo (distance at most a third of the name's length, min 1).
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(suggest("Pointt", ["Point", "Vec4"]), Some("Point"));
        assert_eq!(suggest("zzz", ["Point", "Vec4"]), None);
    }
}

#[cfg(test)]
mod render_tests {
    use super::*;
    use crate::span::SourceMap;

    #[test]
    fn unlabelled_diagnostic_is_still_underlined_and_located() {
        let mut map = SourceMap::new();
        let f = map.add("a.ffidl", None, "let x = 1;\nlet y: Pointt = x;\n".into());
        let d = Diagnostic::new(
            DiagKind::UnknownName,
            Span::new(f, 18..24),
            "unknown type `Pointt`",
        )
        .with_help("did you mean `Point`?");
        let out = render(&map, &[d]);
        assert!(
            out.contains("[unknown-name] Error: unknown type `Pointt`"),
            "{out}"
        );
        assert!(out.contains("a.ffidl:2:8"), "{out}");
        assert!(out.contains("───┬──"), "{out}");
        assert!(out.contains("did you mean `Point`?"), "{out}");
    }
}
