/* embed.c - a C program calling libc, libm and zlib through ffidl's C API: the
 * signatures live in examples/embed_c.ffidl, loaded at run time, and every call is made
 * by name with tagged values (no prototypes of the called functions, no libffi).
 *
 * Build and run from the repository root (the test crates/runtime/tests/capi.rs does
 * this and compares the output with examples/embed.c.stdout):
 *
 *     cargo build -p ffidl
 *     gcc -I include examples/embed.c -L target/debug -lffidl \
 *         -Wl,-rpath,$PWD/target/debug -o embed
 *     ./embed examples/embed_c.ffidl
 */
#include <stdio.h>
#include <string.h>

#include "ffidl.h"

/* The C view of `struct DivResult` in the bindings. */
typedef struct {
    int quot, rem;
} DivResult;

/* Prints what the last call on this thread reported. */
static void report(const char *what) {
    const char *file;
    size_t line, column;
    printf("%s failed [%s]: %s\n", what, ffidl_error_kind_name(ffidl_last_error_kind()),
           ffidl_last_error_message());
    if (ffidl_last_error_location(&file, &line, &column))
        printf("  at %s:%zu:%zu\n", file, line, column);
}

/* Receives the script's print output (in chunks of any size): prefixes each line. */
static void write_prefixed(void *user, const char *bytes, size_t len) {
    static int at_line_start = 1;
    for (size_t i = 0; i < len; i++) {
        if (at_line_start) fputs((const char *)user, stdout);
        putchar(bytes[i]);
        at_line_start = bytes[i] == '\n';
    }
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "examples/embed_c.ffidl";

    /* 1. Load the bindings: libraries opened, symbols resolved, calls prepared. */
    ffidl_runtime *runtime = ffidl_runtime_new();
    ffidl_module *m = ffidl_load_file(runtime, path);
    ffidl_runtime_free(runtime); /* modules do not need their runtime */
    if (!m) {
        fprintf(stderr, "%s\n", ffidl_last_error());
        return 1;
    }

    /* 2. Scalars: a double in, a double out. */
    ffidl_value result;
    ffidl_value zero = ffidl_f64(0.0);
    if (ffidl_call(m, "cos", &zero, 1, &result) != 0) report("cos");
    printf("cos(0) = %g\n", result.as.f64);

    /* 3. Strings: a cstr argument is borrowed for the call; a cstr result is a copy the
     *    caller frees with ffidl_value_free. */
    ffidl_value text = ffidl_cstr("hello, embedded ffidl");
    ffidl_call(m, "strlen", &text, 1, &result);
    printf("strlen = %llu (tag u64: %d)\n", (unsigned long long)result.as.u64,
           result.tag == FFIDL_U64);
    ffidl_value find[2] = {text, ffidl_cstr("embedded")};
    ffidl_call(m, "strstr", find, 2, &result);
    printf("strstr = \"%s\"\n", result.as.cstr);
    ffidl_value_free(&result);

    /* 4. A struct returned by value: the result names its type and owns its bytes. */
    size_t size = 0;
    ffidl_type_size(m, "DivResult", &size);
    printf("sizeof DivResult: C %zu, declared %zu\n", sizeof(DivResult), size);
    ffidl_value operands[2] = {ffidl_i32(47), ffidl_i32(5)};
    ffidl_call(m, "div", operands, 2, &result);
    DivResult d;
    memcpy(&d, result.as.s.bytes, sizeof d);
    printf("div(47, 5) = %s { quot: %d, rem: %d }\n", result.as.s.type_name, d.quot, d.rem);
    ffidl_value_free(&result);

    /* 5. Pointers to C memory: crc32 reads our buffer. */
    const char *data = "hello";
    ffidl_value crc_args[3] = {ffidl_u64(0), ffidl_ptr((void *)data), ffidl_u32(5)};
    ffidl_call(m, "crc32", crc_args, 3, &result);
    printf("crc32(\"hello\") = 0x%08llx\n", (unsigned long long)result.as.u64);

    /* 6. Variadic calls: extra values get C's default promotions. */
    char buf[64];
    ffidl_value fmt[6] = {ffidl_ptr(buf), ffidl_u64(sizeof buf),
                          ffidl_cstr("%s: %d + %d = %.2f"), ffidl_cstr("sum"),
                          ffidl_i8(20), ffidl_i16(22)};
    ffidl_value with_float[7];
    memcpy(with_float, fmt, sizeof fmt);
    with_float[6] = ffidl_f32(42.0f);
    ffidl_call(m, "snprintf", with_float, 7, &result);
    printf("snprintf wrote %d bytes: %s\n", result.as.i32, buf);

    /* 7. A prepared handle: the name is looked up once. */
    ffidl_function *pow_fn = ffidl_function_get(m, "pow");
    double total = 0;
    for (int i = 0; i <= 10; i++) {
        ffidl_value xy[2] = {ffidl_f64(2.0), ffidl_f64(i)};
        if (ffidl_function_call(pow_fn, xy, 2, &result) == 0) total += result.as.f64;
    }
    printf("sum of 2^0..2^10 = %g\n", total);

    /* 8. Errors: reported, never crashing. */
    if (ffidl_call(m, "coss", &zero, 1, &result) != 0) report("coss");
    if (ffidl_call(m, "cos", &text, 1, &result) != 0) report("cos(\"...\")");
    if (ffidl_call(m, "cos", NULL, 0, &result) != 0) report("cos()");
    ffidl_module *bad = ffidl_load_string(NULL, "bad.ffidl", "const LIMIT: i33 = 1;");
    if (!bad) report("load");

    /* 9. Run the script's top-level statements, with its output passed to a callback. */
    int status = -1;
    if (ffidl_module_run(m, write_prefixed, "| ", &status) != 0) report("run");
    printf("script exit status %d\n", status);

    /* 10. Free in any order: the function handle keeps the libraries loaded. */
    ffidl_module_free(m);
    ffidl_value last = ffidl_f64(3.0), two = ffidl_f64(2.0);
    ffidl_value sq[2] = {last, two};
    ffidl_function_call(pow_fn, sq, 2, &result);
    printf("pow(3, 2) after freeing the module = %g\n", result.as.f64);
    ffidl_function_free(pow_fn);
    return 0;
}
