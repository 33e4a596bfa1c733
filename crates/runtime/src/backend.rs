//! The call entries of one loaded program: owns the choice between the Cranelift thunks
//! and the assembly fallback ([`Backend`]), and the automatic switch to the fallback
//! when the system refuses executable memory.

use crate::fallback::{AsmCall, Backend, CallEntry};
use ffidl_jit::abi::CallPlan;
use ffidl_jit::{DispatchFn, ThunkCache, ThunkError};
use std::ffi::c_void;

/// Makes one [`CallEntry`] per call plan, and the native entry points of callbacks, with
/// the selected backend; owns what those point into (the Cranelift thunk code, the bound
/// trampolines), which lives as long as this value.
pub struct CallEntries {
    backend: Backend,
    /// Trampolines bound by [`CallEntries::callback`] under the fallback.
    #[cfg(all(target_arch = "x86_64", unix))]
    trampolines: Vec<crate::fallback::Trampoline>,
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
        Ok(CallEntries {
            backend,
            #[cfg(all(target_arch = "x86_64", unix))]
            trampolines: Vec::new(),
            cache,
        })
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

    /// A native function with `plan`'s C signature that calls `dispatch(context, slots,
    /// ret)`: a Cranelift callback thunk, or under the fallback a trampoline of its table
    /// (bound until these entries are dropped). `context` must outlive these entries.
    pub fn callback(
        &mut self,
        plan: &CallPlan,
        dispatch: DispatchFn,
        context: *const c_void,
    ) -> Result<*const c_void, String> {
        if let Some(cache) = self.thunk_cache() {
            match cache.callback(plan, dispatch, context) {
                Ok(compiled) => return Ok(compiled.entry),
                Err(ThunkError::NoExecutableMemory(_)) => self.backend = Backend::Asm,
                Err(e) => return Err(e.to_string()),
            }
        }
        self.trampoline(plan, dispatch, context)
    }

    /// Like [`CallEntries::callback`], but a trampoline of the fallback is returned to the
    /// caller instead of being kept: it is released when the [`OwnedCallback`] is dropped.
    /// (Cranelift callback code stays until these entries are dropped.)
    pub fn owned_callback(
        &mut self,
        plan: &CallPlan,
        dispatch: DispatchFn,
        context: *const c_void,
    ) -> Result<OwnedCallback, CallbackFailure> {
        if let Some(cache) = self.thunk_cache() {
            match cache.callback(plan, dispatch, context) {
                Ok(compiled) => {
                    return Ok(OwnedCallback {
                        entry: compiled.entry,
                        #[cfg(all(target_arch = "x86_64", unix))]
                        _trampoline: None,
                    })
                }
                Err(ThunkError::NoExecutableMemory(_)) => self.backend = Backend::Asm,
                Err(e) => return Err(CallbackFailure::Failed(e.to_string())),
            }
        }
        #[cfg(all(target_arch = "x86_64", unix))]
        {
            use crate::fallback::FallbackError;
            match crate::fallback::Trampoline::new(plan, dispatch, context) {
                Ok(t) => Ok(OwnedCallback {
                    entry: t.entry(),
                    _trampoline: Some(t),
                }),
                Err(e @ FallbackError::TrampolinesExhausted(_)) => {
                    Err(CallbackFailure::TableFull(e.to_string()))
                }
                Err(e) => Err(CallbackFailure::Failed(e.to_string())),
            }
        }
        #[cfg(not(all(target_arch = "x86_64", unix)))]
        Err(CallbackFailure::Failed(
            crate::fallback::FallbackError::UnsupportedHost.to_string(),
        ))
    }

    #[cfg(all(target_arch = "x86_64", unix))]
    fn trampoline(
        &mut self,
        plan: &CallPlan,
        dispatch: DispatchFn,
        context: *const c_void,
    ) -> Result<*const c_void, String> {
        let trampoline =
            crate::fallback::Trampoline::new(plan, dispatch, context).map_err(|e| e.to_string())?;
        let entry = trampoline.entry();
        self.trampolines.push(trampoline);
        Ok(entry)
    }

    #[cfg(not(all(target_arch = "x86_64", unix)))]
    fn trampoline(
        &mut self,
        _plan: &CallPlan,
        _dispatch: DispatchFn,
        _context: *const c_void,
    ) -> Result<*const c_void, String> {
        Err(crate::fallback::FallbackError::UnsupportedHost.to_string())
    }
}

/// A callback entry whose fallback trampoline (if any) is released on drop.
pub struct OwnedCallback {
    /// The native function.
    pub entry: *const c_void,
    #[cfg(all(target_arch = "x86_64", unix))]
    _trampoline: Option<crate::fallback::Trampoline>,
}

/// Why [`CallEntries::owned_callback`] failed.
#[derive(Debug)]
pub enum CallbackFailure {
    /// Every trampoline of the fallback's table is bound.
    TableFull(String),
    /// Anything else (unsupported plan or host, code generation failure).
    Failed(String),
}

#[cfg(all(test, target_arch = "x86_64", unix))]
mod tests {
    use super::*;
    use ffidl_jit::abi::{classify, Abi, AbiType, Signature};
    use std::ffi::c_void;

    extern "C" fn add_i64(a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }

    fn call_add(entry: &CallEntry) -> i64 {
        let mut ret = [0u64; 2];
        let args = [40u64, 2u64];
        // SAFETY: the entry was made for `fn(i64, i64) -> i64`, which `add_i64` is.
        unsafe { entry.call(add_i64 as *const c_void, &args, ret.as_mut_ptr().cast()) }.unwrap();
        ret[0] as i64
    }

    #[test]
    fn each_backend_makes_its_own_kind_of_entry_and_both_call() {
        let sig = Signature::new(
            Abi::SysV64,
            vec![AbiType::I64, AbiType::I64],
            Some(AbiType::I64),
        );
        let plan = classify(&sig).unwrap();

        let mut asm = CallEntries::new(Backend::Asm).unwrap();
        assert_eq!(asm.backend(), Backend::Asm);
        assert!(asm.thunk_cache().is_none(), "asm compiles no thunks");
        let entry = asm.entry(&plan).unwrap();
        assert!(matches!(entry, CallEntry::Asm(_)));
        assert_eq!(call_add(&entry), 42);

        let mut jit = CallEntries::new(Backend::Cranelift).unwrap();
        assert_eq!(jit.backend(), Backend::Cranelift);
        let entry = jit.entry(&plan).unwrap();
        assert!(matches!(entry, CallEntry::Thunk(_)));
        assert_eq!(call_add(&entry), 42);
        assert_eq!(jit.thunk_cache().map(|c| c.len()), Some(1));
    }

    /// A dispatcher that returns the sum of two i64 slots plus the i64 its context points to.
    unsafe extern "C" fn add_with_bias(context: *const c_void, args: *const u64, ret: *mut u8) {
        // SAFETY: the context is an i64, the plan has two i64 slots and an 8-byte result.
        unsafe {
            let bias = *context.cast::<i64>();
            let sum = (*args as i64) + (*args.add(1) as i64) + bias;
            ret.cast::<i64>().write_unaligned(sum);
        }
    }

    #[test]
    fn callbacks_are_trampolines_under_asm_and_thunks_under_cranelift() {
        let sig = Signature::new(
            Abi::SysV64,
            vec![AbiType::I64, AbiType::I64],
            Some(AbiType::I64),
        );
        let plan = classify(&sig).unwrap();
        let bias = 100i64;
        let context = (&bias as *const i64).cast::<c_void>();
        for backend in [Backend::Asm, Backend::Cranelift] {
            let mut entries = CallEntries::new(backend).unwrap();
            let entry = entries.callback(&plan, add_with_bias, context).unwrap();
            // SAFETY: the entry has the C signature `fn(i64, i64) -> i64` of the plan.
            let callback: extern "C" fn(i64, i64) -> i64 = unsafe { std::mem::transmute(entry) };
            assert_eq!(callback(40, 2), 142, "{backend:?}");
            let trampolines = usize::from(backend == Backend::Asm);
            assert_eq!(entries.trampolines.len(), trampolines, "{backend:?}");
            assert_eq!(
                entries.thunk_cache().is_some(),
                backend == Backend::Cranelift
            );
        }
    }
}
