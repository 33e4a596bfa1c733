//! `print` formatting, compiled per type.
//!
//! Rules: integers in decimal; `bool` as `true`/`false`; strings as their text (inside
//! a struct or array they are quoted, like Rust's `{:?}`); `null` pointers and strings
//! as `null`; other pointers and callbacks as `0x` and lowercase hex; enums as
//! `Mode::Write` (a value with no variant as `Mode(7)`); structs as
//! `Point { x: 1.5, y: 2.5 }`; unions like structs with every field (each field reads
//! the union's bytes as its own type); arrays as `[1, 2, 3]`.
//!
//! Floats print the shortest decimal that reads back to the same value, always as a
//! float: with a `.0` when integral (`2.0`), in exponent form when the exponent is below
//! -5 or at least 17 (`1e-7`, `1e20`), `NaN`, `inf`, `-inf` (this is Rust's `{:?}`).
//! An `f32` prints the shortest decimal for the `f32` (`0.1`, not `0.100000001`).

use super::scalar::{f32_of, f64_of, int_value, load, Repr, Scalar};
use ffidl_lang::tir::{Program, TypeId, TypeKind};
use std::io::Write;
use std::rc::Rc;

/// Formats a slot value (aggregates: the address of its bytes) into a buffer.
pub type Fmt = Rc<dyn Fn(u64, &mut Vec<u8>)>;

/// The formatter for values of `ty`; `top` is false inside aggregates.
pub fn formatter(program: &Program, reprs: &[Repr], ty: TypeId, top: bool) -> Fmt {
    let def = program.ty(ty);
    match &def.kind {
        TypeKind::Bool => {
            Rc::new(|v, out| out.extend_from_slice(if v != 0 { b"true" } else { b"false" }))
        }
        TypeKind::Int(i) => {
            let i = *i;
            Rc::new(move |v, out| {
                let _ = write!(out, "{}", int_value(i, v));
            })
        }
        TypeKind::Float(_) => match reprs[ty.index()] {
            Repr::Scalar(Scalar::F32) => Rc::new(|v, out| {
                let _ = write!(out, "{:?}", f32_of(v));
            }),
            _ => Rc::new(|v, out| {
                let _ = write!(out, "{:?}", f64_of(v));
            }),
        },
        TypeKind::Cstr => Rc::new(move |v, out| {
            if v == 0 {
                out.extend_from_slice(b"null");
                return;
            }
            // SAFETY: a non-null `cstr` is a NUL-terminated string.
            let bytes = unsafe { crate::memory::c_str_bytes(v) };
            if top {
                out.extend_from_slice(bytes);
            } else {
                let _ = write!(out, "{:?}", String::from_utf8_lossy(bytes));
            }
        }),
        TypeKind::Enum(e) => {
            let e = e.clone();
            Rc::new(move |v, out| {
                let value = int_value(e.repr, v);
                match e.variants.iter().find(|var| var.value == value) {
                    Some(var) => {
                        let _ = write!(out, "{}::{}", e.name, var.name);
                    }
                    None => {
                        let _ = write!(out, "{}({value})", e.name);
                    }
                }
            })
        }
        TypeKind::Struct(a) | TypeKind::Union(a) => {
            let name = a.name.clone();
            let fields: Vec<(String, u64, Repr, Fmt)> = a
                .fields
                .iter()
                .map(|f| {
                    (
                        f.name.clone(),
                        f.offset,
                        reprs[f.ty.index()],
                        formatter(program, reprs, f.ty, false),
                    )
                })
                .collect();
            Rc::new(move |v, out| {
                out.extend_from_slice(name.as_bytes());
                if fields.is_empty() {
                    out.extend_from_slice(b" {}");
                    return;
                }
                out.extend_from_slice(b" { ");
                for (k, (fname, off, repr, f)) in fields.iter().enumerate() {
                    if k > 0 {
                        out.extend_from_slice(b", ");
                    }
                    out.extend_from_slice(fname.as_bytes());
                    out.extend_from_slice(b": ");
                    f(field_value(v, *off, *repr), out);
                }
                out.extend_from_slice(b" }");
            })
        }
        TypeKind::Array { elem, len } => {
            let esize = program.ty(*elem).size;
            let repr = reprs[elem.index()];
            let f = formatter(program, reprs, *elem, false);
            let len = *len;
            Rc::new(move |v, out| {
                out.push(b'[');
                for k in 0..len {
                    if k > 0 {
                        out.extend_from_slice(b", ");
                    }
                    f(field_value(v, k * esize, repr), out);
                }
                out.push(b']');
            })
        }
        // Pointers, callbacks (and anything unsized, which a checked program never prints).
        _ => Rc::new(|v, out| {
            if v == 0 {
                out.extend_from_slice(b"null");
            } else {
                let _ = write!(out, "0x{v:x}");
            }
        }),
    }
}

/// The slot value of a field at `off` inside the aggregate at address `base`.
fn field_value(base: u64, off: u64, repr: Repr) -> u64 {
    let p = (base + off) as *const u8;
    match repr {
        // SAFETY: `base` addresses a live aggregate that contains this field.
        Repr::Scalar(s) => unsafe { load(s, p) },
        _ => p as u64,
    }
}
