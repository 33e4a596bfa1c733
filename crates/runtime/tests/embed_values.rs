//! How `Function::call` treats each kind of argument and result, against libc and libm:
//! values of exactly the declared type pass unconverted, the others are widened,
//! range-checked or refused exactly as documented (docs/embedding.md), on both the
//! fast path and for struct values that belong to another module.

use ffidl::{ErrorKind, Module, Runtime, Value};
use std::ffi::{c_void, CString};

const BINDINGS: &str = r#"
library libc = "libc.so.6";
library m = "libm.so.6";
struct DivResult { quot: c_int, rem: c_int }
struct InAddr { s_addr: u32 }
extern libc {
    fn abs(x: c_int) -> c_int;
    fn labs(x: c_long) -> c_long;
    fn strlen(s: cstr) -> usize;
    fn div(numerator: c_int, denominator: c_int) -> DivResult;
    fn inet_ntoa(address: InAddr) -> cstr;
    fn srand(seed: c_uint);
    fn toupper(c: c_int) -> c_int;
}
extern m {
    fn hypot(x: f64, y: f64) -> f64;
    fn sqrtf(x: f32) -> f32;
}
"#;

fn module() -> Module {
    Runtime::new()
        .load_str("values.ffidl", BINDINGS)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn exact_values_pass_and_results_keep_their_declared_kind() {
    let m = module();
    assert_eq!(m.call("abs", &[Value::I32(-7)]).unwrap(), Value::I32(7));
    assert_eq!(
        m.call("labs", &[Value::I64(-(1 << 40))]).unwrap(),
        Value::I64(1 << 40)
    );
    assert_eq!(
        m.call("hypot", &[3.0.into(), 4.0.into()]).unwrap(),
        Value::F64(5.0)
    );
    assert_eq!(
        m.call("sqrtf", &[Value::F32(2.25)]).unwrap(),
        Value::F32(1.5)
    );
    assert_eq!(m.call("srand", &[Value::U32(1)]).unwrap(), Value::Void);
    assert_eq!(m.call("strlen", &["four".into()]).unwrap(), Value::U64(4));
}

#[test]
fn other_values_are_converted_or_refused() {
    let m = module();
    let abs = m.function("abs").unwrap();
    // Any integer whose value fits converts; the result is the declared `c_int`.
    for v in [Value::I8(-3), Value::U16(3), Value::I64(-3), Value::U64(3)] {
        assert_eq!(abs.call(&[v]).unwrap(), Value::I32(3));
    }
    for v in [
        Value::I64(1 << 31),
        Value::U64(u64::MAX),
        Value::Bool(true),
        Value::F64(1.0),
        Value::Ptr(std::ptr::null_mut()),
        "7".into(),
    ] {
        let err = abs.call(std::slice::from_ref(&v)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueMismatch, "{v:?}: {err}");
        assert!(err.message().contains("argument 1"), "{err}");
    }
    // f32 widens to an f64 parameter; f64 never narrows to f32.
    assert_eq!(
        m.call("hypot", &[Value::F32(3.0), 4.0.into()]).unwrap(),
        Value::F64(5.0)
    );
    let err = m.call("sqrtf", &[Value::F64(4.0)]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ValueMismatch);
    // A cstr parameter also takes a pointer to a C string the caller owns.
    let owned = CString::new("pointer").unwrap();
    let p = Value::Ptr(owned.as_ptr().cast_mut().cast::<c_void>());
    assert_eq!(m.call("strlen", &[p]).unwrap(), Value::U64(7));
    // The wrong number of values calls nothing.
    let err = m.call("toupper", &[]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ValueMismatch);
}

#[test]
fn struct_values_belong_to_their_module_and_type() {
    let m = module();
    let mut home = m.new_struct("InAddr").unwrap();
    home.set("s_addr", u32::from_ne_bytes([127, 0, 0, 1]))
        .unwrap();
    let text = m.call("inet_ntoa", &[home.clone().into()]).unwrap();
    assert_eq!(text.as_cstr().unwrap().to_str(), Ok("127.0.0.1"));

    // The same declaration in another module is another type.
    let other = module();
    let foreign = other.new_struct("InAddr").unwrap();
    let err = m.call("inet_ntoa", &[foreign.into()]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ValueMismatch, "{err}");
    // And a struct of another declared type is refused.
    let quotient = m.call("div", &[7.into(), 2.into()]).unwrap();
    let err = m
        .call("inet_ntoa", std::slice::from_ref(&quotient))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ValueMismatch, "{err}");
    let quotient = quotient.as_struct().unwrap();
    assert_eq!(quotient.get("quot").unwrap(), Value::I32(3));
    assert_eq!(quotient.get("rem").unwrap(), Value::I32(1));
}
