//! The hand-written machine code of the fallback (x86-64, Unix hosts): the generic call
//! routine and the two tables of callback trampolines with their shared entries.
//!
//! Owns only register and stack moves. What goes in which register is decided in Rust
//! ([`super::call`], [`super::callback`]) from the CallPlan; the layouts of the frames
//! this code reads and writes are [`CallFrame`] and [`CallbackFrame`], whose field offsets
//! are checked at compile time below.
//!
//! `ffidl_fallback_call(frame)` (SysV-callable): reserves `stack_words` 8-byte words at a
//! 16-byte aligned stack pointer and copies them there, loads the argument registers of
//! the frame's ABI (SysV: rdi rsi rdx rcx r8 r9, xmm0-7 and `%al`; Win64: rcx rdx r8 r9
//! and xmm0-3, the first four stack words being the shadow space), calls `target`, and
//! stores rax, rdx, xmm0 and xmm1 into the frame. Win64 callees preserve a superset of
//! what SysV requires of them, so nothing else is saved.
//!
//! Trampoline `i` of a table is `mov r11d, i; jmp <shared entry>` at `table + 16 * i`
//! (r11 carries no argument in either ABI). The SysV shared entry saves rdi..r9 and
//! xmm0-7, the Win64 one rcx rdx r8 r9 and xmm0-3 (and preserves rsi, rdi and xmm6-15,
//! which Win64 callers expect kept but the SysV dispatcher may clobber), both with the
//! address of the caller's stack arguments (the stack pointer at the caller's `call`),
//! then call `dispatch_trampoline(i, frame)` and return rax, rdx, xmm0, xmm1 from it.
//! The routine and the shared entries keep frame pointers and carry DWARF call-frame
//! information, so debuggers and backtraces walk through them.

use std::mem::offset_of;

/// Number of trampolines in each table (one per ABI; both share the slot indices).
pub const TRAMPOLINES: usize = 2048;

/// Distance between two trampolines of a table.
pub const TRAMPOLINE_BYTES: usize = 16;

/// What `ffidl_fallback_call` reads and writes.
#[repr(C)]
#[derive(Debug)]
pub struct CallFrame {
    /// SysV: rdi rsi rdx rcx r8 r9; Win64: rcx rdx r8 r9 (positions 0-3).
    pub int_regs: [u64; 6],
    /// Low 8 bytes of xmm0-7 (Win64: xmm0-3 by position).
    pub vec_regs: [u64; 8],
    /// The outgoing stack words (Win64: starting with the 32-byte shadow space).
    pub stack: *const u64,
    pub stack_words: u64,
    pub target: u64,
    /// SysV: the value for `%al` (vector registers used by a variadic call).
    pub al: u64,
    /// 0: SysV; 1: Win64.
    pub abi: u64,
    /// rax, rdx after the call.
    pub ret_int: [u64; 2],
    /// Low 8 bytes of xmm0, xmm1 after the call.
    pub ret_vec: [u64; 2],
}

/// What a shared trampoline entry hands to the dispatcher.
#[repr(C)]
#[derive(Debug)]
pub struct CallbackFrame {
    /// SysV: rdi rsi rdx rcx r8 r9; Win64: rcx rdx r8 r9 (positions 0-3).
    pub int_regs: [u64; 6],
    /// Low 8 bytes of xmm0-7 (Win64: xmm0-3).
    pub vec_regs: [u64; 8],
    /// The caller's stack pointer at its `call`: `Loc::Stack(offset)` is at
    /// `stack_args + offset` (Win64 offsets count the shadow space).
    pub stack_args: *const u8,
    /// Returned in rax, rdx.
    pub ret_int: [u64; 2],
    /// Returned in the low 8 bytes of xmm0, xmm1.
    pub ret_vec: [u64; 2],
}

// The assembly below hard-codes these offsets and the table length.
const _: () = {
    assert!(TRAMPOLINES == 2048);
    assert!(offset_of!(CallFrame, int_regs) == 0);
    assert!(offset_of!(CallFrame, vec_regs) == 48);
    assert!(offset_of!(CallFrame, stack) == 112);
    assert!(offset_of!(CallFrame, stack_words) == 120);
    assert!(offset_of!(CallFrame, target) == 128);
    assert!(offset_of!(CallFrame, al) == 136);
    assert!(offset_of!(CallFrame, abi) == 144);
    assert!(offset_of!(CallFrame, ret_int) == 152);
    assert!(offset_of!(CallFrame, ret_vec) == 168);
    assert!(offset_of!(CallbackFrame, int_regs) == 0);
    assert!(offset_of!(CallbackFrame, vec_regs) == 48);
    assert!(offset_of!(CallbackFrame, stack_args) == 112);
    assert!(offset_of!(CallbackFrame, ret_int) == 120);
    assert!(offset_of!(CallbackFrame, ret_vec) == 136);
    assert!(std::mem::size_of::<CallbackFrame>() == 152);
};

std::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl ffidl_fallback_call",
    // Visible to Rust in this link only: never exported from a shared library.
    ".hidden ffidl_fallback_call",
    ".type ffidl_fallback_call, @function",
    "ffidl_fallback_call:",
    ".cfi_startproc",
    "push rbp",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset rbp, -16",
    "mov rbp, rsp",
    ".cfi_def_cfa_register rbp",
    "push rbx",
    ".cfi_offset rbx, -24",
    "mov rbx, rdi",
    // Room for the stack words, 16-byte aligned, and the copy.
    "mov rcx, [rbx + 120]",
    "lea rax, [rcx * 8 + 15]",
    "and rax, -16",
    "sub rsp, rax",
    "and rsp, -16",
    // A plain loop: `rep movsq` costs tens of cycles to start, even for no words.
    "mov rsi, [rbx + 112]",
    "xor eax, eax",
    "test rcx, rcx",
    "jz 5f",
    "4:",
    "mov rdx, [rsi + rax * 8]",
    "mov [rsp + rax * 8], rdx",
    "inc rax",
    "cmp rax, rcx",
    "jb 4b",
    "5:",
    "mov r11, [rbx + 128]",
    "cmp qword ptr [rbx + 144], 0",
    "jne 2f",
    // SysV
    "movq xmm0, qword ptr [rbx + 48]",
    "movq xmm1, qword ptr [rbx + 56]",
    "movq xmm2, qword ptr [rbx + 64]",
    "movq xmm3, qword ptr [rbx + 72]",
    "movq xmm4, qword ptr [rbx + 80]",
    "movq xmm5, qword ptr [rbx + 88]",
    "movq xmm6, qword ptr [rbx + 96]",
    "movq xmm7, qword ptr [rbx + 104]",
    "mov rdi, [rbx]",
    "mov rsi, [rbx + 8]",
    "mov rdx, [rbx + 16]",
    "mov rcx, [rbx + 24]",
    "mov r8, [rbx + 32]",
    "mov r9, [rbx + 40]",
    "mov rax, [rbx + 136]",
    "call r11",
    "jmp 3f",
    // Win64
    "2:",
    "movq xmm0, qword ptr [rbx + 48]",
    "movq xmm1, qword ptr [rbx + 56]",
    "movq xmm2, qword ptr [rbx + 64]",
    "movq xmm3, qword ptr [rbx + 72]",
    "mov rcx, [rbx]",
    "mov rdx, [rbx + 8]",
    "mov r8, [rbx + 16]",
    "mov r9, [rbx + 24]",
    "call r11",
    "3:",
    "mov [rbx + 152], rax",
    "mov [rbx + 160], rdx",
    "movq qword ptr [rbx + 168], xmm0",
    "movq qword ptr [rbx + 176], xmm1",
    "lea rsp, [rbp - 8]",
    "pop rbx",
    "pop rbp",
    ".cfi_def_cfa rsp, 8",
    "ret",
    ".cfi_endproc",
    ".size ffidl_fallback_call, . - ffidl_fallback_call",
    // ---- SysV shared trampoline entry: r11d = index
    ".p2align 4",
    "ffidl_fallback_entry_sysv:",
    ".cfi_startproc",
    "push rbp",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset rbp, -16",
    "mov rbp, rsp",
    ".cfi_def_cfa_register rbp",
    "sub rsp, 160",
    "mov [rsp], rdi",
    "mov [rsp + 8], rsi",
    "mov [rsp + 16], rdx",
    "mov [rsp + 24], rcx",
    "mov [rsp + 32], r8",
    "mov [rsp + 40], r9",
    "movq qword ptr [rsp + 48], xmm0",
    "movq qword ptr [rsp + 56], xmm1",
    "movq qword ptr [rsp + 64], xmm2",
    "movq qword ptr [rsp + 72], xmm3",
    "movq qword ptr [rsp + 80], xmm4",
    "movq qword ptr [rsp + 88], xmm5",
    "movq qword ptr [rsp + 96], xmm6",
    "movq qword ptr [rsp + 104], xmm7",
    "lea rax, [rbp + 16]",
    "mov [rsp + 112], rax",
    "xor eax, eax",
    "mov [rsp + 120], rax",
    "mov [rsp + 128], rax",
    "mov [rsp + 136], rax",
    "mov [rsp + 144], rax",
    "mov edi, r11d",
    "mov rsi, rsp",
    "call {dispatch}",
    "mov rax, [rsp + 120]",
    "mov rdx, [rsp + 128]",
    "movq xmm0, qword ptr [rsp + 136]",
    "movq xmm1, qword ptr [rsp + 144]",
    "leave",
    ".cfi_def_cfa rsp, 8",
    "ret",
    ".cfi_endproc",
    // ---- Win64 shared trampoline entry: r11d = index
    ".p2align 4",
    "ffidl_fallback_entry_win64:",
    ".cfi_startproc",
    "push rbp",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset rbp, -16",
    "mov rbp, rsp",
    ".cfi_def_cfa_register rbp",
    "push rsi",
    ".cfi_offset rsi, -24",
    "push rdi",
    ".cfi_offset rdi, -32",
    // Frame at [rsp, rsp + 152), xmm6-15 at [rsp + 160, rsp + 320).
    "sub rsp, 320",
    "movdqu [rsp + 160], xmm6",
    "movdqu [rsp + 176], xmm7",
    "movdqu [rsp + 192], xmm8",
    "movdqu [rsp + 208], xmm9",
    "movdqu [rsp + 224], xmm10",
    "movdqu [rsp + 240], xmm11",
    "movdqu [rsp + 256], xmm12",
    "movdqu [rsp + 272], xmm13",
    "movdqu [rsp + 288], xmm14",
    "movdqu [rsp + 304], xmm15",
    "mov [rsp], rcx",
    "mov [rsp + 8], rdx",
    "mov [rsp + 16], r8",
    "mov [rsp + 24], r9",
    "xor eax, eax",
    "mov [rsp + 32], rax",
    "mov [rsp + 40], rax",
    "movq qword ptr [rsp + 48], xmm0",
    "movq qword ptr [rsp + 56], xmm1",
    "movq qword ptr [rsp + 64], xmm2",
    "movq qword ptr [rsp + 72], xmm3",
    "mov [rsp + 80], rax",
    "mov [rsp + 88], rax",
    "mov [rsp + 96], rax",
    "mov [rsp + 104], rax",
    "mov [rsp + 120], rax",
    "mov [rsp + 128], rax",
    "mov [rsp + 136], rax",
    "mov [rsp + 144], rax",
    "lea rax, [rbp + 16]",
    "mov [rsp + 112], rax",
    "mov edi, r11d",
    "mov rsi, rsp",
    "call {dispatch}",
    "mov rax, [rsp + 120]",
    "mov rdx, [rsp + 128]",
    "movq xmm0, qword ptr [rsp + 136]",
    "movq xmm1, qword ptr [rsp + 144]",
    "movdqu xmm6, [rsp + 160]",
    "movdqu xmm7, [rsp + 176]",
    "movdqu xmm8, [rsp + 192]",
    "movdqu xmm9, [rsp + 208]",
    "movdqu xmm10, [rsp + 224]",
    "movdqu xmm11, [rsp + 240]",
    "movdqu xmm12, [rsp + 256]",
    "movdqu xmm13, [rsp + 272]",
    "movdqu xmm14, [rsp + 288]",
    "movdqu xmm15, [rsp + 304]",
    "lea rsp, [rbp - 16]",
    "pop rdi",
    "pop rsi",
    "pop rbp",
    ".cfi_def_cfa rsp, 8",
    "ret",
    ".cfi_endproc",
    dispatch = sym super::callback::dispatch_trampoline,
);

// The tables, in AT&T syntax so that the index is unambiguously an immediate.
std::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl ffidl_fallback_trampolines_sysv",
    ".hidden ffidl_fallback_trampolines_sysv",
    "ffidl_fallback_trampolines_sysv:",
    ".set ffidl_fallback_index, 0",
    ".rept 2048",
    "movl $ffidl_fallback_index, %r11d",
    "jmp ffidl_fallback_entry_sysv",
    ".p2align 4, 0xcc",
    ".set ffidl_fallback_index, ffidl_fallback_index + 1",
    ".endr",
    ".p2align 4",
    ".globl ffidl_fallback_trampolines_win64",
    ".hidden ffidl_fallback_trampolines_win64",
    "ffidl_fallback_trampolines_win64:",
    ".set ffidl_fallback_index, 0",
    ".rept 2048",
    "movl $ffidl_fallback_index, %r11d",
    "jmp ffidl_fallback_entry_win64",
    ".p2align 4, 0xcc",
    ".set ffidl_fallback_index, ffidl_fallback_index + 1",
    ".endr",
    options(att_syntax),
);

extern "C" {
    /// The generic call routine.
    pub fn ffidl_fallback_call(frame: *mut CallFrame);
    /// First trampoline of the SysV table.
    static ffidl_fallback_trampolines_sysv: u8;
    /// First trampoline of the Win64 table.
    static ffidl_fallback_trampolines_win64: u8;
}

/// Address of trampoline `index` of the SysV (`win64 == false`) or Win64 table.
pub fn trampoline_address(index: usize, win64: bool) -> *const u8 {
    debug_assert!(index < TRAMPOLINES);
    let table = if win64 {
        &raw const ffidl_fallback_trampolines_win64
    } else {
        &raw const ffidl_fallback_trampolines_sysv
    };
    table.wrapping_add(index * TRAMPOLINE_BYTES)
}
