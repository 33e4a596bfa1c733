//! `Function::call` with scalar arguments and results of every kind, against the run
//! fixture library (gcc). Under Cranelift these calls go through value thunks (checked
//! with `has_value_thunk`); every result is also compared with the same call made through
//! the assembly backend, which has no value thunk, and with the value C computes.

mod support;

use ffidl::{Backend, ErrorKind, Module, Runtime, Value};
use std::ffi::c_void;

fn bindings() -> String {
    let root = support::workspace_root();
    support::build_run_fixture(&root);
    let lib = root.join("target/ffidl-fixtures/librun_fixture.so");
    format!(
        r#"
library fx = "{}";
enum Color: u8 {{ Red = 1, Green = 200 }}
extern fx {{
    fn fx_add_i32(a: i32, b: i32) -> i32;
    fn fx_echo_u8(v: u8) -> u8;
    fn fx_neg_i8(v: i8) -> i8;
    fn fx_half_f32(v: f32) -> f32;
    fn fx_is_even(v: i64) -> bool;
    fn fx_vt_to_i8(v: i32) -> i8;
    fn fx_vt_to_i16(v: i32) -> i16;
    fn fx_vt_not_u16(v: u16) -> u16;
    fn fx_vt_not_u32(v: u32) -> u32;
    fn fx_vt_dec_i64(v: i64) -> i64;
    fn fx_vt_not_u64(v: u64) -> u64;
    fn fx_vt_not(v: bool) -> bool;
    fn fx_vt_twice(v: f64) -> f64;
    fn fx_vt_ptr_add(p: *const u8, n: i64) -> *const u8;
    fn fx_vt_remember(v: i32);
    fn fx_vt_recall() -> i32;
    @symbol("fx_echo_u8") fn fx_echo_color(c: Color) -> Color;
    fn fx_vt_mix(a: i8, b: u8, c: i16, d: u16, e: i32, f: u32, g: i64, h: u64, x: f32, y: f64, z: bool) -> f64;
    fn fx_vt_many(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32, a6: i32, a7: i32,
        a8: i32, a9: i32, d0: f64, d1: f64, d2: f64, d3: f64, d4: f64, d5: f64, d6: f64,
        d7: f64, d8: f64) -> f64;
    @abi(win64) fn ms_vt_mix(a: i8, b: f64, c: i16, d: f32, e: i64, f: u8, g: f64) -> f64;
    @abi(win64) fn ms_vt_to_i16(v: i32) -> i16;
}}
"#,
        lib.display()
    )
}

/// The module under the default backend and under the assembly backend.
fn modules() -> (Module, Module) {
    let text = bindings();
    let load = |runtime: Runtime| {
        runtime
            .load_str("scalars.ffidl", &text)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    (
        load(Runtime::new()),
        load(Runtime::with_backend(Backend::Asm)),
    )
}

/// Calls `name` with `args` in both modules, checks they agree, and returns the result.
fn call(modules: &(Module, Module), name: &str, args: &[Value<'_>]) -> Value<'static> {
    let (main, asm) = modules;
    let f = main.function(name).unwrap();
    assert_eq!(
        f.has_value_thunk(),
        main.backend() == Backend::Cranelift,
        "{name}: a value thunk exactly under Cranelift"
    );
    assert!(!asm.function(name).unwrap().has_value_thunk());
    let got = f.call(args).unwrap_or_else(|e| panic!("{name}: {e}"));
    let reference = asm
        .call(name, args)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(got, reference, "{name}{args:?}: value thunk against asm");
    // Scalars borrow nothing from the module: give them the static lifetime.
    match got {
        Value::Void => Value::Void,
        Value::Bool(v) => Value::Bool(v),
        Value::I8(v) => Value::I8(v),
        Value::I16(v) => Value::I16(v),
        Value::I32(v) => Value::I32(v),
        Value::I64(v) => Value::I64(v),
        Value::U8(v) => Value::U8(v),
        Value::U16(v) => Value::U16(v),
        Value::U32(v) => Value::U32(v),
        Value::U64(v) => Value::U64(v),
        Value::F32(v) => Value::F32(v),
        Value::F64(v) => Value::F64(v),
        Value::Ptr(v) => Value::Ptr(v),
        other => panic!("{name}: not a scalar result: {other:?}"),
    }
}

#[test]
fn every_scalar_kind_in_and_out() {
    let m = modules();
    assert_eq!(
        call(&m, "fx_add_i32", &[Value::I32(i32::MAX), Value::I32(-1)]),
        Value::I32(i32::MAX - 1)
    );
    assert_eq!(call(&m, "fx_echo_u8", &[Value::U8(255)]), Value::U8(255));
    assert_eq!(call(&m, "fx_neg_i8", &[Value::I8(-128)]), Value::I8(-128));
    assert_eq!(call(&m, "fx_neg_i8", &[Value::I8(5)]), Value::I8(-5));
    // Narrow signed results keep their sign; only their own bytes are read.
    assert_eq!(call(&m, "fx_vt_to_i8", &[Value::I32(200)]), Value::I8(-56));
    assert_eq!(
        call(&m, "fx_vt_to_i8", &[Value::I32(0x17f)]),
        Value::I8(127)
    );
    assert_eq!(
        call(&m, "fx_vt_to_i16", &[Value::I32(40000)]),
        Value::I16(-25536)
    );
    assert_eq!(call(&m, "fx_vt_to_i16", &[Value::I32(-1)]), Value::I16(-1));
    assert_eq!(
        call(&m, "fx_vt_not_u16", &[Value::U16(1)]),
        Value::U16(0xfffe)
    );
    assert_eq!(
        call(&m, "fx_vt_not_u32", &[Value::U32(0)]),
        Value::U32(u32::MAX)
    );
    assert_eq!(
        call(&m, "fx_vt_dec_i64", &[Value::I64(i64::MIN + 1)]),
        Value::I64(i64::MIN)
    );
    assert_eq!(call(&m, "fx_vt_dec_i64", &[Value::I64(0)]), Value::I64(-1));
    assert_eq!(
        call(&m, "fx_vt_not_u64", &[Value::U64(0)]),
        Value::U64(u64::MAX)
    );
    assert_eq!(
        call(&m, "fx_vt_not_u64", &[Value::U64(u64::MAX)]),
        Value::U64(0)
    );
    assert_eq!(
        call(&m, "fx_vt_not", &[Value::Bool(true)]),
        Value::Bool(false)
    );
    assert_eq!(
        call(&m, "fx_vt_not", &[Value::Bool(false)]),
        Value::Bool(true)
    );
    assert_eq!(call(&m, "fx_is_even", &[Value::I64(-4)]), Value::Bool(true));
    assert_eq!(call(&m, "fx_is_even", &[Value::I64(7)]), Value::Bool(false));
    assert_eq!(
        call(&m, "fx_half_f32", &[Value::F32(-3.0)]),
        Value::F32(-1.5)
    );
    assert_eq!(
        call(&m, "fx_vt_twice", &[Value::F64(1.25)]),
        Value::F64(2.5)
    );
    assert_eq!(
        call(&m, "fx_vt_twice", &[Value::F64(f64::MAX)]),
        Value::F64(f64::INFINITY)
    );
    assert_eq!(call(&m, "fx_echo_color", &[Value::U8(200)]), Value::U8(200));
    let mut buffer = [0u8; 16];
    let base = buffer.as_mut_ptr().cast::<c_void>();
    assert_eq!(
        call(&m, "fx_vt_ptr_add", &[Value::Ptr(base), Value::I64(5)]),
        Value::Ptr(base.wrapping_byte_add(5))
    );
    assert_eq!(
        call(
            &m,
            "fx_vt_ptr_add",
            &[Value::Ptr(std::ptr::null_mut()), Value::I64(0)]
        ),
        Value::Ptr(std::ptr::null_mut())
    );
    // No result: `Void`, and the call happened.
    assert_eq!(call(&m, "fx_vt_remember", &[Value::I32(-77)]), Value::Void);
    assert_eq!(m.0.call("fx_vt_recall", &[]).unwrap(), Value::I32(-77));
}

#[test]
fn narrow_kinds_together_and_more_arguments_than_registers() {
    let m = modules();
    let mix = [
        Value::I8(-7),
        Value::U8(250),
        Value::I16(-300),
        Value::U16(65000),
        Value::I32(-123456),
        Value::U32(4_000_000_000),
        Value::I64(-3),
        Value::U64(2),
        Value::F32(0.5),
        Value::F64(0.125),
        Value::Bool(true),
    ];
    let expected = -7.0
        + 250.0 * 1e3
        + -300.0 * 1e6
        + 65000.0 * 1e9
        + -123456.0 * 1e-3
        + 4e9 * 1e-6
        + -3.0 * 1e12
        + 2.0 * 1e15
        + 0.5 * 1e-9
        + 0.125
        + 0.5;
    assert_eq!(call(&m, "fx_vt_mix", &mix), Value::F64(expected));

    let mut many: Vec<Value> = (1..=10).map(|i| Value::I32(i * 3 - 20)).collect();
    many.extend((0..9).map(|i| Value::F64(f64::from(i) * 0.5 - 1.0)));
    let expected: f64 = (0..10)
        .map(|i| f64::from(i * 3 + 3 - 20) * f64::from(i + 1))
        .sum::<f64>()
        + (0..9)
            .map(|i| (f64::from(i) * 0.5 - 1.0) * f64::from(i + 11))
            .sum::<f64>();
    assert_eq!(call(&m, "fx_vt_many", &many), Value::F64(expected));
}

#[test]
fn win64_functions() {
    let m = modules();
    let args = [
        Value::I8(-2),
        Value::F64(1.5),
        Value::I16(-3),
        Value::F32(0.25),
        Value::I64(-4),
        Value::U8(200),
        Value::F64(8.0),
    ];
    let expected = -2.0 + 15.0 + -300.0 + 0.25 * 1e4 + -4.0 * 1e6 + 200.0 * 1e9 + 8.0 * 1e-3;
    assert_eq!(call(&m, "ms_vt_mix", &args), Value::F64(expected));
    assert_eq!(
        call(&m, "ms_vt_to_i16", &[Value::I32(0x18000)]),
        Value::I16(-32768)
    );
}

#[test]
fn other_tags_fall_back_to_the_checked_path() {
    let m = modules();
    // Integers of other widths are converted when they fit (the value thunk refuses
    // them, the checked path converts).
    assert_eq!(
        call(&m, "fx_add_i32", &[Value::I8(-3), Value::U64(10)]),
        Value::I32(7)
    );
    assert_eq!(call(&m, "fx_vt_dec_i64", &[Value::I32(-5)]), Value::I64(-6));
    assert_eq!(
        call(&m, "fx_vt_twice", &[Value::F32(0.75)]),
        Value::F64(1.5)
    );
    // The last argument alone has another tag.
    let mut many: Vec<Value> = (0..10).map(Value::I32).collect();
    many.extend((0..8).map(|i| Value::F64(f64::from(i))));
    many.push(Value::F32(2.0));
    let reference = {
        let mut exact = many.clone();
        exact[18] = Value::F64(2.0);
        call(&m, "fx_vt_many", &exact)
    };
    assert_eq!(call(&m, "fx_vt_many", &many), reference);
    // And errors are the checked path's.
    for module in [&m.0, &m.1] {
        let add = module.function("fx_add_i32").unwrap();
        let err = add.call(&[Value::I32(1), Value::F64(2.0)]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueMismatch, "{err}");
        assert!(err.message().contains("argument 2"), "{err}");
        let err = add.call(&[Value::I64(1 << 40), Value::I32(2)]).unwrap_err();
        assert!(err.message().contains("argument 1"), "{err}");
        let err = add.call(&[Value::I32(1)]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueMismatch, "{err}");
        let err = add.call(&[Value::Bool(true), Value::I32(1)]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueMismatch, "{err}");
        let err = module.call("fx_vt_not", &[Value::I32(1)]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueMismatch, "{err}");
    }
}

#[test]
fn values_own_layout_as_the_value_thunk_reads_it() {
    // What the thunk relies on, observed from outside: a `Value` is one tag byte and
    // then its field, so that equal scalars compare equal however they were made.
    let m = modules();
    for v in [i32::MIN, -1, 0, 1, i32::MAX] {
        let via_thunk =
            m.0.call("fx_add_i32", &[Value::I32(v), Value::I32(0)])
                .unwrap();
        assert_eq!(via_thunk, Value::I32(v));
        assert_eq!(format!("{via_thunk:?}"), format!("I32({v})"));
    }
}
