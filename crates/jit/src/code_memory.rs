//! Executable memory for generated code, packed: many thunks share one mapping.
//!
//! Owns mapping, filling, protecting and unmapping executable memory; nothing else in the
//! crate does. Code is copied in as finished, position-independent bytes (Cranelift's
//! `Context::compile` output with no relocations, or hand-encoded stubs) at 16-byte
//! boundaries inside chunks of [`CHUNK_BYTES`] that this module maps itself.
//!
//! Where the system allows it (Linux `memfd_create`), a chunk is one shared memory object
//! mapped twice: a read-execute view that code runs from and a read-write view that code
//! is copied through, so installing a thunk is a plain copy with no system call and no
//! page is ever writable and executable in the same view.
//!
//! Elsewhere a chunk is one private mapping whose pages are read-execute once they hold
//! code. Appending to such a page re-protects only the touched pages, read-write-execute
//! for the copy and read-execute afterwards: the execute bit never drops, so threads
//! running older thunks in the same page are never disturbed. Where the system refuses
//! writable and executable at once (SELinux `execmem`, PaX), each installation gets fresh
//! pages instead (mapped writable, filled, then made executable), about a page per thunk.
//!
//! A process forked from the owner never appends to the chunks it inherited (they may be
//! shared with its parent); it maps new ones.
//!
//! All code stays valid until the [`CodeMemory`] is dropped, which unmaps it.

use crate::thunk::ThunkError;

/// Size of one mapping; code larger than this gets a mapping of its own.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Every function starts at a multiple of this.
const CODE_ALIGN: usize = 16;

/// One mapping.
struct Chunk {
    /// Where the code runs (read-execute).
    base: *mut u8,
    /// A read-write view of the same memory, for dual-mapped chunks.
    write_view: Option<*mut u8>,
    len: usize,
    /// Bytes handed out so far (the next function starts at or after this).
    used: usize,
    /// Pages below this offset are executable (hold code).
    executable_end: usize,
}

/// Packed executable memory.
pub struct CodeMemory {
    chunks: Vec<Chunk>,
    page: usize,
    /// The system refused a writable-and-executable mapping: never append to code pages.
    no_rwx: bool,
    /// Dual mapping failed once: use private mappings and `mprotect` from then on.
    no_dual: bool,
    /// The process that filled the chunks. Dual-mapped chunks are shared memory, which a
    /// forked child shares with its parent: a child must not append to them.
    owner_pid: u32,
    /// Bytes of code installed (without alignment padding).
    code_bytes: usize,
}

// SAFETY: the raw pointers name mappings owned exclusively by this value; nothing in it
// is tied to the thread that created it, and the memory is only written through `&mut self`.
unsafe impl Send for CodeMemory {}

impl CodeMemory {
    /// An empty code memory (nothing is mapped until the first installation).
    pub fn new() -> Result<Self, ThunkError> {
        if !cfg!(unix) {
            return Err(ThunkError::UnsupportedHost(
                "executable memory is mapped on Unix hosts only".into(),
            ));
        }
        Ok(CodeMemory {
            chunks: Vec::new(),
            page: page_size(),
            no_rwx: false,
            no_dual: false,
            owner_pid: std::process::id(),
            code_bytes: 0,
        })
    }

    /// Copies finished machine code into executable memory and returns its address.
    ///
    /// The bytes must be position independent (no relocations); they stay mapped and
    /// unchanged until `self` is dropped.
    pub fn install(&mut self, code: &[u8]) -> Result<*const u8, ThunkError> {
        if code.is_empty() {
            return Err(ThunkError::Codegen("no machine code to install".into()));
        }
        let (chunk_index, offset) = self.reserve(code.len())?;
        let page = self.page;
        let no_rwx = self.no_rwx;
        let chunk = &mut self.chunks[chunk_index];
        if let Some(write_view) = chunk.write_view {
            // SAFETY: [offset, offset + len) is inside both views of the chunk (by
            // `reserve`) and not yet handed out, so no thread executes it.
            unsafe {
                std::ptr::copy_nonoverlapping(code.as_ptr(), write_view.add(offset), code.len())
            };
            self.code_bytes += code.len();
            // SAFETY: inside the mapping.
            return Ok(unsafe { chunk.base.add(offset) }.cast_const());
        }
        let end = offset + code.len();
        // Pages [first_page, last_page) are touched by the copy.
        let first_page = offset / page * page;
        let last_page = end.next_multiple_of(page);
        // SAFETY: [first_page, last_page) lies inside the chunk's mapping (offset + len
        // fits by `reserve`, and chunk lengths are page multiples).
        let range = unsafe { chunk.base.add(first_page) };
        let range_len = last_page - first_page;
        let already_code = first_page < chunk.executable_end;
        if already_code {
            if no_rwx {
                return Err(ThunkError::Codegen(
                    "internal: appending to an executable page without RWX".into(),
                ));
            }
            if !protect(range, range_len, Protection::WritableExecutable) {
                // Refused: from now on, fresh pages for every installation.
                self.no_rwx = true;
                return self.install(code);
            }
        } else if !protect(range, range_len, Protection::Writable) {
            return Err(os_error("mprotect (read-write)"));
        }
        // SAFETY: the destination range is inside the mapping, writable now, and not yet
        // handed out to anyone (`reserve` gives every byte once), so no thread executes it.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), chunk.base.add(offset), code.len()) };
        if !protect(range, range_len, Protection::Executable) {
            return Err(os_error("mprotect (read-execute)"));
        }
        chunk.executable_end = chunk.executable_end.max(last_page);
        if no_rwx {
            // The rest of this page must not be written again.
            chunk.used = chunk.used.max(last_page);
        }
        self.code_bytes += code.len();
        // SAFETY: inside the mapping (see above).
        Ok(unsafe { chunk.base.add(offset) }.cast_const())
    }

    /// Bytes of machine code installed so far.
    pub fn code_bytes(&self) -> usize {
        self.code_bytes
    }

    /// Bytes of address space mapped so far.
    pub fn mapped_bytes(&self) -> usize {
        self.chunks.iter().map(|chunk| chunk.len).sum()
    }

    /// Finds room for `len` bytes: `(chunk index, offset)`.
    fn reserve(&mut self, len: usize) -> Result<(usize, usize), ThunkError> {
        let pid = std::process::id();
        if pid != self.owner_pid {
            // Forked: the chunks so far may be shared with the parent, which keeps
            // appending to them. Leave them alone and start new ones.
            for chunk in &mut self.chunks {
                chunk.used = chunk.len;
            }
            self.owner_pid = pid;
        }
        let page = self.page;
        let no_rwx = self.no_rwx;
        if let Some(last) = self.chunks.len().checked_sub(1) {
            let chunk = &mut self.chunks[last];
            let mut offset = chunk.used.next_multiple_of(CODE_ALIGN);
            if no_rwx && offset < chunk.executable_end {
                offset = chunk.executable_end;
            }
            if offset + len <= chunk.len {
                chunk.used = offset + len;
                return Ok((last, offset));
            }
        }
        let chunk_len = len.next_multiple_of(page).max(CHUNK_BYTES);
        let dual = if self.no_dual {
            None
        } else {
            let dual = map_dual(chunk_len);
            self.no_dual = dual.is_none();
            dual
        };
        let (base, write_view) = match dual {
            Some((exec, write)) => (exec, Some(write)),
            None => (map(chunk_len)?, None),
        };
        self.chunks.push(Chunk {
            base,
            write_view,
            len: chunk_len,
            used: len,
            executable_end: 0,
        });
        Ok((self.chunks.len() - 1, 0))
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        for chunk in self.chunks.drain(..) {
            // SAFETY: the chunk was mapped by `map` with this length and is unmapped once.
            // The owner of this CodeMemory hands out code pointers that are documented to be
            // valid only while it lives, so no generated code runs or will run again.
            unsafe { libc::munmap(chunk.base.cast(), chunk.len) };
            if let Some(write_view) = chunk.write_view {
                // SAFETY: as above, for the second view of a dual-mapped chunk.
                unsafe { libc::munmap(write_view.cast(), chunk.len) };
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Protection {
    /// Read-write.
    Writable,
    /// Read-execute.
    Executable,
    /// Read-write-execute.
    WritableExecutable,
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as usize
    } else {
        4096
    }
}

fn map(len: usize) -> Result<*mut u8, ThunkError> {
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches
    // no existing memory.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(os_error("mmap"));
    }
    Ok(base.cast())
}

/// A shared memory object of `len` bytes mapped read-execute and read-write:
/// `(execute view, write view)`, or `None` where that is not possible.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn map_dual(len: usize) -> Option<(*mut u8, *mut u8)> {
    // SAFETY: memfd_create takes a NUL-terminated name and flags; it creates a new file.
    let fd = unsafe { libc::memfd_create(c"ffidl-code".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    let view = |prot: libc::c_int| {
        // SAFETY: a shared mapping of our own new file at an address of the kernel's
        // choosing touches no existing memory.
        let base = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd, 0) };
        (base != libc::MAP_FAILED).then_some(base.cast::<u8>())
    };
    // SAFETY: `fd` is our file; growing it to `len` bytes of zeros.
    let sized = unsafe { libc::ftruncate(fd, len as libc::off_t) } == 0;
    let exec = if sized {
        view(libc::PROT_READ | libc::PROT_EXEC)
    } else {
        None
    };
    let write = exec.and_then(|_| view(libc::PROT_READ | libc::PROT_WRITE));
    // SAFETY: the mappings keep the memory alive; the descriptor is no longer needed.
    unsafe { libc::close(fd) };
    match (exec, write) {
        (Some(exec), Some(write)) => Some((exec, write)),
        (Some(exec), None) => {
            // SAFETY: unmapping the view made just above, which nothing uses.
            unsafe { libc::munmap(exec.cast(), len) };
            None
        }
        _ => None,
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn map_dual(_len: usize) -> Option<(*mut u8, *mut u8)> {
    None
}

/// Changes the protection of whole pages of one of our mappings; false if refused.
fn protect(start: *mut u8, len: usize, protection: Protection) -> bool {
    let prot = match protection {
        Protection::Writable => libc::PROT_READ | libc::PROT_WRITE,
        Protection::Executable => libc::PROT_READ | libc::PROT_EXEC,
        Protection::WritableExecutable => libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
    };
    // SAFETY: callers pass page-aligned ranges inside a mapping made by `map`.
    unsafe { libc::mprotect(start.cast(), len, prot) == 0 }
}

fn os_error(what: &str) -> ThunkError {
    ThunkError::NoExecutableMemory(format!(
        "{what} failed: {}",
        std::io::Error::last_os_error()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `mov eax, imm32; ret`
    fn return_constant(value: u32) -> Vec<u8> {
        let mut code = vec![0xb8];
        code.extend_from_slice(&value.to_le_bytes());
        code.push(0xc3);
        code
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn many_functions_share_pages_and_all_stay_callable() {
        // Dual mapping, private mapping with re-protection, and fresh pages per function.
        for (dual, rwx) in [(true, true), (false, true), (false, false)] {
            share_pages(dual, rwx);
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn share_pages(dual: bool, rwx: bool) {
        let mut memory = CodeMemory::new().unwrap();
        memory.no_dual = !dual;
        memory.no_rwx = !rwx;
        let entries: Vec<*const u8> = (0..1000u32)
            .map(|n| memory.install(&return_constant(n)).unwrap())
            .collect();
        assert_eq!(memory.code_bytes(), 6000);
        if rwx {
            // 1000 functions at 16-byte spacing fit in one chunk.
            assert_eq!(memory.mapped_bytes(), CHUNK_BYTES);
        } else {
            assert!(memory.mapped_bytes() >= 1000 * memory.page);
        }
        for (n, &entry) in entries.iter().enumerate() {
            // SAFETY: each entry is `mov eax, n; ret`, a valid `extern "C" fn() -> u32`.
            let f: extern "C" fn() -> u32 = unsafe { std::mem::transmute(entry) };
            assert_eq!(f(), n as u32);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn code_larger_than_a_chunk_gets_its_own_mapping() {
        let mut memory = CodeMemory::new().unwrap();
        let small = memory.install(&return_constant(1)).unwrap();
        // A long run of `nop`s ending in `mov eax, 2; ret`.
        let mut big = vec![0x90; CHUNK_BYTES + 100];
        big.extend_from_slice(&return_constant(2));
        let large = memory.install(&big).unwrap();
        let after = memory.install(&return_constant(3)).unwrap();
        for (entry, expected) in [(small, 1), (large, 2), (after, 3)] {
            // SAFETY: each entry is straight-line code ending in `mov eax, k; ret`.
            let f: extern "C" fn() -> u32 = unsafe { std::mem::transmute(entry) };
            assert_eq!(f(), expected);
        }
    }

    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[test]
    fn a_forked_child_leaves_its_parents_chunks_alone() {
        let mut memory = CodeMemory::new().unwrap();
        memory.install(&return_constant(1)).unwrap();
        let mut pipe = [0; 2];
        // SAFETY: `pipe` has room for the two descriptors.
        assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
        // SAFETY: the child only installs code and exits without unwinding.
        let child = unsafe { libc::fork() };
        assert!(child >= 0);
        if child == 0 {
            let mut byte = 0u8;
            // SAFETY: reads one byte into `byte` (waits for the parent's install).
            unsafe { libc::read(pipe[0], (&mut byte as *mut u8).cast(), 1) };
            let status = match memory.install(&return_constant(2)) {
                Ok(_) => 0,
                Err(_) => 1,
            };
            // SAFETY: ends the child at once, running nothing of the test harness.
            unsafe { libc::_exit(status) };
        }
        // The parent installs first; the child's install comes after and must not land on it.
        let parent_code = memory.install(&return_constant(3)).unwrap();
        // SAFETY: writes one byte from a local.
        unsafe { libc::write(pipe[1], [1u8].as_ptr().cast(), 1) };
        let mut status = 0;
        // SAFETY: waits for our own child.
        assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        // SAFETY: `mov eax, 3; ret`, unless the child overwrote it.
        let f: extern "C" fn() -> u32 = unsafe { std::mem::transmute(parent_code) };
        assert_eq!(f(), 3);
        // SAFETY: closing our own descriptors.
        unsafe {
            libc::close(pipe[0]);
            libc::close(pipe[1]);
        }
    }
}
