//! Declared constants and enum variants as [`Value`]s, so that an embedder uses the
//! binding file's names (`SQLITE_OK`, `Color::Red`) instead of repeating numbers.

use super::error::{Error, ErrorKind};
use super::value::Value;
use super::Module;
use ffidl_lang::tir::{ConstValue, FloatTy, IntTy, TypeKind};
use std::ffi::CString;

impl Module {
    /// The value of the declared constant `name`, with its declared type.
    ///
    /// ```
    /// let m = ffidl::Runtime::new()
    ///     .load_str("c.ffidl", "const LIMIT: u16 = 300 * 2;\nconst NAME: cstr = \"ffidl\";")
    ///     .unwrap();
    /// assert_eq!(m.constant("LIMIT").unwrap(), ffidl::Value::U16(600));
    /// assert_eq!(m.constant("NAME").unwrap().as_cstr().unwrap().to_str(), Ok("ffidl"));
    /// ```
    pub fn constant(&self, name: &str) -> Result<Value<'_>, Error> {
        let program = self.program();
        let Some(c) = program.consts.iter().find(|c| c.name == name) else {
            let names = program.consts.iter().map(|c| c.name.as_str());
            return Err(Error::unknown_name(
                format!("no constant named `{name}` is declared"),
                name,
                names,
            ));
        };
        Ok(match (&c.value, &program.ty(c.ty).kind) {
            (ConstValue::Int(v), TypeKind::Int(i)) => int_value(*i, *v),
            (ConstValue::Int(v), TypeKind::Enum(e)) => int_value(e.repr, *v),
            (ConstValue::Float(f), TypeKind::Float(FloatTy::F32)) => Value::F32(*f as f32),
            (ConstValue::Float(f), _) => Value::F64(*f),
            (ConstValue::Bool(b), _) => Value::Bool(*b),
            (ConstValue::Str(s), _) => Value::CStr(CString::new(s.as_str()).ok()),
            (ConstValue::Int(v), _) => Value::I64(*v as i64),
            (ConstValue::Null, _) => Value::Ptr(std::ptr::null_mut()),
        })
    }

    /// The value of variant `variant` of the declared enum `enum_name`, as its repr
    /// integer (what a parameter of that enum type takes).
    ///
    /// ```
    /// let m = ffidl::Runtime::new()
    ///     .load_str("e.ffidl", "enum Mode: u8 { Read = 1, Write = 2, Both = 3 }")
    ///     .unwrap();
    /// assert_eq!(m.enum_value("Mode", "Write").unwrap(), ffidl::Value::U8(2));
    /// ```
    pub fn enum_value(&self, enum_name: &str, variant: &str) -> Result<Value<'_>, Error> {
        let ty = self.type_id(enum_name)?;
        let TypeKind::Enum(e) = &self.program().ty(ty).kind else {
            return Err(Error::new(
                ErrorKind::ValueMismatch,
                format!("`{enum_name}` is not an enum type"),
            ));
        };
        match e.variants.iter().find(|v| v.name == variant) {
            Some(v) => Ok(int_value(e.repr, v.value)),
            None => Err(Error::unknown_name(
                format!("enum `{enum_name}` has no variant `{variant}`"),
                variant,
                e.variants.iter().map(|v| v.name.as_str()),
            )),
        }
    }
}

/// An integer of type `ty` (the checker keeps constants within their type's range).
fn int_value(ty: IntTy, v: i128) -> Value<'static> {
    match ty {
        IntTy::I8 => Value::I8(v as i8),
        IntTy::I16 => Value::I16(v as i16),
        IntTy::I32 => Value::I32(v as i32),
        IntTy::I64 => Value::I64(v as i64),
        IntTy::U8 => Value::U8(v as u8),
        IntTy::U16 => Value::U16(v as u16),
        IntTy::U32 => Value::U32(v as u32),
        IntTy::U64 => Value::U64(v as u64),
    }
}
