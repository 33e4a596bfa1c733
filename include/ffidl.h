/* ffidl.h - the C API of the ffidl runtime (libffidl.so).
 *
 * Load `.ffidl` bindings from a C program and call the native functions they declare
 * with tagged values: no generated code, no libffi. The library is a thin layer over
 * the Rust embedding API of the `ffidl` crate (`ffidl::Runtime`, `ffidl::Module`,
 * `ffidl::Value`).
 *
 *     ffidl_module *m = ffidl_load_string(NULL, "m.ffidl",
 *         "library m = \"libm.so.6\";\n"
 *         "extern m { fn cos(x: f64) -> f64; }\n");
 *     if (!m) { fprintf(stderr, "%s\n", ffidl_last_error()); return 1; }
 *     ffidl_value arg = ffidl_f64(0.0), result;
 *     if (ffidl_call(m, "cos", &arg, 1, &result) == 0)
 *         printf("%g\n", result.as.f64);               // 1
 *     ffidl_module_free(m);
 *
 * Build and link: `cargo build -p ffidl` makes target/<profile>/libffidl.so; compile with
 * `gcc -I include prog.c -L target/debug -lffidl -Wl,-rpath,$PWD/target/debug`.
 *
 * Conventions used by every function below:
 * - Failure is reported by the return value (NULL, or -1 for `int` results) and the
 *   calling thread's last error (`ffidl_last_error` and friends). A function that can
 *   fail clears the last error when it succeeds. No function aborts or crashes on bad
 *   input it can detect: NULL handles or strings, unknown names, wrong tags, wrong
 *   argument counts, unknown enum values and internal failures are all errors.
 * - Strings passed in are NUL-terminated UTF-8 (a file path may be any bytes) and are
 *   only read during the call.
 * - Handles are independent: a module keeps its libraries open until the module AND
 *   every function handle made from it are freed, in any order; the runtime may be freed
 *   while its modules live. Freeing NULL does nothing. Freeing a handle twice, or using
 *   it after freeing it, is undefined behaviour (as with free()).
 * - Threads: modules and function handles may be used from any number of threads at
 *   once (calls do not wait for each other; `ffidl_module_run` calls of one module do).
 *   The last error is per thread.
 */
#ifndef FFIDL_H
#define FFIDL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- handles ------------------------------------------------------------------------ */

/* Loads bindings; holds only the choice of backend. */
typedef struct ffidl_runtime ffidl_runtime;
/* Loaded bindings: open libraries, resolved symbols, prepared calls. */
typedef struct ffidl_module ffidl_module;
/* A prepared call of one declared function (no name lookup per call). It keeps its
 * module's libraries loaded until it is freed. */
typedef struct ffidl_function ffidl_function;

/* ---- errors ------------------------------------------------------------------------- */

/* What kind of failure the last error is. Values 1-12 match the Rust `ffidl::ErrorKind`. */
typedef enum ffidl_error_kind {
    FFIDL_OK = 0,                       /* the last fallible call succeeded */
    FFIDL_ERROR_IO = 1,                 /* a file could not be read */
    FFIDL_ERROR_PARSE = 2,              /* the source does not lex or parse */
    FFIDL_ERROR_TYPE = 3,               /* the program does not type-check */
    FFIDL_ERROR_LIBRARY_NOT_FOUND = 4,  /* a declared library cannot be loaded */
    FFIDL_ERROR_SYMBOL_NOT_FOUND = 5,   /* a declared symbol is not in its library */
    FFIDL_ERROR_LAYOUT = 6,             /* a layout does not match the declared type */
    FFIDL_ERROR_ABI_UNSUPPORTED = 7,    /* a signature or backend that cannot run here */
    FFIDL_ERROR_RUNTIME = 8,            /* a script failed while running */
    FFIDL_ERROR_CALLBACK_TABLE_FULL = 9,/* every fallback callback trampoline is in use */
    FFIDL_ERROR_UNKNOWN_NAME = 10,      /* no function or type of that name is declared */
    FFIDL_ERROR_SIGNATURE_MISMATCH = 11,/* a signature does not match the declaration */
    FFIDL_ERROR_VALUE_MISMATCH = 12,    /* wrong kind of value, out of range, wrong count */
    FFIDL_ERROR_INVALID_ARGUMENT = 100, /* misuse: NULL pointer, unknown tag or enum
                                           value, a string that is not UTF-8 */
    FFIDL_ERROR_INTERNAL = 101          /* a bug in ffidl (an internal panic was caught) */
} ffidl_error_kind;

/* The full text of the calling thread's last error: for source errors, every diagnostic
 * rendered with its file, line and source excerpt. "" when the last fallible call on this
 * thread succeeded; never NULL. Valid until the next fallible ffidl call on this thread. */
const char *ffidl_last_error(void);

/* The one-line message of the last error ("" when none); same lifetime. */
const char *ffidl_last_error_message(void);

/* The kind of the calling thread's last error (FFIDL_OK when none). */
ffidl_error_kind ffidl_last_error_kind(void);

/* Where in a `.ffidl` source the last error is. Returns 1 and stores the file name (same
 * lifetime as ffidl_last_error), the 1-based line and the 1-based column through the
 * pointers that are not NULL; returns 0 and stores nothing when the error has no place
 * in a source (or there is no error). */
int ffidl_last_error_location(const char **file, size_t *line, size_t *column);

/* A stable lower-case name of a kind ("ok", "parse", "value-mismatch", ...); "unknown" for
 * a value that is not a kind. Static storage. */
const char *ffidl_error_kind_name(ffidl_error_kind kind);

/* ---- values ------------------------------------------------------------------------- */

/* Which member of `ffidl_value.as` holds the value. */
typedef enum ffidl_tag {
    FFIDL_VOID = 0, /* no value: the result of a function declared without one */
    FFIDL_BOOL,     /* as.b */
    FFIDL_I8,       /* as.i8 */
    FFIDL_I16,      /* as.i16 */
    FFIDL_I32,      /* as.i32 */
    FFIDL_I64,      /* as.i64 */
    FFIDL_U8,       /* as.u8 */
    FFIDL_U16,      /* as.u16 */
    FFIDL_U32,      /* as.u32 */
    FFIDL_U64,      /* as.u64 */
    FFIDL_F32,      /* as.f32 */
    FFIDL_F64,      /* as.f64 */
    FFIDL_PTR,      /* as.ptr: a pointer, a C function pointer (callback) or NULL */
    FFIDL_CSTR,     /* as.cstr: a NUL-terminated string or NULL */
    FFIDL_STRUCT    /* as.s: a struct or union value of a declared type */
} ffidl_tag;

/* A struct or union value: the declared type's name (as in the `.ffidl` file, "Point")
 * and its bytes in C layout. */
typedef struct ffidl_struct {
    const char *type_name;
    void *bytes;
    size_t size; /* must be the declared type's size (see ffidl_type_size) */
} ffidl_struct;

/* A tagged C value: an argument or result of a dynamic call.
 *
 * Arguments: an integer value converts to any integer parameter whose range holds it
 * (so FFIDL_I32 works for a `u8` parameter when the value is 0..255); an FFIDL_F32 value
 * converts to an `f64` parameter; everything else must match the declared kind: FFIDL_PTR
 * for pointers and callbacks, FFIDL_CSTR or FFIDL_PTR for `cstr`, FFIDL_STRUCT with the
 * declared type's name for structs and unions passed by value. Extra arguments
 * of a variadic function get C's default promotions (FFIDL_STRUCT and FFIDL_VOID are
 * not allowed there).
 *
 * Results have the declared kind (an enum's result has its representation's tag). A
 * result may own memory: a FFIDL_CSTR result is a copy of the C string (NULL stays
 * NULL), a FFIDL_STRUCT result owns its type name and its bytes (16-byte aligned). Free
 * a result with ffidl_value_free once done with it. */
typedef struct ffidl_value {
    ffidl_tag tag;
    union {
        bool b;
        int8_t i8;
        int16_t i16;
        int32_t i32;
        int64_t i64;
        uint8_t u8;
        uint16_t u16;
        uint32_t u32;
        uint64_t u64;
        float f32;
        double f64;
        void *ptr;
        const char *cstr;
        ffidl_struct s;
    } as;
} ffidl_value;

/* Frees what a result written by ffidl owns (a FFIDL_CSTR copy, a FFIDL_STRUCT's name
 * and bytes) and sets it to FFIDL_VOID; does nothing for other tags or NULL. Only call it
 * on values ffidl wrote, never on values whose strings or bytes the caller owns. */
void ffidl_value_free(ffidl_value *value);

/* Constructors for arguments (the value borrows strings and bytes; nothing to free). */
#define FFIDL_VALUE_CTOR_(fn, TAG, member, type)                                   \
    static inline ffidl_value fn(type v) {                                         \
        ffidl_value r;                                                             \
        r.tag = TAG;                                                               \
        r.as.member = v;                                                           \
        return r;                                                                  \
    }
FFIDL_VALUE_CTOR_(ffidl_bool, FFIDL_BOOL, b, bool)
FFIDL_VALUE_CTOR_(ffidl_i8, FFIDL_I8, i8, int8_t)
FFIDL_VALUE_CTOR_(ffidl_i16, FFIDL_I16, i16, int16_t)
FFIDL_VALUE_CTOR_(ffidl_i32, FFIDL_I32, i32, int32_t)
FFIDL_VALUE_CTOR_(ffidl_i64, FFIDL_I64, i64, int64_t)
FFIDL_VALUE_CTOR_(ffidl_u8, FFIDL_U8, u8, uint8_t)
FFIDL_VALUE_CTOR_(ffidl_u16, FFIDL_U16, u16, uint16_t)
FFIDL_VALUE_CTOR_(ffidl_u32, FFIDL_U32, u32, uint32_t)
FFIDL_VALUE_CTOR_(ffidl_u64, FFIDL_U64, u64, uint64_t)
FFIDL_VALUE_CTOR_(ffidl_f32, FFIDL_F32, f32, float)
FFIDL_VALUE_CTOR_(ffidl_f64, FFIDL_F64, f64, double)
FFIDL_VALUE_CTOR_(ffidl_ptr, FFIDL_PTR, ptr, void *)
FFIDL_VALUE_CTOR_(ffidl_cstr, FFIDL_CSTR, cstr, const char *)
#undef FFIDL_VALUE_CTOR_

/* A struct value of the declared type `type_name` whose bytes are at `bytes`. */
static inline ffidl_value ffidl_struct_value(const char *type_name, void *bytes, size_t size) {
    ffidl_value r;
    r.tag = FFIDL_STRUCT;
    r.as.s.type_name = type_name;
    r.as.s.bytes = bytes;
    r.as.s.size = size;
    return r;
}

/* FFIDL_STRUCT_OF("Point", &p): a struct value of the C object `*ptr`. */
#define FFIDL_STRUCT_OF(type_name, ptr) ffidl_struct_value((type_name), (ptr), sizeof *(ptr))

/* ---- runtime and modules ------------------------------------------------------------ */

/* Which code makes the native calls. */
typedef enum ffidl_backend {
    FFIDL_BACKEND_DEFAULT = 0,   /* what FFIDL_BACKEND says (`asm` or `jit`), else Cranelift */
    FFIDL_BACKEND_CRANELIFT = 1, /* call thunks generated by Cranelift */
    FFIDL_BACKEND_ASM = 2        /* the generic assembly routine (no executable memory) */
} ffidl_backend;

/* A runtime with the default backend. Never NULL. */
ffidl_runtime *ffidl_runtime_new(void);

/* A runtime that uses `backend`; NULL (FFIDL_ERROR_INVALID_ARGUMENT) for an unknown value. */
ffidl_runtime *ffidl_runtime_new_with_backend(ffidl_backend backend);

/* Frees a runtime. Modules loaded with it stay valid. */
void ffidl_runtime_free(ffidl_runtime *runtime);

/* Reads, checks and loads the `.ffidl` file at `path` and its imports: opens the declared
 * libraries and resolves every symbol (top-level statements do not run; see
 * ffidl_module_run). Library paths containing `/` are relative to the declaring file.
 * `runtime` may be NULL for the default runtime. Returns NULL on failure (kinds IO,
 * PARSE, TYPE, LIBRARY_NOT_FOUND, SYMBOL_NOT_FOUND, ABI_UNSUPPORTED, with a location). */
ffidl_module *ffidl_load_file(const ffidl_runtime *runtime, const char *path);

/* Like ffidl_load_file for the source text `source`, named `name` in diagnostics
 * (relative imports and library paths resolve from the current directory). */
ffidl_module *ffidl_load_string(const ffidl_runtime *runtime, const char *name,
                                const char *source);

/* Releases the module. Function handles made from it stay valid (they keep the
 * libraries loaded); everything else about it must no longer be used. */
void ffidl_module_free(ffidl_module *module);

/* The backend the module's calls go through (FFIDL_BACKEND_CRANELIFT or
 * FFIDL_BACKEND_ASM; FFIDL_BACKEND_DEFAULT for a NULL module). */
ffidl_backend ffidl_module_backend(const ffidl_module *module);

/* Stores the size in bytes of the declared struct or union type `type_name`
 * (what a FFIDL_STRUCT value of it must have) through `size`. 0 on success, -1 on error
 * (UNKNOWN_NAME, or VALUE_MISMATCH for a type that is not a struct or union). */
int ffidl_type_size(const ffidl_module *module, const char *type_name, size_t *size);

/* ---- calls -------------------------------------------------------------------------- */

/* Calls the declared function `name` with `nargs` values at `args` (`args` may be NULL
 * when `nargs` is 0) and stores its result at `result` (which may be NULL to drop it).
 * Returns 0 on success, -1 on error (UNKNOWN_NAME, VALUE_MISMATCH for a wrong count,
 * kind or range, INVALID_ARGUMENT); on error nothing was called and `*result` is
 * FFIDL_VOID. Free the result with ffidl_value_free. `result` may point at one of the
 * arguments: it is written after they are read (an argument that owned memory must then
 * be freed before, or it leaks). */
int ffidl_call(const ffidl_module *module, const char *name, const ffidl_value *args,
               size_t nargs, ffidl_value *result);

/* A prepared call of the declared function `name` (its signature resolved once); NULL on
 * error (UNKNOWN_NAME). Keeps the module's libraries loaded until freed. */
ffidl_function *ffidl_function_get(const ffidl_module *module, const char *name);

/* ffidl_call through a prepared handle. */
int ffidl_function_call(const ffidl_function *function, const ffidl_value *args,
                        size_t nargs, ffidl_value *result);

/* Frees a function handle (the last handle of a freed module unloads its libraries). */
void ffidl_function_free(ffidl_function *function);

/* ---- declared constants ------------------------------------------------------------ */

/* Stores the value of the declared constant `name` (`const NAME: T = ...;`) at `out`,
 * with its declared type's tag (a FFIDL_CSTR constant is a copy: ffidl_value_free it).
 * 0 on success, -1 on error (UNKNOWN_NAME); `out` may be NULL to only check the name. */
int ffidl_constant(const ffidl_module *module, const char *name, ffidl_value *out);

/* Stores the value of `variant` of the declared enum `enum_name` at `out`, as the enum's
 * representation integer (what a parameter of that enum type takes). 0 or -1. */
int ffidl_enum_value(const ffidl_module *module, const char *enum_name, const char *variant,
                     ffidl_value *out);

/* ---- running scripts ---------------------------------------------------------------- */

/* Receives `len` bytes of a script's `print` output (not NUL-terminated). */
typedef void (*ffidl_write_fn)(void *user, const char *bytes, size_t len);

/* Runs the module's top-level statements as `ffidl run` does, passing its output to
 * `write(user, ...)`; when `write` is NULL, the output goes to file descriptor 1 through
 * ffidl's own buffer (call fflush(stdout) first if C printed to it). Globals start from
 * zero on every run; runs of one module wait for each other. Returns 0 when the script
 * finished or called exit(), storing its exit status (0 when it finished) through
 * `exit_code` if not NULL; -1 on a runtime error or failed assert (FFIDL_ERROR_RUNTIME,
 * located at the statement). `write` is called on this thread during the run and may
 * call other ffidl functions, except ffidl_module_run of the same module (which would
 * wait for this run forever). */
int ffidl_module_run(const ffidl_module *module, ffidl_write_fn write, void *user,
                     int *exit_code);

#ifdef __cplusplus
}
#endif

#endif /* FFIDL_H */
