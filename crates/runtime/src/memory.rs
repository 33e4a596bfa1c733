//! Native memory owned by a running script.
//!
//! Owns: the value stack (frames of every script function and of the top level, and the
//! temporaries of aggregate values, all in C layout at 16-byte aligned bases), the
//! registry of `alloc` buffers with their bounds (zeroed, 16-byte aligned, freed when the
//! run ends), and the string arena (script strings).
//!
//! Script strings (`cstr` values) are NUL-terminated byte strings owned by a per-run
//! arena: literals are made once when the program is compiled, `string(p)` and `cstr`
//! results from C are copied into the arena, and everything is freed when the run ends.
//! A `cstr` value is therefore a plain `const char*` (or null) that C can read directly;
//! its content is the bytes up to the first NUL.

use std::collections::BTreeMap;

/// 16-byte aligned, zeroed storage that never moves.
pub struct Block {
    ptr: std::ptr::NonNull<u8>,
    layout: std::alloc::Layout,
}

impl Block {
    /// Zeroed storage of at least `bytes` bytes, or `None` when the system cannot
    /// provide it (never an abort).
    pub fn try_zeroed(bytes: usize) -> Option<Block> {
        let size = bytes.max(1).checked_next_multiple_of(16)?;
        let layout = std::alloc::Layout::from_size_align(size, 16).ok()?;
        // SAFETY: `layout` has a non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        std::ptr::NonNull::new(ptr).map(|ptr| Block { ptr, layout })
    }

    /// Zeroed storage for sizes the runtime itself chooses (aborts like `Vec` when the
    /// system is out of memory).
    pub fn zeroed(bytes: usize) -> Block {
        Block::try_zeroed(bytes).unwrap_or_else(|| {
            let layout = std::alloc::Layout::from_size_align(bytes.max(16), 16)
                .unwrap_or(std::alloc::Layout::new::<u128>());
            std::alloc::handle_alloc_error(layout)
        })
    }

    pub fn ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub fn len(&self) -> usize {
        self.layout.size()
    }

    pub fn clear(&mut self) {
        // SAFETY: the block owns `layout.size()` writable bytes.
        unsafe { std::ptr::write_bytes(self.ptr.as_ptr(), 0, self.layout.size()) };
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: allocated in `try_zeroed` with exactly this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

/// One `alloc` buffer.
struct Allocation {
    len: usize,
    _storage: Block,
}

/// The `alloc` buffers of a run, by base address, so that pointer accesses can be
/// checked against the bounds of the buffer they point into.
#[derive(Default)]
pub struct AllocRegistry {
    by_base: BTreeMap<usize, Allocation>,
}

impl AllocRegistry {
    /// A new zeroed buffer of `len` bytes (16-byte aligned); its address, or `None`
    /// when the system has no memory for it.
    pub fn alloc(&mut self, len: usize) -> Option<*mut u8> {
        let mut storage = Block::try_zeroed(len.max(1))?;
        let base = storage.ptr();
        self.by_base.insert(
            base as usize,
            Allocation {
                len,
                _storage: storage,
            },
        );
        Some(base)
    }

    /// The buffer `addr` points into (or one past its end): `(base, len)`.
    pub fn containing(&self, addr: usize) -> Option<(usize, usize)> {
        if self.by_base.is_empty() {
            return None;
        }
        let (&base, a) = self.by_base.range(..=addr).next_back()?;
        (addr <= base + a.len).then_some((base, a.len))
    }
}

/// Script strings of one run (see the module documentation).
#[derive(Default)]
pub struct StringArena {
    strings: Vec<Box<[u8]>>,
}

impl StringArena {
    /// A new NUL-terminated copy of `bytes` (cut at the first NUL); its address.
    pub fn intern(&mut self, bytes: &[u8]) -> u64 {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        let mut owned = Vec::with_capacity(end + 1);
        owned.extend_from_slice(&bytes[..end]);
        owned.push(0);
        let boxed = owned.into_boxed_slice();
        let addr = boxed.as_ptr() as u64;
        self.strings.push(boxed);
        addr
    }
}

/// The bytes of a NUL-terminated string at `addr` (without the NUL).
///
/// # Safety
/// `addr` must be non-null and point to a readable NUL-terminated string.
pub unsafe fn c_str_bytes<'a>(addr: u64) -> &'a [u8] {
    // SAFETY: guaranteed by the caller.
    unsafe { std::ffi::CStr::from_ptr(addr as *const std::ffi::c_char).to_bytes() }
}
