#ifndef SWIFTBUILD_CCRYPTO_SHIM_H
#define SWIFTBUILD_CCRYPTO_SHIM_H
// Only OpenSSL's EVP digest interface is used: it picks the CPU's SHA extensions (SHA-NI) at run time.
#include <openssl/evp.h>
#endif
