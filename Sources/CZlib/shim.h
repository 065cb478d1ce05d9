#ifndef SWIFTBUILD_CZLIB_SHIM_H
#define SWIFTBUILD_CZLIB_SHIM_H
#include <zlib.h>

// deflateInit2 and inflateInit2 are macros, which Swift cannot import.
static inline int swiftbuild_deflateInit2(z_streamp strm, int level, int method, int windowBits,
                                          int memLevel, int strategy) {
    return deflateInit2(strm, level, method, windowBits, memLevel, strategy);
}
static inline int swiftbuild_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}
#endif
