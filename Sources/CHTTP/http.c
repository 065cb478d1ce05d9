#include "chttp.h"
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

// libcurl's stable ABI values (curl/curl.h is not needed to build).
enum {
    OPT_WRITEDATA = 10001, OPT_URL = 10002, OPT_ERRORBUFFER = 10010, OPT_USERAGENT = 10018,
    OPT_WRITEFUNCTION = 20011, OPT_FOLLOWLOCATION = 52, OPT_MAXREDIRS = 68, OPT_NOSIGNAL = 99,
    OPT_READDATA = 10009, OPT_POSTFIELDS = 10015, OPT_HTTPHEADER = 10023, OPT_HEADERDATA = 10029,
    OPT_CUSTOMREQUEST = 10036, OPT_READFUNCTION = 20012, OPT_HEADERFUNCTION = 20079, OPT_NOBODY = 44,
    OPT_UPLOAD = 46, OPT_POST = 47, OPT_POSTFIELDSIZE = 60, OPT_CONNECTTIMEOUT = 78, OPT_LOW_SPEED_LIMIT = 19,
    OPT_LOW_SPEED_TIME = 20, OPT_INFILESIZE_LARGE = 30115,
};
enum { INFO_RESPONSE_CODE = 0x200002 };

typedef void CURL;
static struct {
    CURL *(*easy_init)(void);
    int (*easy_setopt)(CURL *, int, ...);
    int (*easy_perform)(CURL *);
    int (*easy_getinfo)(CURL *, int, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(int);
    void *(*slist_append)(void *, const char *);
    void (*slist_free_all)(void *);
    void (*easy_reset)(CURL *);
    const char *load_error;
} curl;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void load_curl(void) {
    const char *names[] = {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so"};
    void *h = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !h; i++) h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) { curl.load_error = "libcurl is not installed (apt-get install libcurl4)"; return; }
    curl.easy_init = (CURL *(*)(void))dlsym(h, "curl_easy_init");
    curl.easy_setopt = (int (*)(CURL *, int, ...))dlsym(h, "curl_easy_setopt");
    curl.easy_perform = (int (*)(CURL *))dlsym(h, "curl_easy_perform");
    curl.easy_getinfo = (int (*)(CURL *, int, ...))dlsym(h, "curl_easy_getinfo");
    curl.easy_cleanup = (void (*)(CURL *))dlsym(h, "curl_easy_cleanup");
    curl.easy_strerror = (const char *(*)(int))dlsym(h, "curl_easy_strerror");
    curl.slist_append = (void *(*)(void *, const char *))dlsym(h, "curl_slist_append");
    curl.slist_free_all = (void (*)(void *))dlsym(h, "curl_slist_free_all");
    curl.easy_reset = (void (*)(CURL *))dlsym(h, "curl_easy_reset");
    if (!curl.easy_init || !curl.easy_setopt || !curl.easy_perform || !curl.easy_getinfo || !curl.easy_cleanup
        || !curl.easy_strerror || !curl.slist_append || !curl.slist_free_all || !curl.easy_reset)
        curl.load_error = "libcurl lacks the easy interface";
}

// The general client. Everything protocol-specific (auth, retries, what a status means) is the Swift side's.

struct transfer {
    const struct swiftbuild_http_request *request;
    size_t bytes_sent;   // of body_bytes
    int stopped;
    int read_error;
};

// Hands a piece to the caller's callback; a non-zero answer stops the transfer (libcurl stops on a short count).
static size_t deliver(struct transfer *t, swiftbuild_http_data_fn callback, char *data, size_t total) {
    if (callback && callback(data, total, t->request->context) != 0) {
        t->stopped = 1;
        return 0;
    }
    return total;
}

static size_t on_header(char *data, size_t size, size_t count, void *context) {
    struct transfer *t = context;
    return deliver(t, t->request->on_header, data, size * count);
}

static size_t on_body(char *data, size_t size, size_t count, void *context) {
    struct transfer *t = context;
    return deliver(t, t->request->on_body, data, size * count);
}

static size_t read_body(char *buffer, size_t size, size_t count, void *context) {
    struct transfer *t = context;
    const struct swiftbuild_http_request *r = t->request;
    size_t room = size * count;
    if (r->body_fd >= 0) {
        for (;;) {
            ssize_t n = read(r->body_fd, buffer, room);
            if (n >= 0) return (size_t)n;
            if (errno == EINTR) continue;
            t->read_error = errno;
            return 0x10000000;  // CURL_READFUNC_ABORT
        }
    }
    size_t left = r->body_bytes_length - t->bytes_sent;
    size_t n = left < room ? left : room;
    if (n) memcpy(buffer, (const char *)r->body_bytes + t->bytes_sent, n);
    t->bytes_sent += n;
    return n;
}

void *swiftbuild_http_handle_new(char *error, size_t error_size) {
    pthread_once(&curl_once, load_curl);
    if (curl.load_error) { snprintf(error, error_size, "%s", curl.load_error); return NULL; }
    CURL *c = curl.easy_init();
    if (!c) snprintf(error, error_size, "libcurl could not start a transfer");
    return c;
}

void swiftbuild_http_handle_free(void *handle) {
    if (handle) curl.easy_cleanup(handle);
}

int swiftbuild_http_perform(void *handle, const struct swiftbuild_http_request *r, long *status, int *stopped,
                            char *error, size_t error_size) {
    *status = 0;
    *stopped = 0;
    CURL *c = handle;
    // Options of the previous request go; its open connections and DNS cache stay.
    curl.easy_reset(c);
    void *headers = NULL;
    for (size_t i = 0; i < r->header_count; i++) {
        void *next = curl.slist_append(headers, r->headers[i]);
        if (!next) { snprintf(error, error_size, "out of memory"); goto fail; }
        headers = next;
    }
    // A body is sent as soon as it is ready: no "Expect: 100-continue" round trip.
    void *next = curl.slist_append(headers, "Expect:");
    if (!next) { snprintf(error, error_size, "out of memory"); goto fail; }
    headers = next;

    char curl_error[256] = {0};
    struct transfer t = {r, 0, 0, 0};
    curl.easy_setopt(c, OPT_URL, r->url);
    curl.easy_setopt(c, OPT_HTTPHEADER, headers);
    curl.easy_setopt(c, OPT_HEADERFUNCTION, on_header);
    curl.easy_setopt(c, OPT_HEADERDATA, &t);
    curl.easy_setopt(c, OPT_WRITEFUNCTION, on_body);
    curl.easy_setopt(c, OPT_WRITEDATA, &t);
    curl.easy_setopt(c, OPT_ERRORBUFFER, curl_error);
    curl.easy_setopt(c, OPT_NOSIGNAL, 1L);
    curl.easy_setopt(c, OPT_USERAGENT, "swiftbuild");
    if (r->follow_redirects) {
        curl.easy_setopt(c, OPT_FOLLOWLOCATION, 1L);
        curl.easy_setopt(c, OPT_MAXREDIRS, 10L);
    }
    if (r->connect_timeout_seconds > 0) curl.easy_setopt(c, OPT_CONNECTTIMEOUT, r->connect_timeout_seconds);
    if (r->low_speed_seconds > 0) {
        curl.easy_setopt(c, OPT_LOW_SPEED_LIMIT, 1L);
        curl.easy_setopt(c, OPT_LOW_SPEED_TIME, r->low_speed_seconds);
    }
    int has_body = r->body_fd >= 0 || r->body_bytes != NULL;
    if (strcmp(r->method, "HEAD") == 0) {
        curl.easy_setopt(c, OPT_NOBODY, 1L);
    } else if (has_body) {
        long long length = r->body_fd >= 0 ? r->body_length : (long long)r->body_bytes_length;
        curl.easy_setopt(c, OPT_UPLOAD, 1L);
        curl.easy_setopt(c, OPT_READFUNCTION, read_body);
        curl.easy_setopt(c, OPT_READDATA, &t);
        if (length >= 0) curl.easy_setopt(c, OPT_INFILESIZE_LARGE, (long long)length);
        curl.easy_setopt(c, OPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(r->method, "GET") != 0) {
        // No body: an empty POST body gives "Content-Length: 0", which registries want on POST and PUT.
        curl.easy_setopt(c, OPT_POSTFIELDS, "");
        curl.easy_setopt(c, OPT_POSTFIELDSIZE, 0L);
        curl.easy_setopt(c, OPT_CUSTOMREQUEST, r->method);
    }
    int rc = curl.easy_perform(c);
    long code = 0;
    curl.easy_getinfo(c, INFO_RESPONSE_CODE, &code);
    *status = code;
    *stopped = t.stopped;
    if (t.read_error) {
        snprintf(error, error_size, "reading the request body: %s", strerror(t.read_error));
        goto fail;
    }
    if (rc != 0) {
        snprintf(error, error_size, "%s", curl_error[0] ? curl_error : curl.easy_strerror(rc));
        goto fail;
    }
    curl.easy_reset(c);  // no pointer to this call's stack or header list stays in the handle
    curl.slist_free_all(headers);
    return 0;
fail:
    curl.easy_reset(c);
    if (headers) curl.slist_free_all(headers);
    return -1;
}
