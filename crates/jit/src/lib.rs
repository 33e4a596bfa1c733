//! ABI classification and Cranelift thunks (issue 4).
