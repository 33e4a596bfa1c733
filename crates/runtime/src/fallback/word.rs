//! 8-byte words as the fallback moves them: widening narrow integers and reading or
//! writing the first bytes of a word in memory. No ABI rule lives here; callers pass what
//! the CallPlan says.

use ffidl_jit::abi::Ext;

/// The low `size` bytes (1..=8) of `value`, widened to 64 bits as `ext` says
/// (zero-extended for `Ext::None`, as the Cranelift thunks do).
pub fn extend(value: u64, size: u8, ext: Ext) -> u64 {
    if size >= 8 {
        return value;
    }
    let bits = u32::from(size) * 8;
    let low = value & ((1u64 << bits) - 1);
    match ext {
        Ext::Sign => {
            let shift = 64 - bits;
            (((low << shift) as i64) >> shift) as u64
        }
        Ext::Zero | Ext::None => low,
    }
}

/// `size` bytes (1..=8) at `at`, zero-extended.
///
/// # Safety
/// `at` must be valid for reading `size` bytes.
pub unsafe fn read(at: *const u8, size: u8) -> u64 {
    let mut bytes = [0u8; 8];
    let size = usize::from(size.min(8));
    // SAFETY: the caller guarantees `size` readable bytes; `bytes` has room for 8.
    unsafe { std::ptr::copy_nonoverlapping(at, bytes.as_mut_ptr(), size) };
    u64::from_le_bytes(bytes)
}

/// Writes the low `size` bytes (1..=8) of `value` to `at`.
///
/// # Safety
/// `at` must be valid for writing `size` bytes.
pub unsafe fn write(at: *mut u8, value: u64, size: u8) {
    let bytes = value.to_le_bytes();
    let size = usize::from(size.min(8));
    // SAFETY: the caller guarantees `size` writable bytes.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), at, size) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_follows_the_plan() {
        assert_eq!(extend(0xff, 1, Ext::Sign), u64::MAX);
        assert_eq!(extend(0x1ff, 1, Ext::Zero), 0xff);
        assert_eq!(extend(0xdead_8000, 2, Ext::Sign), 0xffff_ffff_ffff_8000);
        assert_eq!(extend(0x1_8000_0000, 4, Ext::None), 0x8000_0000);
        assert_eq!(extend(u64::MAX, 8, Ext::Zero), u64::MAX);
    }
}
