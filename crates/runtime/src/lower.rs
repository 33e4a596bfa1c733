//! Lowering of checked C signatures to the JIT's ABI description.
//!
//! Owns: how a typed-program type ([`ffidl_lang::tir::TypeKind`]) appears to the ABI
//! ([`ffidl_jit::AbiType`]): integers and enums as their integer, `bool` as C `_Bool`,
//! `cstr`/pointers/callbacks as pointers, structs, unions and arrays as one aggregate
//! whose scalar leaves are flattened with their byte offsets (nested aggregates, array
//! elements and union members included; union members give overlapping leaves). Each
//! leaf also says whether it lies in an array element after the first, and a zero-length
//! array `[T; 0]` contributes its element's leaves marked as taking no storage: the
//! classifiers decide what those facts mean.
//! Does not decide where anything goes: that is `ffidl_jit::classify`.

use ffidl_jit::{Abi as JitAbi, AbiType, AggLayout, Leaf, LeafKind, Signature as JitSignature};
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
            flatten(program, ty, Position::default(), &mut leaves)?;
            let size = u32::try_from(def.size).map_err(|_| {
                format!("`{}` is too large to pass by value", program.type_name(ty))
            })?;
            AbiType::Aggregate(AggLayout {
                size,
                align: def.align as u32,
                leaves,
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

/// Where a value being flattened sits inside the aggregate.
#[derive(Clone, Copy, Default)]
struct Position {
    /// Byte offset from the start of the aggregate.
    base: u64,
    /// Inside an array element after the first.
    repeated: bool,
    /// Inside the element of a zero-length array starting at this offset.
    zero_length_at: Option<u32>,
}

fn flatten(
    program: &Program,
    ty: TypeId,
    at: Position,
    leaves: &mut Vec<Leaf>,
) -> Result<(), String> {
    if leaves.len() > MAX_LEAVES {
        return Err("aggregate has too many fields to pass by value".into());
    }
    let leaf = |kind| Leaf {
        offset: at.base as u32,
        kind,
        repeated: at.repeated,
        zero_length_at: at.zero_length_at,
    };
    match &program.ty(ty).kind {
        TypeKind::Bool => leaves.push(leaf(LeafKind::Int(1))),
        TypeKind::Int(i) => leaves.push(leaf(LeafKind::Int(i.size() as u8))),
        TypeKind::Enum(e) => leaves.push(leaf(LeafKind::Int(e.repr.size() as u8))),
        TypeKind::Float(FloatTy::F32) => leaves.push(leaf(LeafKind::F32)),
        TypeKind::Float(FloatTy::F64) => leaves.push(leaf(LeafKind::F64)),
        TypeKind::Cstr | TypeKind::Ptr { .. } | TypeKind::Callback(_) | TypeKind::Null => {
            leaves.push(leaf(LeafKind::Int(8)))
        }
        TypeKind::Struct(a) | TypeKind::Union(a) => {
            for f in &a.fields {
                let field = Position {
                    base: at.base + f.offset,
                    ..at
                };
                flatten(program, f.ty, field, leaves)?;
            }
        }
        TypeKind::Array { elem, len: 0 } => {
            let element = Position {
                zero_length_at: at.zero_length_at.or(Some(at.base as u32)),
                ..at
            };
            flatten(program, *elem, element, leaves)?;
        }
        TypeKind::Array { elem, len } => {
            let size = program.ty(*elem).size;
            for k in 0..*len {
                let element = Position {
                    base: at.base + k * size,
                    repeated: at.repeated || k > 0,
                    zero_length_at: at.zero_length_at,
                };
                flatten(program, *elem, element, leaves)?;
            }
        }
        TypeKind::Void | TypeKind::Opaque { .. } | TypeKind::Error => {
            return Err(format!(
                "`{}` has no size and cannot be a field of a value passed to C",
                program.type_name(ty)
            ))
        }
    }
    Ok(())
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
    fn later_array_elements_and_zero_length_arrays_are_marked() {
        let p = program(
            "struct Two { a: [u16; 2], z: [f64; 0], b: u8 }
             struct Grid { rows: [[u8; 2]; 2] }",
        );
        let ty = p.type_id("Two").unwrap();
        let AbiType::Aggregate(two) = abi_type(&p, ty).unwrap().unwrap() else {
            panic!("Two is an aggregate");
        };
        let marks: Vec<_> = two
            .leaves
            .iter()
            .map(|l| (l.offset, l.kind, l.repeated, l.zero_length_at))
            .collect();
        assert_eq!(
            marks,
            vec![
                (0, LeafKind::Int(2), false, None),
                (2, LeafKind::Int(2), true, None),
                (8, LeafKind::F64, false, Some(8)),
                (8, LeafKind::Int(1), false, None),
            ]
        );
        let ty = p.type_id("Grid").unwrap();
        let AbiType::Aggregate(grid) = abi_type(&p, ty).unwrap().unwrap() else {
            panic!("Grid is an aggregate");
        };
        let repeated: Vec<_> = grid.leaves.iter().map(|l| l.repeated).collect();
        assert_eq!(repeated, vec![false, true, true, true]);
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
