#ifndef SWIFTBUILD_CARCHIVE_SHIM_H
#define SWIFTBUILD_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
#endif
