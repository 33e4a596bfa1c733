//! Shared by the tests that call into the C fixture (tests/fixtures/jit_calls.c): building
//! and loading it, and Rust mirrors of its structs with their ABI descriptions.
#![allow(dead_code, clippy::upper_case_acronyms)]

use std::ffi::c_void;
use std::mem::size_of;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use ffidl_jit::abi::{AbiType, AggLayout, LeafKind};

pub const I1: LeafKind = LeafKind::Int(1);
pub const I2: LeafKind = LeafKind::Int(2);
pub const I4: LeafKind = LeafKind::Int(4);
pub const I8: LeafKind = LeafKind::Int(8);
pub const F4: LeafKind = LeafKind::F32;
pub const F8: LeafKind = LeafKind::F64;

pub fn fixture() -> &'static libloading::Library {
    static LIB: OnceLock<libloading::Library> = OnceLock::new();
    LIB.get_or_init(|| {
        let source =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/jit_calls.c");
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(concat!(
            "jit_calls_",
            env!("CARGO_CRATE_NAME"),
            ".so"
        ));
        let status = Command::new("gcc")
            .args(["-O2", "-shared", "-fPIC", "-o"])
            .arg(&out)
            .arg(&source)
            .status()
            .expect("gcc runs");
        assert!(status.success(), "gcc failed on {}", source.display());
        // SAFETY: the fixture is our own C file with no initialisers.
        unsafe { libloading::Library::new(&out).expect("fixture loads") }
    })
}

pub fn sym(name: &str) -> *const c_void {
    // SAFETY: only the address is taken; callers give it the right type.
    unsafe { *fixture().get::<*const c_void>(name.as_bytes()).expect(name) }
}

/// The fixture's `name` as a Rust function pointer of type `F`.
///
/// # Safety
/// `F` must be a function pointer type matching the C declaration.
pub unsafe fn native<F: Copy>(name: &str) -> F {
    let ptr = sym(name);
    assert_eq!(size_of::<F>(), size_of::<*const c_void>());
    std::mem::transmute_copy(&ptr)
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct S1 {
    pub a: i8,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct S2 {
    pub a: i16,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct S3 {
    pub a: i8,
    pub b: i8,
    pub c: i8,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct S4 {
    pub x: f32,
}
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct P5 {
    pub a: i32,
    pub b: i8,
}
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct P5u {
    pub a: i8,
    pub b: i32,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vec2f {
    pub x: f32,
    pub y: f32,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vec3f {
    pub x: f32,
    pub y: f32,
    pub z: f32,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DI {
    pub d: f64,
    pub i: i32,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CD {
    pub c: i8,
    pub d: f64,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IFD {
    pub i: i32,
    pub f: f32,
    pub d: f64,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LL {
    pub a: i64,
    pub b: i64,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vec2d {
    pub x: f64,
    pub y: f64,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LLC {
    pub a: i64,
    pub b: i64,
    pub c: i8,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct D4 {
    pub v: [f64; 4],
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct F3T {
    pub v: [f32; 3],
    pub tag: i32,
}
#[repr(C)]
#[derive(Clone, Copy)]
pub union UIF {
    pub i: i32,
    pub f: f32,
}
#[repr(C)]
#[derive(Clone, Copy)]
pub union UDL {
    pub d: [f64; 2],
    pub l: i64,
}

pub fn st(fields: &[LeafKind]) -> AbiType {
    AbiType::Aggregate(AggLayout::c_struct(fields))
}
pub fn packed(fields: &[LeafKind]) -> AbiType {
    AbiType::Aggregate(AggLayout::packed_struct(fields))
}
