//! The embedding API against real native code: the run fixture library (gcc) and libc.
//! Each check compares what ffidl returns with what the C function computes, called
//! through a typed handle (a plain Rust function pointer call, so rustc does the ABI).

mod support;

use ffidl::{ErrorKind, Module, RunStatus, Runtime, Value};
use std::ffi::c_void;
use std::sync::atomic::{AtomicI64, Ordering};

ffidl::repr_c! {
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Point { x: f64, y: f64 }

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Rect { min: Point, max: Point }

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Mixed { a: i32, b: i8, c: i64 }

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Tagged { bytes: [u8; 3], tag: u16 }

    #[derive(Clone, Copy)]
    union Number { i: i64, f: f64 }

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct CbBig { a: i64, b: i64, c: i64 }

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct CbPair { a: i32, b: i32 }

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct WrongOrder { y: f64, x: f64 }
}

const BINDINGS: &str = r#"
library fx = "../../target/ffidl-fixtures/librun_fixture.so";
struct Point { x: f64, y: f64 }
struct Mixed { a: i32, b: i8, c: i64 }
struct Rect { min: Point, max: Point }
struct Tagged { bytes: [u8; 3], tag: u16 }
union Number { i: i64, f: f64 }
struct CbBig { a: i64, b: i64, c: i64 }
struct CbPair { a: i32, b: i32 }
callback Unary = fn(v: i32) -> i32;
callback Mix = fn(t: i64, i: i64) -> i64;
callback BigFn = fn(v: CbBig, k: i64) -> CbBig;
callback PairFn = fn(p: CbPair, k: i32) -> CbPair;
extern fx {
    fn fx_add_i32(a: i32, b: i32) -> i32;
    fn fx_echo_u8(v: u8) -> u8;
    fn fx_neg_i8(v: i8) -> i8;
    fn fx_half_f32(v: f32) -> f32;
    fn fx_point_scale(p: Point, k: f64) -> Point;
    fn fx_mixed_make(a: i32, b: i8, c: i64) -> Mixed;
    fn fx_mixed_total(m: Mixed) -> i64;
    fn fx_rect_grow(r: Rect, d: f64) -> Rect;
    fn fx_rect_area(r: *const Rect) -> f64;
    fn fx_tagged(tag: u16) -> Tagged;
    fn fx_number_bits(n: Number) -> i64;
    fn fx_set_i32(out: *i32, v: i32);
    fn fx_greeting() -> cstr;
    fn fx_null_string() -> cstr;
    fn fx_count_chars(s: cstr, c: c_char) -> usize;
    fn fx_call_twice(f: Unary, v: i32) -> i32;
    fn fx_cb_threads(f: Mix, threads: i32, calls: i64) -> i64;
    fn fx_cb_big(f: BigFn, v: CbBig, k: i64) -> CbBig;
    fn fx_cb_pair(f: PairFn, p: CbPair, k: i32) -> CbPair;
    fn sum_ints(n: i32, ...) -> i32;
    fn sum_doubles(n: i32, ...) -> f64;
}
"#;

/// The bindings, loaded from a file beside the fixture library (library paths are
/// relative to it). The file is written once per process, before any test reads it.
fn module() -> Module {
    static WRITTEN: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let path = WRITTEN.get_or_init(|| {
        let root = support::workspace_root();
        support::build_run_fixture(&root);
        let dir = root.join("target/ffidl-fixtures/embed");
        std::fs::create_dir_all(&dir).unwrap();
        // Another test process may be reading the file: write beside it and rename.
        let path = dir.join("bindings.ffidl");
        let tmp = dir.join(format!("bindings.{}.tmp", std::process::id()));
        std::fs::write(
            &tmp,
            BINDINGS.replace("../../target/ffidl-fixtures/", "../"),
        )
        .unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        path
    });
    Runtime::new()
        .load_file(path)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn dynamic_calls_convert_scalars_and_narrow_results() {
    let m = module();
    let add = m.function("fx_add_i32").unwrap();
    assert_eq!(add.call(&[40.into(), 2.into()]).unwrap(), Value::I32(42));
    // Any integer value that fits converts; results keep the declared kind.
    assert_eq!(
        add.call(&[Value::U8(1), Value::I64(-3)]).unwrap(),
        Value::I32(-2)
    );
    assert_eq!(m.call("fx_echo_u8", &[255.into()]).unwrap(), Value::U8(255));
    assert_eq!(
        m.call("fx_neg_i8", &[Value::I8(-128)]).unwrap(),
        Value::I8(-128)
    );
    assert_eq!(m.call("fx_neg_i8", &[1.into()]).unwrap(), Value::I8(-1));
    assert_eq!(
        m.call("fx_half_f32", &[3.0f32.into()]).unwrap(),
        Value::F32(1.5)
    );
    let greeting = m.call("fx_greeting", &[]).unwrap();
    assert_eq!(greeting.as_cstr().unwrap().to_str(), Ok("hello from C"));
    assert_eq!(m.call("fx_null_string", &[]).unwrap(), Value::CStr(None));
    let count = m.call("fx_count_chars", &["banana".into(), Value::I8(b'a' as i8)]);
    assert_eq!(count.unwrap(), Value::U64(3));
}

#[test]
fn dynamic_calls_pass_and_return_structs_and_unions() {
    let m = module();
    let mut p = m.new_struct("Point").unwrap();
    p.set("x", 1.5).unwrap();
    p.set("y", -2.0).unwrap();
    let scaled = m
        .call("fx_point_scale", &[p.clone().into(), 2.0.into()])
        .unwrap();
    let scaled = scaled.as_struct().unwrap();
    assert_eq!(scaled.get("x").unwrap(), Value::F64(3.0));
    assert_eq!(scaled.get("y").unwrap(), Value::F64(-4.0));
    assert_eq!(
        scaled.to_repr::<Point>().unwrap(),
        Point { x: 3.0, y: -4.0 }
    );

    // Mixed eightbytes, and a result returned through memory (Rect is 32 bytes).
    let mixed = m
        .call(
            "fx_mixed_make",
            &[7.into(), Value::I8(-2), Value::I64(1 << 40)],
        )
        .unwrap();
    assert_eq!(
        mixed.as_struct().unwrap().to_repr::<Mixed>().unwrap(),
        Mixed {
            a: 7,
            b: -2,
            c: 1 << 40
        }
    );
    assert_eq!(
        m.call("fx_mixed_total", &[mixed]).unwrap(),
        Value::I64(5 + (1 << 40))
    );
    let rect = m
        .struct_value(&Rect {
            min: Point { x: 0.0, y: 0.0 },
            max: Point { x: 2.0, y: 3.0 },
        })
        .unwrap();
    let grown = m.call("fx_rect_grow", &[rect.into(), 1.0.into()]).unwrap();
    let grown = grown.as_struct().unwrap().to_repr::<Rect>().unwrap();
    assert_eq!(
        grown,
        Rect {
            min: Point { x: -1.0, y: -1.0 },
            max: Point { x: 3.0, y: 4.0 }
        }
    );
    let nested = m
        .call(
            "fx_rect_grow",
            &[m.struct_value(&grown).unwrap().into(), 0.5.into()],
        )
        .unwrap();
    let max = nested.as_struct().unwrap().get("max").unwrap();
    assert_eq!(max.as_struct().unwrap().get("y").unwrap(), Value::F64(4.5));

    // An array inside a struct, read element by element.
    let tagged = m.call("fx_tagged", &[Value::U16(0xBEEF)]).unwrap();
    let tagged = tagged.as_struct().unwrap();
    let bytes = tagged.get("bytes").unwrap();
    let bytes = bytes.as_struct().unwrap();
    assert_eq!(bytes.len(), 3);
    assert_eq!(bytes.element(2).unwrap(), Value::U8(3));
    assert_eq!(
        tagged.to_repr::<Tagged>().unwrap(),
        Tagged {
            bytes: [1, 2, 3],
            tag: 0xBEEF
        }
    );

    let mut n = m.new_struct("Number").unwrap();
    n.set("f", 1.0).unwrap();
    assert_eq!(n.get("i").unwrap(), Value::I64(1.0f64.to_bits() as i64));
    let bits = m.call("fx_number_bits", &[n.into()]).unwrap();
    assert_eq!(bits, Value::I64(0x3FF0_0000_0000_0000));
}

#[test]
fn call_into_reuses_the_result_value() {
    let m = module();
    let add = m.function("fx_add_i32").unwrap();
    let mut out = Value::CStr(None);
    add.call_into(&[40.into(), 2.into()], &mut out).unwrap();
    assert_eq!(out, Value::I32(42));
    add.call_into(&[Value::I8(-1), Value::U16(1)], &mut out)
        .unwrap(); // converted path
    assert_eq!(out, Value::I32(0));
    // An error leaves the value as it was.
    assert!(add.call_into(&[1.5.into(), 2.into()], &mut out).is_err());
    assert_eq!(out, Value::I32(0));

    // A struct result is written over a struct of the same type, or replaces anything else.
    let scale = m.function("fx_point_scale").unwrap();
    let p = m.struct_value(&Point { x: 1.0, y: 2.0 }).unwrap();
    let mut out = Value::I64(7);
    scale
        .call_into(&[p.clone().into(), 2.0.into()], &mut out)
        .unwrap();
    assert_eq!(
        out.as_struct().unwrap().to_repr::<Point>().unwrap(),
        Point { x: 2.0, y: 4.0 }
    );
    scale.call_into(&[p.into(), 3.0.into()], &mut out).unwrap();
    assert_eq!(
        out.as_struct().unwrap().to_repr::<Point>().unwrap(),
        Point { x: 3.0, y: 6.0 }
    );
    let mut out = Value::Struct(m.new_struct("Rect").unwrap());
    let q = m.struct_value(&Point { x: 1.0, y: 1.0 }).unwrap();
    scale.call_into(&[q.into(), 5.0.into()], &mut out).unwrap();
    assert_eq!(out.as_struct().unwrap().type_name(), "Point");
    // Sret results (32 bytes) and strings too.
    let grow = m.function("fx_rect_grow").unwrap();
    let r = m.struct_value(&Rect {
        min: Point { x: 0.0, y: 0.0 },
        max: Point { x: 1.0, y: 1.0 },
    });
    let r: Value = r.unwrap().into();
    let mut out = Value::Struct(m.new_struct("Rect").unwrap());
    grow.call_into(&[r.clone(), 1.0.into()], &mut out).unwrap();
    grow.call_into(&[r, 2.0.into()], &mut out).unwrap();
    let max = out.as_struct().unwrap().to_repr::<Rect>().unwrap().max;
    assert_eq!(max, Point { x: 3.0, y: 3.0 });
    m.function("fx_greeting")
        .unwrap()
        .call_into(&[], &mut out)
        .unwrap();
    assert_eq!(out.as_cstr().unwrap().to_str(), Ok("hello from C"));
}

#[test]
fn pointers_reach_rust_memory() {
    let m = module();
    let mut out = 0i32;
    let p = (&mut out as *mut i32).cast::<c_void>();
    m.call("fx_set_i32", &[Value::Ptr(p), 99.into()]).unwrap();
    assert_eq!(out, 99);
    let r = Rect {
        min: Point { x: 1.0, y: 1.0 },
        max: Point { x: 4.0, y: 3.0 },
    };
    let area = m.call(
        "fx_rect_area",
        &[Value::Ptr((&r as *const Rect).cast_mut().cast())],
    );
    assert_eq!(area.unwrap(), Value::F64(6.0));
}

#[test]
fn variadic_calls_promote_their_extra_values() {
    let m = module();
    let nine: Vec<Value> = std::iter::once(Value::I32(9))
        .chain((1..=9).map(|i| Value::I16(i as i16)))
        .collect();
    assert_eq!(m.call("sum_ints", &nine).unwrap(), Value::I32(45));
    let doubles = [Value::I32(10)]
        .into_iter()
        .chain((1..=10).map(|i| {
            if i % 2 == 0 {
                Value::F32(i as f32)
            } else {
                Value::F64(i as f64)
            }
        }))
        .collect::<Vec<_>>();
    assert_eq!(m.call("sum_doubles", &doubles).unwrap(), Value::F64(55.0));
    let err = m.call("sum_ints", &[]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ValueMismatch);
    let s = m.new_struct("Point").unwrap();
    let err = m.call("sum_ints", &[1.into(), s.into()]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ValueMismatch, "{err}");
}

/// The error of viewing `name` as `F`, which must not match its declaration.
fn refused<F: ffidl::CFn>(m: &Module, name: &str) -> ffidl::Error {
    m.typed::<F>(name)
        .err()
        .expect("the signature mismatch is refused")
}

#[test]
fn typed_handles_call_directly_and_check_the_signature() {
    let m = module();
    let add = m
        .typed::<extern "C" fn(i32, i32) -> i32>("fx_add_i32")
        .unwrap();
    assert_eq!(add.call((40, 2)), 42);
    assert_eq!(add.call((i32::MAX, 1)), i32::MIN);
    let neg = m.typed::<extern "C" fn(i8) -> i8>("fx_neg_i8").unwrap();
    assert_eq!(neg.call((5,)), -5);
    let scale = m
        .typed::<extern "C" fn(Point, f64) -> Point>("fx_point_scale")
        .unwrap();
    assert_eq!(
        scale.call((Point { x: 1.0, y: 2.0 }, 3.0)),
        Point { x: 3.0, y: 6.0 }
    );
    let grow = m
        .typed::<extern "C" fn(Rect, f64) -> Rect>("fx_rect_grow")
        .unwrap();
    let r = grow.call((
        Rect {
            min: Point { x: 0.0, y: 0.0 },
            max: Point { x: 1.0, y: 1.0 },
        },
        1.0,
    ));
    assert_eq!(r.max, Point { x: 2.0, y: 2.0 });
    let bits = m
        .typed::<extern "C" fn(Number) -> i64>("fx_number_bits")
        .unwrap();
    assert_eq!(bits.call((Number { f: 2.0 },)), 2.0f64.to_bits() as i64);
    let set = m
        .typed::<extern "C" fn(*mut i32, i32)>("fx_set_i32")
        .unwrap();
    let mut out = 0;
    set.call((&mut out, 7));
    assert_eq!(out, 7);

    let mismatches: Vec<(ffidl::Error, &str)> = vec![
        (
            refused::<extern "C" fn(i32, i64) -> i32>(&m, "fx_add_i32"),
            "parameter 2",
        ),
        (
            refused::<extern "C" fn(i32) -> i32>(&m, "fx_add_i32"),
            "2 parameters",
        ),
        (
            refused::<extern "C" fn(i32, i32) -> u32>(&m, "fx_add_i32"),
            "result",
        ),
        (
            refused::<extern "C" fn(i32, i32)>(&m, "fx_add_i32"),
            "returns `()`",
        ),
        (
            refused::<extern "C" fn(u8) -> i8>(&m, "fx_neg_i8"),
            "parameter 1",
        ),
        (
            refused::<extern "C" fn(WrongOrder, f64) -> Point>(&m, "fx_point_scale"),
            "field",
        ),
        (
            refused::<extern "win64" fn(i32, i32) -> i32>(&m, "fx_add_i32"),
            "convention",
        ),
        (
            refused::<extern "C" fn(i32) -> i32>(&m, "sum_ints"),
            "variadic",
        ),
    ];
    for (err, needle) in mismatches {
        assert_eq!(err.kind(), ErrorKind::SignatureMismatch, "{err}");
        assert!(err.message().contains(needle), "{needle:?} not in {err}");
        let loc = err.location().expect("located at the declaration");
        assert!(
            loc.file.ends_with("bindings.ffidl") && loc.line > 1,
            "{loc}"
        );
    }
}

#[test]
fn closures_become_c_callbacks() {
    let m = module();
    let offset = 5;
    let twice = m.callback("Unary", move |v: i32| v * 2 + offset).unwrap();
    let r = m
        .call("fx_call_twice", &[(&twice).into(), 1.into()])
        .unwrap();
    assert_eq!(r, Value::I32((2 + 5) * 2 + 5));

    // Structs by value in and out of the closure, through memory (24 bytes) and registers.
    let big = m
        .callback("BigFn", |v: CbBig, k: i64| CbBig {
            a: v.c * k,
            b: v.b + k,
            c: v.a - k,
        })
        .unwrap();
    let f = m
        .typed::<extern "C" fn(*mut c_void, CbBig, i64) -> CbBig>("fx_cb_big")
        .unwrap();
    assert_eq!(
        f.call((big.as_ptr(), CbBig { a: 1, b: 2, c: 3 }, 10)),
        CbBig {
            a: 30,
            b: 12,
            c: -9
        }
    );
    let pair = m
        .callback("PairFn", |p: CbPair, k: i32| CbPair {
            a: p.b * k,
            b: p.a - k,
        })
        .unwrap();
    let mut arg = m.new_struct("CbPair").unwrap();
    arg.set("a", 3).unwrap();
    arg.set("b", 4).unwrap();
    let r = m
        .call("fx_cb_pair", &[(&pair).into(), arg.into(), 2.into()])
        .unwrap();
    assert_eq!(
        r.as_struct().unwrap().to_repr::<CbPair>().unwrap(),
        CbPair { a: 8, b: 1 }
    );

    // A closure of the wrong shape is refused at the declaration.
    let err = m.callback("Unary", |v: i64| v).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::SignatureMismatch, "{err}");
    assert!(err.location().is_some());
    let err = m.callback("Point", |v: i32| v).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::ValueMismatch);
}

#[test]
fn callbacks_run_on_threads_c_creates() {
    let m = module();
    let calls = AtomicI64::new(0);
    let calls: &'static AtomicI64 = Box::leak(Box::new(calls));
    let mix = m
        .callback("Mix", move |t: i64, i: i64| {
            calls.fetch_add(1, Ordering::Relaxed);
            t * 1000003 + i * 3
        })
        .unwrap();
    let threads = 8i64;
    let n = 20_000i64;
    let r = m
        .call(
            "fx_cb_threads",
            &[(&mix).into(), Value::I32(threads as i32), n.into()],
        )
        .unwrap();
    let expected: i64 = (0..threads)
        .map(|t| n * t * 1000003 + 3 * n * (n - 1) / 2)
        .sum();
    assert_eq!(r, Value::I64(expected));
    assert_eq!(calls.load(Ordering::Relaxed), threads * n);
}

#[test]
fn one_module_serves_many_threads() {
    let m = module();
    let add = m
        .typed::<extern "C" fn(i32, i32) -> i32>("fx_add_i32")
        .unwrap();
    let scale = m.function("fx_point_scale").unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (m, scale) = (&m, &scale);
            s.spawn(move || {
                for i in 0..2_000 {
                    assert_eq!(add.call((t, i)), t + i);
                    let p = m
                        .struct_value(&Point {
                            x: f64::from(i),
                            y: 1.0,
                        })
                        .unwrap();
                    let r = scale.call(&[p.into(), f64::from(t).into()]).unwrap();
                    let r = r.as_struct().unwrap().to_repr::<Point>().unwrap();
                    assert_eq!(
                        r,
                        Point {
                            x: f64::from(i * t),
                            y: f64::from(t)
                        }
                    );
                }
            });
        }
    });
}

#[test]
fn misuse_is_a_typed_error() {
    let m = module();
    let cases: Vec<(Result<Value, ffidl::Error>, ErrorKind)> = vec![
        (m.call("fx_nope", &[]), ErrorKind::UnknownName),
        (m.call("fx_add_i32", &[1.into()]), ErrorKind::ValueMismatch),
        (
            m.call("fx_add_i32", &[1.into(), 2.5.into()]),
            ErrorKind::ValueMismatch,
        ),
        (
            m.call("fx_add_i32", &[1.into(), Value::I64(1 << 40)]),
            ErrorKind::ValueMismatch,
        ),
        (
            m.call("fx_echo_u8", &[(-1).into()]),
            ErrorKind::ValueMismatch,
        ),
        (
            m.call("fx_half_f32", &[1.0f64.into()]),
            ErrorKind::ValueMismatch,
        ),
        (
            m.call("fx_point_scale", &[1.into(), 1.0.into()]),
            ErrorKind::ValueMismatch,
        ),
        (
            m.call(
                "fx_point_scale",
                &[m.new_struct("Rect").unwrap().into(), 1.0.into()],
            ),
            ErrorKind::ValueMismatch,
        ),
    ];
    for (result, kind) in cases {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
    }
    let err = m.call("fx_add_i3", &[]).unwrap_err();
    assert!(err.message().contains("did you mean `fx_add_i32`"), "{err}");
    assert_eq!(
        m.new_struct("Pointt").unwrap_err().kind(),
        ErrorKind::UnknownName
    );
    assert_eq!(
        m.new_struct("Unary").unwrap_err().kind(),
        ErrorKind::ValueMismatch
    );
    let mut p = m.new_struct("Point").unwrap();
    assert_eq!(p.set("z", 1.0).unwrap_err().kind(), ErrorKind::UnknownName);
    assert_eq!(p.set("x", 1).unwrap_err().kind(), ErrorKind::ValueMismatch);
    assert_eq!(p.element(0).unwrap_err().kind(), ErrorKind::ValueMismatch);
    assert_eq!(p.to_repr::<Rect>().unwrap_err().kind(), ErrorKind::Layout);
    assert_eq!(
        m.check_layout::<WrongOrder>("Point").unwrap_err().kind(),
        ErrorKind::Layout
    );
    m.check_layout::<Tagged>("Tagged").unwrap();
    assert_eq!(
        m.constant("NOPE").unwrap_err().kind(),
        ErrorKind::UnknownName
    );
    assert_eq!(
        m.enum_value("Point", "x").unwrap_err().kind(),
        ErrorKind::ValueMismatch
    );
    assert_eq!(
        m.struct_value(&WrongOrder { x: 0.0, y: 0.0 })
            .unwrap_err()
            .kind(),
        ErrorKind::UnknownName
    );
}

#[test]
fn load_errors_have_kinds_and_locations() {
    let rt = Runtime::new();
    let cases = [
        ("let x = ;", ErrorKind::Parse, 1),
        ("let x: i32 = \"s\";", ErrorKind::Type, 1),
        ("\nlet y: Nope = 1;", ErrorKind::Type, 2),
        ("library l = \"libffidl-missing.so\";\nextern l { fn f(); }", ErrorKind::LibraryNotFound, 1),
        ("library c = \"libc.so.6\";\nextern c { fn ffidl_no_such_symbol(); }", ErrorKind::SymbolNotFound, 2),
        ("struct S { x: i32 }\nlibrary c = \"libc.so.6\";\nextern c { @abi(aapcs64) fn abs(x: S) -> i32; }", ErrorKind::AbiUnsupported, 3),
    ];
    for (src, kind, line) in cases {
        let err = rt.load_str("case.ffidl", src).err().unwrap();
        assert_eq!(err.kind(), kind, "{src}: {err}");
        let loc = err
            .location()
            .unwrap_or_else(|| panic!("{src}: no location"));
        assert_eq!((loc.file.as_str(), loc.line), ("case.ffidl", line), "{src}");
        assert!(err.rendered().contains("case.ffidl"), "{err}");
        let _: &dyn std::error::Error = &err;
    }
    let err = rt.load_file("/nonexistent/x.ffidl").err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.location().is_none());
}

#[test]
fn files_load_with_their_imports() {
    let dir = support::workspace_root().join("target/ffidl-fixtures/embed-imports");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(
        dir.join("sub/libc.ffidl"),
        "library c = \"libc.so.6\";\nextern c { fn abs(x: i32) -> i32; }\nconst BASE: i32 = 40;\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.ffidl"),
        "import \"sub/libc.ffidl\";\nstruct S { v: i32 }\n",
    )
    .unwrap();
    std::fs::write(dir.join("broken.ffidl"), "import \"sub/nope.ffidl\";\n").unwrap();
    let m = Runtime::new().load_file(dir.join("main.ffidl")).unwrap();
    assert_eq!(m.call("abs", &[(-2).into()]).unwrap(), Value::I32(2));
    assert_eq!(m.constant("BASE").unwrap(), Value::I32(40));
    m.new_struct("S").unwrap();
    let err = Runtime::new()
        .load_file(dir.join("broken.ffidl"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_eq!(err.location().map(|l| l.line), Some(1));
}

#[test]
fn whole_scripts_run_with_their_output_captured() {
    let m = Runtime::new()
        .load_str(
            "s.ffidl",
            "library c = \"libc.so.6\";\nextern c { fn abs(x: i32) -> i32; }\nlet g: i32 = 0;\ng = g + abs(-4);\nprint(\"g =\", g);\nif g > 100 { exit(3); }",
        )
        .unwrap();
    // Globals restart from zero on each run.
    for _ in 0..2 {
        let (status, out) = m.run_to_string();
        assert_eq!(status.unwrap(), RunStatus::Finished);
        assert_eq!(out, "g = 4\n");
    }
    let m = Runtime::new()
        .load_str("e.ffidl", "print(\"before\");\nexit(3);")
        .unwrap();
    let (status, out) = m.run_to_string();
    assert_eq!(
        (status.unwrap(), out.as_str()),
        (RunStatus::Exit(3), "before\n")
    );
    let m = Runtime::new()
        .load_str("f.ffidl", "let a = 1;\nlet b = 0;\nprint(a / b);")
        .unwrap();
    let (status, _) = m.run_to_string();
    let err = status.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Runtime);
    assert_eq!(err.location().map(|l| l.line), Some(3));
}

#[cfg(all(target_arch = "x86_64", unix))]
#[test]
fn the_fallback_reports_a_full_callback_table_and_frees_trampolines() {
    use ffidl::Backend;
    let m = Runtime::with_backend(Backend::Asm)
        .load_str("cb.ffidl", "callback Unary = fn(v: i32) -> i32;")
        .unwrap();
    assert_eq!(m.backend(), Backend::Asm);
    let mut held = Vec::new();
    let full = loop {
        match m.callback("Unary", |v: i32| v + 1) {
            Ok(cb) => held.push(cb),
            Err(e) => break e,
        }
        assert!(
            held.len() <= ffidl::fallback::TRAMPOLINES,
            "the table never filled"
        );
    };
    assert_eq!(full.kind(), ErrorKind::CallbackTableFull, "{full}");
    // Other tests of this process may hold a few trampolines at the same time.
    assert!(held.len() + 16 >= ffidl::fallback::TRAMPOLINES);
    let cb = held.pop().unwrap();
    // SAFETY: the entry has the C signature of `Unary`.
    let f: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(cb.as_ptr()) };
    assert_eq!(f(41), 42);
    drop(cb);
    drop(held);
    let again = m.callback("Unary", |v: i32| v * 3).unwrap();
    // SAFETY: as above.
    let f: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(again.as_ptr()) };
    assert_eq!(f(5), 15);
}
