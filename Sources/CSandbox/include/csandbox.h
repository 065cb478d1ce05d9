#ifndef SWIFTBUILD_CSANDBOX_H
#define SWIFTBUILD_CSANDBOX_H
// The child side of the RUN sandbox. Swift builds a `csandbox_config` out of plain C strings and integers;
// `csandbox_spawn` clones a child in new mount, PID, UTS, IPC and cgroup namespaces (and a new network namespace when
// asked), which assembles the root filesystem, pivots into it, drops to the requested ids and execs the command
// as PID 1 of its PID namespace. Everything the child mounts lives in its own mount namespace only.
#include <sys/types.h>

enum csandbox_mount_kind { CSANDBOX_MOUNT_BIND = 0, CSANDBOX_MOUNT_TMPFS = 1, CSANDBOX_MOUNT_FILE = 2 };

struct csandbox_mount {
    int kind;                 // csandbox_mount_kind
    const char *source;       // host path (bind); unused otherwise
    const char *target;       // absolute path inside the new root
    int read_only;            // bind and file: read-only
    int target_is_directory;  // the stub to create when the target is missing: directory (1) or empty file (0)
    long long size_bytes;     // tmpfs size; 0 = kernel default
    // file: the contents and metadata of a file made on a private tmpfs (never on disk), bound at the target
    const unsigned char *contents;
    long long contents_length;
    unsigned int mode;
    uid_t uid;
    gid_t gid;
};

struct csandbox_config {
    const char *root_path;        // overlay mount point, or the root directory itself
    // Overlay root: lower directories top first (count 0 = a plain directory root at root_path), upper, work.
    // Mounted with the new mount API ("lowerdir+" per layer: no length limit, no escaping); `overlay_options`
    // ("lowerdir=a:b,upperdir=u,workdir=w", or NULL when it does not fit) is the fallback for older kernels.
    const char *const *overlay_lower;
    int overlay_lower_count;
    const char *overlay_upper;
    const char *overlay_work;
    const char *overlay_options;
    int overlay_userxattr;        // 1: "userxattr" (a user namespace: bookkeeping in user.overlay.* attributes)
    const char *const *argv;      // NULL-terminated; argv[0] looked up in PATH of envp inside the new root
    const char *const *envp;      // NULL-terminated
    const char *working_directory;
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    int group_count;
    const char *hostname;
    int new_network;              // 1: new network namespace with only lo, brought up
    const struct csandbox_mount *mounts;
    int mount_count;
    int output_fd;                // becomes the child's stdout and stderr
    int report_fd;                // close-on-exec pipe: the child writes its report lines there (see sandbox.c)
    const char *files_directory;  // an empty host directory where the child mounts the tmpfs holding file mounts
};

// Starts the child. Returns its pid (in the caller's PID namespace), or -errno.
pid_t csandbox_spawn(const struct csandbox_config *config);

// A close-on-exec pipe (pipe2 is not visible from Swift's Glibc module). Returns 0 or -1 with errno set.
int csandbox_pipe(int fds[2]);

// Rootless: starts `path` (argv, envp) as a child in a new user and mount namespace. The child waits on `sync_fd`
// until the caller has written its uid_map and gid_map and then the byte 'g'; it becomes root (0) of the namespace
// and execs. `close_fd` (the pipe's write end, or -1) is closed in the child first. Returns the child's pid, or
// -errno (EPERM, ENOSPC, EINVAL: user namespaces are not allowed here).
pid_t csandbox_userns_spawn(const char *path, char *const argv[], char *const envp[], int sync_fd, int close_fd);

// Decodes a wait status: returns the exit code, or 128 + signal number when killed by a signal.
int csandbox_exit_code(int wait_status);

#endif
