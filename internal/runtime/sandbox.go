package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// The sandbox. When Sluice runs as root, every function instance runs as an
// unprivileged user of its own, the way Lambda runs each execution environment as
// sbx_user*, in a private mount and PID namespace:
//
//   - /tmp is a fresh tmpfs of the function's EphemeralStorage size, seen by that
//     instance only;
//   - directories the instance's user could not traverse anyway (the 0700 data dir,
//     a 0700 home holding the interpreter) are covered with an empty tmpfs, and only
//     what the function needs (its code, the runtime client, the interpreter's
//     installation) is bound back at the same path, read-only: the bbolt file, other
//     functions' code and environment, blobs and logs are not there at all;
//   - it is PID 1 of its namespace, so when it dies the kernel kills every process
//     it left, setsid'd or not, and it joins its memory cgroup before exec, so no
//     child ever runs outside the limit.
//
// Go cannot run code between fork and exec, so the pool starts its own executable
// with sandboxArg: the init function below notices, sets the sandbox up (as root,
// inside the new namespaces), drops to the instance's uid and execs the runtime.
// Without root, functions run as Sluice's own user with none of this (documented in
// docs/security.md).

// sandboxArg is argv[1] of a sandbox helper process.
const sandboxArg = "__sluice_function_sandbox__"

// sandboxSpec is what the helper is told, as JSON in argv[2].
type sandboxSpec struct {
	UID, GID int
	Cgroups  []string // cgroup.procs files to join before exec
	TmpMB    int      // size of the private /tmp
	Masks    []string // directories covered with an empty tmpfs, outermost first
	Keep     []string // directories bound back, read-only, at the same path
	Layers   []string // extracted layers, configured order, merged read-only at /opt
	Dir      string   // working directory
	Argv     []string // what to exec; Argv[0] is absolute
}

func init() {
	if len(os.Args) == 3 && os.Args[1] == sandboxArg {
		runSandbox(os.Args[2])
	}
}

// runSandbox never returns: it execs the runtime or exits 126 saying why.
func runSandbox(specJSON string) {
	fail := func(step string, err error) {
		fmt.Fprintf(os.Stderr, "sluice sandbox: %s: %v\n", step, err)
		os.Exit(126)
	}
	var s sandboxSpec
	if err := json.Unmarshal([]byte(specJSON), &s); err != nil || len(s.Argv) == 0 || s.UID <= 0 || s.GID <= 0 {
		fail("spec", fmt.Errorf("invalid sandbox spec (%v)", err))
	}
	// Lambda's runtimes run with umask 022; the server's own 077 must not make
	// the mount points below (or the function's files) unreadable.
	syscall.Umask(0o022)
	for _, procs := range s.Cgroups {
		if err := os.WriteFile(procs, []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
			fail("join cgroup", err)
		}
	}
	// Mounts below must not propagate back to the host's namespace.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		fail("make mounts private", err)
	}
	// Open what is bound back before covering it.
	keepFDs := make([]int, len(s.Keep))
	for i, p := range s.Keep {
		fd, err := syscall.Open(p, unix.O_PATH|unix.O_CLOEXEC|unix.O_DIRECTORY, 0)
		if err != nil {
			fail("open "+p, err)
		}
		keepFDs[i] = fd
	}
	layerFDs := make([]int, len(s.Layers))
	for i, p := range s.Layers {
		fd, err := syscall.Open(p, unix.O_PATH|unix.O_CLOEXEC|unix.O_DIRECTORY, 0)
		if err != nil {
			fail("open layer "+p, err)
		}
		layerFDs[i] = fd
	}
	for _, m := range s.Masks {
		opts := "size=1m,mode=0755"
		if m == "/tmp" {
			opts = fmt.Sprintf("size=%dm,mode=1777", max(s.TmpMB, 1))
		}
		if err := syscall.Mount("tmpfs", m, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
			fail("mount tmpfs on "+m, err)
		}
	}
	for i, p := range s.Keep {
		if !underAny(p, s.Masks) {
			continue // still visible where it was
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			fail("mount point "+p, err)
		}
		src := "/proc/self/fd/" + strconv.Itoa(keepFDs[i])
		if err := syscall.Mount(src, p, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			fail("bind "+p, err)
		}
		if err := syscall.Mount("", p, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY|syscall.MS_REC, ""); err != nil {
			fail("read-only "+p, err)
		}
	}
	if err := addSandboxUser(s.UID, s.GID); err != nil {
		fail("passwd entry", err)
	}
	if len(layerFDs) > 0 {
		if err := mountOpt(layerFDs); err != nil {
			fail("mount layers on /opt", err)
		}
	}
	for _, fd := range append(keepFDs, layerFDs...) {
		_ = syscall.Close(fd)
	}
	if err := syscall.Setgroups([]int{}); err != nil {
		fail("setgroups", err)
	}
	if err := syscall.Setgid(s.GID); err != nil {
		fail("setgid", err)
	}
	if err := syscall.Setuid(s.UID); err != nil {
		fail("setuid", err)
	}
	// A credential change clears the parent-death signal; set it again so the
	// instance dies with Sluice.
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0); errno != 0 {
		fail("pdeathsig", errno)
	}
	if err := os.Chdir(s.Dir); err != nil {
		fail("chdir", err)
	}
	err := syscall.Exec(s.Argv[0], s.Argv, os.Environ())
	// Exec failed: report it as the pool reports a failed start.
	fail("exec "+s.Argv[0], err)
}

// addSandboxUser gives the instance's uid a name and a home as Lambda's
// sbx_user1051 has (/home/sbx_user1051, which does not exist, and HOME unset): the
// host's /etc/passwd and /etc/group plus its entries, bound read-only over them in
// this namespace. Without an entry getpwuid fails, and so does whatever asks for
// the home directory (Node's os.homedir(), which the AWS SDK for JavaScript calls
// to look for ~/.aws, throws ENOENT). The files are staged in the instance's fresh
// /tmp and unlinked once bound, so the function's /tmp starts empty.
func addSandboxUser(uid, gid int) error {
	name := "sbx_user" + strconv.Itoa(uid)
	entries := map[string]string{
		"/etc/passwd": fmt.Sprintf("%s:x:%d:%d::/home/%s:/sbin/nologin\n", name, uid, gid, name),
		"/etc/group":  fmt.Sprintf("%s:x:%d:\n", name, gid),
	}
	for _, path := range []string{"/etc/passwd", "/etc/group"} {
		host, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // nothing to bind over
		}
		if err != nil {
			return err
		}
		if len(host) > 0 && host[len(host)-1] != '\n' {
			host = append(host, '\n')
		}
		staged := "/tmp/.sluice-" + filepath.Base(path)
		if err := os.WriteFile(staged, append(host, entries[path]...), 0o644); err != nil {
			return err
		}
		err = syscall.Mount(staged, path, "", syscall.MS_BIND, "")
		if err == nil {
			err = syscall.Mount("", path, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
		}
		if rmErr := os.Remove(staged); err == nil {
			err = rmErr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

// mountOpt presents the layers at /opt as Lambda does: one layer bound read-only,
// several merged by a read-only overlay in which later layers win.
func mountOpt(fds []int) error {
	if err := os.MkdirAll("/opt", 0o755); err != nil {
		return err
	}
	if len(fds) == 1 {
		if err := syscall.Mount("/proc/self/fd/"+strconv.Itoa(fds[0]), "/opt", "", syscall.MS_BIND, ""); err != nil {
			return err
		}
		return syscall.Mount("", "/opt", "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
	}
	lower := make([]string, 0, len(fds))
	for i := len(fds) - 1; i >= 0; i-- { // overlayfs: the leftmost lower layer is on top
		lower = append(lower, "/proc/self/fd/"+strconv.Itoa(fds[i]))
	}
	return syscall.Mount("overlay", "/opt", "overlay", syscall.MS_RDONLY, "lowerdir="+strings.Join(lower, ":"))
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

// sandboxPlan computes the masks for a set of directories the instance needs: /tmp
// always, and for each needed directory the outermost ancestor that others (the
// instance's uid is nobody's owner or group) cannot traverse. Masks inside another
// mask are dropped; outermost come first.
func sandboxPlan(keep []string) (masks []string) {
	masks = []string{"/tmp"}
	for _, p := range keep {
		if blocked := outermostBlocked(p); blocked != "" {
			masks = append(masks, blocked)
		}
	}
	sort.Slice(masks, func(i, j int) bool { return len(masks[i]) < len(masks[j]) })
	var out []string
	for _, m := range masks {
		if !underAny(m, out) {
			out = append(out, m)
		}
	}
	return out
}

// outermostBlocked returns the outermost proper ancestor of p (or p's own parent
// chain) lacking the others-execute bit, or "" when p is reachable.
func outermostBlocked(p string) string {
	p = filepath.Clean(p)
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := ""
	for i := 0; i < len(parts)-1; i++ { // p itself is bound back, so only ancestors matter
		cur += "/" + parts[i]
		fi, err := os.Stat(cur)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return cur
		}
	}
	return ""
}

// uidAllocator hands each instance a user id of its own, from a range no real
// account uses. A counter is enough: an id is reused only after 2^20 later
// instances, long after the instance that had it has exited.
type uidAllocator struct{ next atomic.Uint32 }

const (
	sandboxUIDBase  = 0x70000000
	sandboxUIDRange = 1 << 20
)

func (a *uidAllocator) allocate() int {
	return sandboxUIDBase + int(a.next.Add(1)%sandboxUIDRange)
}

// sandboxProbe is sandboxAvailable, replaced in tests.
var sandboxProbe = sandboxAvailable

// sandboxAvailable reports whether instances can be sandboxed: Sluice is root and
// can create mount and PID namespaces. The probe starts the helper itself.
func sandboxAvailable() (string, bool) {
	if os.Geteuid() != 0 {
		return "not running as root", false
	}
	self, err := os.Executable()
	if err != nil {
		return "no executable path: " + err.Error(), false
	}
	truePath := "/bin/true"
	if _, err := os.Stat(truePath); err != nil {
		truePath = "/usr/bin/true"
	}
	spec, _ := json.Marshal(sandboxSpec{UID: sandboxUIDBase, GID: sandboxUIDBase, TmpMB: 1, Masks: []string{"/tmp"}, Dir: "/", Argv: []string{truePath}})
	cmd := newSandboxCmd(self, spec)
	if out, err := cmd.CombinedOutput(); err != nil {
		var ee *os.SyscallError
		if errors.As(err, &ee) {
			return ee.Error(), false
		}
		return fmt.Sprintf("%v: %s", err, strings.TrimSpace(string(out))), false
	}
	return "", true
}

// newSandboxCmd starts the helper in new mount and PID namespaces.
func newSandboxCmd(self string, spec []byte) *exec.Cmd {
	cmd := exec.Command(self, sandboxArg, string(spec))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
	}
	return cmd
}

// sandboxCommand wraps an instance's argv in the helper: a fresh uid, its cgroup
// joined before exec, and the directories it needs kept visible.
func (p *Pool) sandboxCommand(inst *instance, argv []string, codeDir, runtimeDir string) (*exec.Cmd, error) {
	keep := []string{codeDir}
	if runtimeDir != codeDir {
		keep = append(keep, runtimeDir)
	}
	if isManagedRuntime(inst.spec.Runtime) {
		// The interpreter's installation (/usr for Debian's node, ~/.pyenv for a
		// pyenv Python under a 0700 /root).
		if real, err := filepath.EvalSymlinks(argv[0]); err == nil {
			keep = append(keep, filepath.Dir(filepath.Dir(real)), filepath.Dir(filepath.Dir(argv[0])))
		}
	}
	var cgroups []string
	if inst.cgroup != "" {
		cgroups = append(cgroups, filepath.Join(inst.cgroup, "cgroup.procs"))
	}
	tmpMB := inst.spec.EphemeralStorageMB
	if tmpMB <= 0 {
		tmpMB = defaultEphemeralMB
	}
	for _, k := range keep {
		if len(inst.layerDirs) > 0 && (k == "/opt" || strings.HasPrefix(k, "/opt/")) {
			return nil, fmt.Errorf("%s is under /opt, where the function's layers go: move Sluice's data dir (and the interpreter) out of /opt", k)
		}
	}
	spec, err := json.Marshal(sandboxSpec{
		UID: inst.uid, GID: inst.uid, Cgroups: cgroups, TmpMB: tmpMB,
		Masks: sandboxPlan(keep), Keep: keep, Layers: inst.layerDirs, Dir: codeDir, Argv: argv,
	})
	if err != nil {
		return nil, err
	}
	return newSandboxCmd(p.self, spec), nil
}

// defaultEphemeralMB is Lambda's default /tmp size.
const defaultEphemeralMB = 512
