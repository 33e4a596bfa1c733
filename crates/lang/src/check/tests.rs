//! Checker unit tests: layout rules, literal typing, constant evaluation, and the
//! shape of the typed program, each from real source text.

use super::layout::{struct_layout, union_layout, LayoutOptions};
use crate::diag::{DiagKind, Diagnostic};
use crate::span::SourceMap;
use crate::target::Target;
use crate::tir::{
    Callee, CoerceKind, ConstValue, ExprKind, Program, StmtKind, TypeId, TypeKind, TypeLayout, Var,
};

fn check_on(src: &str, target: Target) -> Result<Program, Vec<Diagnostic>> {
    let mut map = SourceMap::new();
    super::check_source(&mut map, "<test>", None, src.to_string(), target)
}

fn ok(src: &str) -> Program {
    match check_on(src, Target::SysVX64) {
        Ok(p) => p,
        Err(d) => panic!("unexpected diagnostics: {d:#?}"),
    }
}

fn kinds(src: &str) -> Vec<DiagKind> {
    match check_on(src, Target::SysVX64) {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(|d| d.kind).collect(),
    }
}

fn layout(p: &Program, name: &str) -> TypeLayout {
    p.type_layout(name)
        .unwrap_or_else(|| panic!("no layout for {name}"))
}

fn fields(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(n, o)| (n.to_string(), *o)).collect()
}

#[test]
fn c_struct_layout_pads_and_rounds() {
    let p = ok("struct S { a: u8, b: u32, c: u16 }");
    assert_eq!(
        layout(&p, "S"),
        TypeLayout {
            size: 12,
            align: 4,
            fields: fields(&[("a", 0), ("b", 4), ("c", 8)])
        }
    );
}

#[test]
fn packed_struct_has_no_padding() {
    let p = ok("@packed struct Header { tag: u8, len: u32 }");
    assert_eq!(
        layout(&p, "Header"),
        TypeLayout {
            size: 5,
            align: 1,
            fields: fields(&[("tag", 0), ("len", 1)])
        }
    );
}

#[test]
fn align_raises_alignment_and_rounds_size() {
    let p = ok(
        "@align(16) struct Vec4 { x: f32, y: f32, z: f32, w: f32 }\n\
                @align(8) @packed struct P { a: u8, b: u32 }\n\
                @align(2) struct Low { a: u64 }",
    );
    assert_eq!(
        (layout(&p, "Vec4").size, layout(&p, "Vec4").align),
        (16, 16)
    );
    // gcc: __attribute__((packed, aligned(8))) -> size 8, align 8, b at 1.
    assert_eq!(
        layout(&p, "P"),
        TypeLayout {
            size: 8,
            align: 8,
            fields: fields(&[("a", 0), ("b", 1)])
        }
    );
    // @align never lowers alignment.
    assert_eq!((layout(&p, "Low").size, layout(&p, "Low").align), (8, 8));
}

#[test]
fn zig_layout_orders_by_descending_alignment() {
    let p = ok(
        "@layout(zig) struct Options { entries: u32, thread_pool: *void }\n\
                @layout(zig) struct Z { a: u8, b: u64, c: u16, d: u8 }",
    );
    assert_eq!(
        layout(&p, "Options"),
        TypeLayout {
            size: 16,
            align: 8,
            fields: fields(&[("entries", 8), ("thread_pool", 0)])
        }
    );
    // Stable among equal alignments: b(8) c(2) a(1) d(1).
    assert_eq!(
        layout(&p, "Z").fields,
        fields(&[("a", 10), ("b", 0), ("c", 8), ("d", 11)])
    );
    assert_eq!(layout(&p, "Z").size, 16);
}

#[test]
fn union_layout_is_max_rounded() {
    let p =
        ok("union Number { i: i64, f: f64, b: [u8; 9] }\n@packed union PU { a: u32, b: [u8; 5] }");
    assert_eq!(
        layout(&p, "Number"),
        TypeLayout {
            size: 16,
            align: 8,
            fields: fields(&[("i", 0), ("f", 0), ("b", 0)])
        }
    );
    assert_eq!((layout(&p, "PU").size, layout(&p, "PU").align), (5, 1));
}

#[test]
fn nested_structs_and_arrays() {
    let p = ok("struct Inner { a: u8, b: f64 }\n\
                struct Outer { c: u8, inner: Inner, arr: [u16; 3], d: u8 }\n\
                struct E {}\n\
                struct Z0 { a: u8, z: [u64; 0] }\n\
                type Grid = [[i32; 3]; 2];");
    assert_eq!(
        (layout(&p, "Inner").size, layout(&p, "Inner").align),
        (16, 8)
    );
    assert_eq!(
        layout(&p, "Outer"),
        TypeLayout {
            size: 32,
            align: 8,
            fields: fields(&[("c", 0), ("inner", 8), ("arr", 24), ("d", 30)])
        }
    );
    assert_eq!((layout(&p, "E").size, layout(&p, "E").align), (0, 1));
    // `[T; 0]`: size 0, alignment of T.
    assert_eq!((layout(&p, "Z0").size, layout(&p, "Z0").align), (8, 8));
    assert_eq!((layout(&p, "Grid").size, layout(&p, "Grid").align), (24, 4));
}

#[test]
fn types_declared_in_any_order_and_through_pointers() {
    let p = ok("struct A { b: B, next: *A }\nstruct B { x: i32 }");
    assert_eq!(layout(&p, "A").size, 16);
    assert_eq!(
        kinds("struct A { b: B }\nstruct B { a: A }"),
        vec![DiagKind::InvalidType]
    );
    assert_eq!(kinds("struct S { s: [S; 2] }"), vec![DiagKind::InvalidType]);
    assert_eq!(
        kinds("struct S { a: [u8; sizeof(S)] }"),
        vec![DiagKind::InvalidType]
    );
    assert_eq!(
        kinds("const N = sizeof(S);\nstruct S { a: [u8; N] }"),
        vec![DiagKind::InvalidType]
    );
}

#[test]
fn c_aliases_follow_the_target() {
    let src = "struct L { a: c_char, b: c_long }";
    let lp64 = check_on(src, Target::SysVX64).unwrap();
    assert_eq!(
        (layout(&lp64, "L").size, layout(&lp64, "c_long").size),
        (16, 8)
    );
    let win = check_on(src, Target::Win64).unwrap();
    assert_eq!(layout(&win, "c_long").size, 4);
    assert_eq!((layout(&win, "L").size, layout(&win, "L").align), (8, 4));
    assert_eq!(win.type_id("c_ulong"), Some(TypeId::U32));
    let arm = check_on(src, Target::Aarch64Linux).unwrap();
    assert_eq!(arm.type_id("c_char"), Some(TypeId::U8));
    assert_eq!(lp64.type_id("c_char"), Some(TypeId::I8));
    assert_eq!(layout(&lp64, "bool").size, 1);
    assert!(lp64.type_layout("void").is_none());
}

#[test]
fn pure_layout_functions() {
    let opts = LayoutOptions::default();
    let l = struct_layout(&[(1, 1), (8, 8)], opts);
    assert_eq!((l.offsets, l.size, l.align), (vec![0, 8], 16, 8));
    let u = union_layout(&[(3, 1), (4, 4)], opts);
    assert_eq!((u.size, u.align), (4, 4));
}

/// The value of the first top-level `let` initialiser (a global).
fn first_init(p: &Program) -> (TypeId, ExprKind) {
    for s in &p.main.stmts {
        if let StmtKind::Let {
            var: Var::Global(_),
            init: Some(e),
        } = &s.kind
        {
            return (e.ty, e.kind.clone());
        }
    }
    panic!("no let")
}

#[test]
fn literals_adopt_the_expected_type() {
    let (ty, kind) = first_init(&ok("let x: i8 = -128;"));
    assert_eq!(ty, TypeId::I8);
    assert_eq!(kind, ExprKind::Const(ConstValue::Int(-128)));
    assert_eq!(kinds("let x: i8 = 128;"), vec![DiagKind::LiteralOverflow]);
    assert_eq!(kinds("let x: i8 = -129;"), vec![DiagKind::LiteralOverflow]);
    assert_eq!(kinds("let x: u8 = 256;"), vec![DiagKind::LiteralOverflow]);
    assert_eq!(kinds("let x: u8 = -1;"), vec![DiagKind::LiteralOverflow]);
    assert!(kinds("let x: u8 = 255; let y: u64 = 0xFFFF_FFFF_FFFF_FFFF;").is_empty());
    let (ty, kind) = first_init(&ok("let f: f64 = 1;"));
    assert_eq!(
        (ty, kind),
        (TypeId::F64, ExprKind::Const(ConstValue::Float(1.0)))
    );
    assert_eq!(first_init(&ok("let n = 5;")).0, TypeId::I64);
    assert_eq!(first_init(&ok("let n = 2.5;")).0, TypeId::F64);
    assert_eq!(kinds("let n: i32 = 2.5;"), vec![DiagKind::TypeMismatch]);
    // The literal side of a binary operation takes the other side's type.
    let (ty, _) = first_init(&ok("let a: u16 = 3; let b = 1 + a;"));
    assert_eq!(ty, TypeId::U16);
    let p = ok("let a: u16 = 3; let b = 1 + a;");
    assert_eq!(p.globals[1].ty, TypeId::U16);
    assert_eq!(
        kinds("let a: u16 = 3; let b: i32 = 7; let c = a + b;"),
        vec![DiagKind::TypeMismatch]
    );
}

#[test]
fn constants_evaluate() {
    let p = ok("const A = 4 * 16;\n\
                const B: u8 = 255;\n\
                const C: u8 = B + 1;\n\
                const D = sizeof(S) + offsetof(S, b);\n\
                const E = (A > 10) && true;\n\
                const F = A as f64 / 8.0;\n\
                const G: i32 = Mode::W as i32 * -2;\n\
                const H = \"text\";\n\
                struct S { a: u8, b: [u32; A / 16] }\n\
                enum Mode: u8 { R = 1, W, X = 0x10 }");
    let get = |n: &str| p.consts.iter().find(|c| c.name == n).unwrap().clone();
    assert_eq!(
        (get("A").ty, get("A").value.clone()),
        (TypeId::I64, ConstValue::Int(64))
    );
    assert_eq!(get("C").value, ConstValue::Int(0)); // wraps in u8
    assert_eq!(
        (get("D").ty, get("D").value.clone()),
        (TypeId::U64, ConstValue::Int(24))
    );
    assert_eq!(get("E").value, ConstValue::Bool(true));
    assert_eq!(get("F").value, ConstValue::Float(8.0));
    assert_eq!(get("G").value, ConstValue::Int(-4));
    assert_eq!(get("H").value, ConstValue::Str("text".into()));
    let mode = p.type_id("Mode").unwrap();
    let TypeKind::Enum(e) = &p.ty(mode).kind else {
        panic!()
    };
    let values: Vec<i128> = e.variants.iter().map(|v| v.value).collect();
    assert_eq!(values, vec![1, 2, 16]);
    assert_eq!(p.ty(mode).size, 1);
}

#[test]
fn constant_errors() {
    assert_eq!(kinds("const A = B;\nconst B = A;"), vec![DiagKind::Const]);
    assert_eq!(kinds("const A = 1 / 0;"), vec![DiagKind::Const]);
    assert_eq!(kinds("let v = 1;\nconst A = v;"), vec![DiagKind::Const]);
    assert_eq!(kinds("struct S { a: [u8; -1] }"), vec![DiagKind::Const]);
    assert_eq!(kinds("enum E: u8 { A = 255, B }"), vec![DiagKind::Const]);
    assert_eq!(
        kinds("enum E: u8 { A = 256 }"),
        vec![DiagKind::LiteralOverflow]
    );
    assert_eq!(
        kinds("@align(3) struct S { a: u8 }"),
        vec![DiagKind::Attribute]
    );
}

#[test]
fn foreign_arguments_convert_explicitly() {
    let p = ok("library c = \"libc.so.6\";\n\
                extern c { fn abs(x: c_int) -> c_int; fn printf(fmt: cstr, ...) -> c_int; fn sinf(x: f32) -> f32; }\n\
                let big: i64 = 5;\n\
                let s: i16 = 2;\n\
                abs(big);\n\
                printf(\"%d %d %f\", s, 7, 1.5);\n\
                sinf(1.0 as f64);");
    let calls: Vec<&Vec<crate::tir::Expr>> = p
        .main
        .stmts
        .iter()
        .filter_map(|s| match &s.kind {
            StmtKind::Expr(e) => match &e.kind {
                ExprKind::Call {
                    callee: Callee::Foreign(_),
                    args,
                } => Some(args),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert!(matches!(
        calls[0][0].kind,
        ExprKind::Coerce {
            kind: CoerceKind::IntChecked,
            ..
        }
    ));
    assert_eq!(calls[0][0].ty, TypeId::I32);
    // i16 promoted to c_int; the literal 7 is a c_int; 1.5 an f64.
    assert!(matches!(
        calls[1][1].kind,
        ExprKind::Coerce {
            kind: CoerceKind::Promote,
            ..
        }
    ));
    assert_eq!(
        (calls[1][1].ty, calls[1][2].ty, calls[1][3].ty),
        (TypeId::I32, TypeId::I32, TypeId::F64)
    );
    assert!(matches!(
        calls[2][0].kind,
        ExprKind::Coerce {
            kind: CoerceKind::F64ToF32,
            ..
        }
    ));
    assert!(p.foreign_fns[1].sig.variadic);
}

#[test]
fn locals_are_slots_and_address_taken_is_marked() {
    let p =
        ok("fn f(a: i32) -> i32 { let b = a; let c = 2; let p = &c; { let b = 3; } return b; }");
    let f = &p.functions[0];
    let names: Vec<&str> = f.body.locals.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, vec!["a", "b", "c", "p", "b"]);
    let taken: Vec<bool> = f.body.locals.iter().map(|l| l.addr_taken).collect();
    assert_eq!(taken, vec![false, false, true, false, false]);
}

#[test]
fn script_checks() {
    assert_eq!(kinds("break;"), vec![DiagKind::Invalid]);
    assert_eq!(
        kinds("fn f() -> i32 { if true { return 1; } }"),
        vec![DiagKind::Invalid]
    );
    assert!(kinds("fn f() -> i32 { if true { return 1; } else { return 2; } }").is_empty());
    assert_eq!(kinds("fn f(a: i32) {}\nf(1, 2);"), vec![DiagKind::Arity]);
    assert_eq!(
        kinds("fn f(a: i32) {}\nlet x: i64 = 1;\nf(x);"),
        vec![DiagKind::TypeMismatch]
    );
    assert_eq!(
        kinds("callback C = fn(a: i32) -> i32;\nfn f(a: i64) -> i32 { return 1; }\nlet c: C = f;"),
        vec![DiagKind::TypeMismatch]
    );
    assert_eq!(
        kinds("callback C = fn(a: i32) -> i32;\nfn f() -> i32 { return 1; }\nlet c: C = f;"),
        vec![DiagKind::Arity]
    );
    assert_eq!(
        kinds("let p: *const i32 = null;\n*p = 1;"),
        vec![DiagKind::Invalid]
    );
    assert_eq!(kinds("let x = &5;"), vec![DiagKind::Invalid]);
    assert_eq!(kinds("let x = pritn(1);"), vec![DiagKind::UnknownName]);
    // Top-level lets shadow like block lets; functions must not see an ambiguous name.
    let p = ok("let a = 1;\nlet a = a as f64 + 0.5;\nprint(a);");
    assert_eq!(
        (p.globals[0].ty, p.globals[1].ty),
        (TypeId::I64, TypeId::F64)
    );
    assert_eq!(
        kinds("let a = 1;\nlet a = 2;\nfn f() -> i64 { return a; }"),
        vec![DiagKind::Invalid]
    );
    assert_eq!(kinds("fn a() {}\nlet a = 2;"), vec![DiagKind::Duplicate]);
    assert_eq!(kinds("struct i32 { a: u8 }"), vec![DiagKind::Duplicate]);
    assert_eq!(kinds("fn print() {}"), vec![DiagKind::Duplicate]);
    assert_eq!(
        kinds("fn f(exit: i32) {}\n{ let string = 1; }"),
        vec![DiagKind::Duplicate; 2]
    );
    assert_eq!(kinds("struct S { v: void }"), vec![DiagKind::InvalidType]);
    assert_eq!(
        kinds("callback C = fn(a: i32, ...);"),
        vec![DiagKind::Invalid]
    );
    // One error, no cascade from the unknown type.
    assert_eq!(
        kinds("let p: Pointt = 1;\nlet q = p.x + 1;"),
        vec![DiagKind::UnknownName]
    );
}

/// Robustness: deleting any line, or swapping any two lines, of a program using every
/// feature must give diagnostics or a program, never a panic.
#[test]
fn mutated_programs_never_panic() {
    let src = include_str!("../../../../tests/check/ok.ffidl");
    let src = src.replace("import ", "// import ");
    let lines: Vec<&str> = src.lines().collect();
    for skip in 0..lines.len() {
        let text: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, l)| *l)
            .collect();
        let _ = check_on(&text.join("\n"), Target::SysVX64);
    }
    for i in (0..lines.len()).step_by(3) {
        for j in (i + 1..lines.len()).step_by(5) {
            let mut text = lines.clone();
            text.swap(i, j);
            let _ = check_on(&text.join("\n"), Target::Win64);
        }
    }
    // Every identifier replaced by a near miss, one at a time.
    for (pos, _) in src
        .match_indices(|c: char| c.is_ascii_lowercase())
        .step_by(7)
    {
        let mut text = src.clone();
        text.replace_range(pos..pos + 1, "q");
        let _ = check_on(&text, Target::Aarch64Linux);
    }
}

#[test]
fn typed_tree_resolves_every_name() {
    let p = ok("struct P { a: u8, b: i32 }\n\
                callback Cb = fn(x: i32) -> i32;\n\
                fn twice(x: i32) -> i32 { return x * 2; }\n\
                fn use_global() -> i32 { return g.b; }\n\
                let g = P { a: 1, b: 2 };\n\
                let pp = &g;\n\
                pp.b = 5;\n\
                let c: Cb = twice;\n\
                print(c(3), twice(4), use_global());");
    assert_eq!(p.globals.len(), 3);
    assert!(p.globals[0].addr_taken);
    // `pp.b = 5`: a field of an explicit dereference, offset 4.
    let StmtKind::Assign {
        place,
        op: None,
        value,
    } = &p.main.stmts[2].kind
    else {
        panic!("{:?}", p.main.stmts[2])
    };
    let ExprKind::Field {
        base,
        field: 1,
        offset: 4,
    } = &place.kind
    else {
        panic!("{place:?}")
    };
    assert!(matches!(base.kind, ExprKind::Deref(_)));
    assert_eq!((place.ty, value.ty), (TypeId::I32, TypeId::I32));
    // `let c: Cb = twice`: the function as a callback value.
    let StmtKind::Let {
        init: Some(init), ..
    } = &p.main.stmts[3].kind
    else {
        panic!()
    };
    assert_eq!(init.kind, ExprKind::FnRef(crate::tir::FnId(0)));
    assert_eq!(p.type_name(init.ty), "Cb");
    let StmtKind::Expr(print) = &p.main.stmts[4].kind else {
        panic!()
    };
    let ExprKind::Call {
        callee: Callee::Builtin(crate::tir::Builtin::Print),
        args,
    } = &print.kind
    else {
        panic!()
    };
    assert!(matches!(
        args[0].kind,
        ExprKind::Call {
            callee: Callee::Value(_),
            ..
        }
    ));
    assert!(matches!(
        args[1].kind,
        ExprKind::Call {
            callee: Callee::Script(crate::tir::FnId(0)),
            ..
        }
    ));
    // The function body reads the global by slot.
    let StmtKind::Return(Some(r)) = &p.functions[1].body.stmts[0].kind else {
        panic!()
    };
    let ExprKind::Field { base, .. } = &r.kind else {
        panic!()
    };
    assert_eq!(base.kind, ExprKind::Global(crate::tir::GlobalId(0)));
}
