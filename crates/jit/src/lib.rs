//! ffidl-jit: C ABI classification ([`abi`]) and Cranelift call thunks ([`thunk`]).
//!
//! Knows calling conventions and machine code; knows nothing of the script language.
//! Executable memory is owned by [`code_memory`].

pub mod abi;
mod clif_lowering;
pub mod code_memory;
pub mod thunk;

pub use abi::{classify, Abi, AbiError, AbiType, AggLayout, CallPlan, LeafKind, Signature};
pub use thunk::{CompiledThunk, ThunkCache, ThunkError, ThunkFn};
