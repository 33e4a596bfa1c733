//! The lexer (logos): source text → tokens with byte spans.
//!
//! Owns: the [`Token`] set of the language (keywords, identifiers, literals with their
//! values already computed, punctuation) and [`lex`], which turns bad input into
//! `lex` diagnostics and keeps going. Comments (`//`, nested `/* */`) and whitespace
//! never reach the parser. Does not own: what tokens may follow each other (the parser).

use crate::diag::{DiagKind, Diagnostic};
use crate::span::{FileId, Span};
use logos::{Logos, Skip};
use std::fmt;
use std::ops::Range;

/// Problems found inside callbacks (escapes, numbers, comments), collected while lexing.
#[derive(Default)]
pub struct LexExtras {
    errors: Vec<(Range<usize>, String)>,
    /// Set when a string or block comment runs to the end of the file.
    unterminated: bool,
}

/// A token of the language. Literal tokens carry their value (escapes processed).
#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(extras = LexExtras)]
#[logos(skip r"[ \t\r\n\f\u{FEFF}]+")]
#[logos(skip(r"//[^\n]*", allow_greedy = true))]
pub enum Token {
    // Keywords.
    #[token("import")]
    Import,
    #[token("library")]
    Library,
    #[token("const")]
    Const,
    #[token("struct")]
    Struct,
    #[token("union")]
    Union,
    #[token("enum")]
    Enum,
    #[token("opaque")]
    Opaque,
    #[token("type")]
    Type,
    #[token("callback")]
    Callback,
    #[token("extern")]
    Extern,
    #[token("fn")]
    Fn,
    #[token("let")]
    Let,
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("while")]
    While,
    #[token("for")]
    For,
    #[token("in")]
    In,
    #[token("break")]
    Break,
    #[token("continue")]
    Continue,
    #[token("return")]
    Return,
    #[token("as")]
    As,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("null")]
    Null,
    #[token("sizeof")]
    Sizeof,
    #[token("alignof")]
    Alignof,
    #[token("offsetof")]
    Offsetof,
    #[token("alloc")]
    Alloc,

    #[regex("[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_string())]
    Ident(String),
    /// An integer literal's value (0 after an out-of-range diagnostic).
    #[regex("[0-9][0-9_]*", |lex| int_value(lex, 10, 0))]
    #[regex("0x[0-9A-Za-z_]*", |lex| int_value(lex, 16, 2))]
    #[regex("0o[0-9A-Za-z_]*", |lex| int_value(lex, 8, 2))]
    #[regex("0b[0-9A-Za-z_]*", |lex| int_value(lex, 2, 2))]
    Int(u64),
    #[regex(r"[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9][0-9_]*)?", float_value)]
    #[regex(r"[0-9][0-9_]*[eE][+-]?[0-9][0-9_]*", float_value)]
    Float(f64),
    /// A string literal's value after escape processing.
    #[token("\"", string_value)]
    Str(String),
    /// Only ever skipped (nested block comments are scanned by hand).
    #[token("/*", block_comment)]
    BlockComment,

    // Punctuation.
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":")]
    Colon,
    #[token("::")]
    ColonColon,
    #[token(".")]
    Dot,
    #[token("..")]
    DotDot,
    #[token("...")]
    Ellipsis,
    #[token("->")]
    Arrow,
    #[token("=")]
    Eq,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("&")]
    Amp,
    #[token("|")]
    Pipe,
    #[token("^")]
    Caret,
    #[token("<<")]
    Shl,
    #[token(">>")]
    Shr,
    #[token("~")]
    Tilde,
    #[token("!")]
    Bang,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
    #[token("+=")]
    PlusEq,
    #[token("-=")]
    MinusEq,
    #[token("*=")]
    StarEq,
    #[token("/=")]
    SlashEq,
    #[token("%=")]
    PercentEq,
    #[token("&=")]
    AmpEq,
    #[token("|=")]
    PipeEq,
    #[token("^=")]
    CaretEq,
    #[token("<<=")]
    ShlEq,
    #[token(">>=")]
    ShrEq,
    #[token("@")]
    At,
}

impl Token {
    /// The fixed spelling of keyword and punctuation tokens; `None` for literals and names.
    pub fn text(&self) -> Option<&'static str> {
        use Token::*;
        Some(match self {
            Import => "import",
            Library => "library",
            Const => "const",
            Struct => "struct",
            Union => "union",
            Enum => "enum",
            Opaque => "opaque",
            Type => "type",
            Callback => "callback",
            Extern => "extern",
            Fn => "fn",
            Let => "let",
            If => "if",
            Else => "else",
            While => "while",
            For => "for",
            In => "in",
            Break => "break",
            Continue => "continue",
            Return => "return",
            As => "as",
            True => "true",
            False => "false",
            Null => "null",
            Sizeof => "sizeof",
            Alignof => "alignof",
            Offsetof => "offsetof",
            Alloc => "alloc",
            LParen => "(",
            RParen => ")",
            LBrace => "{",
            RBrace => "}",
            LBracket => "[",
            RBracket => "]",
            Comma => ",",
            Semi => ";",
            Colon => ":",
            ColonColon => "::",
            Dot => ".",
            DotDot => "..",
            Ellipsis => "...",
            Arrow => "->",
            Eq => "=",
            EqEq => "==",
            NotEq => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            Plus => "+",
            Minus => "-",
            Star => "*",
            Slash => "/",
            Percent => "%",
            Amp => "&",
            Pipe => "|",
            Caret => "^",
            Shl => "<<",
            Shr => ">>",
            Tilde => "~",
            Bang => "!",
            AndAnd => "&&",
            OrOr => "||",
            PlusEq => "+=",
            MinusEq => "-=",
            StarEq => "*=",
            SlashEq => "/=",
            PercentEq => "%=",
            AmpEq => "&=",
            PipeEq => "|=",
            CaretEq => "^=",
            ShlEq => "<<=",
            ShrEq => ">>=",
            At => "@",
            Ident(_) | Int(_) | Float(_) | Str(_) | BlockComment => return None,
        })
    }
}

/// How a token is named in messages: `` `;` ``, `` `foo` ``, `integer literal`.
impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Ident(name) => write!(f, "`{name}`"),
            Token::Int(_) => f.write_str("integer literal"),
            Token::Float(_) => f.write_str("float literal"),
            Token::Str(_) => f.write_str("string literal"),
            Token::BlockComment => f.write_str("comment"),
            other => write!(f, "`{}`", other.text().unwrap_or("?")),
        }
    }
}

fn int_value(lex: &mut logos::Lexer<Token>, radix: u32, prefix: usize) -> u64 {
    let start = lex.span().start;
    let text = &lex.slice()[prefix..];
    let kind = match radix {
        16 => "hexadecimal",
        8 => "octal",
        2 => "binary",
        _ => "decimal",
    };
    if text.is_empty() || text.starts_with('_') {
        lex.extras.errors.push((
            lex.span(),
            format!("{kind} literal has no digits after its prefix"),
        ));
        return 0;
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    for (i, c) in text.char_indices() {
        if c == '_' {
            continue;
        }
        let Some(d) = c.to_digit(radix) else {
            let at = start + prefix + i;
            lex.extras.errors.push((
                at..at + c.len_utf8(),
                format!("invalid digit `{c}` in {kind} literal"),
            ));
            return 0;
        };
        match value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
    }
    if overflow {
        lex.extras.errors.push((
            lex.span(),
            "integer literal is too large (the maximum is 2^64-1)".to_string(),
        ));
        return 0;
    }
    value
}

fn float_value(lex: &mut logos::Lexer<Token>) -> f64 {
    let digits: String = lex.slice().chars().filter(|c| *c != '_').collect();
    // The regexes only admit text that Rust's float syntax accepts.
    digits.parse().unwrap_or(0.0)
}

/// Scans a nested `/* ... */` comment whose `/*` was just matched.
fn block_comment(lex: &mut logos::Lexer<Token>) -> Skip {
    let rest = lex.remainder().as_bytes();
    let mut depth = 1usize;
    let mut i = 0;
    while i < rest.len() {
        match (rest[i], rest.get(i + 1)) {
            (b'/', Some(b'*')) => {
                depth += 1;
                i += 2;
            }
            (b'*', Some(b'/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    lex.bump(i);
                    return Skip;
                }
            }
            _ => i += 1,
        }
    }
    lex.extras
        .errors
        .push((lex.span(), "unterminated block comment".to_string()));
    lex.extras.unterminated = true;
    lex.bump(rest.len());
    Skip
}

/// Scans a string literal whose opening `"` was just matched, processing escapes.
fn string_value(lex: &mut logos::Lexer<Token>) -> String {
    let open = lex.span();
    let base = open.end;
    let rest = lex.remainder();
    let mut value = String::new();
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                lex.bump(i + 1);
                return value;
            }
            '\\' => {
                let Some((j, e)) = chars.next() else { break };
                let simple = match e {
                    'n' => Some('\n'),
                    't' => Some('\t'),
                    'r' => Some('\r'),
                    '0' => Some('\0'),
                    '\\' => Some('\\'),
                    '"' => Some('"'),
                    '\'' => Some('\''),
                    _ => None,
                };
                if let Some(s) = simple {
                    value.push(s);
                    continue;
                }
                let esc_start = base + i;
                match e {
                    'x' => {
                        let mut digits = String::new();
                        while digits.len() < 2 {
                            match chars.peek() {
                                Some((_, h)) if h.is_ascii_hexdigit() => {
                                    digits.push(*h);
                                    chars.next();
                                }
                                _ => break,
                            }
                        }
                        let end = base + j + 1 + digits.len();
                        match u8::from_str_radix(&digits, 16) {
                            Ok(v) if digits.len() == 2 && v <= 0x7F => value.push(char::from(v)),
                            Ok(_) if digits.len() == 2 => lex.extras.errors.push((
                                esc_start..end,
                                "`\\x` escape must be at most `\\x7F` (use `\\u{..}` for other characters)".to_string(),
                            )),
                            _ => lex.extras.errors.push((
                                esc_start..end,
                                "`\\x` escape needs exactly two hexadecimal digits".to_string(),
                            )),
                        }
                    }
                    'u' => {
                        let mut end = base + j + 1;
                        if chars.peek().map(|(_, c)| *c) != Some('{') {
                            lex.extras.errors.push((
                                esc_start..end,
                                "`\\u` escape must be written `\\u{XXXX}`".to_string(),
                            ));
                            continue;
                        }
                        chars.next();
                        end += 1;
                        let mut digits = String::new();
                        let mut closed = false;
                        while let Some((k, h)) = chars.peek().copied() {
                            if h == '}' {
                                chars.next();
                                end = base + k + 1;
                                closed = true;
                                break;
                            }
                            if !h.is_ascii_hexdigit() {
                                break;
                            }
                            digits.push(h);
                            chars.next();
                            end = base + k + 1;
                        }
                        let scalar = u32::from_str_radix(&digits, 16)
                            .ok()
                            .filter(|_| closed && (1..=6).contains(&digits.len()))
                            .map(char::from_u32);
                        match scalar {
                            Some(Some(ch)) => value.push(ch),
                            Some(None) => lex.extras.errors.push((
                                esc_start..end,
                                format!("`\\u{{{digits}}}` is not a valid unicode scalar value"),
                            )),
                            None => lex.extras.errors.push((
                                esc_start..end,
                                "`\\u{..}` escape needs 1 to 6 hexadecimal digits and a closing `}`"
                                    .to_string(),
                            )),
                        }
                    }
                    other => lex.extras.errors.push((
                        esc_start..base + j + other.len_utf8(),
                        format!("unknown escape `\\{}`", other.escape_debug()),
                    )),
                }
            }
            other => value.push(other),
        }
    }
    lex.extras
        .errors
        .push((open, "unterminated string literal".to_string()));
    lex.extras.unterminated = true;
    lex.bump(rest.len());
    value
}

/// The output of [`lex_detailed`]: tokens, diagnostics, and whether a string or
/// comment ran to the end of the file (so "found end of input" errors are noise).
pub struct Lexed {
    pub tokens: Vec<(Token, Span)>,
    pub diagnostics: Vec<Diagnostic>,
    pub unterminated: bool,
}

/// Lex a whole file; lexing errors are reported and skipped.
pub fn lex(src: &str, file: FileId) -> (Vec<(Token, Span)>, Vec<Diagnostic>) {
    let lexed = lex_detailed(src, file);
    (lexed.tokens, lexed.diagnostics)
}

/// [`lex`], also telling whether the file ended inside a string or comment.
pub fn lex_detailed(src: &str, file: FileId) -> Lexed {
    let mut lexer = Token::lexer(src);
    let mut tokens = Vec::new();
    let mut errors: Vec<(Range<usize>, String)> = Vec::new();
    // A run of unreadable characters is one diagnostic.
    let mut bad_run: Option<Range<usize>> = None;
    let flush_bad = |run: &mut Option<Range<usize>>, errors: &mut Vec<(Range<usize>, String)>| {
        if let Some(r) = run.take() {
            let text = &src[r.clone()];
            let msg = if text.chars().count() == 1 {
                format!("unexpected character `{}`", text.escape_debug())
            } else {
                format!("unexpected characters `{}`", text.escape_debug())
            };
            errors.push((r, msg));
        }
    };
    while let Some(result) = lexer.next() {
        let range = lexer.span();
        errors.append(&mut lexer.extras.errors);
        match result {
            Ok(tok) => {
                flush_bad(&mut bad_run, &mut errors);
                tokens.push((tok, Span::new(file, range)));
            }
            Err(()) => match &mut bad_run {
                Some(run) if run.end == range.start => run.end = range.end,
                _ => {
                    flush_bad(&mut bad_run, &mut errors);
                    bad_run = Some(range);
                }
            },
        }
    }
    flush_bad(&mut bad_run, &mut errors);
    errors.append(&mut lexer.extras.errors);
    errors.sort_by_key(|(r, _)| (r.start, r.end));
    let diagnostics = errors
        .into_iter()
        .map(|(r, msg)| {
            let label = lex_label(&msg);
            Diagnostic::new(DiagKind::Lex, Span::new(file, r), msg).with_label(label)
        })
        .collect();
    Lexed {
        tokens,
        diagnostics,
        unterminated: lexer.extras.unterminated,
    }
}

/// The underline text for a lex diagnostic, by its message.
fn lex_label(message: &str) -> &'static str {
    if message.starts_with("unexpected character") {
        "not part of the language"
    } else if message.contains("escape") || message.contains("unicode") {
        "invalid escape"
    } else if message.starts_with("invalid digit") {
        "invalid digit"
    } else if message.contains("too large") {
        "does not fit in 64 bits"
    } else if message.contains("no digits") {
        "missing digits"
    } else if message.starts_with("unterminated string") {
        "string starts here"
    } else if message.starts_with("unterminated block comment") {
        "comment starts here"
    } else {
        "here"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Token> {
        let (t, d) = lex(src, FileId(0));
        assert!(d.is_empty(), "unexpected diagnostics for {src:?}: {d:?}");
        t.into_iter().map(|(t, _)| t).collect()
    }

    fn errs(src: &str) -> Vec<(Range<usize>, String)> {
        let (_, d) = lex(src, FileId(0));
        d.into_iter()
            .inspect(|d| assert_eq!(d.kind, DiagKind::Lex))
            .map(|d| (d.span.range(), d.message))
            .collect()
    }

    #[test]
    fn keywords_identifiers_and_builtin_type_names() {
        use Token::*;
        assert_eq!(
            toks("fn let sizeof alloc i32 cstr print letter _x"),
            vec![
                Fn,
                Let,
                Sizeof,
                Alloc,
                Ident("i32".into()),
                Ident("cstr".into()),
                Ident("print".into()),
                Ident("letter".into()),
                Ident("_x".into())
            ]
        );
    }

    #[test]
    fn integer_literals_in_every_radix() {
        use Token::*;
        assert_eq!(
            toks("42 0x2A 0o52 0b101010 1_000_000 18446744073709551615 0xFFFF_FFFF_FFFF_FFFF"),
            vec![
                Int(42),
                Int(42),
                Int(42),
                Int(42),
                Int(1_000_000),
                Int(u64::MAX),
                Int(u64::MAX)
            ]
        );
    }

    #[test]
    fn out_of_range_and_malformed_integers() {
        assert_eq!(
            errs("let x = 18446744073709551616;"),
            vec![(
                8..28,
                "integer literal is too large (the maximum is 2^64-1)".to_string()
            )]
        );
        assert_eq!(
            errs("0b102"),
            vec![(4..5, "invalid digit `2` in binary literal".to_string())]
        );
        assert_eq!(
            errs("0x"),
            vec![(
                0..2,
                "hexadecimal literal has no digits after its prefix".to_string()
            )]
        );
        // lexing continues after the error
        let (t, _) = lex("0b2 + 1", FileId(0));
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn floats_and_ranges() {
        use Token::*;
        assert_eq!(
            toks("1.5 2.0e-3 1e9 1E+9 1_0.2_5"),
            vec![
                Float(1.5),
                Float(2.0e-3),
                Float(1e9),
                Float(1e9),
                Float(10.25)
            ]
        );
        assert_eq!(toks("0..4"), vec![Int(0), DotDot, Int(4)]);
        assert_eq!(toks("1."), vec![Int(1), Dot]);
        assert_eq!(toks(".5"), vec![Dot, Int(5)]);
        assert_eq!(
            toks("a...b"),
            vec![Ident("a".into()), Ellipsis, Ident("b".into())]
        );
    }

    #[test]
    fn string_escapes_become_values() {
        assert_eq!(
            toks(r#""a\n\t\r\0\\\"\'\x41\u{48}\u{1F600}é""#),
            vec![Token::Str("a\n\t\r\0\\\"'AH\u{1F600}é".into())]
        );
        assert_eq!(
            toks("\"two\nlines\""),
            vec![Token::Str("two\nlines".into())]
        );
    }

    #[test]
    fn bad_escapes_are_reported_precisely_and_lexing_continues() {
        let src = r#"let s = "a\qb\x80c\u{D800}\u{1234567}"; x"#;
        let e = errs(src);
        assert_eq!(e.len(), 4, "{e:?}");
        assert_eq!(&src[e[0].0.clone()], r"\q");
        assert_eq!(e[0].1, "unknown escape `\\q`");
        assert_eq!(&src[e[1].0.clone()], r"\x80");
        assert_eq!(&src[e[2].0.clone()], r"\u{D800}");
        assert_eq!(&src[e[3].0.clone()], r"\u{1234567}");
        let (t, _) = lex(src, FileId(0));
        assert_eq!(t.last().unwrap().0, Token::Ident("x".into()));
        assert_eq!(t[3].0, Token::Str("abc".into()));
    }

    #[test]
    fn unterminated_string_and_comment() {
        assert_eq!(
            errs("let s = \"abc"),
            vec![(8..9, "unterminated string literal".to_string())]
        );
        assert_eq!(
            errs("x /* a /* b */ c"),
            vec![(2..4, "unterminated block comment".to_string())]
        );
        assert!(lex_detailed("\"abc", FileId(0)).unterminated);
        assert!(!lex_detailed("\"abc\"", FileId(0)).unterminated);
    }

    #[test]
    fn a_byte_order_mark_is_whitespace() {
        assert_eq!(toks("\u{FEFF}let"), vec![Token::Let]);
    }

    #[test]
    fn comments_nest_and_are_skipped() {
        use Token::*;
        assert_eq!(
            toks("a // line\n /* outer /* inner */ still */ b /**/ c"),
            vec![Ident("a".into()), Ident("b".into()), Ident("c".into())]
        );
    }

    #[test]
    fn bad_characters_are_grouped_and_skipped() {
        assert_eq!(
            errs("a # b $$ c"),
            vec![
                (2..3, "unexpected character `#`".to_string()),
                (6..8, "unexpected characters `$$`".to_string())
            ]
        );
        assert_eq!(errs("'x'").len(), 2);
        assert_eq!(errs("a\u{7}b")[0].1, "unexpected character `\\u{7}`");
    }

    #[test]
    fn punctuation_longest_match() {
        use Token::*;
        assert_eq!(
            toks("<<= >>= << >> <= >= == != && || :: -> ... .. . @ ~ ^= |= &= %= /= *= -= +="),
            vec![
                ShlEq, ShrEq, Shl, Shr, Le, Ge, EqEq, NotEq, AndAnd, OrOr, ColonColon, Arrow,
                Ellipsis, DotDot, Dot, At, Tilde, CaretEq, PipeEq, AmpEq, PercentEq, SlashEq,
                StarEq, MinusEq, PlusEq
            ]
        );
    }

    #[test]
    fn spans_are_byte_ranges_with_the_file() {
        let (t, _) = lex("ab  \"é\"", FileId(3));
        assert_eq!(t[0].1, Span::new(FileId(3), 0..2));
        assert_eq!(t[1].1, Span::new(FileId(3), 4..8));
    }
}
