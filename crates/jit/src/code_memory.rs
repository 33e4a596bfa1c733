//! Executable memory for generated code: one Cranelift JIT module per owner.
//!
//! Owns the target ISA, defining functions (from a Cranelift context or from raw
//! bytes) and turning them into callable addresses. All code stays valid until the
//! [`CodeMemory`] is dropped, which frees it. This is the only module that maps or
//! frees executable memory.

use cranelift_codegen::ir;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Module};

use crate::thunk::ThunkError;

/// Executable memory plus the ISA used to compile into it.
pub struct CodeMemory {
    /// `None` only during drop.
    module: Option<JITModule>,
}

impl CodeMemory {
    /// A code memory for the host machine.
    pub fn new() -> Result<Self, ThunkError> {
        let mut flags = settings::builder();
        let codegen = |err: settings::SetError| ThunkError::Codegen(err.to_string());
        flags
            .set("use_colocated_libcalls", "false")
            .map_err(codegen)?;
        flags.set("is_pic", "false").map_err(codegen)?;
        flags.set("opt_level", "speed").map_err(codegen)?;
        // Thunk frames hold copies of by-value aggregates (up to MAX_AGGREGATE_BYTES):
        // touch every page on the way down so no guard page is jumped over.
        flags.set("enable_probestack", "true").map_err(codegen)?;
        flags
            .set("probestack_strategy", "inline")
            .map_err(codegen)?;
        let isa_builder = cranelift_native::builder()
            .map_err(|msg| ThunkError::UnsupportedHost(msg.to_string()))?;
        let isa: OwnedTargetIsa = isa_builder
            .finish(settings::Flags::new(flags))
            .map_err(|err| ThunkError::Codegen(err.to_string()))?;
        let module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
        Ok(CodeMemory {
            module: Some(module),
        })
    }

    fn module(&mut self) -> &mut JITModule {
        self.module.as_mut().expect("module is present until drop")
    }

    /// A fresh context for a function with `signature` on this ISA.
    pub fn make_context(&mut self) -> Context {
        self.module().make_context()
    }

    /// Compiles the function in `ctx` into executable memory and returns its address.
    /// Afterwards `ctx` holds the compiled code (bytes and, if requested, disassembly).
    pub fn define(&mut self, ctx: &mut Context) -> Result<*const u8, ThunkError> {
        let module = self.module();
        let id = module
            .declare_anonymous_function(&ctx.func.signature)
            .map_err(|err| ThunkError::Codegen(format!("{err:?}")))?;
        module
            .define_function(id, ctx)
            .map_err(|err| ThunkError::Codegen(format!("{err:?}")))?;
        module
            .finalize_definitions()
            .map_err(|err| ThunkError::Codegen(format!("{err:?}")))?;
        Ok(module.get_finalized_function(id))
    }

    /// Copies already-encoded machine code (position independent, no relocations) into
    /// executable memory and returns its address.
    pub fn define_bytes(
        &mut self,
        signature: &ir::Signature,
        bytes: &[u8],
    ) -> Result<*const u8, ThunkError> {
        let module = self.module();
        let id = module
            .declare_anonymous_function(signature)
            .map_err(|err| ThunkError::Codegen(format!("{err:?}")))?;
        module
            .define_function_bytes(id, 16, bytes, &[])
            .map_err(|err| ThunkError::Codegen(format!("{err:?}")))?;
        module
            .finalize_definitions()
            .map_err(|err| ThunkError::Codegen(format!("{err:?}")))?;
        Ok(module.get_finalized_function(id))
    }

    /// The ISA code is compiled for.
    pub fn isa(&self) -> &dyn cranelift_codegen::isa::TargetIsa {
        self.module
            .as_ref()
            .expect("module is present until drop")
            .isa()
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: the owner of this CodeMemory (a thunk cache) hands out code pointers
            // that are documented to be valid only while it lives; dropping it means no
            // generated code is running or will be called again.
            unsafe { module.free_memory() };
        }
    }
}
