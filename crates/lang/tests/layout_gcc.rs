//! Layout against gcc: one catalogue of struct/union shapes (hand-picked edge cases, a
//! size ladder, `@layout(zig)` cases and seeded pseudo-random nested shapes) is written
//! both as `.ffidl` declarations and as C declarations. A generated C program prints
//! `sizeof`, `_Alignof` and every `offsetof`; gcc compiles it and its output is compared
//! with what the checker's `Program::type_layout` says for the same names on
//! `Target::SysVX64` (and, with gcc standing in, on the AArch64 Linux and Win64 data
//! models, where only C `long` differs). Skipped, with a message, off x86_64-linux.
//!
//! `@layout(zig)` shapes are written to C with their fields already sorted by descending
//! alignment (stable), so gcc lays out the order the core page prescribes; the field
//! alignments the test sorts by are themselves checked against gcc's `_Alignof`.
//!
//! Owns only this test. `FFIDL_LAYOUT_SEED=<n>` explores other random catalogues;
//! `FFIDL_LAYOUT_KEEP=1` keeps the generated files (their folder is printed).

use ffidl_lang::{check_source, diag, SourceMap, Target, TypeLayout};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The seed of the random part of the catalogue (override with `FFIDL_LAYOUT_SEED`).
const DEFAULT_SEED: u64 = 0x5eed_1a70_0f1d_1a01;
/// How many random shapes the catalogue holds.
const RANDOM_SHAPES: usize = 60;

// ---------------------------------------------------------------------------------------
// Types of fields
// ---------------------------------------------------------------------------------------

/// A builtin scalar: its `.ffidl` name, its C spelling and its x86-64 alignment.
#[derive(Clone, Copy, Debug)]
struct Scalar {
    ffidl: &'static str,
    c: &'static str,
    align: u64,
}

const SCALARS: &[Scalar] = &[
    Scalar {
        ffidl: "i8",
        c: "int8_t",
        align: 1,
    },
    Scalar {
        ffidl: "i16",
        c: "int16_t",
        align: 2,
    },
    Scalar {
        ffidl: "i32",
        c: "int32_t",
        align: 4,
    },
    Scalar {
        ffidl: "i64",
        c: "int64_t",
        align: 8,
    },
    Scalar {
        ffidl: "u8",
        c: "uint8_t",
        align: 1,
    },
    Scalar {
        ffidl: "u16",
        c: "uint16_t",
        align: 2,
    },
    Scalar {
        ffidl: "u32",
        c: "uint32_t",
        align: 4,
    },
    Scalar {
        ffidl: "u64",
        c: "uint64_t",
        align: 8,
    },
    Scalar {
        ffidl: "isize",
        c: "intptr_t",
        align: 8,
    },
    Scalar {
        ffidl: "usize",
        c: "uintptr_t",
        align: 8,
    },
    Scalar {
        ffidl: "f32",
        c: "float",
        align: 4,
    },
    Scalar {
        ffidl: "f64",
        c: "double",
        align: 8,
    },
    Scalar {
        ffidl: "bool",
        c: "_Bool",
        align: 1,
    },
    Scalar {
        ffidl: "c_char",
        c: "char",
        align: 1,
    },
    Scalar {
        ffidl: "c_schar",
        c: "signed char",
        align: 1,
    },
    Scalar {
        ffidl: "c_uchar",
        c: "unsigned char",
        align: 1,
    },
    Scalar {
        ffidl: "c_short",
        c: "short",
        align: 2,
    },
    Scalar {
        ffidl: "c_ushort",
        c: "unsigned short",
        align: 2,
    },
    Scalar {
        ffidl: "c_int",
        c: "int",
        align: 4,
    },
    Scalar {
        ffidl: "c_uint",
        c: "unsigned int",
        align: 4,
    },
    Scalar {
        ffidl: "c_long",
        c: "long",
        align: 8,
    },
    Scalar {
        ffidl: "c_ulong",
        c: "unsigned long",
        align: 8,
    },
    Scalar {
        ffidl: "c_longlong",
        c: "long long",
        align: 8,
    },
    Scalar {
        ffidl: "c_ulonglong",
        c: "unsigned long long",
        align: 8,
    },
    Scalar {
        ffidl: "size_t",
        c: "size_t",
        align: 8,
    },
    Scalar {
        ffidl: "ssize_t",
        c: "ssize_t",
        align: 8,
    },
];

/// The C spelling of a scalar for a target's data model: C `long` is 4 bytes on Win64,
/// so `c_long`/`c_ulong` are written as `int`/`unsigned int` there (every other scalar
/// of the list has the same size and alignment on the three targets).
fn scalar_c(index: usize, target: Target) -> &'static str {
    match (SCALARS[index].ffidl, target) {
        ("c_long", Target::Win64) => "int",
        ("c_ulong", Target::Win64) => "unsigned int",
        (_, _) => SCALARS[index].c,
    }
}

/// The alignment of a scalar on a target (see [`scalar_c`]).
fn scalar_align(index: usize, target: Target) -> u64 {
    match (SCALARS[index].ffidl, target) {
        ("c_long" | "c_ulong", Target::Win64) => 4,
        (_, _) => SCALARS[index].align,
    }
}

fn index_of_scalar(name: &str) -> usize {
    SCALARS
        .iter()
        .position(|s| s.ffidl == name)
        .unwrap_or_else(|| panic!("test bug: no scalar `{name}`"))
}

fn scalar(name: &str) -> Ty {
    Ty::Scalar(index_of_scalar(name))
}

/// The type of a field (or of a pointee).
#[derive(Clone, Debug)]
enum Ty {
    Scalar(usize),
    /// `void`, only behind a pointer.
    Void,
    Cstr,
    Ptr {
        konst: bool,
        to: Box<Ty>,
    },
    /// A named type of the preamble or catalogue: struct, union, enum, alias, callback,
    /// opaque. The C side has a typedef of the same name.
    Named(String),
    Array(Box<Ty>, u64),
}

fn ptr(to: Ty) -> Ty {
    Ty::Ptr {
        konst: false,
        to: Box::new(to),
    }
}

fn const_ptr(to: Ty) -> Ty {
    Ty::Ptr {
        konst: true,
        to: Box::new(to),
    }
}

fn named(name: &str) -> Ty {
    Ty::Named(name.to_string())
}

fn array(elem: Ty, len: u64) -> Ty {
    Ty::Array(Box::new(elem), len)
}

impl Ty {
    fn ffidl(&self) -> String {
        match self {
            Ty::Scalar(i) => SCALARS[*i].ffidl.to_string(),
            Ty::Void => "void".to_string(),
            Ty::Cstr => "cstr".to_string(),
            Ty::Ptr { konst, to } => {
                format!("*{}{}", if *konst { "const " } else { "" }, to.ffidl())
            }
            Ty::Named(n) => n.clone(),
            Ty::Array(elem, n) => format!("[{}; {n}]", elem.ffidl()),
        }
    }

    /// The C type without declarator (never called on arrays).
    fn c_base(&self, target: Target) -> String {
        match self {
            Ty::Scalar(i) => scalar_c(*i, target).to_string(),
            Ty::Void => "void".to_string(),
            Ty::Cstr => "const char *".to_string(),
            Ty::Ptr { konst, to } => {
                format!(
                    "{}{} *",
                    to.c_base(target),
                    if *konst { " const" } else { "" }
                )
            }
            Ty::Named(n) => n.clone(),
            Ty::Array(..) => unreachable!("arrays are spelled by c_decl"),
        }
    }

    /// A C declaration of `name` with this type (`name` empty: an abstract type name).
    fn c_decl(&self, name: &str, target: Target) -> String {
        match self {
            Ty::Array(elem, n) => elem.c_decl(&format!("{name}[{n}]"), target),
            other => format!("{} {name}", other.c_base(target)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The preamble: enums, callbacks, aliases and an opaque type that the shapes refer to
// ---------------------------------------------------------------------------------------

/// Declarations written by hand in both languages; `align` is the natural alignment the
/// test assumes when sorting `@layout(zig)` fields (checked against gcc), 0 meaning the
/// target's C `long` alignment; `C_LONG` in the C text is the target's spelling of it.
struct PreambleType {
    name: &'static str,
    ffidl: &'static str,
    c: &'static str,
    align: u64,
}

const PREAMBLE: &[PreambleType] = &[
    PreambleType {
        name: "Color",
        ffidl: "enum Color: u8 { Red, Green = 200, Blue }",
        c: "typedef uint8_t Color;",
        align: 1,
    },
    PreambleType {
        name: "Small",
        ffidl: "enum Small: i16 { Neg = -300, Zero = 0, Pos = 300 }",
        c: "typedef int16_t Small;",
        align: 2,
    },
    PreambleType {
        name: "Plain",
        ffidl: "enum Plain { First, Second, Third }",
        c: "typedef int Plain;",
        align: 4,
    },
    PreambleType {
        name: "Wide",
        ffidl: "enum Wide: c_uint { Low, High = 0xffff_ffff }",
        c: "typedef unsigned int Wide;",
        align: 4,
    },
    PreambleType {
        name: "Huge",
        ffidl: "enum Huge: i64 { Minus = -1, Max = 0x7fff_ffff_ffff_ffff }",
        c: "typedef int64_t Huge;",
        align: 8,
    },
    PreambleType {
        name: "Level",
        ffidl: "enum Level: c_long { Quiet = -2, Loud = 1_000_000_000 }",
        c: "typedef C_LONG Level;",
        align: 0,
    },
    PreambleType {
        name: "Cmp",
        ffidl: "callback Cmp = fn(a: *const void, b: *const void) -> c_int;",
        c: "typedef int (*Cmp)(const void *, const void *);",
        align: 8,
    },
    PreambleType {
        name: "OnEvent",
        ffidl: "callback OnEvent = fn(ctx: *void, code: i32, at: Point) -> void;",
        c: "typedef void (*OnEvent)(void *, int32_t, Point);",
        align: 8,
    },
    PreambleType {
        name: "Getter",
        ffidl: "callback Getter = fn() -> f64;",
        c: "typedef double (*Getter)(void);",
        align: 8,
    },
    PreambleType {
        name: "Thing",
        ffidl: "opaque Thing;",
        c: "typedef struct Thing Thing;",
        align: 0,
    },
    PreambleType {
        name: "Handle",
        ffidl: "type Handle = *Thing;",
        c: "typedef Thing *Handle;",
        align: 8,
    },
    PreambleType {
        name: "Count",
        ffidl: "type Count = u32;",
        c: "typedef uint32_t Count;",
        align: 4,
    },
    PreambleType {
        name: "PointAlias",
        ffidl: "type PointAlias = Point;",
        c: "typedef Point PointAlias;",
        align: 8,
    },
];

/// Preamble names whose `sizeof`/`_Alignof` are compared too (not `Thing`: opaque).
const SIZED_PREAMBLE: &[&str] = &[
    "Color",
    "Small",
    "Plain",
    "Wide",
    "Huge",
    "Level",
    "Cmp",
    "OnEvent",
    "Getter",
    "Handle",
    "Count",
    "PointAlias",
];

// ---------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Shape {
    name: String,
    /// Where the shape comes from, for failure messages.
    origin: String,
    union: bool,
    packed: bool,
    align: Option<u64>,
    zig: bool,
    fields: Vec<(String, Ty)>,
}

impl Shape {
    fn new(name: &str, origin: &str) -> Shape {
        Shape {
            name: name.to_string(),
            origin: origin.to_string(),
            union: false,
            packed: false,
            align: None,
            zig: false,
            fields: Vec::new(),
        }
    }

    fn union(mut self) -> Shape {
        self.union = true;
        self
    }

    fn packed(mut self) -> Shape {
        self.packed = true;
        self
    }

    fn aligned(mut self, n: u64) -> Shape {
        self.align = Some(n);
        self
    }

    fn zig(mut self) -> Shape {
        self.zig = true;
        self
    }

    fn field(mut self, name: &str, ty: Ty) -> Shape {
        self.fields.push((name.to_string(), ty));
        self
    }

    fn attributes_ffidl(&self) -> String {
        let mut out = String::new();
        if self.packed {
            out.push_str("@packed ");
        }
        if let Some(n) = self.align {
            let _ = write!(out, "@align({n}) ");
        }
        if self.zig {
            out.push_str("@layout(zig) ");
        }
        out
    }

    fn ffidl(&self) -> String {
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|(n, t)| format!("{n}: {}", t.ffidl()))
            .collect();
        format!(
            "{}{} {} {{ {} }}",
            self.attributes_ffidl(),
            if self.union { "union" } else { "struct" },
            self.name,
            fields.join(", ")
        )
    }

    /// The C definition; `zig` shapes get their fields in the sorted order.
    fn c(&self, catalogue: &Catalogue) -> String {
        let mut attrs = Vec::new();
        if self.packed {
            attrs.push("packed".to_string());
        }
        if let Some(n) = self.align {
            attrs.push(format!("aligned({n})"));
        }
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!("__attribute__(({})) ", attrs.join(", "))
        };
        let fields: Vec<String> = self
            .c_field_order(catalogue)
            .iter()
            .map(|(n, t)| format!("{};", t.c_decl(n, catalogue.target)))
            .collect();
        format!(
            "{} {attrs}{} {{ {} }};",
            if self.union { "union" } else { "struct" },
            self.name,
            fields.join(" ")
        )
    }

    /// Fields in the order C must declare them: declaration order, or for
    /// `@layout(zig)` sorted by descending alignment, keeping ties in declaration order.
    fn c_field_order(&self, catalogue: &Catalogue) -> Vec<(String, Ty)> {
        let mut fields = self.fields.clone();
        if self.zig {
            fields.sort_by_key(|(_, t)| std::cmp::Reverse(catalogue.natural_align(t)));
        }
        fields
    }

    fn describe(&self) -> String {
        format!("shape `{}` [{}]", self.name, self.origin)
    }
}

/// Every shape, in dependency order (a shape uses earlier shapes by value).
struct Catalogue {
    shapes: Vec<Shape>,
    seed: u64,
    /// The data model the C side is written for and the checker is run with.
    target: Target,
}

impl Catalogue {
    fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.iter().find(|s| s.name == name)
    }

    /// The alignment C gives a field of this type outside any packed struct (the
    /// test's own small model, used only to sort `@layout(zig)` fields and verified
    /// against gcc's `_Alignof`).
    fn natural_align(&self, ty: &Ty) -> u64 {
        match ty {
            Ty::Scalar(i) => scalar_align(*i, self.target),
            Ty::Void => 1,
            Ty::Cstr | Ty::Ptr { .. } => 8,
            Ty::Array(elem, _) => self.natural_align(elem),
            Ty::Named(n) => {
                if let Some(p) = PREAMBLE.iter().find(|p| p.name == n) {
                    return match p.align {
                        0 => self.natural_align(&scalar("c_long")),
                        align => align,
                    };
                }
                let shape = self
                    .shape(n)
                    .unwrap_or_else(|| panic!("test bug: unknown type `{n}`"));
                let fields = if shape.packed {
                    1
                } else {
                    shape
                        .fields
                        .iter()
                        .map(|(_, t)| self.natural_align(t))
                        .max()
                        .unwrap_or(1)
                };
                fields.max(shape.align.unwrap_or(1))
            }
        }
    }

    /// The whole `.ffidl` file. Shapes are written in reverse dependency order and the
    /// preamble last, so every use precedes its declaration (declarations are hoisted).
    fn ffidl_file(&self) -> String {
        let mut out = String::from("// Generated by crates/lang/tests/layout_gcc.rs\n");
        for shape in self.shapes.iter().rev() {
            let _ = writeln!(out, "{}", shape.ffidl());
        }
        for p in PREAMBLE {
            let _ = writeln!(out, "{}", p.ffidl);
        }
        out
    }

    /// The C program printing `T name size align`, `F name field offset` and
    /// `A name field align` (alignment of a `@layout(zig)` field's type) lines.
    fn c_program(&self) -> String {
        let mut out = String::from(
            "/* Generated by crates/lang/tests/layout_gcc.rs */\n\
             #include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n\
             #include <stdbool.h>\n#include <sys/types.h>\n\n",
        );
        for shape in &self.shapes {
            let kw = if shape.union { "union" } else { "struct" };
            let _ = writeln!(out, "typedef {kw} {0} {0};", shape.name);
        }
        let c_long = scalar_c(index_of_scalar("c_long"), self.target);
        for p in PREAMBLE {
            let _ = writeln!(out, "{}", p.c.replace("C_LONG", c_long));
        }
        for shape in &self.shapes {
            let _ = writeln!(out, "{}", shape.c(self));
        }
        out.push_str("\nint main(void) {\n");
        let type_line = |out: &mut String, label: &str, c_type: &str| {
            let _ = writeln!(
                out,
                "    printf(\"T {label} %zu %zu\\n\", sizeof({c_type}), _Alignof({c_type}));"
            );
        };
        for (i, s) in SCALARS.iter().enumerate() {
            type_line(&mut out, s.ffidl, scalar_c(i, self.target));
        }
        for name in SIZED_PREAMBLE {
            type_line(&mut out, name, name);
        }
        for shape in &self.shapes {
            type_line(&mut out, &shape.name, &shape.name);
            for (field, ty) in &shape.fields {
                let _ = writeln!(
                    out,
                    "    printf(\"F {0} {1} %zu\\n\", offsetof({0}, {1}));",
                    shape.name, field
                );
                if shape.zig {
                    let _ = writeln!(
                        out,
                        "    printf(\"A {0} {1} %zu\\n\", _Alignof({2}));",
                        shape.name,
                        field,
                        ty.c_decl("", self.target)
                    );
                }
            }
        }
        out.push_str("    return 0;\n}\n");
        out
    }
}

// ---------------------------------------------------------------------------------------
// The catalogue: hand-picked shapes
// ---------------------------------------------------------------------------------------

fn hand_picked() -> Vec<Shape> {
    let h = "hand-picked";
    let mut v = vec![
        Shape::new("Point", h)
            .field("x", scalar("f64"))
            .field("y", scalar("f64")),
        Shape::new("Vec3f", h)
            .field("x", scalar("f32"))
            .field("y", scalar("f32"))
            .field("z", scalar("f32")),
        Shape::new("Node", h)
            .field("value", scalar("i32"))
            .field("next", ptr(named("Node")))
            .field("prev", ptr(named("Node"))),
    ];
    // Every scalar, in one struct and each one after a lone byte.
    let mut all = Shape::new("AllScalars", "hand-picked: every scalar type in order");
    for s in SCALARS {
        all = all.field(&format!("v_{}", s.ffidl), scalar(s.ffidl));
    }
    v.push(all);
    for s in SCALARS {
        v.push(
            Shape::new(
                &format!("AfterByte_{}", s.ffidl),
                "hand-picked: scalar after a u8",
            )
            .field("pad", scalar("u8"))
            .field("value", scalar(s.ffidl)),
        );
    }
    v.extend([
        Shape::new("Pointers", h)
            .field("tag", scalar("u8"))
            .field("any", ptr(Ty::Void))
            .field("any_const", const_ptr(Ty::Void))
            .field("ints", ptr(scalar("i32")))
            .field("bytes", const_ptr(scalar("u8")))
            .field("text", Ty::Cstr)
            .field("argv", ptr(ptr(scalar("c_char"))))
            .field("const_inner", ptr(const_ptr(scalar("u16"))))
            .field("node", ptr(named("Node")))
            .field("handle", named("Handle"))
            .field("thing", ptr(named("Thing")))
            .field("last", scalar("u8")),
        Shape::new("Callbacks", h)
            .field("tag", scalar("u8"))
            .field("compare", named("Cmp"))
            .field("on_event", named("OnEvent"))
            .field("flag", scalar("bool"))
            .field("get", named("Getter"))
            .field("table", array(named("Cmp"), 3)),
        Shape::new("Enums", h)
            .field("color", named("Color"))
            .field("small", named("Small"))
            .field("byte", scalar("u8"))
            .field("plain", named("Plain"))
            .field("huge", named("Huge"))
            .field("wide", named("Wide"))
            .field("level", named("Level"))
            .field("colors", array(named("Color"), 3)),
        Shape::new("Flags", h)
            .field("a", scalar("bool"))
            .field("b", scalar("bool"))
            .field("c", scalar("u32"))
            .field("d", scalar("bool")),
        Shape::new("Longs", h)
            .field("a", scalar("c_int"))
            .field("b", scalar("c_long"))
            .field("c", scalar("c_short"))
            .field("d", scalar("c_ulong"))
            .field("e", scalar("c_char")),
        Shape::new("Trailing", h)
            .field("a", scalar("u64"))
            .field("b", scalar("u8")),
        Shape::new("Mixed", h)
            .field("a", scalar("u8"))
            .field("b", scalar("u64"))
            .field("c", scalar("u8"))
            .field("d", scalar("u32"))
            .field("e", scalar("u16")),
        Shape::new("Aliases", h)
            .field("a", scalar("u8"))
            .field("count", named("Count"))
            .field("at", named("PointAlias"))
            .field("handles", array(named("Handle"), 2)),
        Shape::new("ArrayOfStructs", h)
            .field("count", scalar("u32"))
            .field("points", array(named("Point"), 3))
            .field("tail", scalar("u8"))
            .field("vecs", array(named("Vec3f"), 2)),
        Shape::new("ArrayOfArrays", h)
            .field("matrix", array(array(scalar("f32"), 4), 3))
            .field("grid", array(array(scalar("u8"), 3), 5))
            .field("k", scalar("u16"))
            .field("cube", array(array(array(scalar("i16"), 2), 3), 2))
            .field("last", scalar("u8")),
        Shape::new("Variant", "hand-picked: union of structs and arrays")
            .union()
            .field("point", named("Point"))
            .field("bytes", array(scalar("u8"), 17))
            .field("vec", named("Vec3f"))
            .field("whole", scalar("i64"))
            .field("pair", array(named("Point"), 2)),
        Shape::new("SmallUnion", h)
            .union()
            .field("b", scalar("u8"))
            .field("s", scalar("u16"))
            .field("three", array(scalar("u8"), 3)),
        Shape::new("Tagged", "hand-picked: struct holding a union")
            .field("kind", named("Color"))
            .field("value", named("Variant"))
            .field("extra", named("SmallUnion")),
        Shape::new("Header", "hand-picked: packed with unaligned fields")
            .packed()
            .field("tag", scalar("u8"))
            .field("len", scalar("u32"))
            .field("id", scalar("u64"))
            .field("flag", scalar("bool"))
            .field("port", scalar("u16"))
            .field("ratio", scalar("f64")),
        Shape::new("A8", "hand-picked: aligned(8)")
            .aligned(8)
            .field("c", scalar("u8")),
        Shape::new("Vec4", "hand-picked: aligned(16)")
            .aligned(16)
            .field("x", scalar("f32"))
            .field("y", scalar("f32"))
            .field("z", scalar("f32"))
            .field("w", scalar("f32")),
        Shape::new("A32", "hand-picked: aligned(32)")
            .aligned(32)
            .field("a", scalar("u8"))
            .field("b", scalar("f64")),
        Shape::new("CacheLine", "hand-picked: aligned(64)")
            .aligned(64)
            .field("counter", scalar("u64")),
        Shape::new(
            "NoLower",
            "hand-picked: aligned(2) does not lower alignment",
        )
        .aligned(2)
        .field("a", scalar("u64"))
        .field("b", scalar("u8")),
        Shape::new("PackedAligned4", "hand-picked: packed + aligned(4)")
            .packed()
            .aligned(4)
            .field("a", scalar("u8"))
            .field("b", scalar("u32"))
            .field("c", scalar("u16")),
        Shape::new("PackedAligned16", "hand-picked: packed + aligned(16)")
            .packed()
            .aligned(16)
            .field("a", scalar("u8"))
            .field("b", scalar("f64"))
            .field("c", array(scalar("u16"), 3)),
        Shape::new(
            "PackedInUnpacked",
            "hand-picked: packed struct inside unpacked",
        )
        .field("a", scalar("u8"))
        .field("header", named("Header"))
        .field("b", scalar("u32"))
        .field("headers", array(named("Header"), 2))
        .field("c", scalar("u8")),
        Shape::new(
            "UnpackedInPacked",
            "hand-picked: unpacked/aligned structs inside packed",
        )
        .packed()
        .field("a", scalar("u8"))
        .field("point", named("Point"))
        .field("b", scalar("u16"))
        .field("vec", named("Vec4"))
        .field("c", scalar("u8"))
        .field("lines", array(named("CacheLine"), 2)),
        Shape::new("AlignedArrays", "hand-picked: array of aligned(16) structs")
            .field("a", scalar("u8"))
            .field("vecs", array(named("Vec4"), 3))
            .field("b", scalar("u8")),
        Shape::new("PackedUnion", "hand-picked: packed union")
            .union()
            .packed()
            .field("a", scalar("u32"))
            .field("b", array(scalar("u8"), 5)),
        Shape::new("AlignedUnion", "hand-picked: aligned(16) union")
            .union()
            .aligned(16)
            .field("a", scalar("u8"))
            .field("b", scalar("u32")),
        Shape::new("HoldsPackedUnion", h)
            .field("a", scalar("u8"))
            .field("u", named("PackedUnion"))
            .field("b", scalar("u64"))
            .field("v", named("AlignedUnion")),
        Shape::new("Empty", "hand-picked: empty struct"),
        Shape::new("EmptyUnion", "hand-picked: empty union").union(),
        Shape::new("EmptyAligned", "hand-picked: empty struct with aligned(8)").aligned(8),
        Shape::new("WithEmpty", "hand-picked: empty struct as a field")
            .field("a", scalar("u8"))
            .field("e", named("Empty"))
            .field("b", scalar("u8"))
            .field("es", array(named("Empty"), 4))
            .field("ea", named("EmptyAligned"))
            .field("c", scalar("u16")),
        Shape::new("ZeroLength", "hand-picked: zero-length arrays")
            .field("n", scalar("u32"))
            .field("data", array(scalar("u64"), 0)),
        Shape::new(
            "ZeroLengthStructs",
            "hand-picked: zero-length array of structs",
        )
        .field("a", scalar("u8"))
        .field("none", array(named("Point"), 0)),
        Shape::new("Deep", "hand-picked: struct > union > struct > array")
            .field("a", scalar("u16"))
            .field("tagged", named("Tagged"))
            .field("nodes", array(named("Node"), 2))
            .field("u", named("Variant"))
            .field("z", scalar("bool")),
        Shape::new("DeepPacked", "hand-picked: packed holding deep struct")
            .packed()
            .aligned(2)
            .field("a", scalar("u8"))
            .field("deep", named("Deep"))
            .field("b", scalar("u32")),
    ]);
    v
}

/// `@layout(zig)` shapes, including the core page's seed.
fn zig_shapes() -> Vec<Shape> {
    let z = "@layout(zig)";
    vec![
        Shape::new("Options", "@layout(zig): the core page's seed")
            .zig()
            .field("entries", scalar("u32"))
            .field("thread_pool", ptr(Ty::Void)),
        Shape::new("ZigMixed", z)
            .zig()
            .field("a", scalar("u8"))
            .field("b", scalar("u64"))
            .field("c", scalar("u16"))
            .field("d", scalar("u8"))
            .field("e", scalar("u32"))
            .field("f", scalar("f64")),
        Shape::new(
            "ZigTies",
            "@layout(zig): stable order among equal alignments",
        )
        .zig()
        .field("x1", scalar("u8"))
        .field("y1", scalar("u32"))
        .field("x2", scalar("bool"))
        .field("y2", scalar("f32"))
        .field("x3", scalar("c_char"))
        .field("y3", named("Plain")),
        Shape::new(
            "ZigNested",
            "@layout(zig): structs, arrays and aligned fields",
        )
        .zig()
        .field("flag", scalar("bool"))
        .field("header", named("Header"))
        .field("at", named("Point"))
        .field("v", named("Vec4"))
        .field("small", array(scalar("u16"), 3))
        .field("name", Ty::Cstr),
        Shape::new("ZigAligned", "@layout(zig) with aligned(32)")
            .zig()
            .aligned(32)
            .field("a", scalar("u8"))
            .field("b", scalar("u16"))
            .field("c", scalar("u64")),
        Shape::new("HoldsZig", "plain struct holding @layout(zig) structs")
            .field("a", scalar("u8"))
            .field("options", named("Options"))
            .field("mixed", array(named("ZigMixed"), 2)),
    ]
}

/// Sizes 1..=64 bytes: byte arrays after a scalar head, plain, packed and as unions.
fn ladder() -> Vec<Shape> {
    const HEADS: &[&str] = &["u16", "u32", "u64", "f32", "f64", "i8"];
    (1..=64u64)
        .map(|n| {
            let name = format!("Ladder{n}");
            let head = SCALARS[match scalar(HEADS[n as usize % HEADS.len()]) {
                Ty::Scalar(i) => i,
                _ => unreachable!(),
            }];
            let head = if head.align <= n { head } else { SCALARS[4] }; // u8
            let origin = format!("ladder: {n} bytes of fields");
            let rest = n - head.align;
            let mut shape = Shape::new(&name, &origin);
            match n % 4 {
                0 => shape = shape.field("bytes", array(scalar("u8"), n)),
                1 | 2 => {
                    shape = shape.field("head", scalar(head.ffidl));
                    if rest > 0 {
                        shape = shape.field("tail", array(scalar("u8"), rest));
                    }
                    if n % 4 == 2 {
                        shape = shape.packed();
                    }
                }
                _ => {
                    shape = shape
                        .union()
                        .field("bytes", array(scalar("u8"), n))
                        .field("head", scalar(head.ffidl));
                }
            }
            shape
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The catalogue: seeded random nested shapes
// ---------------------------------------------------------------------------------------

/// splitmix64: small, seedable, good enough to pick shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// An upper bound on a type's size, so nesting stays small.
fn size_bound(ty: &Ty, shapes: &[Shape]) -> u64 {
    match ty {
        Ty::Scalar(_) | Ty::Void | Ty::Cstr | Ty::Ptr { .. } => 8,
        Ty::Array(elem, n) => n * size_bound(elem, shapes),
        Ty::Named(n) => match shapes.iter().find(|s| &s.name == n) {
            Some(s) => {
                s.fields
                    .iter()
                    .map(|(_, t)| size_bound(t, shapes) + 64)
                    .sum::<u64>()
                    + s.align.unwrap_or(0)
                    + 64
            }
            None => 8,
        },
    }
}

fn random_field_type(rng: &mut Rng, earlier: &[Shape], own_name: &str) -> Ty {
    let nestable: Vec<&Shape> = earlier
        .iter()
        .filter(|s| size_bound(&Ty::Named(s.name.clone()), earlier) <= 1024)
        .collect();
    let roll = rng.below(100);
    match roll {
        0..=39 => Ty::Scalar(rng.below(SCALARS.len() as u64) as usize),
        40..=47 => {
            let target = match rng.below(5) {
                0 => Ty::Void,
                1 => named(own_name),
                2 if !earlier.is_empty() => named(&rng.pick(earlier).name),
                3 => named("Thing"),
                _ => Ty::Scalar(rng.below(SCALARS.len() as u64) as usize),
            };
            if rng.chance(40) {
                const_ptr(target)
            } else {
                ptr(target)
            }
        }
        48..=50 => Ty::Cstr,
        51..=54 => named(rng.pick::<&str>(&["Cmp", "OnEvent", "Getter", "Handle"])),
        55..=61 => {
            named(rng.pick::<&str>(&["Color", "Small", "Plain", "Wide", "Huge", "Level", "Count"]))
        }
        62..=77 => {
            let len = if rng.chance(5) { 0 } else { 1 + rng.below(4) };
            let elem = match rng.below(4) {
                0 if !nestable.is_empty() => named(&rng.pick(&nestable).name),
                1 => array(
                    Ty::Scalar(rng.below(SCALARS.len() as u64) as usize),
                    1 + rng.below(3),
                ),
                _ => Ty::Scalar(rng.below(SCALARS.len() as u64) as usize),
            };
            array(elem, len)
        }
        _ if !nestable.is_empty() => named(&rng.pick(&nestable).name),
        _ => Ty::Scalar(rng.below(SCALARS.len() as u64) as usize),
    }
}

fn random_shapes(seed: u64, earlier: &[Shape]) -> Vec<Shape> {
    let mut rng = Rng(seed);
    let mut all: Vec<Shape> = earlier.to_vec();
    let mut made = Vec::new();
    for i in 0..RANDOM_SHAPES {
        let name = format!("R{i}");
        let mut shape = Shape::new(&name, &format!("random #{i}, seed {seed:#x}"));
        if rng.chance(25) {
            shape = shape.union();
        }
        if rng.chance(20) {
            shape = shape.packed();
        }
        if rng.chance(20) {
            shape = shape.aligned(1 << rng.below(7));
        }
        if !shape.union && !shape.packed && rng.chance(15) {
            shape = shape.zig();
        }
        let count = if rng.chance(4) { 0 } else { 1 + rng.below(7) };
        // Recently made shapes are favoured, so nesting gets deep.
        let pool_start = all.len().saturating_sub(30);
        for f in 0..count {
            let ty = random_field_type(&mut rng, &all[pool_start..], &name);
            shape = shape.field(&format!("f{f}"), ty);
        }
        all.push(shape.clone());
        made.push(shape);
    }
    made
}

fn catalogue(target: Target) -> Catalogue {
    let seed = match std::env::var("FFIDL_LAYOUT_SEED") {
        Ok(s) => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("FFIDL_LAYOUT_SEED `{s}` is not an integer"))
        }
        Err(_) => DEFAULT_SEED,
    };
    let mut shapes = hand_picked();
    shapes.extend(zig_shapes());
    shapes.extend(ladder());
    let random = random_shapes(seed, &shapes);
    shapes.extend(random);
    Catalogue {
        shapes,
        seed,
        target,
    }
}

// ---------------------------------------------------------------------------------------
// Running gcc and the checker
// ---------------------------------------------------------------------------------------

fn host_is_x86_64_linux() -> bool {
    if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        true
    } else {
        eprintln!(
            "layout_gcc: skipped: these layouts are SysV x86-64 and the host is not x86_64-linux"
        );
        false
    }
}

/// A fresh folder under the system temp dir, removed on drop unless the test failed
/// or `FFIDL_LAYOUT_KEEP` is set.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "ffidl-layout-gcc-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("FFIDL_LAYOUT_KEEP").is_some() {
            eprintln!("layout_gcc: generated files kept in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// What gcc said: sizes/alignments by name, offsets and field-type alignments by
/// (type, field).
#[derive(Default)]
struct GccLayouts {
    types: HashMap<String, (u64, u64)>,
    offsets: HashMap<(String, String), u64>,
    field_aligns: HashMap<(String, String), u64>,
}

fn run_gcc(dir: &Path, program: &str) -> GccLayouts {
    let c_path = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(&c_path, program).expect("write layout.c");
    let output = Command::new("gcc")
        .args(["-std=gnu11", "-w", "-O0", "-o"])
        .arg(&exe)
        .arg(&c_path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gcc (this test needs it): {e}"));
    assert!(
        output.status.success(),
        "gcc failed on {}:\n{}",
        c_path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let run = Command::new(&exe).output().expect("run the layout program");
    assert!(run.status.success(), "{} failed", exe.display());
    let text = String::from_utf8(run.stdout).expect("layout output is UTF-8");
    let mut layouts = GccLayouts::default();
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        let num = |s: &str| -> u64 { s.parse().unwrap_or_else(|_| panic!("bad line `{line}`")) };
        match parts.as_slice() {
            ["T", name, size, align] => {
                layouts
                    .types
                    .insert(name.to_string(), (num(size), num(align)));
            }
            ["F", ty, field, off] => {
                layouts
                    .offsets
                    .insert((ty.to_string(), field.to_string()), num(off));
            }
            ["A", ty, field, align] => {
                layouts
                    .field_aligns
                    .insert((ty.to_string(), field.to_string()), num(align));
            }
            _ => panic!("unexpected line from the layout program: `{line}`"),
        }
    }
    layouts
}

fn check_catalogue(dir: &Path, catalogue: &Catalogue) -> ffidl_lang::Program {
    let text = catalogue.ffidl_file();
    let ffidl_path = dir.join("layout.ffidl");
    std::fs::write(&ffidl_path, &text).expect("write layout.ffidl");
    let mut map = SourceMap::new();
    match check_source(&mut map, "layout.ffidl", None, text, catalogue.target) {
        Ok(program) => program,
        Err(diags) => {
            let shown: Vec<_> = diags.iter().take(20).cloned().collect();
            panic!(
                "the generated catalogue ({}, seed {:#x}, {:?}) does not check: {} diagnostic(s), first ones:\n{}",
                ffidl_path.display(),
                catalogue.seed,
                catalogue.target,
                diags.len(),
                diag::render(&map, &shown)
            );
        }
    }
}

/// Compare one named type's size and alignment.
fn compare_size_align(failures: &mut Vec<String>, what: &str, ours: &TypeLayout, gcc: (u64, u64)) {
    if ours.size != gcc.0 {
        failures.push(format!("{what}: size: ffidl {}, gcc {}", ours.size, gcc.0));
    }
    if ours.align != gcc.1 {
        failures.push(format!(
            "{what}: align: ffidl {}, gcc {}",
            ours.align, gcc.1
        ));
    }
}

fn compare_shape(failures: &mut Vec<String>, shape: &Shape, ours: &TypeLayout, gcc: &GccLayouts) {
    let what = shape.describe();
    let before = failures.len();
    compare_size_align(failures, &what, ours, gcc.types[&shape.name]);
    let declared: Vec<&str> = shape.fields.iter().map(|(n, _)| n.as_str()).collect();
    let listed: Vec<&str> = ours.fields.iter().map(|(n, _)| n.as_str()).collect();
    if declared != listed {
        failures.push(format!(
            "{what}: fields listed as {listed:?}, declared as {declared:?}"
        ));
    }
    for (field, offset) in &ours.fields {
        let key = (shape.name.clone(), field.clone());
        if let Some(&expected) = gcc.offsets.get(&key) {
            if *offset != expected {
                failures.push(format!(
                    "{what}: field `{field}` offset: ffidl {offset}, gcc {expected}"
                ));
            }
        }
    }
    if failures.len() > before {
        failures.push(format!("    declared as: {}", shape.ffidl()));
    }
}

fn report(failures: &[String], catalogue: &Catalogue) {
    if failures.is_empty() {
        return;
    }
    const SHOWN: usize = 80;
    let mut msg = format!(
        "{} layout difference(s) between the checker and gcc (seed {:#x}, target {:?}):\n",
        failures.iter().filter(|f| !f.starts_with("    ")).count(),
        catalogue.seed,
        catalogue.target
    );
    for line in failures.iter().take(SHOWN) {
        msg.push_str(line);
        msg.push('\n');
    }
    if failures.len() > SHOWN {
        let _ = writeln!(msg, "... and {} more lines", failures.len() - SHOWN);
    }
    panic!("{msg}");
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// The C half on its own: gcc compiles the catalogue, the test's alignment model (used to
/// sort `@layout(zig)` fields) agrees with gcc, and the seed from the core page comes
/// out as the page says. Checks the generator, not the checker.
#[test]
fn gcc_side_of_the_catalogue_is_consistent() {
    if !host_is_x86_64_linux() {
        return;
    }
    for target in [Target::SysVX64, Target::Aarch64Linux, Target::Win64] {
        gcc_side_is_consistent(target);
    }
}

fn gcc_side_is_consistent(target: Target) {
    let catalogue = catalogue(target);
    assert!(catalogue.shapes.len() >= 60, "catalogue too small");
    let scratch = Scratch::new(&format!("c-{target:?}").to_lowercase());
    let gcc = run_gcc(&scratch.0, &catalogue.c_program());
    let mut failures = Vec::new();
    for shape in catalogue.shapes.iter().filter(|s| s.zig) {
        for (field, ty) in &shape.fields {
            let model = catalogue.natural_align(ty);
            let key = (shape.name.clone(), field.clone());
            if gcc.field_aligns[&key] != model {
                failures.push(format!(
                    "test model bug: {}: field `{field}` ({}) align: model {model}, gcc {}",
                    shape.describe(),
                    ty.ffidl(),
                    gcc.field_aligns[&key]
                ));
            }
        }
    }
    for shape in &catalogue.shapes {
        let natural = catalogue.natural_align(&named(&shape.name));
        if gcc.types[&shape.name].1 != natural {
            failures.push(format!(
                "test model bug: {}: align: model {natural}, gcc {}",
                shape.describe(),
                gcc.types[&shape.name].1
            ));
        }
    }
    let options = |f: &str| gcc.offsets[&("Options".to_string(), f.to_string())];
    assert_eq!(
        (
            gcc.types["Options"].0,
            options("thread_pool"),
            options("entries")
        ),
        (16, 0, 8),
        "gcc layout of the sorted `Options`: (size, thread_pool, entries)"
    );
    report(&failures, &catalogue);
}

/// The core page's seed, stated literally: `@layout(zig) struct Options { entries: u32,
/// thread_pool: *void }` puts `thread_pool` at 0 and `entries` at 8, size 16.
#[test]
fn zig_layout_seed_from_the_core_page() {
    let text = "@layout(zig) struct Options { entries: u32, thread_pool: *void }\n".to_string();
    let mut map = SourceMap::new();
    let program = match check_source(&mut map, "options.ffidl", None, text, Target::SysVX64) {
        Ok(p) => p,
        Err(d) => panic!("seed does not check:\n{}", diag::render(&map, &d)),
    };
    let layout = program
        .type_layout("Options")
        .expect("the checker has no layout for `Options`");
    assert_eq!(
        layout,
        TypeLayout {
            size: 16,
            align: 8,
            fields: vec![("entries".to_string(), 8), ("thread_pool".to_string(), 0)],
        },
        "`Options` under @layout(zig): fields in declaration order with their offsets"
    );
}

/// Every shape of the catalogue (plus every builtin scalar and the preamble's enums,
/// callbacks and aliases): size, alignment and each field's offset as gcc lays them out.
#[test]
fn checker_layouts_match_gcc() {
    if host_is_x86_64_linux() {
        compare_with_gcc(Target::SysVX64);
    }
}

/// The same catalogue for the other data models, with gcc on this host standing in for
/// them: AArch64 Linux lays these types out exactly as SysV x86-64 does, and Win64
/// differs only in C `long` (4 bytes), which the C side then spells `int`.
#[test]
fn checker_layouts_match_gcc_for_aarch64_and_win64_data_models() {
    if host_is_x86_64_linux() {
        compare_with_gcc(Target::Aarch64Linux);
        compare_with_gcc(Target::Win64);
    }
}

fn compare_with_gcc(target: Target) {
    let catalogue = catalogue(target);
    let scratch = Scratch::new(&format!("{target:?}").to_lowercase());
    let gcc = run_gcc(&scratch.0, &catalogue.c_program());
    let program = check_catalogue(&scratch.0, &catalogue);
    let mut failures = Vec::new();
    let named_types = SCALARS
        .iter()
        .map(|s| (s.ffidl, "builtin scalar"))
        .chain(SIZED_PREAMBLE.iter().map(|n| (*n, "preamble type")));
    for (name, kind) in named_types {
        let what = format!("{kind} `{name}`");
        match program.type_layout(name) {
            Some(ours) => compare_size_align(&mut failures, &what, &ours, gcc.types[name]),
            None => failures.push(format!("{what}: the checker has no layout")),
        }
    }
    for shape in &catalogue.shapes {
        match program.type_layout(&shape.name) {
            Some(ours) => compare_shape(&mut failures, shape, &ours, &gcc),
            None => failures.push(format!("{}: the checker has no layout", shape.describe())),
        }
    }
    report(&failures, &catalogue);
}
