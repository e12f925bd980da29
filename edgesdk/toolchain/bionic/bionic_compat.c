/*
 * bionic_compat.c: lets a glibc host load an Android (bionic) x86_64 shared library unmodified.
 *
 * Built by edgesdk (`edgesdk toolchain install`) with the system C compiler into a library whose
 * soname is "libc.so", the name an Android library lists as DT_NEEDED. Together with
 * forward.S (generated from forward.txt: one `jmp` per C function whose bionic and glibc ABIs
 * agree on x86_64) it defines every symbol such a library imports, under bionic's symbol version
 * "LIBC". This file holds the few that differ between the two C libraries:
 *
 *   - the stdio array __sF (bionic's stdin/stdout/stderr are &__sF[0..2], sizeof(FILE) 152 on
 *     LP64), and the stdio calls that may receive one of those pointers;
 *   - sysconf (bionic numbers its _SC_* names differently);
 *   - __errno (glibc: __errno_location), strerror_r (bionic's is POSIX's int version);
 *   - newlocale (bionic's category masks differ; bionic only has the C locale anyway);
 *   - memalign, posix_memalign: alignments below 64 bytes are raised to 64 (see below);
 *   - the Android-only functions: __system_property_get, android_set_abort_message,
 *     __android_log_vprint, and the FORTIFY helper __strlen_chk.
 *
 * Names that glibc also defines get a local C name and are exported with `.symver NAME@LIBC`
 * (a non-default version), so this file's own calls still reach glibc's function.
 *
 * __system_property_get answers "ro.build.version.sdk" with EDGESDK_ANDROID_SDK (default 34):
 * TFLite turns XNNPACK on only when that property is >= 20; with an empty property it would
 * silently run without it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <locale.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT_AS(local_name, bionic_name) \
    __asm__(".symver " #local_name ", " #bionic_name "@LIBC")
#define COMPAT __attribute__((used, visibility("default")))

/* ---- stdio: bionic's __sF ------------------------------------------------------------------ */

#define BIONIC_FILE_SIZE 152 /* sizeof(FILE) in bionic on LP64 */

/* Only its address is used: the Android library passes &__sF[i] where it means stdin/out/err. */
char __sF[3][BIONIC_FILE_SIZE] __attribute__((aligned(16)));

static FILE *host_file(void *f) {
    if (f == __sF[0]) return stdin;
    if (f == __sF[1]) return stdout;
    if (f == __sF[2]) return stderr;
    return (FILE *)f; /* a FILE* from fopen, which is glibc's own */
}

COMPAT int compat_vfprintf(void *f, const char *fmt, va_list ap) { return vfprintf(host_file(f), fmt, ap); }
EXPORT_AS(compat_vfprintf, vfprintf);

COMPAT int compat_fprintf(void *f, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(host_file(f), fmt, ap);
    va_end(ap);
    return n;
}
EXPORT_AS(compat_fprintf, fprintf);

COMPAT int compat_fputc(int c, void *f) { return fputc(c, host_file(f)); }
EXPORT_AS(compat_fputc, fputc);

COMPAT size_t compat_fwrite(const void *p, size_t size, size_t n, void *f) { return fwrite(p, size, n, host_file(f)); }
EXPORT_AS(compat_fwrite, fwrite);

COMPAT size_t compat_fread(void *p, size_t size, size_t n, void *f) { return fread(p, size, n, host_file(f)); }
EXPORT_AS(compat_fread, fread);

COMPAT int compat_fflush(void *f) { return fflush(f == NULL ? NULL : host_file(f)); }
EXPORT_AS(compat_fflush, fflush);

COMPAT int compat_fileno(void *f) { return fileno(host_file(f)); }
EXPORT_AS(compat_fileno, fileno);

COMPAT int compat_fclose(void *f) {
    FILE *h = host_file(f);
    if (h == stdin || h == stdout || h == stderr) return fflush(h); /* never close the JVM's */
    return fclose(h);
}
EXPORT_AS(compat_fclose, fclose);

/* ---- aligned allocation ------------------------------------------------------------------- */

/*
 * XNNPACK in the Android x86_64 library allocates its operators with memalign(32) (its
 * XNN_ALLOCATION_ALIGNMENT on mobile x86), while its AVX-512 kernels (chosen at run time on a
 * host that has AVX-512) read their parameters from there with 64-byte aligned loads
 * (vmovdqa64): a block that happens not to be 64-byte aligned faults (SIGSEGV, at random; seen
 * with int8 models). Alignments below 64 are raised to 64; the rest is glibc's.
 */
#define COMPAT_MIN_ALIGN 64

COMPAT void *compat_memalign(size_t alignment, size_t size) {
    return memalign(alignment < COMPAT_MIN_ALIGN ? COMPAT_MIN_ALIGN : alignment, size);
}
EXPORT_AS(compat_memalign, memalign);

COMPAT int compat_posix_memalign(void **out, size_t alignment, size_t size) {
    int valid = alignment >= sizeof(void *) && (alignment & (alignment - 1)) == 0;
    if (valid && alignment < COMPAT_MIN_ALIGN) alignment = COMPAT_MIN_ALIGN;
    return posix_memalign(out, alignment, size);
}
EXPORT_AS(compat_posix_memalign, posix_memalign);

/* ---- sysconf: bionic's numbering (bionic/libc/include/bits/sysconf.h) ---------------------- */

COMPAT long compat_sysconf(int name) {
    switch (name) {
    case 0x0006: return sysconf(_SC_CLK_TCK);
    case 0x000b: return sysconf(_SC_OPEN_MAX);
    case 0x0027: /* _SC_PAGESIZE */
    case 0x0028: return sysconf(_SC_PAGESIZE); /* _SC_PAGE_SIZE */
    case 0x0060: return sysconf(_SC_NPROCESSORS_CONF);
    case 0x0061: return sysconf(_SC_NPROCESSORS_ONLN);
    case 0x0062: return sysconf(_SC_PHYS_PAGES);
    case 0x0063: return sysconf(_SC_AVPHYS_PAGES);
    default:
        fprintf(stderr, "bionic_compat: sysconf(0x%04x) is not mapped; returning -1\n", name);
        errno = EINVAL;
        return -1;
    }
}
EXPORT_AS(compat_sysconf, sysconf);

/* ---- errno and strerror_r ------------------------------------------------------------------ */

int *__errno(void) { return __errno_location(); }

int __xpg_strerror_r(int errnum, char *buf, size_t len); /* glibc's POSIX strerror_r */

COMPAT int compat_strerror_r(int errnum, char *buf, size_t len) { return __xpg_strerror_r(errnum, buf, len); }
EXPORT_AS(compat_strerror_r, strerror_r);

/* ---- locale: bionic supports only "C" / "C.UTF-8"; its category masks differ from glibc's -- */

COMPAT locale_t compat_newlocale(int mask, const char *name, locale_t base) {
    (void)mask;
    (void)name;
    if (base != (locale_t)0) freelocale(base);
    return newlocale(LC_ALL_MASK, "C", (locale_t)0);
}
EXPORT_AS(compat_newlocale, newlocale);

/* ---- FORTIFY helper absent from glibc --------------------------------------------------------- */

size_t __strlen_chk(const char *s, size_t object_size) {
    size_t n = strlen(s);
    if (n >= object_size) {
        fprintf(stderr, "bionic_compat: __strlen_chk: string longer than its buffer\n");
        abort();
    }
    return n;
}

/* ---- Android-only functions ----------------------------------------------------------------- */

int __system_property_get(const char *name, char *value) {
    /* PROP_VALUE_MAX is 92 in bionic. */
    value[0] = '\0';
    if (strcmp(name, "ro.build.version.sdk") == 0) {
        const char *sdk = getenv("EDGESDK_ANDROID_SDK");
        snprintf(value, 92, "%s", sdk != NULL && sdk[0] != '\0' ? sdk : "34");
    }
    return (int)strlen(value);
}

void android_set_abort_message(const char *msg) {
    if (msg != NULL) fprintf(stderr, "abort message: %s\n", msg);
}

int __android_log_vprint(int prio, const char *tag, const char *fmt, va_list ap) {
    static const char levels[] = "??VDIWEFS";
    /* Only warnings and worse by default: TFLite logs an INFO line per interpreter. */
    const char *verbose = getenv("EDGESDK_ANDROID_LOG_VERBOSE");
    if (prio < 5 && (verbose == NULL || verbose[0] == '\0')) return 0;
    char level = prio >= 0 && prio < (int)sizeof levels - 1 ? levels[prio] : '?';
    int n = fprintf(stderr, "%c/%s: ", level, tag != NULL ? tag : "");
    n += vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return n + 1;
}
