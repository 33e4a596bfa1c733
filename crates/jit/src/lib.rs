//! ffidl-jit: C ABI classification ([`abi`]) and Cranelift call thunks ([`thunk`]).
//!
//! Knows calling conventions and machine code; knows nothing of the script language.

pub mod abi;
