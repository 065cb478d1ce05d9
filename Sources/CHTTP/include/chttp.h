#ifndef SWIFTBUILD_CHTTP_H
#define SWIFTBUILD_CHTTP_H
#include <stddef.h>

// libcurl is loaded with dlopen on first use, so programs that never talk HTTP do not pay for loading it
// (and its dependencies) at start-up.

/// Receives a piece of a response: a header line (with its CRLF) or body bytes. Returns 0 to go on, non-zero to
/// stop the transfer.
typedef int (*swiftbuild_http_data_fn)(const char *data, size_t size, void *context);

/// One request of the general client (the registry client's transport).
struct swiftbuild_http_request {
    const char *method;                 // "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"
    const char *url;
    const char *const *headers;         // "Name: value" lines
    size_t header_count;
    int body_fd;                        // >= 0: the request body is read from this descriptor...
    long long body_length;              // ...this many bytes (-1: unknown, sent chunked)
    const void *body_bytes;             // otherwise, if not NULL: the body is these bytes
    size_t body_bytes_length;
    swiftbuild_http_data_fn on_header;  // every response header line, of every response (redirects too)
    swiftbuild_http_data_fn on_body;    // body bytes, as they arrive (never the body of a HEAD)
    void *context;                      // passed to both callbacks
    int follow_redirects;
    long connect_timeout_seconds;       // 0: libcurl's default
    long low_speed_seconds;             // abort if under 1 byte/s for this long (0: never)
};

/// A libcurl transfer handle: reused for several requests (one at a time), it keeps connections open, so
/// requests to the same registry skip the TCP and TLS handshakes. NULL (with a message) if libcurl is missing.
void *swiftbuild_http_handle_new(char *error, size_t error_size);
void swiftbuild_http_handle_free(void *handle);

/// Performs one request with libcurl on `handle` (from swiftbuild_http_handle_new; used by one thread at a
/// time). Returns 0 when an HTTP response was received (any status, stored in `status`); -1 with a message in
/// `error` when there was none (connection, TLS, timeout, or a callback stopped it: then `stopped` is set).
int swiftbuild_http_perform(void *handle, const struct swiftbuild_http_request *request, long *status,
                            int *stopped, char *error, size_t error_size);

#endif
