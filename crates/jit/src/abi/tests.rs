//! Table-driven tests of classification: each case is a signature and the plan written
//! out in `CallPlan`'s one-line form (`place:{i|f}{size}@{offset}`), derived by hand from
//! the psABI / Microsoft / AAPCS64 rules. The C fixtures in the crate's tests check the
//! x86-64 rules against gcc at run time; the AAPCS64 cases were checked once against
//! aarch64-linux-gnu-gcc 12 assembly.

use super::*;

const I1: LeafKind = LeafKind::Int(1);
const I2: LeafKind = LeafKind::Int(2);
const I4: LeafKind = LeafKind::Int(4);
const I8: LeafKind = LeafKind::Int(8);
const F4: LeafKind = LeafKind::F32;
const F8: LeafKind = LeafKind::F64;

fn st(fields: &[LeafKind]) -> AbiType {
    AbiType::Aggregate(AggLayout::c_struct(fields))
}

fn packed(fields: &[LeafKind]) -> AbiType {
    AbiType::Aggregate(AggLayout::packed_struct(fields))
}

fn agg(size: u32, align: u32, leaves: &[(u32, LeafKind)]) -> AbiType {
    AbiType::Aggregate(AggLayout::new(size, align, leaves.iter().copied()))
}

/// An aggregate from its declared shape (the leaves follow from it).
fn shaped(align: u32, shape: AggShape) -> AbiType {
    fn leaves(shape: &AggShape, base: u32, out: &mut Vec<(u32, LeafKind)>) {
        match shape {
            AggShape::Scalar(kind) => out.push((base, *kind)),
            AggShape::Struct { fields, .. } => {
                for (offset, field) in fields {
                    leaves(field, base + offset, out);
                }
            }
            AggShape::Union { members, .. } => {
                for member in members {
                    leaves(member, base, out);
                }
            }
            AggShape::Array {
                len,
                elem_size,
                elem,
            } => {
                for k in 0..*len {
                    leaves(elem, base + k * elem_size, out);
                }
            }
        }
    }
    let mut flat = Vec::new();
    leaves(&shape, 0, &mut flat);
    let mut layout = AggLayout::new(shape.size(), align, flat);
    layout.shape = shape;
    AbiType::Aggregate(layout)
}

fn sc(kind: LeafKind) -> AggShape {
    AggShape::Scalar(kind)
}

fn struct_of(size: u32, fields: Vec<(u32, AggShape)>) -> AggShape {
    AggShape::Struct { size, fields }
}

fn array_of(len: u32, elem: AggShape) -> AggShape {
    AggShape::Array {
        len,
        elem_size: elem.size(),
        elem: Box::new(elem),
    }
}

/// `@packed struct P7 { u: @packed union { b: [bool; 2], s: i16 }, f: [bool; 5] }`.
fn p7() -> AggShape {
    let u = AggShape::Union {
        size: 2,
        members: vec![array_of(2, sc(I1)), sc(I2)],
    };
    struct_of(7, vec![(0, u), (2, array_of(5, sc(I1)))])
}

/// `{ f32, [i32; 0] }` (size 4).
fn f32_zero_i32() -> AggShape {
    struct_of(4, vec![(0, sc(F4)), (4, array_of(0, sc(I4)))])
}

fn many(ty: AbiType, n: usize) -> Vec<AbiType> {
    vec![ty; n]
}

fn cat(parts: &[Vec<AbiType>]) -> Vec<AbiType> {
    parts.concat()
}

struct Case {
    name: &'static str,
    sig: Signature,
    plan: &'static str,
}

fn sysv(
    name: &'static str,
    params: Vec<AbiType>,
    ret: Option<AbiType>,
    plan: &'static str,
) -> Case {
    Case {
        name,
        sig: Signature::new(Abi::SysV64, params, ret),
        plan,
    }
}

fn win(name: &'static str, params: Vec<AbiType>, ret: Option<AbiType>, plan: &'static str) -> Case {
    Case {
        name,
        sig: Signature::new(Abi::Win64, params, ret),
        plan,
    }
}

fn arm(name: &'static str, params: Vec<AbiType>, ret: Option<AbiType>, plan: &'static str) -> Case {
    Case {
        name,
        sig: Signature::new(Abi::Aapcs64, params, ret),
        plan,
    }
}

fn variadic(mut case: Case, first: usize) -> Case {
    case.sig.variadic_from = Some(first);
    case
}

fn cases() -> Vec<Case> {
    use AbiType as T;
    vec![
        // ---- SysV scalars
        sysv("i32 add", vec![T::I32, T::I32], Some(T::I32), "a0 rdi:i4@0 sext; a1 rsi:i4@0 sext; ret rax:i4@0 sext; stack 0"),
        sysv("narrow unsigned", vec![T::U8, T::U16], Some(T::Bool), "a0 rdi:i1@0 zext; a1 rsi:i2@0 zext; ret rax:i1@0 zext; stack 0"),
        sysv("i16 return", vec![], Some(T::I16), "ret rax:i2@0 sext; stack 0"),
        sysv("void", vec![], None, "ret void; stack 0"),
        sysv("floats and ints interleave", vec![T::F64, T::F32, T::I64], Some(T::F64), "a0 xmm0:f8@0; a1 xmm1:f4@0; a2 rdi:i8@0; ret xmm0:f8@0; stack 0"),
        sysv("pointer", vec![T::Ptr], Some(T::Ptr), "a0 rdi:i8@0; ret rax:i8@0; stack 0"),
        sysv("eight ints", many(T::I64, 8), None, "a0 rdi:i8@0; a1 rsi:i8@0; a2 rdx:i8@0; a3 rcx:i8@0; a4 r8:i8@0; a5 r9:i8@0; a6 [sp+0]:i8@0; a7 [sp+8]:i8@0; ret void; stack 16"),
        sysv("ten doubles", many(T::F64, 10), None, "a0 xmm0:f8@0; a1 xmm1:f8@0; a2 xmm2:f8@0; a3 xmm3:f8@0; a4 xmm4:f8@0; a5 xmm5:f8@0; a6 xmm6:f8@0; a7 xmm7:f8@0; a8 [sp+0]:f8@0; a9 [sp+8]:f8@0; ret void; stack 16"),
        sysv("narrow int on the stack", cat(&[many(T::I64, 6), vec![T::I8]]), None, "a0 rdi:i8@0; a1 rsi:i8@0; a2 rdx:i8@0; a3 rcx:i8@0; a4 r8:i8@0; a5 r9:i8@0; a6 [sp+0]:i1@0 sext; ret void; stack 8"),
        // ---- SysV aggregates in registers
        sysv("{f32,f32,f32}", vec![st(&[F4, F4, F4])], Some(st(&[F4, F4, F4])), "a0 xmm0:f8@0 xmm1:f4@8; ret xmm0:f8@0 xmm1:f4@8; stack 0"),
        sysv("{f32,f32}", vec![st(&[F4, F4])], Some(st(&[F4, F4])), "a0 xmm0:f8@0; ret xmm0:f8@0; stack 0"),
        sysv("{f64,i32}", vec![st(&[F8, I4])], Some(st(&[F8, I4])), "a0 xmm0:f8@0 rdi:i8@8; ret xmm0:f8@0 rax:i8@8; stack 0"),
        sysv("{i8,f64}", vec![st(&[I1, F8])], Some(st(&[I1, F8])), "a0 rdi:i8@0 xmm0:f8@8; ret rax:i8@0 xmm0:f8@8; stack 0"),
        sysv("{i32,f32,f64} mixed 16", vec![st(&[I4, F4, F8])], None, "a0 rdi:i8@0 xmm0:f8@8; ret void; stack 0"),
        sysv("{f32,i32} one eightbyte", vec![st(&[F4, I4])], None, "a0 rdi:i8@0; ret void; stack 0"),
        sysv("{i64,i64}", vec![st(&[I8, I8])], Some(st(&[I8, I8])), "a0 rdi:i8@0 rsi:i8@8; ret rax:i8@0 rdx:i8@8; stack 0"),
        sysv("{f64,f64}", vec![st(&[F8, F8])], Some(st(&[F8, F8])), "a0 xmm0:f8@0 xmm1:f8@8; ret xmm0:f8@0 xmm1:f8@8; stack 0"),
        sysv("{f64}", vec![st(&[F8])], Some(st(&[F8])), "a0 xmm0:f8@0; ret xmm0:f8@0; stack 0"),
        sysv("{i8,i8,i8} three bytes", vec![st(&[I1, I1, I1])], Some(st(&[I1, I1, I1])), "a0 rdi:i3@0; ret rax:i3@0; stack 0"),
        sysv("{i16,i8} padded to 4", vec![st(&[I2, I1])], None, "a0 rdi:i4@0; ret void; stack 0"),
        sysv("{f32[3], i32} array in struct", vec![st(&[F4, F4, F4, I4])], None, "a0 xmm0:f8@0 rdi:i8@8; ret void; stack 0"),
        sysv("{f32[4]}", vec![st(&[F4, F4, F4, F4])], Some(st(&[F4, F4, F4, F4])), "a0 xmm0:f8@0 xmm1:f8@8; ret xmm0:f8@0 xmm1:f8@8; stack 0"),
        sysv("packed {i32,i8}", vec![packed(&[I4, I1])], Some(packed(&[I4, I1])), "a0 rdi:i5@0; ret rax:i5@0; stack 0"),
        sysv("union {i32; f32}", vec![agg(4, 4, &[(0, I4), (0, F4)])], None, "a0 rdi:i4@0; ret void; stack 0"),
        sysv("union {f32; f64}", vec![agg(8, 8, &[(0, F4), (0, F8)])], None, "a0 xmm0:f8@0; ret void; stack 0"),
        sysv("union {f64[2]; i64}", vec![agg(16, 8, &[(0, F8), (8, F8), (0, I8)])], Some(agg(16, 8, &[(0, F8), (8, F8), (0, I8)])), "a0 rdi:i8@0 xmm0:f8@8; ret rax:i8@0 xmm0:f8@8; stack 0"),
        sysv("empty struct", vec![agg(0, 1, &[]), T::I32], None, "a0 ignored; a1 rdi:i4@0 sext; ret void; stack 0"),
        sysv(
            "align(16) {f64}: the padding eightbyte takes no register",
            vec![agg(16, 16, &[(0, F8)]), T::F64, T::I64],
            Some(agg(16, 16, &[(0, F8)])),
            "a0 xmm0:f8@0; a1 xmm1:f8@0; a2 rdi:i8@0; ret xmm0:f8@0; stack 0",
        ),
        // ---- SysV: gcc's array and zero-length-array rules (checked against gcc 12)
        // The second element's i16 sits at 7, but gcc classifies the array by its first
        // element, so the value travels in registers.
        sysv("[packed 7-byte struct; 2]: a later element's unaligned i16 does not make MEMORY", vec![shaped(1, struct_of(14, vec![(0, array_of(2, p7()))]))], None, "a0 rdi:i8@0 rsi:i6@8; ret void; stack 0"),
        // The same bytes as two fields: the second field's i16 is checked, MEMORY.
        sysv("two packed 7-byte fields: the second's unaligned i16 makes MEMORY", vec![shaped(1, struct_of(14, vec![(0, p7()), (7, p7())]))], None, "a0 copy14->[sp+0]; ret void; stack 16"),
        sysv("{f32, [i32; 0]}: the zero-length array makes the eightbyte INTEGER", vec![shaped(4, f32_zero_i32())], Some(shaped(4, f32_zero_i32())), "a0 rdi:i4@0; ret rax:i4@0; stack 0"),
        sysv("{f32, f32, [i32; 0]}: a zero-length array on an eightbyte boundary is ignored", vec![shaped(4, struct_of(8, vec![(0, sc(F4)), (4, sc(F4)), (8, array_of(0, sc(I4)))]))], None, "a0 xmm0:f8@0; ret void; stack 0"),
        sysv("{f64, f32, [i32; 0]}: SSE, INTEGER", vec![shaped(8, struct_of(16, vec![(0, sc(F8)), (8, sc(F4)), (12, array_of(0, sc(I4)))]))], None, "a0 xmm0:f8@0 rdi:i8@8; ret void; stack 0"),
        sysv("packed {u8, [i64; 0]}: the zero-length array's element is unaligned, MEMORY", vec![shaped(1, struct_of(1, vec![(0, sc(I1)), (1, array_of(0, sc(I8)))]))], None, "a0 copy1->[sp+0]; ret void; stack 8"),
        // `{ f32, [{ f32, [i32; 0] }; 2] }`: the array repeats its first element's class
        // (SSE: that element's zero-length array starts an eightbyte), although the second
        // element's zero-length array starts inside one.
        sysv("an array repeats its first element's class", vec![shaped(4, struct_of(12, vec![(0, sc(F4)), (4, array_of(2, f32_zero_i32()))]))], None, "a0 xmm0:f8@0 xmm1:f4@8; ret void; stack 0"),
        // `[{ f32, [i32; 0] }; 4]`: INTEGER (the first element's zero-length array), repeated.
        sysv("[{f32, [i32; 0]}; 4]: INTEGER, INTEGER", vec![shaped(4, struct_of(16, vec![(0, array_of(4, f32_zero_i32()))]))], None, "a0 rdi:i8@0 rsi:i8@8; ret void; stack 0"),
        // ---- SysV MEMORY class
        sysv("{i64,i64,i8} arg", vec![st(&[I8, I8, I1]), T::I32], None, "a0 copy24->[sp+0]; a1 rdi:i4@0 sext; ret void; stack 24"),
        sysv("{i64,i64,i8} ret is sret", vec![T::I32], Some(st(&[I8, I8, I1])), "a0 rsi:i4@0 sext; ret sret24:rdi; stack 0"),
        sysv("packed {i8,i32} unaligned", vec![packed(&[I1, I4])], Some(packed(&[I1, I4])), "a0 copy5->[sp+0]; ret sret5:rdi; stack 8"),
        sysv("{f64 x4} 32 bytes", vec![st(&[F8, F8, F8, F8])], None, "a0 copy32->[sp+0]; ret void; stack 32"),
        sysv("char[17]", vec![agg(17, 1, &(0..17).map(|i| (i, I1)).collect::<Vec<_>>())], None, "a0 copy17->[sp+0]; ret void; stack 24"),
        sysv("align 16 memory arg after a stack word", cat(&[many(T::I64, 7), vec![agg(32, 16, &[(0, F8), (8, F8), (16, F8), (24, F8)])]]), None, "a0 rdi:i8@0; a1 rsi:i8@0; a2 rdx:i8@0; a3 rcx:i8@0; a4 r8:i8@0; a5 r9:i8@0; a6 [sp+0]:i8@0; a7 copy32->[sp+16]; ret void; stack 48"),
        // gcc (since 4.6) places a stack argument at its own alignment even above 16.
        sysv("align 32 memory arg after a stack word", cat(&[many(T::I64, 7), vec![agg(32, 32, &[(0, I8)])]]), None, "a0 rdi:i8@0; a1 rsi:i8@0; a2 rdx:i8@0; a3 rcx:i8@0; a4 r8:i8@0; a5 r9:i8@0; a6 [sp+0]:i8@0; a7 copy32->[sp+32]; ret void; stack 64"),
        sysv("sret takes rdi, sixth int goes to the stack", many(T::I64, 6), Some(st(&[I8, I8, I8])), "a0 rsi:i8@0; a1 rdx:i8@0; a2 rcx:i8@0; a3 r8:i8@0; a4 r9:i8@0; a5 [sp+0]:i8@0; ret sret24:rdi; stack 8"),
        // ---- SysV: an aggregate that no longer fits goes wholly to the stack
        sysv("{i64,i64} after five ints", cat(&[many(T::I64, 5), vec![st(&[I8, I8]), T::I64]]), None, "a0 rdi:i8@0; a1 rsi:i8@0; a2 rdx:i8@0; a3 rcx:i8@0; a4 r8:i8@0; a5 [sp+0]:i8@0 [sp+8]:i8@8; a6 r9:i8@0; ret void; stack 16"),
        sysv("{f64,f64} after seven doubles", cat(&[many(T::F64, 7), vec![st(&[F8, F8]), T::F64]]), None, "a0 xmm0:f8@0; a1 xmm1:f8@0; a2 xmm2:f8@0; a3 xmm3:f8@0; a4 xmm4:f8@0; a5 xmm5:f8@0; a6 xmm6:f8@0; a7 [sp+0]:f8@0 [sp+8]:f8@8; a8 xmm7:f8@0; ret void; stack 16"),
        sysv("{i64,f64} with int regs gone", cat(&[many(T::I64, 6), vec![st(&[I8, F8]), T::F64]]), None, "a0 rdi:i8@0; a1 rsi:i8@0; a2 rdx:i8@0; a3 rcx:i8@0; a4 r8:i8@0; a5 r9:i8@0; a6 [sp+0]:i8@0 [sp+8]:f8@8; a7 xmm0:f8@0; ret void; stack 16"),
        sysv("{f32,f32,f32} on the stack", cat(&[many(T::F64, 8), vec![st(&[F4, F4, F4]), T::I32]]), None, "a0 xmm0:f8@0; a1 xmm1:f8@0; a2 xmm2:f8@0; a3 xmm3:f8@0; a4 xmm4:f8@0; a5 xmm5:f8@0; a6 xmm6:f8@0; a7 xmm7:f8@0; a8 [sp+0]:f8@0 [sp+8]:f4@8; a9 rdi:i4@0 sext; ret void; stack 16"),
        // ---- SysV variadic: %al counts vector registers
        variadic(sysv("printf(fmt, f64, i32)", vec![T::Ptr, T::F64, T::I32], Some(T::I32), "a0 rdi:i8@0; a1 xmm0:f8@0; a2 rsi:i4@0 sext; ret rax:i4@0 sext; stack 0; al 1"), 1),
        variadic(sysv("variadic with no floats", vec![T::Ptr, T::I64], Some(T::I32), "a0 rdi:i8@0; a1 rsi:i8@0; ret rax:i4@0 sext; stack 0; al 0"), 1),
        // ---- Win64
        win("positions shared by ints and floats", vec![T::I32, T::F64, T::I64, T::F32], Some(T::F64), "a0 rcx:i4@0; a1 xmm1:f8@0; a2 r8:i8@0; a3 xmm3:f4@0; ret xmm0:f8@0; stack 32"),
        win("six ints", many(T::I64, 6), Some(T::I64), "a0 rcx:i8@0; a1 rdx:i8@0; a2 r8:i8@0; a3 r9:i8@0; a4 [sp+32]:i8@0; a5 [sp+40]:i8@0; ret rax:i8@0; stack 48"),
        win("doubles past four", many(T::F64, 5), None, "a0 xmm0:f8@0; a1 xmm1:f8@0; a2 xmm2:f8@0; a3 xmm3:f8@0; a4 [sp+32]:f8@0; ret void; stack 40"),
        win("bool and narrow ints are not extended", vec![T::Bool, T::I8], Some(T::Bool), "a0 rcx:i1@0; a1 rdx:i1@0; ret rax:i1@0 zext; stack 32"),
        win("{f32,f32} is 8 bytes: by value in an int register", vec![st(&[F4, F4])], Some(st(&[F4, F4])), "a0 rcx:i8@0; ret rax:i8@0; stack 32"),
        win("{f64} in rax", vec![st(&[F8])], Some(st(&[F8])), "a0 rcx:i8@0; ret rax:i8@0; stack 32"),
        win("{i16} two bytes", vec![st(&[I2])], Some(st(&[I2])), "a0 rcx:i2@0; ret rax:i2@0; stack 32"),
        win("{i32,i32,i32} by reference", vec![st(&[I4, I4, I4])], None, "a0 rcx:&copy12; ret void; stack 32"),
        win("three bytes by reference", vec![st(&[I1, I1, I1])], None, "a0 rcx:&copy3; ret void; stack 32"),
        win("16-byte return via rcx shifts args", vec![T::I32, T::F64], Some(st(&[I8, I8])), "a0 rdx:i4@0; a1 xmm2:f8@0; ret sret16:rcx; stack 32"),
        // gcc's ms_abi: an empty struct argument takes its position (a pointer to a copy);
        // an empty result has no hidden pointer and nothing is returned.
        win("empty struct: by reference, returned without a hidden pointer", vec![T::I64, agg(0, 1, &[]), T::I32], Some(agg(0, 1, &[])), "a0 rcx:i8@0; a1 rdx:&copy0; a2 r8:i4@0; ret ; stack 32"),
        win("by reference on the stack", cat(&[many(T::I64, 4), vec![st(&[I8, I8, I8])]]), None, "a0 rcx:i8@0; a1 rdx:i8@0; a2 r8:i8@0; a3 r9:i8@0; a4 [sp+32]:&copy24; ret void; stack 40"),
        variadic(win("variadic float also in the int register", vec![T::Ptr, T::F64, T::I32], Some(T::I32), "a0 rcx:i8@0; a1 xmm1:f8@0 rdx:i8@0; a2 r8:i4@0; ret rax:i4@0 sext; stack 32"), 1),
        // ---- AAPCS64
        arm("i32 add", vec![T::I32, T::I32], Some(T::I32), "a0 x0:i4@0; a1 x1:i4@0; ret x0:i4@0 sext; stack 0"),
        arm("narrow args are not extended", vec![T::I8, T::Bool], Some(T::U8), "a0 x0:i1@0; a1 x1:i1@0; ret x0:i1@0 zext; stack 0"),
        arm("floats and ints", vec![T::F64, T::F32, T::I64], Some(T::F64), "a0 v0:f8@0; a1 v1:f4@0; a2 x0:i8@0; ret v0:f8@0; stack 0"),
        arm("HFA {f32,f32,f32}", vec![st(&[F4, F4, F4])], Some(st(&[F4, F4, F4])), "a0 v0:f4@0 v1:f4@4 v2:f4@8; ret v0:f4@0 v1:f4@4 v2:f4@8; stack 0"),
        arm("HFA {f64 x4}", vec![st(&[F8, F8, F8, F8])], Some(st(&[F8, F8, F8, F8])), "a0 v0:f8@0 v1:f8@8 v2:f8@16 v3:f8@24; ret v0:f8@0 v1:f8@8 v2:f8@16 v3:f8@24; stack 0"),
        arm("HFA through a union of equal floats", vec![agg(8, 4, &[(0, F4), (4, F4), (0, F4)])], None, "a0 v0:f4@0 v1:f4@4; ret void; stack 0"),
        arm("{f32,f64} is no HFA", vec![st(&[F4, F8])], None, "a0 x0:i8@0 x1:i8@8; ret void; stack 0"),
        arm("{f64,i32} in x registers", vec![st(&[F8, I4])], Some(st(&[F8, I4])), "a0 x0:i8@0 x1:i8@8; ret x0:i8@0 x1:i8@8; stack 0"),
        arm("{i8,i8,i8}", vec![st(&[I1, I1, I1])], Some(st(&[I1, I1, I1])), "a0 x0:i3@0; ret x0:i3@0; stack 0"),
        arm("five floats: no HFA, by reference", vec![st(&[F4, F4, F4, F4, F4])], None, "a0 x0:&copy20; ret void; stack 0"),
        arm("24-byte struct: by reference, result in x8", vec![st(&[I8, I8, I1]), T::I32], Some(st(&[I8, I8, I1])), "a0 x0:&copy24; a1 x1:i4@0; ret sret24:x8; stack 0"),
        arm("nine ints", many(T::I64, 9), None, "a0 x0:i8@0; a1 x1:i8@0; a2 x2:i8@0; a3 x3:i8@0; a4 x4:i8@0; a5 x5:i8@0; a6 x6:i8@0; a7 x7:i8@0; a8 [sp+0]:i8@0; ret void; stack 8"),
        arm("f32 on the stack takes 8 bytes", cat(&[many(T::F64, 8), vec![T::F32, T::F32]]), None, "a0 v0:f8@0; a1 v1:f8@0; a2 v2:f8@0; a3 v3:f8@0; a4 v4:f8@0; a5 v5:f8@0; a6 v6:f8@0; a7 v7:f8@0; a8 [sp+0]:f4@0; a9 [sp+8]:f4@0; ret void; stack 16"),
        arm("HFA that does not fit closes the vector registers", cat(&[many(T::F64, 6), vec![st(&[F8, F8, F8]), T::F64]]), None, "a0 v0:f8@0; a1 v1:f8@0; a2 v2:f8@0; a3 v3:f8@0; a4 v4:f8@0; a5 v5:f8@0; a6 [sp+0]:i8@0 [sp+8]:i8@8 [sp+16]:i8@16; a7 [sp+24]:f8@0; ret void; stack 32"),
        arm("16-aligned struct starts at an even register", vec![T::I64, agg(16, 16, &[(0, I8), (8, I8)])], None, "a0 x0:i8@0; a1 x2:i8@0 x3:i8@8; ret void; stack 0"),
        arm("struct that does not fit closes the int registers", cat(&[many(T::I64, 7), vec![st(&[I8, I8]), T::I64]]), None, "a0 x0:i8@0; a1 x1:i8@0; a2 x2:i8@0; a3 x3:i8@0; a4 x4:i8@0; a5 x5:i8@0; a6 x6:i8@0; a7 [sp+0]:i8@0 [sp+8]:i8@8; a8 [sp+16]:i8@0; ret void; stack 24"),
        variadic(arm("variadic like fixed (ELF)", vec![T::Ptr, T::F64, T::I32], Some(T::I32), "a0 x0:i8@0; a1 v0:f8@0; a2 x1:i4@0; ret x0:i4@0 sext; stack 0"), 1),
    ]
}

#[test]
fn plans_match_the_table() {
    let mut failures = Vec::new();
    for case in cases() {
        match classify(&case.sig) {
            Ok(plan) => {
                let got = plan.to_string();
                if got != case.plan {
                    failures.push(format!(
                        "{}:\n  want {}\n  got  {}",
                        case.name, case.plan, got
                    ));
                }
            }
            Err(err) => failures.push(format!("{}: error {err}", case.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} plan(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn register_counts() {
    let sig = Signature {
        params: vec![AbiType::Ptr, AbiType::F64, AbiType::F64, AbiType::I32],
        ret: Some(AbiType::I32),
        variadic_from: Some(1),
        abi: Abi::SysV64,
    };
    let plan = classify(&sig).unwrap();
    assert_eq!(
        (plan.int_regs_used, plan.vec_regs_used, plan.variadic),
        (2, 2, true)
    );
    let sret = classify(&Signature::new(
        Abi::SysV64,
        vec![],
        Some(st(&[I8, I8, I8])),
    ))
    .unwrap();
    assert_eq!(sret.int_regs_used, 1);
}

#[test]
fn errors_are_values() {
    let odd_int = Signature::new(
        Abi::SysV64,
        vec![AbiType::Int {
            size: 3,
            signed: true,
        }],
        None,
    );
    assert_eq!(classify(&odd_int), Err(AbiError::BadIntSize(3)));
    let huge = Signature::new(Abi::SysV64, vec![agg(u32::MAX, 8, &[])], None);
    assert!(matches!(classify(&huge), Err(AbiError::BadLayout(_))));
    let past_end = Signature::new(Abi::SysV64, vec![agg(4, 4, &[(2, I4)])], None);
    assert!(matches!(classify(&past_end), Err(AbiError::BadLayout(_))));
    let bad_variadic = Signature {
        variadic_from: Some(3),
        ..Signature::new(Abi::SysV64, vec![AbiType::Ptr], None)
    };
    assert_eq!(
        classify(&bad_variadic),
        Err(AbiError::BadVariadicIndex {
            variadic_from: 3,
            params: 1
        })
    );
    assert!(classify(&bad_variadic)
        .unwrap_err()
        .to_string()
        .contains("variadic"));
}

#[test]
fn abi_names_round_trip() {
    for abi in [Abi::SysV64, Abi::Win64, Abi::Aapcs64] {
        assert_eq!(Abi::from_name(abi.name()), Some(abi));
    }
    assert_eq!(Abi::from_name("cdecl"), None);
}

#[test]
fn c_struct_layout_helper() {
    let layout = AggLayout::c_struct(&[I1, F8, I2]);
    assert_eq!((layout.size, layout.align), (24, 8));
    assert_eq!(
        layout.leaves.iter().map(|l| l.offset).collect::<Vec<_>>(),
        vec![0, 8, 16]
    );
    let packed = AggLayout::packed_struct(&[I1, F8, I2]);
    assert_eq!((packed.size, packed.align), (11, 1));
}
