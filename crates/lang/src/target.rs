//! The target data model: pointer width, the size of C's `long`, and the default ABI.
//!
//! Owns: which C alias (`c_long`, `size_t`, ...) maps to which fixed-size integer on a
//! target. Does not own calling conventions (that is `ffidl-jit`'s `abi` module).

/// A platform whose C data model the checker sizes types by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// x86-64 Linux/BSD/macOS, LP64, System V calling convention.
    SysVX64,
    /// AArch64 Linux, LP64, AAPCS64.
    Aarch64Linux,
    /// x86-64 Windows, LLP64 (`c_long` is 4 bytes).
    Win64,
}

impl Target {
    /// The target this binary was compiled for (falls back to SysV x86-64).
    pub fn host() -> Target {
        if cfg!(all(target_arch = "x86_64", windows)) {
            Target::Win64
        } else if cfg!(target_arch = "aarch64") {
            Target::Aarch64Linux
        } else {
            Target::SysVX64
        }
    }

    pub fn pointer_size(self) -> u64 {
        8
    }

    /// Size in bytes of C `long` / `unsigned long`.
    pub fn c_long_size(self) -> u64 {
        match self {
            Target::Win64 => 4,
            Target::SysVX64 | Target::Aarch64Linux => 8,
        }
    }

    /// Whether plain C `char` is signed (it is unsigned on AArch64 Linux).
    pub fn c_char_signed(self) -> bool {
        !matches!(self, Target::Aarch64Linux)
    }
}
