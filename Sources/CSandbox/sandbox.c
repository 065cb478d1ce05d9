// The child side of the RUN sandbox (see include/csandbox.h).
//
// Between clone() and execve() the child runs in a copy of a multi-threaded process, so it only makes system calls
// and touches its own stack and static buffers: no malloc, no stdio, no glibc wrappers that assume they know the
// thread list (ids are changed with raw syscalls).
//
// Report records the child writes to the close-on-exec report pipe, each ended by a NUL byte (paths cannot hold
// one); EOF without an error record means exec succeeded:
//   "S <path>"                  a mount-point stub the child created (a directory or an empty file), as the path
//                               it resolves to inside the new root when /proc can tell
//   "E <step>\t<errno>\t<path>" a setup step failed; the child exits 126
//   "N <name>"                  the executable was not found; the child exits 127
//   "W <what>"                  the sandbox is weaker than asked: "proc" (the builder's /proc is bound, no
//                               /proc of the step's own PID namespace could be mounted)
#define _GNU_SOURCE
#include "csandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

// <linux/mount.h> clashes with <sys/mount.h> on glibc 2.36, so the new mount API constants are spelled out here.
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_SYMLINKS
#define MOVE_MOUNT_T_SYMLINKS 0x00000010
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef MOUNT_ATTR_NOEXEC
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#ifndef MOUNT_ATTR_NOSUID
#define MOUNT_ATTR_NOSUID 0x00000002
#endif
#ifndef MOUNT_ATTR_NODEV
#define MOUNT_ATTR_NODEV 0x00000004
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif
#define CSANDBOX_FSCONFIG_SET_FLAG 0
#define CSANDBOX_FSCONFIG_SET_STRING 1
#define CSANDBOX_FSCONFIG_CMD_CREATE 6
struct csandbox_mount_attr { unsigned long long attr_set, attr_clr, propagation, userns_fd; };

#define CSANDBOX_MAX_MOUNTS 256
#define CSANDBOX_STACK_SIZE (1024 * 1024)
#define REPORT_FD 3

static int bind_fds[CSANDBOX_MAX_MOUNTS];
static char line[PATH_MAX * 2 + 64];
static char path_buffer[PATH_MAX];

// ---- reporting ----

static size_t append(size_t at, const char *text) {
    while (text && *text && at < sizeof(line) - 2) line[at++] = *text++;
    return at;
}

static size_t append_int(size_t at, int value) {
    char digits[16];
    int n = 0;
    unsigned int v = value < 0 ? (unsigned int)(-value) : (unsigned int)value;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v && n < 15);
    if (value < 0 && at < sizeof(line) - 2) line[at++] = '-';
    while (n && at < sizeof(line) - 2) line[at++] = digits[--n];
    return at;
}

static void send_line(size_t length) {
    line[length++] = '\0';
    size_t done = 0;
    while (done < length) {
        ssize_t w = write(REPORT_FD, line + done, length - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        done += (size_t)w;
    }
}

// Reports a stub by the path it really has (through symbolic links such as /var/run -> /run), read back from
// /proc/self/fd; before /proc is mounted, by the path as given.
static void report_stub(const char *path) {
    static char resolved[PATH_MAX];
    static char fd_link[32];
    int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    ssize_t n = -1;
    if (fd >= 0) {
        size_t at = append(0, "/proc/self/fd/");
        at = append_int(at, fd);
        memcpy(fd_link, line, at);
        fd_link[at] = '\0';
        n = readlink(fd_link, resolved, sizeof(resolved) - 1);
        close(fd);
    }
    if (n > 0 && resolved[0] == '/') {
        resolved[n] = '\0';
        send_line(append(append(0, "S "), resolved));
    } else {
        send_line(append(append(0, "S "), path));
    }
}

static __attribute__((noreturn)) void fail(const char *step, const char *path) {
    int err = errno;
    size_t at = append(0, "E ");
    at = append(at, step);
    at = append(at, "\t");
    at = append_int(at, err);
    at = append(at, "\t");
    at = append(at, path);
    send_line(at);
    _exit(126);
}

// ---- paths inside the new root ----

// Creates every missing component of `path` (absolute, inside the new root). Missing components become directories,
// except the last one when `last_is_file`. Created components are reported as stubs when `stubs`, and chowned to
// uid:gid when `chown_to` is set.
static void make_path(const char *path, int last_is_file, int stubs, const uid_t *chown_uid, gid_t chown_gid) {
    size_t length = strlen(path);
    if (length == 0 || length >= sizeof(path_buffer) || path[0] != '/') { errno = EINVAL; fail("path", path); }
    memcpy(path_buffer, path, length + 1);
    for (size_t i = 1; i <= length; i++) {
        if (path_buffer[i] != '/' && path_buffer[i] != '\0') continue;
        char saved = path_buffer[i];
        path_buffer[i] = '\0';
        struct stat st;
        if (lstat(path_buffer, &st) != 0) {
            if (errno != ENOENT) fail("stat", path_buffer);
            int is_last = saved == '\0';
            if (is_last && last_is_file) {
                int fd = open(path_buffer, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (fd < 0) fail("create", path_buffer);
                close(fd);
            } else if (mkdir(path_buffer, 0755) != 0) {
                fail("mkdir", path_buffer);
            }
            if (stubs) report_stub(path_buffer);
            if (chown_uid && lchown(path_buffer, *chown_uid, chown_gid) != 0) fail("chown", path_buffer);
        }
        path_buffer[i] = saved;
    }
}

static void mount_at(const char *source, const char *target, const char *type, unsigned long flags, const char *data) {
    make_path(target, 0, 1, NULL, 0);
    if (mount(source, target, type, flags, data) != 0) fail("mount", target);
}

// The host's device nodes and /sys, cloned before the pivot: in a user namespace (rootless) mknod and a sysfs
// mount without a network namespace of its own are refused, and these binds stand in for them, as in rootless
// runc. -1 where the clone failed (then the refusal stands).
static const char *const host_device_paths[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
                                                 "/dev/tty" };
static int host_devices[6] = { -1, -1, -1, -1, -1, -1 };
static int host_sys = -1;
static int host_proc = -1;
// proc and sysfs made (detached) before the pivot: in a user namespace the kernel allows them only while a fully
// visible instance is still in the mount namespace, which the pivot takes away. -1 where they could not be made;
// then mount(2) after the pivot is tried (real root needs no visible instance), and the binds above after that.
static int new_proc = -1;
static int new_sys = -1;

// A new, detached mount of a pseudo file system, or -1.
static int detached_fs(const char *type, unsigned int attributes) {
    int fs = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);
    if (fs < 0) return -1;
    if (syscall(SYS_fsconfig, fs, CSANDBOX_FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) {
        int err = errno;
        close(fs);
        errno = err;
        return -1;
    }
    int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attributes);
    int err = errno;
    close(fs);
    errno = err;
    return mnt;
}

static void clone_host_nodes(void) {
    for (int i = 0; i < 6; i++)
        host_devices[i] = (int)syscall(SYS_open_tree, AT_FDCWD, host_device_paths[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    host_sys = (int)syscall(SYS_open_tree, AT_FDCWD, "/sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    host_proc = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    new_proc = detached_fs("proc", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    new_sys = detached_fs("sysfs", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
}

// /proc of the new PID namespace. Where the kernel refuses one (a container whose /proc has masked paths, as
// Kubernetes pods have by default), the builder's own /proc is bound instead and a "W" record says so: the step
// then sees the builder's processes (BuildKit's "no process sandbox").
static void mount_proc(void) {
    make_path("/proc", 0, 1, NULL, 0);
    if (new_proc >= 0) {
        if (syscall(SYS_move_mount, new_proc, "", AT_FDCWD, "/proc", MOVE_MOUNT_F_EMPTY_PATH) != 0) fail("mount", "/proc");
        return;
    }
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) return;
    if (errno != EPERM || host_proc < 0) fail("mount", "/proc");
    if (syscall(SYS_move_mount, host_proc, "", AT_FDCWD, "/proc", MOVE_MOUNT_F_EMPTY_PATH) != 0) fail("bind", "/proc");
    send_line(append(0, "W proc"));
}

static void device(int index, unsigned int major_number, unsigned int minor_number) {
    const char *path = host_device_paths[index];
    if (mknod(path, S_IFCHR | 0666, makedev(major_number, minor_number)) == 0) return;
    if (errno != EPERM || host_devices[index] < 0) fail("mknod", path);
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) fail("create", path);
    close(fd);
    if (syscall(SYS_move_mount, host_devices[index], "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) != 0)
        fail("bind device", path);
}

// sysfs, read-only; in a user namespace without a network namespace of its own, the host's /sys bound read-only.
static void mount_sys(void) {
    make_path("/sys", 0, 1, NULL, 0);
    if (new_sys >= 0) {
        if (syscall(SYS_move_mount, new_sys, "", AT_FDCWD, "/sys", MOVE_MOUNT_F_EMPTY_PATH) != 0) fail("mount", "/sys");
        return;
    }
    if (mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) return;
    if (errno != EPERM || host_sys < 0) fail("mount", "/sys");
    struct csandbox_mount_attr attr = { MOUNT_ATTR_RDONLY, 0, 0, 0 };
    if (syscall(SYS_mount_setattr, host_sys, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) != 0)
        fail("mount_setattr", "/sys");
    if (syscall(SYS_move_mount, host_sys, "", AT_FDCWD, "/sys", MOVE_MOUNT_F_EMPTY_PATH) != 0) fail("bind", "/sys");
}

// Whether this user namespace refuses setgroups (a single-id rootless mapping writes "deny").
static int setgroups_denied(void) {
    int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char text[8] = { 0 };
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    return n >= 4 && strncmp(text, "deny", 4) == 0;
}

static void minimal_dev(void) {
    mount_at("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    device(0, 1, 3);
    device(1, 1, 5);
    device(2, 1, 7);
    device(3, 1, 8);
    device(4, 1, 9);
    device(5, 5, 0);
    if (mkdir("/dev/pts", 0755) != 0) fail("mkdir", "/dev/pts");
    if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5") != 0)
        fail("mount", "/dev/pts");
    if (symlink("pts/ptmx", "/dev/ptmx") != 0) fail("symlink", "/dev/ptmx");
    if (mkdir("/dev/shm", 01777) != 0) fail("mkdir", "/dev/shm");
    if (mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") != 0)
        fail("mount", "/dev/shm");
    if (symlink("/proc/self/fd", "/dev/fd") != 0) fail("symlink", "/dev/fd");
    if (symlink("/proc/self/fd/0", "/dev/stdin") != 0) fail("symlink", "/dev/stdin");
    if (symlink("/proc/self/fd/1", "/dev/stdout") != 0) fail("symlink", "/dev/stdout");
    if (symlink("/proc/self/fd/2", "/dev/stderr") != 0) fail("symlink", "/dev/stderr");
}

// As Docker and BuildKit do: kernel interfaces under /proc that are not namespaced become read-only (a root
// command could otherwise change host sysctls or use sysrq), and files that expose the host are masked.
static void protect_proc_and_sys(void) {
    static const char *const read_only[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" };
    static const char *const masked[] = { "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
        "/sys/firmware", "/sys/devices/virtual/powercap" };
    const unsigned long locked = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
        if (mount(read_only[i], read_only[i], NULL, MS_BIND | MS_REC, NULL) != 0) {
            if (errno == ENOENT) continue;
            fail("bind", read_only[i]);
        }
        if (mount(NULL, read_only[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | locked, NULL) != 0)
            fail("remount read-only", read_only[i]);
    }
    for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
        struct stat st;
        if (lstat(masked[i], &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (mount("tmpfs", masked[i], "tmpfs", MS_RDONLY | locked, "size=0k") != 0) fail("mask", masked[i]);
        } else if (mount("/dev/null", masked[i], NULL, MS_BIND, NULL) != 0) {
            fail("mask", masked[i]);
        }
    }
}

static void loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) fail("socket", "lo");
    struct ifreq request;
    memset(&request, 0, sizeof(request));
    strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFFLAGS, &request) != 0) fail("SIOCGIFFLAGS", "lo");
    request.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &request) != 0) fail("SIOCSIFFLAGS", "lo");
    close(s);
}

// Keeps Docker's default capability set in the bounding set; root's capabilities after execve come from it.
static void limit_capabilities(void) {
    static const int keep[] = { 0 /* CHOWN */, 1 /* DAC_OVERRIDE */, 3 /* FOWNER */, 4 /* FSETID */, 5 /* KILL */,
        6 /* SETGID */, 7 /* SETUID */, 8 /* SETPCAP */, 10 /* NET_BIND_SERVICE */, 13 /* NET_RAW */,
        18 /* SYS_CHROOT */, 27 /* MKNOD */, 29 /* AUDIT_WRITE */, 31 /* SETFCAP */ };
    for (int cap = 0; cap < 64; cap++) {
        int kept = 0;
        for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) if (keep[i] == cap) kept = 1;
        if (kept) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
            if (errno == EINVAL) break;  // past the kernel's last capability
            fail("capbset", "");
        }
    }
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

// Writes file mount `index` as "<directory>/<index>" with its contents, owner and mode; returns its path.
static const char *make_file(const char *directory, int index, const struct csandbox_mount *m) {
    static char file_path[PATH_MAX];
    size_t at = append(0, directory);
    at = append(at, "/");
    at = append_int(at, index);
    if (at >= sizeof(file_path)) { errno = ENAMETOOLONG; fail("file mount", m->target); }
    memcpy(file_path, line, at);
    file_path[at] = '\0';
    int fd = open(file_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) fail("create", m->target);
    long long done = 0;
    while (done < m->contents_length) {
        ssize_t w = write(fd, m->contents + done, (size_t)(m->contents_length - done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) fail("write", m->target);
        done += w;
    }
    if (fchown(fd, m->uid, m->gid) != 0) fail("chown", m->target);
    if (fchmod(fd, m->mode & 07777) != 0) fail("chmod", m->target);
    close(fd);
    return file_path;
}

// The overlay root at root_path: with fsopen/fsconfig/fsmount (one "lowerdir+" per layer), else with mount(2)
// and the option string when the kernel does not know "lowerdir+".
static void mount_overlay(const struct csandbox_config *c) {
    int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
    int old_api = fs < 0;
    for (int i = 0; !old_api && i < c->overlay_lower_count; i++) {
        if (syscall(SYS_fsconfig, fs, CSANDBOX_FSCONFIG_SET_STRING, "lowerdir+", c->overlay_lower[i], 0) != 0) {
            if (i > 0 || errno != EINVAL) fail("overlay lowerdir", c->overlay_lower[i]);
            old_api = 1;
        }
    }
    if (old_api) {
        if (fs >= 0) close(fs);
        if (!c->overlay_options) { errno = E2BIG; fail("mount overlay", c->root_path); }
        if (mount("overlay", c->root_path, "overlay", 0, c->overlay_options) != 0) fail("mount overlay", c->root_path);
        return;
    }
    if (c->overlay_userxattr && syscall(SYS_fsconfig, fs, CSANDBOX_FSCONFIG_SET_FLAG, "userxattr", NULL, 0) != 0)
        fail("overlay userxattr", c->root_path);
    if (syscall(SYS_fsconfig, fs, CSANDBOX_FSCONFIG_SET_STRING, "upperdir", c->overlay_upper, 0) != 0)
        fail("overlay upperdir", c->overlay_upper);
    if (syscall(SYS_fsconfig, fs, CSANDBOX_FSCONFIG_SET_STRING, "workdir", c->overlay_work, 0) != 0)
        fail("overlay workdir", c->overlay_work);
    if (syscall(SYS_fsconfig, fs, CSANDBOX_FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) fail("mount overlay", c->root_path);
    int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
    if (mnt < 0) fail("fsmount overlay", c->root_path);
    if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, c->root_path, MOVE_MOUNT_F_EMPTY_PATH) != 0)
        fail("move_mount overlay", c->root_path);
    close(mnt);
    close(fs);
}

// ---- exec with a PATH lookup inside the new root ----

static const char *path_variable(const char *const *envp) {
    for (const char *const *e = envp; *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0) return *e + 5;
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

static __attribute__((noreturn)) void exec_command(const struct csandbox_config *c) {
    const char *name = c->argv[0];
    if (strchr(name, '/')) {
        execve(name, (char *const *)c->argv, (char *const *)c->envp);
        if (errno == ENOENT) { send_line(append(append(0, "N "), name)); _exit(127); }
        fail("exec", name);
    }
    const char *dirs = path_variable(c->envp);
    int denied = 0;
    size_t name_length = strlen(name);
    while (1) {
        const char *end = strchr(dirs, ':');
        size_t dir_length = end ? (size_t)(end - dirs) : strlen(dirs);
        if (dir_length > 0 && dir_length + name_length + 2 <= sizeof(path_buffer)) {
            memcpy(path_buffer, dirs, dir_length);
            path_buffer[dir_length] = '/';
            memcpy(path_buffer + dir_length + 1, name, name_length + 1);
            execve(path_buffer, (char *const *)c->argv, (char *const *)c->envp);
            if (errno == EACCES) denied = 1;
            else if (errno != ENOENT && errno != ENOTDIR) fail("exec", path_buffer);
        }
        if (!end) break;
        dirs = end + 1;
    }
    if (denied) { errno = EACCES; fail("exec", name); }
    send_line(append(append(0, "N "), name));
    _exit(127);
}

// ---- the child ----

static int child_main(void *argument) {
    const struct csandbox_config *c = argument;

    // Signals: default dispositions, nothing blocked (both are inherited from the builder's threads).
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        struct sigaction action;
        memset(&action, 0, sizeof(action));
        action.sa_handler = SIG_DFL;
        sigaction(sig, &action, NULL);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    umask(0);

    // Descriptors: 0 = /dev/null, 1 and 2 = the output pipe, 3 = the report pipe, nothing else.
    int report = fcntl(c->report_fd, F_DUPFD_CLOEXEC, 10);
    int output = fcntl(c->output_fd, F_DUPFD_CLOEXEC, 10);
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (report < 0 || output < 0 || null_fd < 0) _exit(126);
    if (dup3(report, REPORT_FD, O_CLOEXEC) < 0 || dup2(null_fd, 0) < 0 || dup2(output, 1) < 0 || dup2(output, 2) < 0)
        _exit(126);
    syscall(SYS_close_range, REPORT_FD + 1, ~0U, 0);

    // Nothing mounted from here on may propagate back to the host.
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("make-private", "/");

    // Bind sources are detached copies taken while the host tree is still reachable; file mounts are made on a
    // tmpfs mounted (in this namespace only) on the files directory, then detached the same way.
    if (c->mount_count > CSANDBOX_MAX_MOUNTS) { errno = E2BIG; fail("mounts", ""); }
    int files_mounted = 0;
    for (int i = 0; i < c->mount_count; i++) {
        const struct csandbox_mount *m = &c->mounts[i];
        bind_fds[i] = -1;
        const char *source = m->source;
        if (m->kind == CSANDBOX_MOUNT_TMPFS) continue;
        if (m->kind == CSANDBOX_MOUNT_FILE) {
            if (!c->files_directory) { errno = EINVAL; fail("file mount", m->target); }
            if (!files_mounted) {
                if (mount("tmpfs", c->files_directory, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") != 0)
                    fail("mount tmpfs", c->files_directory);
                files_mounted = 1;
            }
            source = make_file(c->files_directory, i, m);
        }
        int fd = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (fd < 0) fail("open_tree", source);
        if (m->read_only) {
            struct csandbox_mount_attr attr = { MOUNT_ATTR_RDONLY, 0, 0, 0 };
            if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) != 0)
                fail("mount_setattr", source);
        }
        // An executable file mount (a RUN heredoc script with `#!`) may be run: its bind drops the tmpfs's noexec.
        if (m->kind == CSANDBOX_MOUNT_FILE && (m->mode & 0111)) {
            struct csandbox_mount_attr attr = { 0, MOUNT_ATTR_NOEXEC, 0, 0 };
            if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) != 0)
                fail("mount_setattr exec", source);
        }
        bind_fds[i] = fd;
    }

    clone_host_nodes();

    // The root filesystem, then pivot into it; the old root is detached at once.
    if (c->overlay_lower_count > 0) {
        mount_overlay(c);
    } else if (mount(c->root_path, c->root_path, NULL, MS_BIND | MS_REC, NULL) != 0) {
        fail("bind root", c->root_path);
    }
    if (chdir(c->root_path) != 0) fail("chdir", c->root_path);
    if (syscall(SYS_pivot_root, ".", ".") != 0) fail("pivot_root", c->root_path);
    if (umount2(".", MNT_DETACH) != 0) fail("detach old root", "/");
    if (chdir("/") != 0) fail("chdir", "/");

    if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) != 0) fail("sethostname", c->hostname);
    if (c->new_network) loopback_up();

    mount_proc();
    minimal_dev();
    mount_sys();
    protect_proc_and_sys();

    for (int i = 0; i < c->mount_count; i++) {
        const struct csandbox_mount *m = &c->mounts[i];
        make_path(m->target, !m->target_is_directory, 1, NULL, 0);
        if (m->kind != CSANDBOX_MOUNT_TMPFS) {
            if (syscall(SYS_move_mount, bind_fds[i], "", AT_FDCWD, m->target,
                        MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) != 0)
                fail("move_mount", m->target);
            close(bind_fds[i]);
        } else {
            char options[48] = "mode=1777";
            if (m->size_bytes > 0) {
                size_t at = append(0, "mode=1777,size=");
                at = append_int(at, (int)(m->size_bytes / 1024 > 0x7fffffff ? 0x7fffffff : m->size_bytes / 1024));
                at = append(at, "k");
                line[at] = '\0';
                memcpy(options, line, at + 1 < sizeof(options) ? at + 1 : sizeof(options) - 1);
                options[sizeof(options) - 1] = '\0';
            }
            if (mount("tmpfs", m->target, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0) fail("mount tmpfs", m->target);
        }
    }

    // The working directory is kept (and owned by the user), not a stub.
    make_path(c->working_directory, 0, 0, &c->uid, c->gid);

    limit_capabilities();
    if (syscall(SYS_setgroups, c->group_count, c->groups) != 0 && !(errno == EPERM && setgroups_denied()))
        fail("setgroups", "");
    if (syscall(SYS_setresgid, c->gid, c->gid, c->gid) != 0) fail("setresgid", "");
    if (syscall(SYS_setresuid, c->uid, c->uid, c->uid) != 0) fail("setresuid", "");
    if (chdir(c->working_directory) != 0) fail("chdir", c->working_directory);
    umask(022);
    exec_command(c);
}

pid_t csandbox_spawn(const struct csandbox_config *config) {
    if (!config || !config->argv || !config->argv[0] || !config->envp || !config->root_path ||
        !config->working_directory)
        return -EINVAL;
    if (config->mount_count < 0 || config->mount_count > CSANDBOX_MAX_MOUNTS) return -E2BIG;
    void *stack = mmap(NULL, CSANDBOX_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                       -1, 0);
    if (stack == MAP_FAILED) return -errno;
    int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP | SIGCHLD;
    if (config->new_network) flags |= CLONE_NEWNET;
    pid_t pid = clone(child_main, (char *)stack + CSANDBOX_STACK_SIZE, flags, (void *)config);
    int err = errno;
    munmap(stack, CSANDBOX_STACK_SIZE);  // the child has its own copy of the address space
    return pid < 0 ? -err : pid;
}

int csandbox_pipe(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int csandbox_exit_code(int wait_status) {
    if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
    return 255;
}

// ---- rootless: this program again, as root of a new user namespace ----

struct userns_start {
    const char *path;
    char *const *argv;
    char *const *envp;
    int sync_fd;
    int close_fd;
};

static int userns_child(void *argument) {
    const struct userns_start *start = argument;
    // The write end is the parent's: with a copy of it here, EOF would never come.
    if (start->close_fd >= 0) close(start->close_fd);
    // The parent writes the id maps, then one byte: anything else (or EOF) means it gave up.
    char go = 0;
    ssize_t n;
    do { n = read(start->sync_fd, &go, 1); } while (n < 0 && errno == EINTR);
    if (n != 1 || go != 'g') _exit(125);
    if (syscall(SYS_setresgid, 0, 0, 0) != 0 || syscall(SYS_setresuid, 0, 0, 0) != 0) _exit(125);
    syscall(SYS_setgroups, 0, NULL);  // refused under a single-id map ("deny"): no supplementary groups anyway
    execve(start->path, start->argv, start->envp);
    _exit(127);
}

pid_t csandbox_userns_spawn(const char *path, char *const argv[], char *const envp[], int sync_fd, int close_fd) {
    if (!path || !argv || !envp) return -EINVAL;
    void *stack = mmap(NULL, CSANDBOX_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                       -1, 0);
    if (stack == MAP_FAILED) return -errno;
    struct userns_start start = { path, argv, envp, sync_fd, close_fd };
    pid_t pid = clone(userns_child, (char *)stack + CSANDBOX_STACK_SIZE, CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD,
                      (void *)&start);
    int err = errno;
    munmap(stack, CSANDBOX_STACK_SIZE);
    return pid < 0 ? -err : pid;
}
