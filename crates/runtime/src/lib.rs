//! The ffidl runtime: library loading, native values, the interpreter, the assembly
//! fallback and the embedding API.
//!
//! This first part holds library loading ([`load`]); the interpreter arrives with the
//! `ffidl run` work (see the issue tracker).

pub mod fallback;
pub mod load;
