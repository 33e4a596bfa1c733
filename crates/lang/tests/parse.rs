//! Parser tests: every construct of the grammar, precedence, spans, folding of negative
//! literals, and recovery that reports several independent syntax errors in one run.
//! Expressions are compared through a compact S-expression rendering.

use ffidl_lang::ast::*;
use ffidl_lang::parse::parse;
use ffidl_lang::{DiagKind, FileId, Span};

fn parse_ok(src: &str) -> File {
    let (file, diags) = parse(src, FileId(0));
    assert!(diags.is_empty(), "diagnostics for {src:?}: {diags:#?}");
    file
}

/// `(kind, message, text under the span)` of every diagnostic.
fn errors(src: &str) -> Vec<(DiagKind, String, String)> {
    let (_, diags) = parse(src, FileId(0));
    diags
        .into_iter()
        .map(|d| (d.kind, d.message, src[d.span.range()].to_string()))
        .collect()
}

fn messages(src: &str) -> Vec<String> {
    errors(src).into_iter().map(|(_, m, _)| m).collect()
}

fn only_stmt(src: &str) -> Stmt {
    let mut file = parse_ok(src);
    assert_eq!(file.items.len(), 1, "{src}");
    match file.items.remove(0) {
        Item::Stmt(s) => s,
        Item::Decl(d) => panic!("expected a statement, got {d:?}"),
    }
}

fn only_decl(src: &str) -> Decl {
    let mut file = parse_ok(src);
    assert_eq!(file.items.len(), 1, "{src}");
    match file.items.remove(0) {
        Item::Decl(d) => d,
        Item::Stmt(s) => panic!("expected a declaration, got {s:?}"),
    }
}

/// The initialiser of `let _e = SRC;`.
fn expr(src: &str) -> Expr {
    match only_stmt(&format!("let _e = {src};")).kind {
        StmtKind::Let { init: Some(e), .. } => e,
        other => panic!("{other:?}"),
    }
}

fn ty_text(t: &TypeExpr) -> String {
    match &t.kind {
        TypeExprKind::Named(n) => n.name.clone(),
        TypeExprKind::Ptr { is_const, pointee } => {
            format!(
                "*{}{}",
                if *is_const { "const " } else { "" },
                ty_text(pointee)
            )
        }
        TypeExprKind::Array { elem, len } => format!("[{}; {}]", ty_text(elem), sx(len)),
        TypeExprKind::Error => "<error>".to_string(),
    }
}

fn list(items: &[Expr]) -> String {
    items.iter().map(sx).collect::<Vec<_>>().join(" ")
}

/// Compact S-expression form of an expression.
fn sx(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Float(v) => format!("{v:?}"),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Null => "null".to_string(),
        ExprKind::Name(n) => n.name.clone(),
        ExprKind::Path { ty, member } => format!("{}::{}", ty.name, member.name),
        ExprKind::Unary { op, expr } => {
            let op = match op {
                UnOp::Neg => "neg",
                UnOp::Not => "!",
                UnOp::BitNot => "~",
                UnOp::Deref => "deref",
                UnOp::AddrOf => "addr",
            };
            format!("({op} {})", sx(expr))
        }
        ExprKind::Binary { op, lhs, rhs } => format!("({} {} {})", op.symbol(), sx(lhs), sx(rhs)),
        ExprKind::Cast { expr, ty } => format!("(as {} {})", sx(expr), ty_text(ty)),
        ExprKind::Call { callee, args } if args.is_empty() => format!("(call {})", callee.name),
        ExprKind::Call { callee, args } => format!("(call {} {})", callee.name, list(args)),
        ExprKind::SizeOf(t) => format!("(sizeof {})", ty_text(t)),
        ExprKind::AlignOf(t) => format!("(alignof {})", ty_text(t)),
        ExprKind::OffsetOf { ty, field } => format!("(offsetof {} {})", ty_text(ty), field.name),
        ExprKind::Alloc { ty, count: None } => format!("(alloc {})", ty_text(ty)),
        ExprKind::Alloc { ty, count: Some(n) } => format!("(alloc {} {})", ty_text(ty), sx(n)),
        ExprKind::Field { expr, field } => format!("(. {} {})", sx(expr), field.name),
        ExprKind::Index { expr, index } => format!("(index {} {})", sx(expr), sx(index)),
        ExprKind::CallValue { callee, args } => {
            format!("(call-value {} {})", sx(callee), list(args))
        }
        ExprKind::StructLit { name, fields } => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(f, v)| format!("{}: {}", f.name, sx(v)))
                .collect();
            format!("{} {{{}}}", name.name, fields.join(", "))
        }
        ExprKind::ArrayLit(items) => format!("[{}]", list(items)),
        ExprKind::ArrayRepeat { value, len } => format!("[{}; {}]", sx(value), sx(len)),
        ExprKind::Error => "<error>".to_string(),
    }
}

fn sp(range: std::ops::Range<usize>) -> Span {
    Span::new(FileId(0), range)
}

#[test]
fn literals() {
    assert_eq!(sx(&expr("42")), "42");
    assert_eq!(sx(&expr("0x2A")), "42");
    assert_eq!(sx(&expr("18446744073709551615")), "18446744073709551615");
    assert_eq!(sx(&expr("1.5")), "1.5");
    assert_eq!(sx(&expr("\"a\\tb\"")), "\"a\\tb\"");
    assert_eq!(sx(&expr("true")), "true");
    assert_eq!(sx(&expr("false")), "false");
    assert_eq!(sx(&expr("null")), "null");
}

#[test]
fn unary_minus_on_a_literal_is_folded() {
    let e = expr("-128");
    assert_eq!(e.kind, ExprKind::Int(-128));
    assert_eq!(e.span, sp(9..13));
    assert_eq!(sx(&expr("- 7")), "-7");
    assert_eq!(sx(&expr("-2.5")), "-2.5");
    assert_eq!(sx(&expr("-18446744073709551615")), "-18446744073709551615");
    assert_eq!(sx(&expr("-x")), "(neg x)");
    // postfix binds tighter than unary minus, `as` looser
    assert_eq!(sx(&expr("-a[0]")), "(neg (index a 0))");
    assert_eq!(sx(&expr("-5 as u8")), "(as -5 u8)");
    assert_eq!(sx(&expr("1 - -1")), "(- 1 -1)");
}

#[test]
fn precedence_follows_rust() {
    assert_eq!(sx(&expr("1 + 2 * 3")), "(+ 1 (* 2 3))");
    assert_eq!(sx(&expr("1 * 2 + 3")), "(+ (* 1 2) 3)");
    assert_eq!(sx(&expr("a - b - c")), "(- (- a b) c)");
    assert_eq!(sx(&expr("a / b % c")), "(% (/ a b) c)");
    assert_eq!(sx(&expr("1 << 2 + 3")), "(<< 1 (+ 2 3))");
    assert_eq!(sx(&expr("a & b << 1")), "(& a (<< b 1))");
    assert_eq!(sx(&expr("a ^ b & c")), "(^ a (& b c))");
    assert_eq!(sx(&expr("a | b ^ c")), "(| a (^ b c))");
    assert_eq!(sx(&expr("a == b | c")), "(== a (| b c))");
    assert_eq!(sx(&expr("a < b && c >= d")), "(&& (< a b) (>= c d))");
    assert_eq!(sx(&expr("a || b && c")), "(|| a (&& b c))");
    assert_eq!(sx(&expr("a || b || c")), "(|| (|| a b) c)");
    assert_eq!(sx(&expr("x as u8 as i32")), "(as (as x u8) i32)");
    assert_eq!(sx(&expr("a * b as f64")), "(* a (as b f64))");
    assert_eq!(sx(&expr("!a && ~b != 0")), "(&& (! a) (!= (~ b) 0))");
    assert_eq!(sx(&expr("*p + &x")), "(+ (deref p) (addr x))");
    assert_eq!(sx(&expr("(1 + 2) * 3")), "(* (+ 1 2) 3)");
    assert_eq!(
        sx(&expr("(x > y) as c_int - (x < y) as c_int")),
        "(- (as (> x y) c_int) (as (< x y) c_int))"
    );
}

#[test]
fn comparisons_do_not_chain() {
    let errs = errors("let a = x < y < z;");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0].1,
        "comparison operators cannot be chained; use parentheses"
    );
    assert_eq!(errs[0].2, "<");
    parse_ok("let a = (x < y) == b;");
}

#[test]
fn postfix_calls_paths_and_special_forms() {
    assert_eq!(sx(&expr("f()")), "(call f)");
    assert_eq!(sx(&expr("f(1, x,)")), "(call f 1 x)");
    assert_eq!(sx(&expr("p.pos.x")), "(. (. p pos) x)");
    assert_eq!(sx(&expr("a[i][j]")), "(index (index a i) j)");
    // A call after a postfix or another call calls a value; right after a name it is a
    // plain call.
    assert_eq!(sx(&expr("s.op(1, 2)")), "(call-value (. s op) 1 2)");
    assert_eq!(sx(&expr("ops[i](x)")), "(call-value (index ops i) x)");
    assert_eq!(sx(&expr("get(0)(1)")), "(call-value (call get 0) 1)");
    assert_eq!(sx(&expr("(f)(1)")), "(call-value f 1)");
    assert_eq!(
        sx(&expr("-s.op(1).x")),
        "(neg (. (call-value (. s op) 1) x))"
    );
    assert_eq!(
        sx(&expr("(a as *const i32)[0]")),
        "(index (as a *const i32) 0)"
    );
    assert_eq!(sx(&expr("f(x).y")), "(. (call f x) y)");
    assert_eq!(sx(&expr("Mode::Read")), "Mode::Read");
    assert_eq!(sx(&expr("sizeof(Point)")), "(sizeof Point)");
    assert_eq!(
        sx(&expr("sizeof(*const [u8; 4])")),
        "(sizeof *const [u8; 4])"
    );
    assert_eq!(sx(&expr("alignof(Vec4)")), "(alignof Vec4)");
    assert_eq!(sx(&expr("offsetof(Point, y)")), "(offsetof Point y)");
    assert_eq!(sx(&expr("alloc(u8)")), "(alloc u8)");
    assert_eq!(sx(&expr("alloc(*u8, n * 2)")), "(alloc *u8 (* n 2))");
}

#[test]
fn struct_and_array_literals() {
    assert_eq!(
        sx(&expr("Point { x: 1.5, y: -2 }")),
        "Point {x: 1.5, y: -2}"
    );
    assert_eq!(sx(&expr("Empty {}")), "Empty {}");
    assert_eq!(
        sx(&expr("Outer { p: Point { x: 1, y: 2, }, }")),
        "Outer {p: Point {x: 1, y: 2}}"
    );
    assert_eq!(sx(&expr("[1, 2, 3,]")), "[1 2 3]");
    assert_eq!(sx(&expr("[]")), "[]");
    assert_eq!(sx(&expr("[0; 16]")), "[0; 16]");
    assert_eq!(sx(&expr("[[0; 2]; N]")), "[[0; 2]; N]");
    assert_eq!(
        messages("let a = [1, 2; 3];"),
        vec!["an array repeat expression `[value; N]` takes exactly one value"]
    );
}

#[test]
fn struct_literals_are_not_allowed_bare_in_condition_heads() {
    // `p` is the whole condition; the braces are the body.
    let s = only_stmt("if p { x; }");
    let StmtKind::If { cond, then, .. } = s.kind else {
        panic!()
    };
    assert_eq!(sx(&cond), "p");
    assert_eq!(then.stmts.len(), 1);
    // parenthesised, a struct literal is fine in every head
    parse_ok("if (P { x: 1 }) == q { }");
    parse_ok("while f(P { x: 1 }) { }");
    parse_ok("for i in (S { a: 0 }).a..n { }");
    // bare, the braces are taken as the block, so the field list is an error
    assert_eq!(
        errors("if P { x: 1 } == q { }")[0].1,
        "expected `;` or an operator, found `:`"
    );
}

#[test]
fn types() {
    let s = only_stmt("let p: *const [*void; 4] = null;");
    let StmtKind::Let { ty: Some(ty), .. } = s.kind else {
        panic!()
    };
    assert_eq!(ty_text(&ty), "*const [*void; 4]");
    assert_eq!(ty.span, sp(7..24));
    let s = only_stmt("let q: **Node;");
    let StmtKind::Let {
        ty: Some(ty),
        init: None,
        ..
    } = s.kind
    else {
        panic!()
    };
    assert_eq!(ty_text(&ty), "**Node");
}

#[test]
fn statements() {
    let file = parse_ok(
        "let a = 1;
         let b: i32;
         let c: u8 = 2;
         a = 3;
         a += 1; a -= 1; a *= 2; a /= 2; a %= 2; a &= 1; a |= 1; a ^= 1; a <<= 1; a >>= 1;
         p.x = p.x + 1.0;
         *q = 4;
         f(a);
         { let inner = 0; }
         while i < 3 { i = i + 1; break; continue; }
         for k in 0..4 { if k == 2 { continue; } }",
    );
    let kinds: Vec<String> = file
        .items
        .iter()
        .map(|i| match i {
            Item::Stmt(s) => match &s.kind {
                StmtKind::Let { ty, init, .. } => {
                    format!("let:{}:{}", ty.is_some(), init.is_some())
                }
                StmtKind::Assign { op, .. } => format!("assign:{}", op.map_or("=", |o| o.symbol())),
                StmtKind::Expr(_) => "expr".into(),
                StmtKind::Block(b) => format!("block:{}", b.stmts.len()),
                StmtKind::While { body, .. } => format!("while:{}", body.stmts.len()),
                StmtKind::For {
                    var, start, end, ..
                } => {
                    format!("for:{}:{}:{}", var.name, sx(start), sx(end))
                }
                other => format!("{other:?}"),
            },
            Item::Decl(d) => format!("{d:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "let:false:true",
            "let:true:false",
            "let:true:true",
            "assign:=",
            "assign:+",
            "assign:-",
            "assign:*",
            "assign:/",
            "assign:%",
            "assign:&",
            "assign:|",
            "assign:^",
            "assign:<<",
            "assign:>>",
            "assign:=",
            "assign:=",
            "expr",
            "block:1",
            "while:3",
            "for:k:0:4"
        ]
    );
}

#[test]
fn return_break_continue() {
    let file = parse_ok(
        "fn f() -> i32 { while true { break; continue; } return 1 + 2; } fn g() { return; }",
    );
    let Item::Decl(Decl {
        kind: DeclKind::Fn(f),
        ..
    }) = &file.items[0]
    else {
        panic!()
    };
    let StmtKind::While { body, .. } = &f.body.stmts[0].kind else {
        panic!()
    };
    assert_eq!(body.stmts[0].kind, StmtKind::Break);
    assert_eq!(body.stmts[1].kind, StmtKind::Continue);
    let StmtKind::Return(Some(v)) = &f.body.stmts[1].kind else {
        panic!()
    };
    assert_eq!(sx(v), "(+ 1 2)");
    let Item::Decl(Decl {
        kind: DeclKind::Fn(g),
        ..
    }) = &file.items[1]
    else {
        panic!()
    };
    assert_eq!(g.body.stmts[0].kind, StmtKind::Return(None));
}

#[test]
fn if_else_if_chains_nest_in_els() {
    let s = only_stmt("if a { x(); } else if b { y(); } else if c { } else { z(); }");
    assert_eq!(s.span, sp(0..60));
    let StmtKind::If {
        cond,
        els: Some(e1),
        ..
    } = s.kind
    else {
        panic!()
    };
    assert_eq!(sx(&cond), "a");
    let StmtKind::If {
        cond,
        els: Some(e2),
        ..
    } = e1.kind
    else {
        panic!()
    };
    assert_eq!(sx(&cond), "b");
    assert_eq!(e1.span, sp(19..60));
    let StmtKind::If {
        cond,
        els: Some(e3),
        ..
    } = e2.kind
    else {
        panic!()
    };
    assert_eq!(sx(&cond), "c");
    let StmtKind::Block(b) = e3.kind else {
        panic!()
    };
    assert_eq!(b.stmts.len(), 1);
    let StmtKind::If { els: None, .. } = only_stmt("if a { }").kind else {
        panic!()
    };
}

#[test]
fn declarations() {
    let d = only_decl("import \"lib/sqlite.ffidl\";");
    assert!(matches!(&d.kind, DeclKind::Import(s) if s.value == "lib/sqlite.ffidl"));

    let d = only_decl("library libc = \"libc.so.6\";");
    let DeclKind::Library {
        name,
        source: LibSource::Path(p),
    } = d.kind
    else {
        panic!()
    };
    assert_eq!(
        (name.name.as_str(), p.value.as_str()),
        ("libc", "libc.so.6")
    );

    let d = only_decl("library m { linux = \"libm.so.6\", macos = \"libSystem.B.dylib\", }");
    let DeclKind::Library {
        source: LibSource::PerOs(keys),
        ..
    } = d.kind
    else {
        panic!()
    };
    let keys: Vec<&str> = keys.iter().map(|(k, _)| k.name.as_str()).collect();
    assert_eq!(keys, ["linux", "macos"]);

    let d = only_decl("const N: usize = 4 * 2;");
    let DeclKind::Const {
        ty: Some(t), value, ..
    } = d.kind
    else {
        panic!()
    };
    assert_eq!(
        (ty_text(&t), sx(&value)),
        ("usize".to_string(), "(* 4 2)".to_string())
    );
    let DeclKind::Const { ty: None, .. } = only_decl("const M = 1;").kind else {
        panic!()
    };

    let d = only_decl("struct Point { x: f64, y: [u8; 3], }");
    let DeclKind::Struct { name, fields } = d.kind else {
        panic!()
    };
    assert_eq!(name.name, "Point");
    assert_eq!(fields.len(), 2);
    assert_eq!(ty_text(&fields[1].ty), "[u8; 3]");
    assert_eq!(fields[1].span, sp(23..33));

    let DeclKind::Union { fields, .. } = only_decl("union Number { i: i64, f: f64 }").kind else {
        panic!()
    };
    assert_eq!(fields.len(), 2);

    let d = only_decl("enum Mode: c_int { Read = 0, Write, Append = 1 << 3, }");
    let DeclKind::Enum {
        repr: Some(r),
        variants,
        ..
    } = d.kind
    else {
        panic!()
    };
    assert_eq!(ty_text(&r), "c_int");
    let v: Vec<String> = variants
        .iter()
        .map(|v| {
            format!(
                "{}={}",
                v.name.name,
                v.value.as_ref().map_or("_".into(), sx)
            )
        })
        .collect();
    assert_eq!(v, ["Read=0", "Write=_", "Append=(<< 1 3)"]);
    let DeclKind::Enum { repr: None, .. } = only_decl("enum E { A }").kind else {
        panic!()
    };

    let DeclKind::Opaque { name } = only_decl("opaque sqlite3;").kind else {
        panic!()
    };
    assert_eq!(name.name, "sqlite3");
    let DeclKind::TypeAlias { ty, .. } = only_decl("type Handle = *sqlite3;").kind else {
        panic!()
    };
    assert_eq!(ty_text(&ty), "*sqlite3");
}

#[test]
fn callbacks_and_extern_blocks() {
    let d = only_decl("callback Compare = fn(a: *const void, b: *const void) -> c_int;");
    let DeclKind::Callback { name, sig } = d.kind else {
        panic!()
    };
    assert_eq!(name.name, "Compare");
    assert_eq!(sig.params.len(), 2);
    assert_eq!(ty_text(sig.ret.as_ref().unwrap()), "c_int");
    assert!(sig.variadic.is_none());

    let src = "@abi(sysv64) extern libc {
        fn strlen(s: cstr) -> usize;
        fn qsort(base: *void, n: usize, size: usize, cmp: Compare);
        fn snprintf(buf: *c_char, n: usize, fmt: cstr, ...) -> c_int;
        @symbol(\"abs\") @abi(win64) fn c_abs(x: c_int) -> c_int;
        fn printf(fmt: cstr, ...,) -> c_int;
    }";
    let d = only_decl(src);
    assert_eq!(d.attrs.len(), 1);
    assert_eq!(d.span, sp(0..src.len()));
    let DeclKind::Extern { lib, fns } = d.kind else {
        panic!()
    };
    assert_eq!(lib.name, "libc");
    let names: Vec<&str> = fns.iter().map(|f| f.name.name.as_str()).collect();
    assert_eq!(names, ["strlen", "qsort", "snprintf", "c_abs", "printf"]);
    assert!(fns[1].sig.ret.is_none());
    let dots = fns[2].sig.variadic.unwrap();
    assert_eq!(&src[dots.range()], "...");
    assert!(fns[4].sig.variadic.is_some());
    assert_eq!(fns[3].attrs.len(), 2);
    assert_eq!(fns[3].attrs[0].name.name, "symbol");
    assert_eq!(sx(&fns[3].attrs[0].args[0]), "\"abs\"");
    assert_eq!(sx(&fns[3].attrs[1].args[0]), "win64");

    assert_eq!(
        messages("extern c { fn f(..., a: i32); }"),
        vec!["`...` must be the last parameter"]
    );
}

#[test]
fn attributes_and_functions() {
    let d = only_decl("@packed @align(16) @layout(zig) struct H { tag: u8 }");
    let names: Vec<&str> = d.attrs.iter().map(|a| a.name.name.as_str()).collect();
    assert_eq!(names, ["packed", "align", "layout"]);
    assert!(d.attrs[0].args.is_empty());
    assert_eq!(sx(&d.attrs[1].args[0]), "16");
    assert_eq!(sx(&d.attrs[2].args[0]), "zig");
    assert_eq!(d.attrs[1].span, sp(8..18));

    let d = only_decl("fn add(a: i32, b: i32,) -> i32 { return a + b; }");
    let DeclKind::Fn(f) = d.kind else { panic!() };
    assert_eq!(f.name.name, "add");
    assert_eq!(f.params.len(), 2);
    assert_eq!(ty_text(f.ret.as_ref().unwrap()), "i32");
    assert_eq!(f.body.stmts.len(), 1);
    let DeclKind::Fn(g) = only_decl("fn main() { }").kind else {
        panic!()
    };
    assert!(g.ret.is_none() && g.params.is_empty());
}

#[test]
fn declarations_and_statements_mix_in_source_order() {
    let file = parse_ok("let a = 1; struct S { x: i32 } print(a); fn f() { } exit(0);");
    let order: Vec<bool> = file
        .items
        .iter()
        .map(|i| matches!(i, Item::Decl(_)))
        .collect();
    assert_eq!(order, [false, true, false, true, false]);
}

#[test]
fn spans_cover_their_nodes() {
    let src = "let total = p.x + f(1, 2);";
    let s = only_stmt(src);
    assert_eq!(s.span, sp(0..src.len()));
    let StmtKind::Let {
        name,
        init: Some(e),
        ..
    } = s.kind
    else {
        panic!()
    };
    assert_eq!(name.span, sp(4..9));
    assert_eq!(&src[e.span.range()], "p.x + f(1, 2)");
    let ExprKind::Binary { lhs, rhs, .. } = e.kind else {
        panic!()
    };
    assert_eq!(&src[lhs.span.range()], "p.x");
    assert_eq!(&src[rhs.span.range()], "f(1, 2)");
    let (file, _) = parse("x;", FileId(7));
    let Item::Stmt(s) = &file.items[0] else {
        panic!()
    };
    assert_eq!(s.span.file, FileId(7));
}

#[test]
fn let_without_type_or_initialiser_is_an_error() {
    let errs = errors("let x;");
    assert_eq!(
        errs,
        vec![(
            DiagKind::Syntax,
            "expected `:` or `=`, found `;`".to_string(),
            ";".to_string()
        )]
    );
}

#[test]
fn keywords_are_not_identifiers() {
    assert_eq!(
        messages("let fn = 1;"),
        vec!["expected identifier, found `fn`"]
    );
    // builtin type and value names are plain identifiers
    parse_ok("let i32 = print; struct cstr { x: u8 }");
}

#[test]
fn fn_inside_a_block_is_reported() {
    let errs = errors("fn outer() { fn inner() { } let x = 1; }");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0].1,
        "`fn` declarations are only allowed at the top level"
    );
    assert_eq!(errs[0].2, "fn inner() { }");
}

#[test]
fn recovery_reports_independent_errors() {
    let src = "let a = 1 2;
struct S { x: i32 y: i32 }
fn f() {
    let b = ;
    g(1,;
    return 3;
}
let ok = 4;
let c = (;
";
    let errs = errors(src);
    let summary: Vec<(String, String)> = errs.into_iter().map(|(_, m, t)| (m, t)).collect();
    assert_eq!(
        summary,
        vec![
            (
                "expected `;` or an operator, found integer literal".into(),
                "2".into()
            ),
            ("expected `,` or `}`, found `y`".into(), "y".into()),
            ("expected expression, found `;`".into(), ";".into()),
            ("expected expression or `)`, found `;`".into(), ";".into()),
            ("expected expression, found `;`".into(), ";".into()),
        ]
    );
    // the good parts are still in the tree
    let (file, _) = parse(src, FileId(0));
    let lets: Vec<&str> = file
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Stmt(Stmt {
                kind: StmtKind::Let { name, .. },
                ..
            }) => Some(name.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(lets, ["ok"]);
    let fns = file
        .items
        .iter()
        .filter(|i| {
            matches!(
                i,
                Item::Decl(Decl {
                    kind: DeclKind::Fn(_),
                    ..
                })
            )
        })
        .count();
    assert_eq!(fns, 1);
}

#[test]
fn recovery_inside_extern_blocks_keeps_good_functions() {
    let (file, diags) = parse(
        "extern c { fn good(x: i32); fn bad(x: ) -> i32; fn fine(); }",
        FileId(0),
    );
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].message, "expected type, found `)`");
    let Item::Decl(Decl {
        kind: DeclKind::Extern { fns, .. },
        ..
    }) = &file.items[0]
    else {
        panic!()
    };
    let names: Vec<&str> = fns.iter().map(|f| f.name.name.as_str()).collect();
    assert_eq!(names, ["good", "fine"]);
}

#[test]
fn stray_closing_brace_and_end_of_input() {
    assert_eq!(
        messages("print(1); } print(2);"),
        vec!["expected declaration or statement, found `}`"]
    );
    assert_eq!(
        messages("fn f() {"),
        vec!["expected statement or `}`, found end of input"]
    );
    let errs = errors("let x = 1");
    assert_eq!(errs[0].1, "expected `;` or an operator, found end of input");
    assert_eq!(errs[0].2, "");
}

#[test]
fn lex_errors_come_through_parse_without_cascades() {
    let errs = errors("let s = \"abc\\q\";\nlet t = 0b12;\nlet u = \"open");
    let kinds: Vec<(DiagKind, &str)> = errs.iter().map(|(k, m, _)| (*k, m.as_str())).collect();
    assert_eq!(
        kinds,
        vec![
            (DiagKind::Lex, "unknown escape `\\q`"),
            (DiagKind::Lex, "invalid digit `2` in binary literal"),
            (DiagKind::Lex, "unterminated string literal"),
        ]
    );
}

#[test]
fn deep_nesting_is_a_diagnostic_not_a_crash() {
    let ok = format!("let x = {}1{};", "(".repeat(200), ")".repeat(200));
    parse_ok(&ok);
    let too_deep = format!("let x = {}1{};", "(".repeat(300), ")".repeat(300));
    assert_eq!(
        messages(&too_deep),
        vec!["brackets nested too deeply (more than 256 levels)"]
    );
    let blocks = format!("fn f() {}{}", "{".repeat(5000), "}".repeat(5000));
    assert_eq!(messages(&blocks).len(), 1);
    let unary = format!("let x = {}y;", "!".repeat(100_000));
    assert_eq!(
        messages(&unary),
        vec!["expression nested too deeply (more than 512 levels)"]
    );
    let chain = format!("let x = 1{};", " + 1".repeat(10_000));
    assert_eq!(messages(&chain).len(), 1);
    let else_ifs = format!("if a {{ }}{}", " else if b { }".repeat(10_000));
    assert_eq!(messages(&else_ifs).len(), 1);
    let pointers = format!("let p: {}u8;", "*".repeat(10_000));
    assert_eq!(messages(&pointers).len(), 1);
    // long but flat programs are fine
    let flat = "let a = f(1, 2) + 3;\n".repeat(5_000);
    parse_ok(&flat);
    let wide = format!("let v = [{}];", "1 + 2, ".repeat(5_000));
    parse_ok(&wide);
}

#[test]
fn missing_semicolon_at_line_end_points_at_both_places() {
    let src = "let a = 1\nlet b = 2;";
    let (_, diags) = parse(src, FileId(0));
    assert_eq!(diags.len(), 1);
    assert_eq!(&src[diags[0].span.range()], "let");
    assert_eq!(diags[0].notes.len(), 1);
    let (note_span, note) = &diags[0].notes[0];
    assert_eq!(&src[note_span.range()], "1");
    assert_eq!(note, "`;` may be missing after this");
    // on one line, no note
    let (_, diags) = parse("let a = 1 let b = 2;", FileId(0));
    assert!(diags[0].notes.is_empty());
}

#[test]
fn empty_and_comment_only_files() {
    assert!(parse_ok("").items.is_empty());
    assert!(parse_ok("// nothing\n/* at /* all */ */\n")
        .items
        .is_empty());
}

#[test]
fn many_independent_errors_each_reported_once() {
    let src = "fn main() {
    if check(1, 2 { print(\"x\"); }
    print(\"ok\");
}
enum E { A = , B }
struct S { a: , b: i32 }
callback C = fn(a: i32 -> i32;
let y = 3 +;
let z = f(,);
type T = ;
let s = \"a\" \"b\";
let w = x.;
let last = 1;";
    let lines: Vec<(usize, String)> = errors(src)
        .into_iter()
        .map(|(kind, m, _)| {
            assert_eq!(kind, DiagKind::Syntax);
            m
        })
        .zip(parse(src, FileId(0)).1)
        .map(|(m, d)| (src[..d.span.start as usize].matches('\n').count() + 1, m))
        .collect();
    assert_eq!(
        lines,
        vec![
            (2, "expected `,`, `)` or an operator, found `{`".to_string()),
            (5, "expected expression, found `,`".to_string()),
            (6, "expected type, found `,`".to_string()),
            (7, "expected `,` or `)`, found `->`".to_string()),
            (8, "expected expression, found `;`".to_string()),
            (9, "expected expression or `)`, found `,`".to_string()),
            (10, "expected type, found `;`".to_string()),
            (
                11,
                "expected `;` or an operator, found string literal".to_string()
            ),
            (12, "expected identifier, found `;`".to_string()),
        ]
    );
}
