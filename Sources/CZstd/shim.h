#ifndef SWIFTBUILD_CZSTD_SHIM_H
#define SWIFTBUILD_CZSTD_SHIM_H
#include <zstd.h>
#endif
