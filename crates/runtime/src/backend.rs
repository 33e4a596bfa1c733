//! The call entries of one loaded program: owns the choice between the Cranelift thunks
//! and the assembly fallback ([`Backend`]), and the automatic switch to the fallback
//! when the system refuses executable memory.

use crate::fallback::{AsmCall, Backend, CallEntry};
use ffidl_jit::abi::CallPlan;
use ffidl_jit::{ThunkCache, ThunkError};

/// Makes one [`CallEntry`] per call plan with the selected backend; under Cranelift it
/// also owns the thunk code, which lives as long as this value.
pub struct CallEntries {
    backend: Backend,
    /// Present while the backend is Cranelift (and kept if it switches to the fallback,
    /// since thunks made before the switch point into it).
    cache: Option<ThunkCache>,
}

impl CallEntries {
    /// Entries from `backend`. Cranelift without executable memory becomes [`Backend::Asm`].
    pub fn new(backend: Backend) -> Result<CallEntries, ThunkError> {
        let cache = match backend {
            Backend::Asm => None,
            Backend::Cranelift => match ThunkCache::new() {
                Ok(cache) => Some(cache),
                Err(ThunkError::NoExecutableMemory(_)) => None,
                Err(e) => return Err(e),
            },
        };
        let backend = if cache.is_some() {
            Backend::Cranelift
        } else {
            Backend::Asm
        };
        Ok(CallEntries { backend, cache })
    }

    /// The backend in use (after any automatic switch).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The Cranelift thunk cache, while the backend is Cranelift.
    pub fn thunk_cache(&mut self) -> Option<&mut ThunkCache> {
        match self.backend {
            Backend::Cranelift => self.cache.as_mut(),
            Backend::Asm => None,
        }
    }

    /// The way to call functions with `plan`.
    pub fn entry(&mut self, plan: &CallPlan) -> Result<CallEntry, String> {
        if let Some(cache) = self.thunk_cache() {
            match cache.thunk(plan) {
                Ok(thunk) => return Ok(CallEntry::Thunk(thunk)),
                Err(ThunkError::NoExecutableMemory(_)) => self.backend = Backend::Asm,
                Err(e) => return Err(e.to_string()),
            }
        }
        AsmCall::new(plan)
            .map(CallEntry::Asm)
            .map_err(|e| e.to_string())
    }
}
