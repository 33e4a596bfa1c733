//! The parser (chumsky): tokens → [`crate::ast::File`], with error recovery.
//!
//! Owns: the grammar (precedence, the struct-literal restriction in `if`/`while`/`for`
//! heads, non-associative comparisons, the special forms `sizeof`/`alignof`/`offsetof`/
//! `alloc`), folding `-literal` into a negative literal, recovery so one run reports
//! several syntax errors, and the nesting guard that keeps deep input off the stack.
//! Does not own: names, types or any meaning (the checker).
//!
//! The parser runs over the token slice from [`crate::lex`]; chumsky spans are token
//! index ranges, turned into byte [`Span`]s through the token table (`Ctx::span`).

use crate::ast::*;
use crate::diag::{DiagKind, Diagnostic};
use crate::lex::{lex_detailed, Token};
use crate::span::{FileId, Span};
use chumsky::error::{RichPattern, RichReason};
use chumsky::prelude::*;

type In<'t> = &'t [Token];
type Extra<'t> = extra::Err<Rich<'t, Token>>;
type Boxed<'t, O> = chumsky::Boxed<'t, 't, In<'t>, O, Extra<'t>>;

/// Deepest bracket nesting accepted (`(`, `[`, `{`).
pub const MAX_BRACKET_DEPTH: usize = 256;
/// Largest nesting the syntax tree may reach through operator, `else if` and bracket
/// chains together; deeper input is rejected before parsing so that no later
/// recursive pass can exhaust the stack.
pub const MAX_TREE_DEPTH: usize = 512;

/// Stack reserved for the parser thread: combinator parsers use a lot of stack per
/// nesting level (tens of KiB in debug builds), so even [`MAX_BRACKET_DEPTH`] levels
/// would overflow a default 2 MiB thread. Only the pages actually touched are used.
const PARSER_STACK_BYTES: usize = 256 << 20;

/// Parse a whole file. Always returns a tree (with `Error` placeholders where
/// recovery happened) plus every lex and syntax diagnostic found, in source order.
///
/// The tree is never deeper than about [`MAX_TREE_DEPTH`] levels: deeper input is
/// rejected with one diagnostic and an empty tree, so recursive passes over the tree
/// are safe on an ordinary stack.
pub fn parse(src: &str, file: FileId) -> (File, Vec<Diagnostic>) {
    std::thread::scope(|scope| {
        let parser_thread = std::thread::Builder::new()
            .name("ffidl-parse".to_string())
            .stack_size(PARSER_STACK_BYTES)
            .spawn_scoped(scope, || parse_here(src, file));
        match parser_thread {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread could be started: parse on this one.
            Err(_) => parse_here(src, file),
        }
    })
}

/// [`parse`] on the current thread's stack.
fn parse_here(src: &str, file: FileId) -> (File, Vec<Diagnostic>) {
    let lexed = lex_detailed(src, file);
    let mut diags = lexed.diagnostics;
    let (tokens, spans): (Vec<Token>, Vec<Span>) = lexed.tokens.into_iter().unzip();
    if let Some(too_deep) = nesting_guard(&tokens, &spans) {
        diags.push(too_deep);
        diags.sort_by_key(|d| d.span.start);
        return (File::default(), diags);
    }
    let cx = Ctx {
        spans: &spans,
        file,
        src_len: src.len() as u32,
    };
    let (items, errors) = file_parser(cx)
        .parse(tokens.as_slice())
        .into_output_errors();
    let end_of_input = Span::new(file, src.len()..src.len());
    let mut syntax: Vec<Diagnostic> = errors
        .into_iter()
        .map(|e| to_diagnostic(cx, src, e))
        // After an unterminated string or comment, "found end of input" is noise.
        .filter(|d| !(lexed.unterminated && d.span == end_of_input))
        // So is an error at the token right after skipped unreadable characters.
        .filter(|d| !follows_bad_characters(&spans, &diags, d.span))
        .collect();
    syntax.sort_by_key(|d| (d.span.start, d.span.end));
    // Several errors at one spot are one problem seen from several alternatives.
    syntax.dedup_by(|a, b| a.span == b.span);
    diags.extend(syntax);
    diags.sort_by_key(|d| d.span.start);
    (
        File {
            items: items.unwrap_or_default(),
        },
        diags,
    )
}

/// True when `at` starts the first token after a `lex` diagnostic (characters the
/// lexer skipped), so a syntax error there is only a consequence of that one.
fn follows_bad_characters(spans: &[Span], lex_diags: &[Diagnostic], at: Span) -> bool {
    let next = spans.partition_point(|t| t.start < at.start);
    let gap_start = next.checked_sub(1).map_or(0, |p| spans[p].end);
    lex_diags
        .iter()
        .any(|l| l.span.start >= gap_start && l.span.start < at.start.max(gap_start + 1))
}

/// What every parser needs to build byte spans from token index ranges.
#[derive(Clone, Copy)]
struct Ctx<'t> {
    spans: &'t [Span],
    file: FileId,
    src_len: u32,
}

impl Ctx<'_> {
    /// The byte span covering tokens `s.start..s.end` (empty ranges are points).
    fn span(self, s: SimpleSpan) -> Span {
        let point = |i: usize| match self.spans.get(i) {
            Some(t) => t.start,
            None => self.src_len,
        };
        let start = point(s.start);
        let end = if s.end > s.start {
            self.spans
                .get(s.end - 1)
                .map_or(self.src_len, |t| t.end)
                .max(start)
        } else {
            start
        };
        Span {
            file: self.file,
            start,
            end,
        }
    }
}

// ---------------------------------------------------------------------------
// Nesting guard
// ---------------------------------------------------------------------------

/// Rejects input whose tree would nest too deeply (see [`MAX_TREE_DEPTH`]).
///
/// Per bracket level it counts the tokens that can add a level without a bracket
/// (operators, `as`, `.`, `else`, an index or call after an operand); the count resets
/// where a new statement, item or list element begins.
fn nesting_guard(tokens: &[Token], spans: &[Span]) -> Option<Diagnostic> {
    let mut chain: Vec<usize> = vec![0];
    let mut total = 0usize;
    for (i, tok) in tokens.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| &tokens[p]);
        let top = chain.len() - 1;
        let reset = |chain: &mut Vec<usize>, total: &mut usize| {
            let top = chain.len() - 1;
            *total -= chain[top];
            chain[top] = 0;
        };
        match tok {
            Token::LParen | Token::LBracket | Token::LBrace => {
                // A call or index after an operand adds a level at the outer level too.
                let after_operand = matches!(
                    prev,
                    Some(
                        Token::Ident(_)
                            | Token::RParen
                            | Token::RBracket
                            | Token::Int(_)
                            | Token::Float(_)
                            | Token::Str(_)
                    )
                );
                if after_operand && *tok != Token::LBrace {
                    chain[top] += 1;
                    total += 1;
                }
                chain.push(0);
                if chain.len() - 1 > MAX_BRACKET_DEPTH {
                    return Some(
                        Diagnostic::new(
                            DiagKind::Syntax,
                            spans[i],
                            format!(
                                "brackets nested too deeply (more than {MAX_BRACKET_DEPTH} levels)"
                            ),
                        )
                        .with_label("too deep"),
                    );
                }
            }
            Token::RParen | Token::RBracket | Token::RBrace if chain.len() > 1 => {
                total -= chain.pop().unwrap_or(0);
            }
            // An unmatched closing bracket: the parser reports it.
            Token::RParen | Token::RBracket | Token::RBrace => {}
            Token::Semi | Token::Comma => reset(&mut chain, &mut total),
            Token::If if prev == Some(&Token::Else) => {}
            Token::Let
            | Token::If
            | Token::While
            | Token::For
            | Token::Return
            | Token::Break
            | Token::Continue
            | Token::Fn
            | Token::Struct
            | Token::Union
            | Token::Enum
            | Token::Opaque
            | Token::Type
            | Token::Callback
            | Token::Extern
            | Token::Import
            | Token::Library
            | Token::Const
            | Token::At => reset(&mut chain, &mut total),
            t if is_chain_token(t) => {
                chain[top] += 1;
                total += 1;
            }
            _ => {}
        }
        if total + chain.len() > MAX_TREE_DEPTH {
            return Some(
                Diagnostic::new(
                    DiagKind::Syntax,
                    spans[i],
                    format!("expression nested too deeply (more than {MAX_TREE_DEPTH} levels)"),
                )
                .with_label("too deep"),
            );
        }
    }
    None
}

fn is_chain_token(t: &Token) -> bool {
    use Token::*;
    matches!(
        t,
        Plus | Minus
            | Star
            | Slash
            | Percent
            | Amp
            | Pipe
            | Caret
            | Shl
            | Shr
            | Tilde
            | Bang
            | AndAnd
            | OrOr
            | EqEq
            | NotEq
            | Lt
            | Le
            | Gt
            | Ge
            | As
            | Dot
            | Else
            | ColonColon
    )
}

// ---------------------------------------------------------------------------
// Diagnostics
// ---------------------------------------------------------------------------

/// Tokens that continue an expression; listed as "an operator" in messages.
fn continues_expression(t: &Token) -> bool {
    use Token::*;
    is_chain_token(t) && !matches!(t, Else)
        || matches!(
            t,
            LParen
                | LBracket
                | LBrace
                | ColonColon
                | Eq
                | PlusEq
                | MinusEq
                | StarEq
                | SlashEq
                | PercentEq
                | AmpEq
                | PipeEq
                | CaretEq
                | ShlEq
                | ShrEq
        )
}

fn to_diagnostic(cx: Ctx<'_>, src: &str, err: Rich<'_, Token>) -> Diagnostic {
    let span = cx.span(*err.span());
    match err.reason() {
        RichReason::Custom(msg) => {
            Diagnostic::new(DiagKind::Syntax, span, msg.clone()).with_label(custom_label(msg))
        }
        RichReason::ExpectedFound { expected, found } => {
            let found_text = match found {
                None => "end of input".to_string(),
                Some(tok) => tok.to_string(),
            };
            let wants_semi = expected
                .iter()
                .any(|p| matches!(p, RichPattern::Token(t) if **t == Token::Semi));
            let what = describe_expected(expected);
            let diag = Diagnostic::new(
                DiagKind::Syntax,
                span,
                format!("expected {what}, found {found_text}"),
            )
            .with_label(format!("expected {what}"));
            // A `;` forgotten at the end of a line: also point where it belongs.
            let previous = err
                .span()
                .start
                .checked_sub(1)
                .and_then(|i| cx.spans.get(i));
            match previous {
                Some(prev)
                    if wants_semi
                        && src
                            .get(prev.end as usize..span.start as usize)
                            .is_some_and(|gap| gap.contains('\n')) =>
                {
                    diag.with_note(*prev, "`;` may be missing after this")
                }
                _ => diag,
            }
        }
    }
}

/// The underline text for the parser's own (non expected/found) errors.
fn custom_label(message: &str) -> &'static str {
    if message.starts_with("comparison") {
        "second comparison"
    } else if message.starts_with("`fn`") {
        "move this function out of the block"
    } else if message.starts_with("`...`") {
        "`...` is not last"
    } else if message.starts_with("an array repeat") {
        "more than one value before `;`"
    } else {
        "here"
    }
}

fn describe_expected(expected: &[RichPattern<'_, Token>]) -> String {
    let mut items: Vec<String> = Vec::new();
    let mut operators: Vec<String> = Vec::new();
    let mut end = false;
    for p in expected {
        match p {
            RichPattern::Token(t) => {
                let t: &Token = t;
                let text = t.to_string();
                if continues_expression(t) {
                    if !operators.contains(&text) {
                        operators.push(text);
                    }
                } else if !items.contains(&text) {
                    items.push(text);
                }
            }
            RichPattern::Label(l) => {
                let l = l.to_string();
                if !items.contains(&l) {
                    items.push(l);
                }
            }
            RichPattern::Identifier(s) => items.push(format!("`{s}`")),
            RichPattern::EndOfInput => end = true,
            RichPattern::Any => items.push("something".to_string()),
            RichPattern::SomethingElse => {}
        }
    }
    // Attributes are part of a declaration.
    if items.iter().any(|i| i == "declaration") {
        items.retain(|i| i != "`@`");
    }
    if operators.len() > 2 {
        items.push("an operator".to_string());
    } else {
        items.extend(operators);
    }
    if end {
        items.push("end of input".to_string());
    }
    match items.len() {
        0 => "something else".to_string(),
        1 => items.remove(0),
        n => format!("{} or {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

// ---------------------------------------------------------------------------
// Small parsers
// ---------------------------------------------------------------------------

fn ident<'t>(cx: Ctx<'t>) -> impl Parser<'t, In<'t>, Ident, Extra<'t>> + Clone {
    select! { Token::Ident(name) => name }
        .map_with(move |name, e| Ident {
            name,
            span: cx.span(e.span()),
        })
        .labelled("identifier")
}

fn string_lit<'t>(cx: Ctx<'t>) -> impl Parser<'t, In<'t>, StrLit, Extra<'t>> + Clone {
    select! { Token::Str(value) => value }
        .map_with(move |value, e| StrLit {
            value,
            span: cx.span(e.span()),
        })
        .labelled("string literal")
}

fn comma_list<'t, O: 't>(
    item: impl Parser<'t, In<'t>, O, Extra<'t>> + Clone + 't,
) -> impl Parser<'t, In<'t>, Vec<O>, Extra<'t>> + Clone {
    item.separated_by(just(Token::Comma))
        .allow_trailing()
        .collect::<Vec<O>>()
}

fn parens<'t, O: 't>(
    inner: impl Parser<'t, In<'t>, O, Extra<'t>> + Clone + 't,
) -> impl Parser<'t, In<'t>, O, Extra<'t>> + Clone {
    inner.delimited_by(just(Token::LParen), just(Token::RParen))
}

fn braces<'t, O: 't>(
    inner: impl Parser<'t, In<'t>, O, Extra<'t>> + Clone + 't,
) -> impl Parser<'t, In<'t>, O, Extra<'t>> + Clone {
    inner.delimited_by(just(Token::LBrace), just(Token::RBrace))
}

fn expr_at(kind: ExprKind, span: Span) -> Expr {
    Expr { kind, span }
}

// ---------------------------------------------------------------------------
// Types and expressions
// ---------------------------------------------------------------------------

/// The expression parsers (with and without struct literals at the top) and the type
/// parser, which are mutually recursive (`[T; N]`, `x as T`, `sizeof(T)`).
#[derive(Clone)]
struct ExprParsers<'t> {
    expr: Boxed<'t, Expr>,
    expr_no_struct: Boxed<'t, Expr>,
    ty: Boxed<'t, TypeExpr>,
}

fn expr_parsers<'t>(cx: Ctx<'t>) -> ExprParsers<'t> {
    // `recursive` refers to itself weakly inside its definition; a `Recursive::declare`
    // that is cloned into its own definition is a reference cycle and leaks the parser.
    let expr = recursive(move |expr| {
        let ty = type_expr(cx, expr.clone().boxed()).boxed();
        expr_levels(cx, expr.boxed(), ty, true).labelled("expression")
    });
    let ty = type_expr(cx, expr.clone().boxed()).boxed();
    let expr_no_struct = expr_levels(cx, expr.clone().boxed(), ty.clone(), false);
    ExprParsers {
        expr: expr.labelled("expression").boxed(),
        expr_no_struct: expr_no_struct.labelled("expression").boxed(),
        ty,
    }
}

fn type_expr<'t>(
    cx: Ctx<'t>,
    expr: Boxed<'t, Expr>,
) -> impl Parser<'t, In<'t>, TypeExpr, Extra<'t>> + Clone {
    recursive(move |ty| {
        let pointer = just(Token::Star)
            .ignore_then(just(Token::Const).or_not())
            .then(ty.clone())
            .map(|(c, pointee)| TypeExprKind::Ptr {
                is_const: c.is_some(),
                pointee: Box::new(pointee),
            });
        let array = ty
            .then_ignore(just(Token::Semi))
            .then(expr.clone())
            .delimited_by(just(Token::LBracket), just(Token::RBracket))
            .map(|(elem, len)| TypeExprKind::Array {
                elem: Box::new(elem),
                len: Box::new(len),
            });
        let named = ident(cx).map(TypeExprKind::Named);
        choice((named, pointer, array))
            .map_with(move |kind, e| TypeExpr {
                kind,
                span: cx.span(e.span()),
            })
            .labelled("type")
            .boxed()
    })
}

/// All precedence levels, loosest last, over the given primary expressions.
fn expr_levels<'t>(
    cx: Ctx<'t>,
    expr: Boxed<'t, Expr>,
    ty: Boxed<'t, TypeExpr>,
    allow_struct: bool,
) -> Boxed<'t, Expr> {
    use BinOp::*;
    let atom = atom(cx, expr.clone(), ty.clone(), allow_struct);
    let postfix = postfix(cx, atom, expr);
    let unary = unary(cx, postfix).labelled("expression").boxed();
    let cast = cast(unary, ty);
    let product = binary_level(
        cast,
        &[
            (Token::Star, Mul),
            (Token::Slash, Div),
            (Token::Percent, Rem),
        ],
    );
    let sum = binary_level(product, &[(Token::Plus, Add), (Token::Minus, Sub)]);
    let shift = binary_level(sum, &[(Token::Shl, Shl), (Token::Shr, Shr)]);
    let bit_and = binary_level(shift, &[(Token::Amp, BitAnd)]);
    let bit_xor = binary_level(bit_and, &[(Token::Caret, BitXor)]);
    let bit_or = binary_level(bit_xor, &[(Token::Pipe, BitOr)]);
    let comparison = comparison(bit_or);
    let and = binary_level(comparison, &[(Token::AndAnd, And)]);
    binary_level(and, &[(Token::OrOr, Or)])
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span.to(rhs.span);
    expr_at(
        ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
        span,
    )
}

fn operator<'t>(
    ops: &'static [(Token, BinOp)],
) -> impl Parser<'t, In<'t>, BinOp, Extra<'t>> + Clone {
    one_of(ops.iter().map(|(t, _)| t.clone()).collect::<Vec<Token>>()).map(move |t: Token| {
        ops.iter()
            .find(|(tok, _)| *tok == t)
            .map_or(BinOp::Add, |(_, op)| *op)
    })
}

/// A left-associative level: `operand (op operand)*`.
fn binary_level<'t>(operand: Boxed<'t, Expr>, ops: &'static [(Token, BinOp)]) -> Boxed<'t, Expr> {
    operand
        .clone()
        .foldl(operator(ops).then(operand).repeated(), |lhs, (op, rhs)| {
            binary(op, lhs, rhs)
        })
        .boxed()
}

/// Comparisons do not associate: `a < b < c` is an error.
fn comparison<'t>(operand: Boxed<'t, Expr>) -> Boxed<'t, Expr> {
    use BinOp::*;
    static OPS: [(Token, BinOp); 6] = [
        (Token::EqEq, Eq),
        (Token::NotEq, Ne),
        (Token::Lt, Lt),
        (Token::Le, Le),
        (Token::Gt, Gt),
        (Token::Ge, Ge),
    ];
    operand
        .clone()
        .then(
            operator(&OPS)
                .map_with(|op, e| (op, e.span()))
                .then(operand)
                .repeated()
                .collect::<Vec<_>>(),
        )
        .validate(|(first, rest), _, emitter| {
            if let Some(((_, op_span), _)) = rest.get(1) {
                emitter.emit(Rich::custom(
                    *op_span,
                    "comparison operators cannot be chained; use parentheses",
                ));
            }
            rest.into_iter()
                .fold(first, |lhs, ((op, _), rhs)| binary(op, lhs, rhs))
        })
        .boxed()
}

fn cast<'t>(operand: Boxed<'t, Expr>, ty: Boxed<'t, TypeExpr>) -> Boxed<'t, Expr> {
    operand
        .foldl(just(Token::As).ignore_then(ty).repeated(), |expr, ty| {
            let span = expr.span.to(ty.span);
            expr_at(
                ExprKind::Cast {
                    expr: Box::new(expr),
                    ty,
                },
                span,
            )
        })
        .boxed()
}

/// Prefix operators; `-` directly on a numeric literal is folded into the literal.
fn unary<'t>(cx: Ctx<'t>, operand: Boxed<'t, Expr>) -> Boxed<'t, Expr> {
    let op = choice((
        just(Token::Minus).to(UnOp::Neg),
        just(Token::Bang).to(UnOp::Not),
        just(Token::Tilde).to(UnOp::BitNot),
        just(Token::Star).to(UnOp::Deref),
        just(Token::Amp).to(UnOp::AddrOf),
    ))
    .map_with(move |op, e| (op, cx.span(e.span())));
    op.repeated()
        .foldr(operand, |(op, op_span), expr| {
            let span = op_span.to(expr.span);
            let kind = match (op, expr.kind) {
                (UnOp::Neg, ExprKind::Int(v)) => ExprKind::Int(-v),
                (UnOp::Neg, ExprKind::Float(v)) => ExprKind::Float(-v),
                (op, kind) => ExprKind::Unary {
                    op,
                    expr: Box::new(expr_at(kind, expr.span)),
                },
            };
            expr_at(kind, span)
        })
        .boxed()
}

enum Postfix {
    Field(Ident),
    Index(Expr),
    Call(Vec<Expr>),
}

/// Field access `.f`, indexing `[i]` and calls `(args)` after a primary expression (a
/// call right after a plain name is the atom's own `f(args)`).
fn postfix<'t>(cx: Ctx<'t>, atom: Boxed<'t, Expr>, expr: Boxed<'t, Expr>) -> Boxed<'t, Expr> {
    let field = just(Token::Dot).ignore_then(ident(cx)).map(Postfix::Field);
    let index = expr
        .clone()
        .delimited_by(just(Token::LBracket), just(Token::RBracket))
        .map(Postfix::Index);
    let call = parens(comma_list(expr)).map(Postfix::Call);
    atom.foldl(
        choice((field, index, call))
            .map_with(move |p, e| (p, cx.span(e.span())))
            .repeated(),
        |lhs, (p, p_span)| {
            let span = lhs.span.to(p_span);
            let kind = match p {
                Postfix::Field(field) => ExprKind::Field {
                    expr: Box::new(lhs),
                    field,
                },
                Postfix::Index(index) => ExprKind::Index {
                    expr: Box::new(lhs),
                    index: Box::new(index),
                },
                Postfix::Call(args) => ExprKind::CallValue {
                    callee: Box::new(lhs),
                    args,
                },
            };
            expr_at(kind, span)
        },
    )
    .boxed()
}

enum NameTail {
    Call(Vec<Expr>),
    Path(Ident),
    StructLit(Vec<(Ident, Expr)>),
}

/// Primary expressions: literals, names, calls, paths, struct and array literals,
/// the special forms, and parenthesised expressions.
fn atom<'t>(
    cx: Ctx<'t>,
    expr: Boxed<'t, Expr>,
    ty: Boxed<'t, TypeExpr>,
    allow_struct: bool,
) -> Boxed<'t, Expr> {
    let literal = select! {
        Token::Int(v) => ExprKind::Int(i128::from(v)),
        Token::Float(v) => ExprKind::Float(v),
        Token::Str(s) => ExprKind::Str(s),
        Token::True => ExprKind::Bool(true),
        Token::False => ExprKind::Bool(false),
        Token::Null => ExprKind::Null,
    };

    let call = parens(comma_list(expr.clone())).map(NameTail::Call);
    let path = just(Token::ColonColon)
        .ignore_then(ident(cx))
        .map(NameTail::Path);
    let tail = if allow_struct {
        let field_init = ident(cx).then_ignore(just(Token::Colon)).then(expr.clone());
        let struct_lit = braces(comma_list(field_init)).map(NameTail::StructLit);
        choice((call, path, struct_lit)).boxed()
    } else {
        choice((call, path)).boxed()
    };
    let named = ident(cx)
        .then(tail.or_not())
        .map(|(name, tail)| match tail {
            None => ExprKind::Name(name),
            Some(NameTail::Call(args)) => ExprKind::Call { callee: name, args },
            Some(NameTail::Path(member)) => ExprKind::Path { ty: name, member },
            Some(NameTail::StructLit(fields)) => ExprKind::StructLit { name, fields },
        });

    let special = special_forms(cx, expr.clone(), ty);

    let array = comma_list(expr.clone())
        .then(just(Token::Semi).ignore_then(expr.clone()).or_not())
        .delimited_by(just(Token::LBracket), just(Token::RBracket))
        .validate(|(mut elems, len), e, emitter| match len {
            None => ExprKind::ArrayLit(elems),
            Some(len) if elems.len() == 1 => ExprKind::ArrayRepeat {
                value: Box::new(elems.remove(0)),
                len: Box::new(len),
            },
            Some(_) => {
                emitter.emit(Rich::custom(
                    e.span(),
                    "an array repeat expression `[value; N]` takes exactly one value",
                ));
                ExprKind::Error
            }
        });

    let kinded = choice((literal, named, special, array))
        .map_with(move |kind, e| expr_at(kind, cx.span(e.span())));
    let grouped = parens(expr).map_with(move |inner: Expr, e| Expr {
        span: cx.span(e.span()),
        ..inner
    });
    choice((kinded, grouped)).boxed()
}

/// `sizeof(T)`, `alignof(T)`, `offsetof(T, field)`, `alloc(T)`, `alloc(T, n)`.
fn special_forms<'t>(
    cx: Ctx<'t>,
    expr: Boxed<'t, Expr>,
    ty: Boxed<'t, TypeExpr>,
) -> Boxed<'t, ExprKind> {
    let comma = || just(Token::Comma);
    let sizeof = just(Token::Sizeof)
        .ignore_then(parens(ty.clone().then_ignore(comma().or_not())))
        .map(ExprKind::SizeOf);
    let alignof = just(Token::Alignof)
        .ignore_then(parens(ty.clone().then_ignore(comma().or_not())))
        .map(ExprKind::AlignOf);
    let offsetof = just(Token::Offsetof)
        .ignore_then(parens(
            ty.clone()
                .then_ignore(comma())
                .then(ident(cx))
                .then_ignore(comma().or_not()),
        ))
        .map(|(ty, field)| ExprKind::OffsetOf { ty, field });
    let alloc = just(Token::Alloc)
        .ignore_then(parens(
            ty.then(comma().ignore_then(expr).or_not())
                .then_ignore(comma().or_not()),
        ))
        .map(|(ty, count)| ExprKind::Alloc {
            ty,
            count: count.map(Box::new),
        });
    choice((sizeof, alignof, offsetof, alloc)).boxed()
}

// ---------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------

/// Skips a broken statement or item: up to and including the next `;` or balanced
/// `{ ... }` at this level (an unclosed one runs to the end of the file), or up to a
/// `}` that closes the enclosing block.
fn skip_broken<'t>() -> Boxed<'t, ()> {
    // An unclosed `{` extends to the end of the file (one error, not one per level).
    let brace_group = recursive(|group| {
        just(Token::LBrace)
            .ignore_then(
                choice((group, none_of([Token::LBrace, Token::RBrace]).ignored())).repeated(),
            )
            .then_ignore(choice((just(Token::RBrace).ignored(), end())))
            .ignored()
            .boxed()
    });
    let plain = none_of([Token::Semi, Token::LBrace, Token::RBrace]).ignored();
    let ended = plain
        .clone()
        .repeated()
        .then(choice((just(Token::Semi).ignored(), brace_group)));
    choice((ended.ignored(), plain.repeated().at_least(1)))
        .ignored()
        .boxed()
}

fn block<'t>(
    cx: Ctx<'t>,
    stmt: impl Parser<'t, In<'t>, Stmt, Extra<'t>> + Clone + 't,
) -> impl Parser<'t, In<'t>, Block, Extra<'t>> + Clone {
    braces(stmt.repeated().collect::<Vec<_>>()).map_with(move |stmts, e| Block {
        stmts,
        span: cx.span(e.span()),
    })
}

fn assign_op<'t>() -> impl Parser<'t, In<'t>, Option<BinOp>, Extra<'t>> + Clone {
    use BinOp::*;
    choice((
        just(Token::Eq).to(None),
        just(Token::PlusEq).to(Some(Add)),
        just(Token::MinusEq).to(Some(Sub)),
        just(Token::StarEq).to(Some(Mul)),
        just(Token::SlashEq).to(Some(Div)),
        just(Token::PercentEq).to(Some(Rem)),
        just(Token::AmpEq).to(Some(BitAnd)),
        just(Token::PipeEq).to(Some(BitOr)),
        just(Token::CaretEq).to(Some(BitXor)),
        just(Token::ShlEq).to(Some(Shl)),
        just(Token::ShrEq).to(Some(Shr)),
    ))
}

/// Statements (recursive through blocks), each recovering on its own.
fn stmt_parser<'t>(cx: Ctx<'t>, ep: &ExprParsers<'t>) -> Boxed<'t, Stmt> {
    let ep = ep.clone();
    recursive(move |stmt| {
        let semi = || just(Token::Semi);
        let block = block(cx, stmt.clone()).boxed();
        let expr = ep.expr.clone();
        let head = ep.expr_no_struct.clone();

        let let_stmt = just(Token::Let)
            .ignore_then(ident(cx))
            .then(choice((
                just(Token::Colon)
                    .ignore_then(ep.ty.clone())
                    .map(Some)
                    .then(just(Token::Eq).ignore_then(expr.clone()).or_not()),
                just(Token::Eq)
                    .ignore_then(expr.clone())
                    .map(|init| (None, Some(init))),
            )))
            .then_ignore(semi())
            .map(|(name, (ty, init))| StmtKind::Let { name, ty, init });

        let if_head = just(Token::If)
            .ignore_then(head.clone())
            .then(block.clone());
        let if_stmt = if_head
            .clone()
            .map_with(move |h, e| (h, cx.span(e.span())))
            .then(
                just(Token::Else)
                    .ignore_then(if_head.map_with(move |h, e| (h, cx.span(e.span()))))
                    .repeated()
                    .collect::<Vec<_>>(),
            )
            .then(just(Token::Else).ignore_then(block.clone()).or_not())
            .map(|((first, else_ifs), last)| {
                // Build the `else if` chain from the inside out, without recursion.
                let mut els = last.map(|b| {
                    let span = b.span;
                    Box::new(Stmt {
                        kind: StmtKind::Block(b),
                        span,
                    })
                });
                for ((cond, then), span) in else_ifs.into_iter().rev() {
                    let span = els.as_ref().map_or(span, |s| span.to(s.span));
                    els = Some(Box::new(Stmt {
                        kind: StmtKind::If { cond, then, els },
                        span,
                    }));
                }
                let ((cond, then), _) = first;
                StmtKind::If { cond, then, els }
            });

        let while_stmt = just(Token::While)
            .ignore_then(head.clone())
            .then(block.clone())
            .map(|(cond, body)| StmtKind::While { cond, body });

        let for_stmt = just(Token::For)
            .ignore_then(ident(cx))
            .then_ignore(just(Token::In))
            .then(head.clone())
            .then_ignore(just(Token::DotDot))
            .then(head)
            .then(block.clone())
            .map(|(((var, start), end), body)| StmtKind::For {
                var,
                start,
                end,
                body,
            });

        let jumps = choice((
            just(Token::Break).then(semi()).to(StmtKind::Break),
            just(Token::Continue).then(semi()).to(StmtKind::Continue),
            just(Token::Return)
                .ignore_then(expr.clone().or_not())
                .then_ignore(semi())
                .map(StmtKind::Return),
        ));

        let expr_or_assign = expr
            .clone()
            .then(assign_op().then(expr).or_not())
            .then_ignore(semi())
            .map(|(target, assign)| match assign {
                None => StmtKind::Expr(target),
                Some((op, value)) => StmtKind::Assign { target, op, value },
            });

        // `fn` inside a block: parsed so recovery is clean, then reported.
        let nested_fn = just(Token::Fn)
            .then(ident(cx))
            .then(parens(comma_list(param(cx, ep.ty.clone()))))
            .then(just(Token::Arrow).ignore_then(ep.ty.clone()).or_not())
            .then(block.clone())
            .validate(|_, e, emitter| {
                emitter.emit(Rich::custom(
                    e.span(),
                    "`fn` declarations are only allowed at the top level",
                ));
                StmtKind::Error
            });

        choice((
            let_stmt,
            if_stmt,
            while_stmt,
            for_stmt,
            jumps,
            block.map(StmtKind::Block),
            nested_fn,
            expr_or_assign,
        ))
        .labelled("statement")
        .map_with(move |kind, e| Stmt {
            kind,
            span: cx.span(e.span()),
        })
        .recover_with(via_parser(skip_broken().map_with(move |_, e| Stmt {
            kind: StmtKind::Error,
            span: cx.span(e.span()),
        })))
        .boxed()
    })
    .boxed()
}

// ---------------------------------------------------------------------------
// Declarations and the file
// ---------------------------------------------------------------------------

fn param<'t>(
    cx: Ctx<'t>,
    ty: Boxed<'t, TypeExpr>,
) -> impl Parser<'t, In<'t>, Param, Extra<'t>> + Clone {
    ident(cx)
        .then_ignore(just(Token::Colon))
        .then(ty)
        .map_with(move |(name, ty), e| Param {
            name,
            ty,
            span: cx.span(e.span()),
        })
}

fn attribute<'t>(
    cx: Ctx<'t>,
    expr: Boxed<'t, Expr>,
) -> impl Parser<'t, In<'t>, Attr, Extra<'t>> + Clone {
    just(Token::At)
        .ignore_then(ident(cx))
        .then(parens(comma_list(expr)).or_not())
        .map_with(move |(name, args), e| Attr {
            name,
            args: args.unwrap_or_default(),
            span: cx.span(e.span()),
        })
}

enum SigParam {
    Param(Param),
    /// The `...` as a byte span and as the token range errors are reported with.
    Variadic(Span, SimpleSpan),
}

/// `(params [, ...]) [-> R]` for `extern` functions and callbacks.
fn fn_sig<'t>(cx: Ctx<'t>, ty: Boxed<'t, TypeExpr>) -> Boxed<'t, FnSig> {
    let element = choice((
        param(cx, ty.clone()).map(SigParam::Param),
        just(Token::Ellipsis).map_with(move |_, e| SigParam::Variadic(cx.span(e.span()), e.span())),
    ));
    parens(comma_list(element))
        .then(just(Token::Arrow).ignore_then(ty).or_not())
        .validate(move |(elements, ret): (Vec<SigParam>, _), e, emitter| {
            let mut params = Vec::new();
            let mut variadic = None;
            let count = elements.len();
            for (i, element) in elements.into_iter().enumerate() {
                match element {
                    SigParam::Param(p) => params.push(p),
                    SigParam::Variadic(span, _) if i + 1 == count => variadic = Some(span),
                    SigParam::Variadic(_, at) => {
                        emitter.emit(Rich::custom(at, "`...` must be the last parameter"))
                    }
                }
            }
            FnSig {
                params,
                variadic,
                ret,
                span: cx.span(e.span()),
            }
        })
        .boxed()
}

fn fields<'t>(
    cx: Ctx<'t>,
    ty: Boxed<'t, TypeExpr>,
) -> impl Parser<'t, In<'t>, Vec<Field>, Extra<'t>> + Clone {
    let field =
        ident(cx)
            .then_ignore(just(Token::Colon))
            .then(ty)
            .map_with(move |(name, ty), e| Field {
                name,
                ty,
                span: cx.span(e.span()),
            });
    braces(comma_list(field))
}

fn decl_kind<'t>(cx: Ctx<'t>, ep: &ExprParsers<'t>, stmt: Boxed<'t, Stmt>) -> Boxed<'t, DeclKind> {
    let semi = || just(Token::Semi);
    let ty = ep.ty.clone();
    let expr = ep.expr.clone();

    let import = just(Token::Import)
        .ignore_then(string_lit(cx))
        .then_ignore(semi())
        .map(DeclKind::Import);

    let per_os = braces(comma_list(
        ident(cx).then_ignore(just(Token::Eq)).then(string_lit(cx)),
    ))
    .map(LibSource::PerOs);
    let library = just(Token::Library)
        .ignore_then(ident(cx))
        .then(choice((
            just(Token::Eq)
                .ignore_then(string_lit(cx))
                .then_ignore(semi())
                .map(LibSource::Path),
            per_os,
        )))
        .map(|(name, source)| DeclKind::Library { name, source });

    let constant = just(Token::Const)
        .ignore_then(ident(cx))
        .then(just(Token::Colon).ignore_then(ty.clone()).or_not())
        .then_ignore(just(Token::Eq))
        .then(expr.clone())
        .then_ignore(semi())
        .map(|((name, ty), value)| DeclKind::Const { name, ty, value });

    let structure = just(Token::Struct)
        .ignore_then(ident(cx))
        .then(fields(cx, ty.clone()))
        .map(|(name, fields)| DeclKind::Struct { name, fields });
    let union = just(Token::Union)
        .ignore_then(ident(cx))
        .then(fields(cx, ty.clone()))
        .map(|(name, fields)| DeclKind::Union { name, fields });

    let variant = ident(cx)
        .then(just(Token::Eq).ignore_then(expr.clone()).or_not())
        .map_with(move |(name, value), e| Variant {
            name,
            value,
            span: cx.span(e.span()),
        });
    let enumeration = just(Token::Enum)
        .ignore_then(ident(cx))
        .then(just(Token::Colon).ignore_then(ty.clone()).or_not())
        .then(braces(comma_list(variant)))
        .map(|((name, repr), variants)| DeclKind::Enum {
            name,
            repr,
            variants,
        });

    let opaque = just(Token::Opaque)
        .ignore_then(ident(cx))
        .then_ignore(semi())
        .map(|name| DeclKind::Opaque { name });

    let alias = just(Token::Type)
        .ignore_then(ident(cx))
        .then_ignore(just(Token::Eq))
        .then(ty.clone())
        .then_ignore(semi())
        .map(|(name, ty)| DeclKind::TypeAlias { name, ty });

    let callback = just(Token::Callback)
        .ignore_then(ident(cx))
        .then_ignore(just(Token::Eq))
        .then_ignore(just(Token::Fn))
        .then(fn_sig(cx, ty.clone()))
        .then_ignore(semi())
        .map(|(name, sig)| DeclKind::Callback { name, sig });

    let extern_fn = attribute(cx, expr.clone())
        .repeated()
        .collect::<Vec<_>>()
        .then_ignore(just(Token::Fn))
        .then(ident(cx))
        .then(fn_sig(cx, ty.clone()))
        .then_ignore(semi())
        .map_with(move |((attrs, name), sig), e| {
            Some(ExternFn {
                attrs,
                name,
                sig,
                span: cx.span(e.span()),
            })
        })
        .recover_with(via_parser(skip_broken().to(None)));
    let external = just(Token::Extern)
        .ignore_then(ident(cx))
        .then(braces(extern_fn.repeated().collect::<Vec<_>>()))
        .map(|(lib, fns)| DeclKind::Extern {
            lib,
            fns: fns.into_iter().flatten().collect(),
        });

    let function = just(Token::Fn)
        .ignore_then(ident(cx))
        .then(parens(comma_list(param(cx, ty.clone()))))
        .then(just(Token::Arrow).ignore_then(ty).or_not())
        .then(block(cx, stmt))
        .map_with(move |(((name, params), ret), body), e| {
            DeclKind::Fn(FnDecl {
                name,
                params,
                ret,
                body,
                span: cx.span(e.span()),
            })
        });

    choice((
        import,
        library,
        constant,
        structure,
        union,
        enumeration,
        opaque,
        alias,
        callback,
        external,
        function,
    ))
    .labelled("declaration")
    .boxed()
}

fn file_parser<'t>(cx: Ctx<'t>) -> Boxed<'t, Vec<Item>> {
    let ep = expr_parsers(cx);
    let stmt = stmt_parser(cx, &ep);
    let decl_kind = decl_kind(cx, &ep, stmt.clone());
    let decl = attribute(cx, ep.expr.clone())
        .repeated()
        .collect::<Vec<_>>()
        .then(decl_kind)
        .map_with(move |(attrs, kind), e| Decl {
            attrs,
            kind,
            span: cx.span(e.span()),
        });
    let item = choice((decl.map(Item::Decl), stmt.map(Item::Stmt)));
    // At the top level even a stray `}` is skipped, so parsing always reaches the end.
    let item = item.recover_with(via_parser(any().map_with(move |_, e| {
        Item::Stmt(Stmt {
            kind: StmtKind::Error,
            span: cx.span(e.span()),
        })
    })));
    item.repeated()
        .collect::<Vec<_>>()
        .then_ignore(end())
        .boxed()
}
