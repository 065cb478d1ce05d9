#ifndef SWIFTBUILD_CHTTP_H
#define SWIFTBUILD_CHTTP_H
#include <stddef.h>

/// Downloads `url` (http or https, redirects followed) into the open file `fd`.
/// libcurl is loaded with dlopen on first use, so programs that never download do not pay for loading it
/// (and its dependencies) at start-up. Returns 0 on success; otherwise writes a message into `error`.
/// `status` receives the HTTP status, `filetime` the Last-Modified time in seconds since the epoch or -1.
int swiftbuild_http_get(const char *url, int fd, long *status, long long *filetime, char *error, size_t error_size);

#endif
