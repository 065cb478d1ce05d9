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
    OPT_WRITEFUNCTION = 20011, OPT_FOLLOWLOCATION = 52, OPT_MAXREDIRS = 68, OPT_FILETIME = 69, OPT_NOSIGNAL = 99,
};
enum { INFO_RESPONSE_CODE = 0x200002, INFO_FILETIME = 0x20000E };

typedef void CURL;
static struct {
    CURL *(*easy_init)(void);
    int (*easy_setopt)(CURL *, int, ...);
    int (*easy_perform)(CURL *);
    int (*easy_getinfo)(CURL *, int, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(int);
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
    if (!curl.easy_init || !curl.easy_setopt || !curl.easy_perform || !curl.easy_getinfo || !curl.easy_cleanup
        || !curl.easy_strerror)
        curl.load_error = "libcurl lacks the easy interface";
}

struct sink { int fd; int error; };

static size_t write_body(char *data, size_t size, size_t count, void *context) {
    struct sink *s = context;
    size_t total = size * count, done = 0;
    while (done < total) {
        ssize_t n = write(s->fd, data + done, total - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            s->error = errno;
            return 0;  // makes libcurl stop with a write error
        }
        done += (size_t)n;
    }
    return total;
}

int swiftbuild_http_get(const char *url, int fd, long *status, long long *filetime, char *error, size_t error_size) {
    pthread_once(&curl_once, load_curl);
    if (curl.load_error) { snprintf(error, error_size, "%s", curl.load_error); return -1; }
    CURL *c = curl.easy_init();
    if (!c) { snprintf(error, error_size, "libcurl could not start a transfer"); return -1; }
    char curl_error[256] = {0};
    struct sink s = {fd, 0};
    curl.easy_setopt(c, OPT_URL, url);
    curl.easy_setopt(c, OPT_WRITEFUNCTION, write_body);
    curl.easy_setopt(c, OPT_WRITEDATA, &s);
    curl.easy_setopt(c, OPT_ERRORBUFFER, curl_error);
    curl.easy_setopt(c, OPT_FOLLOWLOCATION, 1L);
    curl.easy_setopt(c, OPT_MAXREDIRS, 10L);
    curl.easy_setopt(c, OPT_FILETIME, 1L);
    curl.easy_setopt(c, OPT_NOSIGNAL, 1L);
    curl.easy_setopt(c, OPT_USERAGENT, "swiftbuild");
    int rc = curl.easy_perform(c);
    long code = 0, time = -1;
    curl.easy_getinfo(c, INFO_RESPONSE_CODE, &code);
    curl.easy_getinfo(c, INFO_FILETIME, &time);
    curl.easy_cleanup(c);
    *status = code;
    *filetime = time;
    if (s.error) { snprintf(error, error_size, "writing the download: %s", strerror(s.error)); return -1; }
    if (rc != 0) {
        snprintf(error, error_size, "%s", curl_error[0] ? curl_error : curl.easy_strerror(rc));
        return -1;
    }
    return 0;
}
