#ifndef SWIFTBUILD_ISAL_PIN_H
#define SWIFTBUILD_ISAL_PIN_H

// ISA-L picks each deflate routine from the CPU (CPUID) at run time, and its routines do not all write the
// same bytes: level 3 differs between SSE4.2, AVX2 and AVX-512 machines, levels 0-2 between x86 machines with
// and without SSE4.2 and arm64. Layer blobs must depend on the input only, so this target defines the
// dispatched entry points of Debian's libisal2 (2.30) in the program itself: the library calls them through
// its PLT, the program's definitions win, and each forwards to the portable C ("_base") routine, which
// writes the same bytes on every CPU. These names are the library's internal symbols, not its API: the
// layer writer checks the bytes of a fixed input at start-up and falls back to zlib if they are not the
// expected ones (another libisal version).

// Always 1; referencing it keeps the forwarders linked into the program.
int swiftbuild_isal_pinned(void);

#endif
