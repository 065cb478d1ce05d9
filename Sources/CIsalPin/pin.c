#include "isal_pin.h"

int swiftbuild_isal_pinned(void) { return 1; }

// A global function `name` that tail-jumps to `target` (no frame, arguments untouched).
#if defined(__x86_64__)
#define SWIFTBUILD_FORWARD(name, target) \
    __asm__(".text\n.globl " #name "\n.type " #name ",@function\n" #name ":\n\tjmp " #target "@PLT\n.size " #name ",.-" #name "\n");
#elif defined(__aarch64__)
#define SWIFTBUILD_FORWARD(name, target) \
    __asm__(".text\n.globl " #name "\n.type " #name ",%function\n" #name ":\n\tb " #target "\n.size " #name ",.-" #name "\n");
#else
#error "CIsalPin: unsupported architecture"
#endif

// Levels 0-2 (streaming and stateless) and their hash.
SWIFTBUILD_FORWARD(isal_deflate_body, isal_deflate_body_base)
SWIFTBUILD_FORWARD(isal_deflate_finish, isal_deflate_finish_base)
SWIFTBUILD_FORWARD(isal_deflate_hash_lvl0, isal_deflate_hash_base)
SWIFTBUILD_FORWARD(isal_deflate_hash_lvl1, isal_deflate_hash_base)
SWIFTBUILD_FORWARD(isal_deflate_hash_lvl2, isal_deflate_hash_base)
SWIFTBUILD_FORWARD(isal_deflate_icf_body_lvl1, isal_deflate_icf_body_hash_hist_base)
SWIFTBUILD_FORWARD(isal_deflate_icf_body_lvl2, isal_deflate_icf_body_hash_hist_base)
SWIFTBUILD_FORWARD(isal_deflate_icf_finish_lvl1, isal_deflate_icf_finish_hash_hist_base)
SWIFTBUILD_FORWARD(isal_deflate_icf_finish_lvl2, isal_deflate_icf_finish_hash_hist_base)
SWIFTBUILD_FORWARD(isal_update_histogram, isal_update_histogram_base)
// Level 3 and the shared encoders (not used by the layer writer, pinned so no path depends on the CPU).
SWIFTBUILD_FORWARD(isal_deflate_icf_body_lvl3, icf_body_hash1_fillgreedy_lazy)
SWIFTBUILD_FORWARD(isal_deflate_icf_finish_lvl3, isal_deflate_icf_finish_hash_map_base)
SWIFTBUILD_FORWARD(isal_deflate_hash_lvl3, isal_deflate_hash_base)
SWIFTBUILD_FORWARD(encode_deflate_icf, encode_deflate_icf_base)
SWIFTBUILD_FORWARD(set_long_icf_fg, set_long_icf_fg_base)
SWIFTBUILD_FORWARD(gen_icf_map_lh1, gen_icf_map_h1_base)
