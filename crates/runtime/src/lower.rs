//! Lowering of checked C signatures to the JIT's ABI description.
//!
//! Owns: how a typed-program type ([`ffidl_lang::tir::TypeKind`]) appears to the ABI
//! ([`ffidl_jit::AbiType`]): integers and enums as their integer, `bool` as C `_Bool`,
//! `cstr`/pointers/callbacks as pointers, structs, unions and arrays as one aggregate
//! whose scalar leaves are flattened with their byte offsets (nested aggregates, array
//! elements and union members included; union members give overlapping leaves), next to
//! its declared shape (the nesting, which gcc's SysV classification walks).
//! Does not decide where anything goes: that is `ffidl_jit::classify`.

use ffidl_jit::{
    Abi as JitAbi, AbiType, AggLayout, AggShape, Leaf, LeafKind, Signature as JitSignature,
};
use ffidl_lang::tir::{self, FloatTy, Program, TypeId, TypeKind};

/// The calling convention a declaration's `@abi` names, for this host.
pub fn jit_abi(abi: tir::Abi) -> JitAbi {
    match abi {
        tir::Abi::C => JitAbi::host(),
        tir::Abi::SysV64 => JitAbi::SysV64,
        tir::Abi::Win64 => JitAbi::Win64,
        tir::Abi::Aapcs64 => JitAbi::Aapcs64,
    }
}

/// The ABI type of a value type; `None` for `void`. Unsized types are an error message.
pub fn abi_type(program: &Program, ty: TypeId) -> Result<Option<AbiType>, String> {
    let def = program.ty(ty);
    Ok(Some(match &def.kind {
        TypeKind::Void => return Ok(None),
        TypeKind::Bool => AbiType::Bool,
        TypeKind::Int(i) => AbiType::Int {
            size: i.size() as u8,
            signed: i.signed(),
        },
        TypeKind::Enum(e) => AbiType::Int {
            size: e.repr.size() as u8,
            signed: e.repr.signed(),
        },
        TypeKind::Float(FloatTy::F32) => AbiType::F32,
        TypeKind::Float(FloatTy::F64) => AbiType::F64,
        TypeKind::Cstr | TypeKind::Ptr { .. } | TypeKind::Callback(_) | TypeKind::Null => {
            AbiType::Ptr
        }
        TypeKind::Struct(_) | TypeKind::Union(_) | TypeKind::Array { .. } => {
            let mut leaves = Vec::new();
            let shape = flatten(program, ty, 0, &mut leaves)?;
            let size = u32::try_from(def.size).map_err(|_| {
                format!("`{}` is too large to pass by value", program.type_name(ty))
            })?;
            AbiType::Aggregate(AggLayout {
                size,
                align: def.align as u32,
                leaves: leaves
                    .into_iter()
                    .map(|(offset, kind)| Leaf { offset, kind })
                    .collect(),
                shape,
            })
        }
        TypeKind::Opaque { .. } | TypeKind::Error => {
            return Err(format!(
                "`{}` has no size and cannot be passed by value",
                program.type_name(ty)
            ))
        }
    }))
}

/// Most scalar leaves an aggregate passed by value may have (guards huge arrays).
const MAX_LEAVES: usize = 1 << 16;

/// Appends the leaves of a `ty` at byte `base` to `leaves` and returns its shape.
fn flatten(
    program: &Program,
    ty: TypeId,
    base: u64,
    leaves: &mut Vec<(u32, LeafKind)>,
) -> Result<AggShape, String> {
    if leaves.len() > MAX_LEAVES {
        return Err("aggregate has too many fields to pass by value".into());
    }
    let mut scalar = |kind| {
        leaves.push((base as u32, kind));
        Ok(AggShape::Scalar(kind))
    };
    let def = program.ty(ty);
    match &def.kind {
        TypeKind::Bool => scalar(LeafKind::Int(1)),
        TypeKind::Int(i) => scalar(LeafKind::Int(i.size() as u8)),
        TypeKind::Enum(e) => scalar(LeafKind::Int(e.repr.size() as u8)),
        TypeKind::Float(FloatTy::F32) => scalar(LeafKind::F32),
        TypeKind::Float(FloatTy::F64) => scalar(LeafKind::F64),
        TypeKind::Cstr | TypeKind::Ptr { .. } | TypeKind::Callback(_) | TypeKind::Null => {
            scalar(LeafKind::Int(8))
        }
        TypeKind::Struct(a) => {
            let mut fields = Vec::with_capacity(a.fields.len());
            for f in &a.fields {
                let shape = flatten(program, f.ty, base + f.offset, leaves)?;
                fields.push((f.offset as u32, shape));
            }
            Ok(AggShape::Struct {
                size: def.size as u32,
                fields,
            })
        }
        TypeKind::Union(a) => {
            let mut members = Vec::with_capacity(a.fields.len());
            for f in &a.fields {
                members.push(flatten(program, f.ty, base + f.offset, leaves)?);
            }
            Ok(AggShape::Union {
                size: def.size as u32,
                members,
            })
        }
        TypeKind::Array { elem, len } => {
            let size = program.ty(*elem).size;
            // The element's shape (a zero-length array has one, but no leaves); every
            // element has the first one's leaves, shifted.
            let mut first = Vec::new();
            let shape = flatten(program, *elem, base, &mut first)?;
            if *len > 0 && !first.is_empty() {
                for k in 0..*len {
                    if leaves.len() > MAX_LEAVES {
                        return Err("aggregate has too many fields to pass by value".into());
                    }
                    let shift = (k * size) as u32;
                    leaves.extend(first.iter().map(|&(offset, kind)| (offset + shift, kind)));
                }
            }
            Ok(AggShape::Array {
                len: *len as u32,
                elem_size: size as u32,
                elem: Box::new(shape),
            })
        }
        TypeKind::Void | TypeKind::Opaque { .. } | TypeKind::Error => Err(format!(
            "`{}` has no size and cannot be a field of a value passed to C",
            program.type_name(ty)
        )),
    }
}

/// The ABI signature of a call: `params` are the fixed parameter types followed by the
/// (already promoted) types of any variadic arguments.
pub fn jit_signature(
    program: &Program,
    sig: &tir::Signature,
    variadic_args: &[TypeId],
) -> Result<JitSignature, String> {
    let mut params = Vec::with_capacity(sig.params.len() + variadic_args.len());
    for &p in sig.params.iter().chain(variadic_args) {
        match abi_type(program, p)? {
            Some(t) => params.push(t),
            None => return Err("a parameter cannot be `void`".into()),
        }
    }
    let ret = abi_type(program, sig.ret)?;
    let mut out = JitSignature::new(jit_abi(sig.abi), params, ret);
    if sig.variadic {
        out.variadic_from = Some(sig.params.len());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ffidl_lang::{check_source, SourceMap, Target};

    fn program(src: &str) -> Program {
        let mut map = SourceMap::new();
        check_source(&mut map, "t.ffidl", None, src.to_string(), Target::SysVX64)
            .unwrap_or_else(|d| panic!("{}", ffidl_lang::diag::render(&map, &d)))
    }

    fn leaves_of(p: &Program, name: &str) -> (u32, u32, Vec<(u32, LeafKind)>) {
        let ty = p.type_id(name).unwrap();
        match abi_type(p, ty).unwrap().unwrap() {
            AbiType::Aggregate(a) => (
                a.size,
                a.align,
                a.leaves.iter().map(|l| (l.offset, l.kind)).collect(),
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nested_structs_arrays_and_unions_flatten_to_offset_leaves() {
        let p = program(
            "struct Inner { a: u8, b: [i16; 2] }
             union Num { i: i32, f: f32 }
             enum E: u16 { A }
             struct Outer { flag: bool, inner: Inner, n: Num, e: E, p: *void, d: f64 }",
        );
        let (size, align, leaves) = leaves_of(&p, "Outer");
        assert_eq!((size, align), (32, 8));
        assert_eq!(
            leaves,
            vec![
                (0, LeafKind::Int(1)),
                (2, LeafKind::Int(1)),
                (4, LeafKind::Int(2)),
                (6, LeafKind::Int(2)),
                (8, LeafKind::Int(4)),
                (8, LeafKind::F32),
                (12, LeafKind::Int(2)),
                (16, LeafKind::Int(8)),
                (24, LeafKind::F64),
            ]
        );
    }

    #[test]
    fn the_shape_keeps_arrays_and_zero_length_arrays() {
        let p = program("struct Two { a: [u16; 2], z: [f64; 0], b: u8 }");
        let AbiType::Aggregate(two) = abi_type(&p, p.type_id("Two").unwrap()).unwrap().unwrap()
        else {
            panic!("Two is an aggregate");
        };
        let u16s = AggShape::Array {
            len: 2,
            elem_size: 2,
            elem: Box::new(AggShape::Scalar(LeafKind::Int(2))),
        };
        let no_f64 = AggShape::Array {
            len: 0,
            elem_size: 8,
            elem: Box::new(AggShape::Scalar(LeafKind::F64)),
        };
        assert_eq!(
            two.shape,
            AggShape::Struct {
                size: 16,
                fields: vec![
                    (0, u16s),
                    (8, no_f64),
                    (8, AggShape::Scalar(LeafKind::Int(1)))
                ],
            }
        );
        // The zero-length array has a shape but no leaves.
        let leaves: Vec<_> = two.leaves.iter().map(|l| (l.offset, l.kind)).collect();
        assert_eq!(
            leaves,
            vec![
                (0, LeafKind::Int(2)),
                (2, LeafKind::Int(2)),
                (8, LeafKind::Int(1))
            ]
        );
    }

    #[test]
    fn packed_layout_comes_from_the_checker() {
        let p = program("@packed struct H { tag: u8, len: u32 }");
        assert_eq!(
            leaves_of(&p, "H"),
            (5, 1, vec![(0, LeafKind::Int(1)), (1, LeafKind::Int(4))])
        );
    }

    #[test]
    fn scalars_lower_to_their_abi_types() {
        let p = program("enum M: c_uchar { A } callback Cb = fn(x: i32) -> i32;");
        let t = |name: &str| abi_type(&p, p.type_id(name).unwrap()).unwrap();
        assert_eq!(t("bool"), Some(AbiType::Bool));
        assert_eq!(t("M"), Some(AbiType::U8));
        assert_eq!(t("c_long"), Some(AbiType::I64));
        assert_eq!(t("cstr"), Some(AbiType::Ptr));
        assert_eq!(t("Cb"), Some(AbiType::Ptr));
        assert_eq!(t("f32"), Some(AbiType::F32));
        assert_eq!(t("void"), None);
    }
}
