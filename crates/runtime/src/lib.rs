//! The ffidl runtime (issue 4).
