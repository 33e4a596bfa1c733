/* capi_test.c - the C API against real native code (tests/fixtures/run_fixture.c and
 * libc), compiled with gcc and run by crates/runtime/tests/capi.rs:
 *   capi_test BINDINGS_FILE
 * Exercises every value tag in and out, structs by value both ways, variadic calls,
 * errors and their kinds and locations, misuse that must fail cleanly, both backends,
 * freeing in any order, and calls on one module from many threads. Prints one line per
 * failed check and exits 1 if any failed. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ffidl.h"

/* The C layouts of the declared types. */
typedef struct { double x, y; } Point;
typedef struct { int32_t a; int8_t b; int64_t c; } Mixed;
typedef struct { Point min, max; } Rect;
typedef struct { uint8_t bytes[3]; uint16_t tag; } Tagged;
typedef union { int64_t i; double f; } Number;

_Static_assert(sizeof(ffidl_value) == 32, "ffidl_value is 32 bytes on 64-bit targets");

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        checks++;                                                                         \
        if (!(cond)) {                                                                    \
            failures++;                                                                   \
            printf("FAIL %s:%d: %s\n  last error [%s]: %s\n", __FILE__, __LINE__, #cond, \
                   ffidl_error_kind_name(ffidl_last_error_kind()), ffidl_last_error());   \
        }                                                                                 \
    } while (0)

/* The call failed with `kind` and a message containing `text`. */
#define CHECK_ERROR(rc, kind, text)                                                \
    do {                                                                           \
        CHECK((rc) == -1);                                                         \
        CHECK(ffidl_last_error_kind() == (kind));                                  \
        CHECK(strstr(ffidl_last_error_message(), (text)) != NULL);                 \
    } while (0)

static const char *bindings;

/* Callbacks the fixture calls: plain C function pointers passed as FFIDL_PTR. */
static int8_t sub_i8(int8_t a, int8_t b) { return (int8_t)(a - b); }
static uint8_t sub_u8(uint8_t a, uint8_t b) { return (uint8_t)(a - b); }
static int16_t sub_i16(int16_t a, int16_t b) { return (int16_t)(a - b); }
static uint16_t sub_u16(uint16_t a, uint16_t b) { return (uint16_t)(a - b); }
static _Bool xor_bool(_Bool a, _Bool b) { return a != b; }
static int64_t sub_i64(int64_t a, int64_t b) { return a - b; }
static float mul_f32(float a, float b) { return a * b; }
static double mul_f64(double a, double b) { return a * b; }
static void *second_ptr(void *a, void *b) { (void)a; return b; }

static ffidl_module *load(ffidl_backend backend) {
    ffidl_runtime *rt = ffidl_runtime_new_with_backend(backend);
    CHECK(rt != NULL);
    ffidl_module *m = ffidl_load_file(rt, bindings);
    ffidl_runtime_free(rt);
    if (!m) {
        printf("FAIL: cannot load %s:\n%s\n", bindings, ffidl_last_error());
        exit(1);
    }
    CHECK(ffidl_last_error_kind() == FFIDL_OK);
    CHECK(strcmp(ffidl_last_error(), "") == 0);
    return m;
}

/* Calls `name` and returns its result (a failed call is a failed check). */
static ffidl_value call(ffidl_module *m, const char *name, const ffidl_value *args, size_t n) {
    ffidl_value r;
    int rc = ffidl_call(m, name, args, n, &r);
    if (rc != 0) printf("  (while calling %s)\n", name);
    CHECK(rc == 0);
    return r;
}

static void every_tag_in_and_out(ffidl_module *m) {
    ffidl_value r;
    ffidl_value add[2] = {ffidl_i32(40), ffidl_i32(2)};
    r = call(m, "fx_add_i32", add, 2);
    CHECK(r.tag == FFIDL_I32 && r.as.i32 == 42);
    /* Any integer tag whose value fits converts. */
    ffidl_value mixed_ints[2] = {ffidl_u16(65535), ffidl_i64(-65535)};
    r = call(m, "fx_add_i32", mixed_ints, 2);
    CHECK(r.tag == FFIDL_I32 && r.as.i32 == 0);

    ffidl_value v = ffidl_u8(255);
    r = call(m, "fx_echo_u8", &v, 1);
    CHECK(r.tag == FFIDL_U8 && r.as.u8 == 255);
    v = ffidl_i8(-128);
    r = call(m, "fx_neg_i8", &v, 1);
    CHECK(r.tag == FFIDL_I8 && r.as.i8 == -128);
    v = ffidl_f32(3.0f);
    r = call(m, "fx_half_f32", &v, 1);
    CHECK(r.tag == FFIDL_F32 && r.as.f32 == 1.5f);
    v = ffidl_i64(1LL << 40);
    r = call(m, "fx_is_even", &v, 1);
    CHECK(r.tag == FFIDL_BOOL && r.as.b == true);
    v = ffidl_u32(0x01020304u);
    r = call(m, "htonl", &v, 1);
    CHECK(r.tag == FFIDL_U32 && r.as.u32 == 0x04030201u);

    /* cstr in (borrowed) and out (owned copy, NULL stays NULL). */
    ffidl_value count[2] = {ffidl_cstr("banana"), ffidl_i8('a')};
    r = call(m, "fx_count_chars", count, 2);
    CHECK(r.tag == FFIDL_U64 && r.as.u64 == 3);
    r = call(m, "fx_greeting", NULL, 0);
    CHECK(r.tag == FFIDL_CSTR && strcmp(r.as.cstr, "hello from C") == 0);
    ffidl_value_free(&r);
    CHECK(r.tag == FFIDL_VOID);
    r = call(m, "fx_null_string", NULL, 0);
    CHECK(r.tag == FFIDL_CSTR && r.as.cstr == NULL);
    ffidl_value_free(&r);
    /* A NULL cstr argument and a FFIDL_PTR to a string both reach C. */
    ffidl_value by_ptr[2] = {ffidl_ptr("aaa"), ffidl_i8('a')};
    r = call(m, "fx_count_chars", by_ptr, 2);
    CHECK(r.as.u64 == 3);

    /* Pointers: out-parameters and a struct read through a pointer; void results. */
    int32_t out = 0;
    ffidl_value set[2] = {ffidl_ptr(&out), ffidl_i32(99)};
    r = call(m, "fx_set_i32", set, 2);
    CHECK(r.tag == FFIDL_VOID && out == 99);
    Rect area_of = {{1, 1}, {4, 3}};
    v = ffidl_ptr(&area_of);
    r = call(m, "fx_rect_area", &v, 1);
    CHECK(r.tag == FFIDL_F64 && r.as.f64 == 6.0);

    /* Narrow and wide kinds through C callbacks (C function pointers as FFIDL_PTR). */
    ffidl_value a[3];
    a[0] = ffidl_ptr((void *)sub_i8), a[1] = ffidl_i8(-100), a[2] = ffidl_i8(28);
    r = call(m, "fx_call_i8", a, 3);
    CHECK(r.tag == FFIDL_I8 && r.as.i8 == -128);
    a[0] = ffidl_ptr((void *)sub_u8), a[1] = ffidl_u8(1), a[2] = ffidl_u8(2);
    r = call(m, "fx_call_u8", a, 3);
    CHECK(r.tag == FFIDL_U8 && r.as.u8 == 255);
    a[0] = ffidl_ptr((void *)sub_i16), a[1] = ffidl_i16(-30000), a[2] = ffidl_i16(2768);
    r = call(m, "fx_call_i16", a, 3);
    CHECK(r.tag == FFIDL_I16 && r.as.i16 == -32768);
    a[0] = ffidl_ptr((void *)sub_u16), a[1] = ffidl_u16(0), a[2] = ffidl_u16(1);
    r = call(m, "fx_call_u16", a, 3);
    CHECK(r.tag == FFIDL_U16 && r.as.u16 == 65535);
    a[0] = ffidl_ptr((void *)xor_bool), a[1] = ffidl_bool(true), a[2] = ffidl_bool(false);
    r = call(m, "fx_call_bool", a, 3);
    CHECK(r.tag == FFIDL_BOOL && r.as.b == true);
    a[0] = ffidl_ptr((void *)sub_i64), a[1] = ffidl_i64(INT64_MIN + 1), a[2] = ffidl_i64(1);
    r = call(m, "fx_call_i64", a, 3);
    CHECK(r.tag == FFIDL_I64 && r.as.i64 == INT64_MIN);
    a[0] = ffidl_ptr((void *)mul_f32), a[1] = ffidl_f32(1.5f), a[2] = ffidl_f32(-4.0f);
    r = call(m, "fx_call_f32", a, 3);
    CHECK(r.tag == FFIDL_F32 && r.as.f32 == -6.0f);
    a[0] = ffidl_ptr((void *)mul_f64), a[1] = ffidl_f64(0.5), a[2] = ffidl_f32(3.0f);
    r = call(m, "fx_call_f64", a, 3); /* an f32 value converts to an f64 parameter */
    CHECK(r.tag == FFIDL_F64 && r.as.f64 == 1.5);
    a[0] = ffidl_ptr((void *)second_ptr), a[1] = ffidl_ptr(NULL), a[2] = ffidl_ptr(&out);
    r = call(m, "fx_call_ptr", a, 3);
    CHECK(r.tag == FFIDL_PTR && r.as.ptr == &out);
}

static void structs_by_value(ffidl_module *m) {
    size_t size = 0;
    CHECK(ffidl_type_size(m, "Point", &size) == 0 && size == sizeof(Point));
    CHECK(ffidl_type_size(m, "Rect", &size) == 0 && size == sizeof(Rect));
    CHECK(ffidl_type_size(m, "Tagged", &size) == 0 && size == sizeof(Tagged));

    Point p = {1.5, -2.0};
    ffidl_value scale[2] = {FFIDL_STRUCT_OF("Point", &p), ffidl_f64(2.0)};
    ffidl_value r = call(m, "fx_point_scale", scale, 2);
    CHECK(r.tag == FFIDL_STRUCT && strcmp(r.as.s.type_name, "Point") == 0);
    CHECK(r.as.s.size == sizeof(Point) && ((uintptr_t)r.as.s.bytes & 15) == 0);
    Point scaled = *(Point *)r.as.s.bytes; /* 16-byte aligned: castable */
    CHECK(scaled.x == 3.0 && scaled.y == -4.0);
    /* A result passes straight back in as an argument. */
    ffidl_value r2 = call(m, "fx_point_sum", &r, 1);
    CHECK(r2.tag == FFIDL_F64 && r2.as.f64 == -1.0);
    ffidl_value_free(&r);
    CHECK(r.tag == FFIDL_VOID);

    /* The result may overwrite an argument: it is written after the arguments are read. */
    ffidl_value twice[2] = {FFIDL_STRUCT_OF("Point", &p), ffidl_f64(10.0)};
    CHECK(ffidl_call(m, "fx_point_scale", twice, 2, &twice[0]) == 0);
    CHECK(twice[0].tag == FFIDL_STRUCT && ((Point *)twice[0].as.s.bytes)->x == 15.0);
    ffidl_value_free(&twice[0]);

    /* Mixed integer eightbytes, both ways. */
    ffidl_value make[3] = {ffidl_i32(7), ffidl_i8(-2), ffidl_i64(1LL << 40)};
    r = call(m, "fx_mixed_make", make, 3);
    Mixed mx;
    memcpy(&mx, r.as.s.bytes, sizeof mx);
    CHECK(mx.a == 7 && mx.b == -2 && mx.c == (1LL << 40));
    r2 = call(m, "fx_mixed_total", &r, 1);
    CHECK(r2.tag == FFIDL_I64 && r2.as.i64 == 5 + (1LL << 40));
    ffidl_value_free(&r);

    /* 32 bytes: passed and returned through memory. */
    Rect rect = {{0, 0}, {2, 3}};
    ffidl_value grow[2] = {FFIDL_STRUCT_OF("Rect", &rect), ffidl_f64(1.0)};
    r = call(m, "fx_rect_grow", grow, 2);
    Rect grown = *(Rect *)r.as.s.bytes;
    CHECK(grown.min.x == -1 && grown.min.y == -1 && grown.max.x == 3 && grown.max.y == 4);
    CHECK(rect.max.x == 2); /* the argument was copied, not changed */
    ffidl_value_free(&r);

    /* An array inside a struct, and a union. */
    ffidl_value tag = ffidl_u16(0xBEEF);
    r = call(m, "fx_tagged", &tag, 1);
    Tagged t;
    memcpy(&t, r.as.s.bytes, sizeof t);
    CHECK(t.bytes[0] == 1 && t.bytes[2] == 3 && t.tag == 0xBEEF);
    ffidl_value_free(&r);
    Number n = {.f = 1.0};
    ffidl_value num = FFIDL_STRUCT_OF("Number", &n);
    r = call(m, "fx_number_bits", &num, 1);
    CHECK(r.tag == FFIDL_I64 && r.as.i64 == 0x3FF0000000000000LL);
}

static void constants(ffidl_module *m) {
    ffidl_value v;
    CHECK(ffidl_constant(m, "ANSWER", &v) == 0 && v.tag == FFIDL_I64 && v.as.i64 == 42);
    CHECK(ffidl_constant(m, "GREETING", &v) == 0 && v.tag == FFIDL_CSTR);
    CHECK(strcmp(v.as.cstr, "hi from a constant") == 0);
    ffidl_value_free(&v);
    CHECK(ffidl_enum_value(m, "Mode", "Both", &v) == 0 && v.tag == FFIDL_U16 && v.as.u16 == 3);
    CHECK_ERROR(ffidl_constant(m, "ANSWR", &v), FFIDL_ERROR_UNKNOWN_NAME, "ANSWR");
    CHECK(v.tag == FFIDL_VOID);
    CHECK_ERROR(ffidl_enum_value(m, "Mode", "Execute", &v), FFIDL_ERROR_UNKNOWN_NAME,
                "Execute");
    CHECK_ERROR(ffidl_enum_value(m, "Point", "x", &v), FFIDL_ERROR_VALUE_MISMATCH, "Point");
    CHECK_ERROR(ffidl_enum_value(m, "Mode", NULL, &v), FFIDL_ERROR_INVALID_ARGUMENT, "NULL");
    CHECK(ffidl_constant(m, "ANSWER", NULL) == 0);
}

static void variadic_calls(ffidl_module *m) {
    ffidl_value ints[10] = {ffidl_i32(9)};
    for (int i = 1; i <= 9; i++) ints[i] = i % 2 ? ffidl_i16((int16_t)i) : ffidl_u8((uint8_t)i);
    ffidl_value r = call(m, "sum_ints", ints, 10);
    CHECK(r.tag == FFIDL_I32 && r.as.i32 == 45);
    ffidl_value doubles[11] = {ffidl_i32(10)};
    for (int i = 1; i <= 10; i++) doubles[i] = i % 2 ? ffidl_f64(i) : ffidl_f32((float)i);
    r = call(m, "sum_doubles", doubles, 11);
    CHECK(r.tag == FFIDL_F64 && r.as.f64 == 55.0);
    ffidl_value pairs[5] = {ffidl_i32(2), ffidl_bool(true), ffidl_f64(2.5), ffidl_i8(-3),
                            ffidl_f32(4.0f)};
    r = call(m, "sum_mixed", pairs, 5);
    CHECK(r.tag == FFIDL_I64 && r.as.i64 == 1000 + 2 - 3000 + 4);
    /* Fewer than the fixed parameters, and a struct in a variadic position, fail. */
    CHECK_ERROR(ffidl_call(m, "sum_ints", NULL, 0, &r), FFIDL_ERROR_VALUE_MISMATCH,
                "takes 1 arguments, 0 given");
    Point p = {0, 0};
    ffidl_value with_struct[2] = {ffidl_i32(1), FFIDL_STRUCT_OF("Point", &p)};
    CHECK_ERROR(ffidl_call(m, "sum_ints", with_struct, 2, &r), FFIDL_ERROR_VALUE_MISMATCH,
                "cannot be a variadic argument");
}

static void load_errors(void) {
    const char *file;
    size_t line = 0, column = 0;
    CHECK(ffidl_load_file(NULL, "/nonexistent/dir/x.ffidl") == NULL);
    CHECK(ffidl_last_error_kind() == FFIDL_ERROR_IO);
    CHECK(ffidl_last_error_location(&file, &line, &column) == 0);
    CHECK(ffidl_load_file(NULL, "/nonexistent/\xff.ffidl") == NULL); /* not UTF-8: fine */
    CHECK(ffidl_last_error_kind() == FFIDL_ERROR_IO);

    CHECK(ffidl_load_string(NULL, "parse.ffidl", "let x: i32 = ;") == NULL);
    CHECK(ffidl_last_error_kind() == FFIDL_ERROR_PARSE);
    CHECK(ffidl_last_error_location(&file, &line, &column) == 1);
    CHECK(strcmp(file, "parse.ffidl") == 0 && line == 1 && column == 14);
    CHECK(strstr(ffidl_last_error(), "parse.ffidl") != NULL); /* the rendered report */

    CHECK(ffidl_load_string(NULL, "type.ffidl", "const A: i32 = 1;\nconst B: i33 = 2;") == NULL);
    CHECK(ffidl_last_error_kind() == FFIDL_ERROR_TYPE);
    CHECK(ffidl_last_error_location(NULL, &line, NULL) == 1 && line == 2);

    CHECK(ffidl_load_string(NULL, "lib.ffidl",
                            "library nope = \"libffidl-no-such-library.so\";\n"
                            "extern nope { fn f(); }") == NULL);
    CHECK(ffidl_last_error_kind() == FFIDL_ERROR_LIBRARY_NOT_FOUND);
    CHECK(ffidl_load_string(NULL, "sym.ffidl",
                            "library c = \"libc.so.6\";\n"
                            "extern c { fn ffidl_no_such_symbol(); }") == NULL);
    CHECK(ffidl_last_error_kind() == FFIDL_ERROR_SYMBOL_NOT_FOUND);
    CHECK(ffidl_last_error_location(NULL, &line, &column) == 1 && line == 2);

    /* Every kind has a name; a success clears the last error. */
    CHECK(strcmp(ffidl_error_kind_name(FFIDL_ERROR_SYMBOL_NOT_FOUND), "symbol-not-found") == 0);
    CHECK(strcmp(ffidl_error_kind_name(FFIDL_ERROR_INVALID_ARGUMENT), "invalid-argument") == 0);
    CHECK(strcmp(ffidl_error_kind_name((ffidl_error_kind)55), "unknown") == 0);
    ffidl_module *ok = ffidl_load_string(NULL, "ok.ffidl", "const A: i32 = 1;");
    CHECK(ok != NULL && ffidl_last_error_kind() == FFIDL_OK);
    CHECK(strcmp(ffidl_last_error(), "") == 0 && strcmp(ffidl_last_error_message(), "") == 0);
    ffidl_module_free(ok);
}

static void misuse(ffidl_module *m) {
    ffidl_value r, args[3];
    Point p = {1, 2};
    Mixed mx = {0};

    CHECK(ffidl_runtime_new_with_backend((ffidl_backend)7) == NULL);
    CHECK(ffidl_last_error_kind() == FFIDL_ERROR_INVALID_ARGUMENT);
    CHECK(ffidl_load_file(NULL, NULL) == NULL);
    CHECK(ffidl_last_error_kind() == FFIDL_ERROR_INVALID_ARGUMENT);
    CHECK(ffidl_load_string(NULL, "x.ffidl", NULL) == NULL);
    CHECK(ffidl_last_error_kind() == FFIDL_ERROR_INVALID_ARGUMENT);
    CHECK(ffidl_load_string(NULL, "bad\xff.ffidl", "") == NULL);
    CHECK_ERROR(-1, FFIDL_ERROR_INVALID_ARGUMENT, "not valid UTF-8");

    args[0] = ffidl_i32(1), args[1] = ffidl_i32(2);
    CHECK_ERROR(ffidl_call(NULL, "fx_add_i32", args, 2, &r), FFIDL_ERROR_INVALID_ARGUMENT,
                "module is NULL");
    CHECK(r.tag == FFIDL_VOID);
    CHECK_ERROR(ffidl_call(m, NULL, args, 2, &r), FFIDL_ERROR_INVALID_ARGUMENT, "name is NULL");
    CHECK_ERROR(ffidl_call(m, "fx_add_i32", NULL, 2, &r), FFIDL_ERROR_INVALID_ARGUMENT,
                "argument array is NULL");
    CHECK_ERROR(ffidl_call(m, "fx_ad_i32", args, 2, &r), FFIDL_ERROR_UNKNOWN_NAME,
                "did you mean `fx_add_i32`?");
    CHECK_ERROR(ffidl_call(m, "fx_add_i32", args, 1, &r), FFIDL_ERROR_VALUE_MISMATCH,
                "takes 2 arguments, 1 given");
    args[2] = ffidl_i32(3);
    CHECK_ERROR(ffidl_call(m, "fx_add_i32", args, 3, &r), FFIDL_ERROR_VALUE_MISMATCH,
                "takes 2 arguments, 3 given");
    args[1] = ffidl_f64(2.0);
    CHECK_ERROR(ffidl_call(m, "fx_add_i32", args, 2, &r), FFIDL_ERROR_VALUE_MISMATCH,
                "argument 2");
    args[1].tag = (ffidl_tag)99;
    CHECK_ERROR(ffidl_call(m, "fx_add_i32", args, 2, &r), FFIDL_ERROR_INVALID_ARGUMENT,
                "99 is not an ffidl_tag");
    args[1].tag = FFIDL_VOID;
    CHECK_ERROR(ffidl_call(m, "fx_add_i32", args, 2, &r), FFIDL_ERROR_VALUE_MISMATCH, "void");
    args[0] = ffidl_i32(300);
    CHECK_ERROR(ffidl_call(m, "fx_echo_u8", args, 1, &r), FFIDL_ERROR_VALUE_MISMATCH,
                "300 does not fit `u8`");
    args[0] = ffidl_cstr("x"), args[1] = ffidl_i32(1);
    CHECK_ERROR(ffidl_call(m, "fx_set_i32", args, 2, &r), FFIDL_ERROR_VALUE_MISMATCH,
                "argument 1");

    /* Struct values: wrong type, unknown type, wrong size, NULL name or bytes. */
    args[1] = ffidl_f64(2.0);
    args[0] = FFIDL_STRUCT_OF("Mixed", &mx);
    CHECK_ERROR(ffidl_call(m, "fx_point_scale", args, 2, &r), FFIDL_ERROR_VALUE_MISMATCH,
                "expected `Point`, got a `Mixed` value");
    args[0] = FFIDL_STRUCT_OF("Pointe", &p);
    CHECK_ERROR(ffidl_call(m, "fx_point_scale", args, 2, &r), FFIDL_ERROR_UNKNOWN_NAME,
                "no type named `Pointe`");
    args[0] = ffidl_struct_value("Point", &p, 12);
    CHECK_ERROR(ffidl_call(m, "fx_point_scale", args, 2, &r), FFIDL_ERROR_VALUE_MISMATCH,
                "`Point` is 16 bytes, the struct value has 12");
    args[0] = ffidl_struct_value(NULL, &p, sizeof p);
    CHECK_ERROR(ffidl_call(m, "fx_point_scale", args, 2, &r), FFIDL_ERROR_INVALID_ARGUMENT,
                "type name is NULL");
    args[0] = ffidl_struct_value("Point", NULL, sizeof p);
    CHECK_ERROR(ffidl_call(m, "fx_point_scale", args, 2, &r), FFIDL_ERROR_INVALID_ARGUMENT,
                "bytes are NULL");
    args[0] = ffidl_f64(1.0);
    CHECK_ERROR(ffidl_call(m, "fx_point_scale", args, 2, &r), FFIDL_ERROR_VALUE_MISMATCH,
                "expected `Point`");

    /* Other entry points. */
    size_t size = 0;
    CHECK_ERROR(ffidl_type_size(m, "f64", &size), FFIDL_ERROR_VALUE_MISMATCH,
                "not a struct, union or array");
    CHECK_ERROR(ffidl_type_size(m, "Nope", &size), FFIDL_ERROR_UNKNOWN_NAME, "Nope");
    CHECK_ERROR(ffidl_type_size(m, "Point", NULL), FFIDL_ERROR_INVALID_ARGUMENT, "NULL");
    CHECK_ERROR(ffidl_type_size(NULL, "Point", &size), FFIDL_ERROR_INVALID_ARGUMENT, "NULL");
    CHECK(ffidl_function_get(m, "nope") == NULL);
    CHECK(ffidl_last_error_kind() == FFIDL_ERROR_UNKNOWN_NAME);
    CHECK(ffidl_function_get(NULL, "fx_add_i32") == NULL);
    CHECK(ffidl_last_error_kind() == FFIDL_ERROR_INVALID_ARGUMENT);
    CHECK_ERROR(ffidl_function_call(NULL, NULL, 0, &r), FFIDL_ERROR_INVALID_ARGUMENT,
                "function is NULL");
    CHECK_ERROR(ffidl_module_run(NULL, NULL, NULL, NULL), FFIDL_ERROR_INVALID_ARGUMENT,
                "module is NULL");
    CHECK(ffidl_module_backend(NULL) == FFIDL_BACKEND_DEFAULT);

    /* NULL results, NULL frees, and freeing values that own nothing, all do nothing. */
    args[0] = ffidl_i32(1), args[1] = ffidl_i32(2);
    CHECK(ffidl_call(m, "fx_add_i32", args, 2, NULL) == 0);
    CHECK(ffidl_call(m, "fx_greeting", NULL, 0, NULL) == 0);
    ffidl_value_free(NULL);
    ffidl_value plain = ffidl_i32(5);
    ffidl_value_free(&plain);
    CHECK(plain.tag == FFIDL_VOID);
    ffidl_module_free(NULL);
    ffidl_function_free(NULL);
    ffidl_runtime_free(NULL);
}

static struct {
    char *text;
    size_t len;
} captured;

static void capture(void *user, const char *bytes, size_t len) {
    CHECK(user == &captured);
    captured.text = realloc(captured.text, captured.len + len + 1);
    memcpy(captured.text + captured.len, bytes, len);
    captured.len += len;
    captured.text[captured.len] = 0;
}

static void running_scripts(ffidl_module *m) {
    int status = -7;
    CHECK_ERROR(ffidl_module_run(m, capture, &captured, &status), FFIDL_ERROR_RUNTIME,
                "assert");
    CHECK(status == -7);
    size_t line = 0;
    CHECK(ffidl_last_error_location(NULL, &line, NULL) == 1 && line == 64);
    CHECK(captured.text != NULL && strcmp(captured.text, "run: 42\n") == 0);
    free(captured.text);

    ffidl_module *ok = ffidl_load_string(NULL, "exit.ffidl", "print(\"bye\");\nexit(3);");
    CHECK(ok != NULL);
    captured.text = NULL, captured.len = 0;
    CHECK(ffidl_module_run(ok, capture, &captured, &status) == 0 && status == 3);
    CHECK(captured.text != NULL && strcmp(captured.text, "bye\n") == 0);
    free(captured.text);
    ffidl_module_free(ok);

    /* No writer: the output goes to stdout (crates/runtime/tests/capi.rs looks for it). */
    ok = ffidl_load_string(NULL, "out.ffidl", "print(\"script output on stdout\", 1 + 1);");
    fflush(stdout);
    CHECK(ffidl_module_run(ok, NULL, NULL, &status) == 0 && status == 0);
    ffidl_module_free(ok);
}

static void backends_and_lifetimes(void) {
    ffidl_backend backends[2] = {FFIDL_BACKEND_CRANELIFT, FFIDL_BACKEND_ASM};
    for (int i = 0; i < 2; i++) {
        ffidl_module *m = load(backends[i]);
        CHECK(ffidl_module_backend(m) == backends[i]);
        ffidl_function *scale = ffidl_function_get(m, "fx_point_scale");
        ffidl_function *greet = ffidl_function_get(m, "fx_greeting");
        CHECK(scale != NULL && greet != NULL);
        /* The module goes first; the handles keep its library loaded. */
        ffidl_module_free(m);
        Point p = {2, 3};
        ffidl_value args[2] = {FFIDL_STRUCT_OF("Point", &p), ffidl_f64(-1)};
        ffidl_value r;
        CHECK(ffidl_function_call(scale, args, 2, &r) == 0);
        CHECK(r.tag == FFIDL_STRUCT && ((Point *)r.as.s.bytes)->y == -3);
        ffidl_value_free(&r);
        ffidl_function_free(scale);
        CHECK(ffidl_function_call(greet, NULL, 0, &r) == 0);
        CHECK(r.tag == FFIDL_CSTR && strcmp(r.as.cstr, "hello from C") == 0);
        ffidl_value_free(&r);
        ffidl_function_free(greet);
    }
}

#define THREADS 8
#define CALLS 2000

struct worker {
    ffidl_module *module;
    ffidl_function *add;
    int id;
    int bad;
};

static void *work(void *arg) {
    struct worker *w = arg;
    char name[32];
    for (int i = 0; i < CALLS; i++) {
        ffidl_value args[2] = {ffidl_i32(w->id * 100000), ffidl_i32(i)};
        ffidl_value r;
        if (ffidl_function_call(w->add, args, 2, &r) != 0 || r.as.i32 != w->id * 100000 + i)
            w->bad++;
        Point p = {w->id, i};
        ffidl_value scale[2] = {FFIDL_STRUCT_OF("Point", &p), ffidl_f64(2)};
        if (ffidl_call(w->module, "fx_point_scale", scale, 2, &r) != 0) {
            w->bad++;
            continue;
        }
        Point q = *(Point *)r.as.s.bytes;
        ffidl_value_free(&r);
        if (q.x != 2.0 * w->id || q.y != 2.0 * i) w->bad++;
        /* Each thread sees its own last error. */
        if (i % 100 == 0) {
            snprintf(name, sizeof name, "missing_%d", w->id);
            if (ffidl_call(w->module, name, NULL, 0, &r) != -1) w->bad++;
            if (strstr(ffidl_last_error_message(), name) == NULL) w->bad++;
        }
    }
    return NULL;
}

static void threads(ffidl_module *m) {
    pthread_t tids[THREADS];
    struct worker workers[THREADS];
    ffidl_function *add = ffidl_function_get(m, "fx_add_i32");
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){m, add, i, 0};
        CHECK(pthread_create(&tids[i], NULL, work, &workers[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tids[i], NULL);
        CHECK(workers[i].bad == 0);
    }
    ffidl_function_free(add);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: capi_test BINDINGS_FILE\n");
        return 2;
    }
    bindings = argv[1];
    ffidl_module *m = load(FFIDL_BACKEND_DEFAULT);
    every_tag_in_and_out(m);
    structs_by_value(m);
    variadic_calls(m);
    constants(m);
    load_errors();
    misuse(m);
    running_scripts(m);
    backends_and_lifetimes();
    threads(m);
    ffidl_module_free(m);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
