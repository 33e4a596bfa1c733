//! ffidl-jit: C ABI classification ([`abi`]), Cranelift call thunks ([`thunk`]) and
//! callback thunks ([`callback`]).
//!
//! Knows calling conventions and machine code; knows nothing of the script language.
//! Executable memory is owned by [`code_memory`].

pub mod abi;
pub mod callback;
mod clif_lowering;
pub mod code_memory;
pub mod thunk;

pub use abi::{classify, Abi, AbiError, AbiType, AggLayout, CallPlan, LeafKind, Signature};
pub use callback::{CompiledCallback, DispatchFn};
pub use thunk::{CompiledThunk, ThunkCache, ThunkError, ThunkFn};
