//! ffidl-jit: C ABI classification ([`abi`]), Cranelift call thunks ([`thunk`]) and
//! callback thunks ([`callback`]).
//!
//! Knows calling conventions and machine code; knows nothing of the script language.
//! Executable memory is owned by [`code_memory`]; how a plan becomes a Cranelift
//! signature is in `clif_lowering`.
//!
//! The flow: describe a C signature with [`AbiType`]s, [`classify`] it into a [`CallPlan`]
//! (pure data: where every piece goes), then ask a [`ThunkCache`] for the thunk of that
//! plan and call any function of that signature through it with one 8-byte slot per
//! argument:
//!
//! ```
//! use ffidl_jit::{classify, Abi, AbiType, Signature, ThunkCache};
//!
//! extern "C" fn scale(x: i32, by: f64) -> f64 {
//!     f64::from(x) * by
//! }
//!
//! let sig = Signature::new(Abi::SysV64, vec![AbiType::I32, AbiType::F64], Some(AbiType::F64));
//! let plan = classify(&sig).unwrap();
//! assert_eq!(plan.to_string(), "a0 rdi:i4@0 sext; a1 xmm0:f8@0; ret xmm0:f8@0; stack 0");
//! # if cfg!(all(target_arch = "x86_64", not(windows))) {
//! let mut cache = ThunkCache::new().unwrap();
//! let thunk = cache.thunk(&plan).unwrap();
//! let args = [(-3i64) as u64, 0.5f64.to_bits()];
//! let mut ret = [0u8; 8];
//! // SAFETY: the slots match `scale`'s C signature, `ret` has room for an f64.
//! unsafe { thunk(scale as *const std::ffi::c_void, args.as_ptr(), ret.as_mut_ptr()) };
//! assert_eq!(f64::from_le_bytes(ret), -1.5);
//! # }
//! ```

pub mod abi;
pub mod callback;
mod clif_lowering;
pub mod code_memory;
pub mod thunk;

pub use abi::{
    classify, Abi, AbiError, AbiType, AggLayout, AggShape, CallPlan, Leaf, LeafKind, Signature,
};
pub use callback::{CompiledCallback, DispatchFn};
pub use thunk::{
    CompiledThunk, TaggedField, ThunkCache, ThunkError, ThunkFn, ValueLayout, ValueThunkFn,
};
