//! Value thunks: calls whose arguments are read from tagged records (a `#[repr(u8)]`
//! Rust enum here) behind a tag check, and whose result is written as such a record.

use std::ffi::c_void;
use std::mem::{offset_of, size_of, MaybeUninit};

use ffidl_jit::abi::{classify, Abi, AbiType, LeafKind, Signature};
use ffidl_jit::{TaggedField, ThunkCache, ThunkError, ValueLayout};

/// A tagged value. `repr(u8)`: each variant is laid out as the `repr(C)` struct of a
/// `u8` tag (0.. in declaration order) and its field ([`Variant`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u8)]
enum Tagged {
    Void,
    I8(i8),
    U16(u16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
}

/// The `repr(C)` mirror of one variant, for its payload offset.
#[repr(C)]
struct Variant<T> {
    tag: u8,
    payload: T,
}

fn field<T>(tag: u8) -> TaggedField {
    TaggedField {
        tag,
        payload_offset: offset_of!(Variant<T>, payload) as u32,
    }
}

const VOID: u8 = 0;
const I8: u8 = 1;
const U16: u8 = 2;
const I32: u8 = 3;
const I64: u8 = 4;
const F32: u8 = 5;
const F64: u8 = 6;
const BOOL: u8 = 7;

extern "C" fn mix(a: i8, b: u16, c: i32, d: i64, e: f32, f: f64) -> f64 {
    f64::from(a) + f64::from(b) * 10.0 + f64::from(c) * 100.0 + d as f64 * 1000.0 + f64::from(e) + f
}

extern "C" fn negate(v: i8) -> i8 {
    v.wrapping_neg()
}

/// Returns a `_Bool` whose register holds more than 0 or 1 in its upper bits.
extern "C" fn is_odd(v: i32) -> bool {
    v % 2 != 0
}

#[allow(clippy::too_many_arguments)]
extern "C" fn sum_many(
    a: i32,
    b: i32,
    c: i32,
    d: i32,
    e: i32,
    f: i32,
    g: i32,
    h: i32,
    x: f64,
    y: f32,
) -> i64 {
    i64::from(a + b + c + d + e + f + g + h) + x as i64 + y as i64
}

struct Case {
    params: Vec<(AbiType, TaggedField)>,
    ret: Option<(AbiType, TaggedField)>,
    ret_bool: bool,
}

fn call(
    cache: &mut ThunkCache,
    abi: Abi,
    case: &Case,
    target: *const c_void,
    args: &[Tagged],
) -> Option<Tagged> {
    let sig = Signature::new(
        abi,
        case.params.iter().map(|p| p.0.clone()).collect(),
        case.ret.as_ref().map(|r| r.0.clone()),
    );
    let plan = classify(&sig).unwrap();
    let layout = ValueLayout {
        stride: size_of::<Tagged>() as u32,
        args: case.params.iter().map(|p| p.1).collect(),
        ret: case.ret.as_ref().map_or(field::<()>(VOID), |r| r.1),
        ret_bool: case.ret_bool,
    };
    let thunk = cache.value_thunk(&plan, &layout).unwrap();
    let again = cache.value_thunk(&plan, &layout).unwrap();
    assert!(std::ptr::fn_addr_eq(again, thunk), "cached");
    let mut out = MaybeUninit::<Tagged>::uninit();
    // SAFETY: the layout describes `Tagged`, the signature is the target's; the thunk
    // reads only `args.len()` records and writes one `Tagged` into `out`.
    let status = unsafe { thunk(target, args.as_ptr().cast(), out.as_mut_ptr().cast()) };
    // SAFETY: status 0: the thunk wrote the result's tag and payload.
    (status == 0).then(|| unsafe { out.assume_init() })
}

#[test]
fn scalars_in_and_out() {
    let mut cache = ThunkCache::new().unwrap();
    let mix_case = Case {
        params: vec![
            (AbiType::I8, field::<i8>(I8)),
            (AbiType::U16, field::<u16>(U16)),
            (AbiType::I32, field::<i32>(I32)),
            (AbiType::I64, field::<i64>(I64)),
            (AbiType::F32, field::<f32>(F32)),
            (AbiType::F64, field::<f64>(F64)),
        ],
        ret: Some((AbiType::F64, field::<f64>(F64))),
        ret_bool: false,
    };
    let args = [
        Tagged::I8(-1),
        Tagged::U16(60000),
        Tagged::I32(-3),
        Tagged::I64(4),
        Tagged::F32(0.5),
        Tagged::F64(0.25),
    ];
    let expected = mix(-1, 60000, -3, 4, 0.5, 0.25);
    assert_eq!(
        call(
            &mut cache,
            Abi::SysV64,
            &mix_case,
            mix as *const c_void,
            &args
        ),
        Some(Tagged::F64(expected))
    );
    // A wrong tag anywhere: nothing is called, status 1.
    for i in 0..args.len() {
        let mut wrong = args;
        wrong[i] = Tagged::Void;
        assert_eq!(
            call(
                &mut cache,
                Abi::SysV64,
                &mix_case,
                mix as *const c_void,
                &wrong
            ),
            None,
            "argument {i}"
        );
    }

    let neg = Case {
        params: vec![(AbiType::I8, field::<i8>(I8))],
        ret: Some((AbiType::I8, field::<i8>(I8))),
        ret_bool: false,
    };
    for v in [i8::MIN, -1, 0, 5, i8::MAX] {
        let got = call(
            &mut cache,
            Abi::SysV64,
            &neg,
            negate as *const c_void,
            &[Tagged::I8(v)],
        );
        assert_eq!(got, Some(Tagged::I8(v.wrapping_neg())));
    }

    let odd = Case {
        params: vec![(AbiType::I32, field::<i32>(I32))],
        ret: Some((AbiType::Bool, field::<bool>(BOOL))),
        ret_bool: true,
    };
    for v in [-3, 0, 7, 8] {
        let got = call(
            &mut cache,
            Abi::SysV64,
            &odd,
            is_odd as *const c_void,
            &[Tagged::I32(v)],
        );
        assert_eq!(got, Some(Tagged::Bool(v % 2 != 0)));
    }
}

#[test]
fn more_arguments_than_registers() {
    let mut cache = ThunkCache::new().unwrap();
    let mut params = vec![(AbiType::I32, field::<i32>(I32)); 8];
    params.push((AbiType::F64, field::<f64>(F64)));
    params.push((AbiType::F32, field::<f32>(F32)));
    let case = Case {
        params,
        ret: Some((AbiType::I64, field::<i64>(I64))),
        ret_bool: false,
    };
    let mut args: Vec<Tagged> = (1..=8).map(Tagged::I32).collect();
    args.push(Tagged::F64(100.0));
    args.push(Tagged::F32(1000.0));
    let expected = sum_many(1, 2, 3, 4, 5, 6, 7, 8, 100.0, 1000.0);
    assert_eq!(
        call(
            &mut cache,
            Abi::SysV64,
            &case,
            sum_many as *const c_void,
            &args
        ),
        Some(Tagged::I64(expected))
    );
    args[7] = Tagged::I64(8);
    assert_eq!(
        call(
            &mut cache,
            Abi::SysV64,
            &case,
            sum_many as *const c_void,
            &args
        ),
        None
    );
}

#[test]
fn aggregates_and_variadic_plans_have_no_value_thunk() {
    let mut cache = ThunkCache::new().unwrap();
    let pair = ffidl_jit::AggLayout::new(8, 4, [(0, LeafKind::Int(4)), (4, LeafKind::Int(4))]);
    let plan = classify(&Signature::new(
        Abi::SysV64,
        vec![AbiType::Aggregate(pair)],
        None,
    ))
    .unwrap();
    let layout = ValueLayout {
        stride: size_of::<Tagged>() as u32,
        args: vec![field::<i64>(I64)],
        ret: field::<()>(VOID),
        ret_bool: false,
    };
    assert_eq!(
        cache.value_thunk(&plan, &layout).err(),
        Some(ThunkError::NotScalar)
    );
    let plan = classify(&Signature::new(Abi::SysV64, vec![AbiType::I64], None)).unwrap();
    let two = ValueLayout {
        args: vec![field::<i64>(I64); 2],
        ..layout
    };
    assert_eq!(
        cache.value_thunk(&plan, &two).err(),
        Some(ThunkError::NotScalar)
    );
}
