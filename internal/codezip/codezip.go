// Package codezip checks and extracts Lambda deployment packages (function code and
// layer zips). It owns the rules a zip must meet before Sluice accepts it and the
// only code that writes a zip's entries to disk.
//
// Everything a zip names is hostile: entries are written through an os.Root, so
// neither "../x", an absolute path nor a chain of symlinks (t -> ., s -> t/..,
// s/x) can reach outside the extraction directory, and a symlink that resolves
// outside it is refused after extraction. What a zip may expand to is bounded before
// a byte is written (AWS's 250 MB unzipped limit, a file count, a compression
// ratio), and bounded again while writing, so a zip bomb is refused quickly instead
// of filling the disk.
package codezip

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// AWS limits (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
const (
	// MaxUnzippedBytes is the deployment package size, unzipped, including layers.
	MaxUnzippedBytes = 262144000
	// MaxFiles bounds the entries of one zip. AWS documents none, but a zip with
	// millions of empty files exhausts inodes; real packages (node_modules
	// included) stay well below this.
	MaxFiles = 100_000
	// MaxRatio bounds uncompressed/compressed size for the whole archive. Ordinary
	// code compresses 3-10x; a zip bomb reaches 1000x and more.
	MaxRatio = 200
	// ratioFloor: archives expanding to less than this are never refused for
	// their ratio (a 1 MB file of zeros is not an attack).
	ratioFloor = 16 << 20
)

// Error is a package AWS would refuse, with the message Lambda answers in an
// InvalidParameterValueException.
type Error struct{ Message string }

func (e *Error) Error() string { return e.Message }

// AWS's wording, as the CLI prints it for CreateFunction/UpdateFunctionCode.
var (
	errUnzip = &Error{"Could not unzip uploaded file. Please check your file, then try to upload again."}
	errEmpty = &Error{"Uploaded file must be a non-empty zip"}
)

func errTooLarge(limit int64) *Error {
	return &Error{fmt.Sprintf("Unzipped size must be smaller than %d bytes", limit)}
}

// Limits bound what one archive may expand to. Zero fields take the AWS defaults.
type Limits struct {
	// MaxUnzippedBytes is what this archive may expand to: MaxUnzippedBytes minus
	// what the function's layers already use.
	MaxUnzippedBytes int64
	MaxFiles         int
}

func (l Limits) withDefaults() Limits {
	if l.MaxUnzippedBytes <= 0 {
		l.MaxUnzippedBytes = MaxUnzippedBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = MaxFiles
	}
	return l
}

// Summary describes a checked archive.
type Summary struct {
	Files          int
	UnzippedBytes  int64
	CompressedSize int64
}

// Check validates an archive without extracting it: it must be a zip with at
// least one file, every name must be a local path, and the declared sizes must fit
// the limits. archive/zip refuses to read an entry past its declared size, so the
// declared sizes bound what Extract writes. A nil error means Extract will not
// refuse the archive for its shape (it can still fail on I/O).
func Check(r io.ReaderAt, size int64, lim Limits) (Summary, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return Summary{}, errUnzip
	}
	return check(zr, lim.withDefaults())
}

func check(zr *zip.Reader, lim Limits) (Summary, error) {
	var s Summary
	if len(zr.File) > lim.MaxFiles {
		return s, &Error{fmt.Sprintf("Could not unzip uploaded file: the archive has more than %d entries.", lim.MaxFiles)}
	}
	for _, f := range zr.File {
		name, ok := entryName(f.Name)
		if !ok {
			return s, errUnzip
		}
		if name == "" {
			continue
		}
		if f.Mode()&fs.ModeSymlink == 0 && !f.Mode().IsDir() && !f.Mode().IsRegular() {
			return s, errUnzip // devices, pipes, sockets
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return s, errUnzip
		}
		if !f.Mode().IsDir() {
			s.Files++
		}
		if f.UncompressedSize64 > uint64(lim.MaxUnzippedBytes) {
			return s, errTooLarge(MaxUnzippedBytes)
		}
		s.UnzippedBytes += int64(f.UncompressedSize64)
		s.CompressedSize += int64(f.CompressedSize64)
		if s.UnzippedBytes > lim.MaxUnzippedBytes {
			return s, errTooLarge(MaxUnzippedBytes)
		}
	}
	if s.Files == 0 {
		return s, errEmpty
	}
	if s.UnzippedBytes > ratioFloor && s.UnzippedBytes > MaxRatio*max(s.CompressedSize, 1) {
		return s, &Error{fmt.Sprintf("Could not unzip uploaded file: the archive expands more than %dx (a zip bomb?).", MaxRatio)}
	}
	return s, nil
}

// entryName turns a zip entry name into a slash-separated path relative to the
// extraction root ("" for the root itself); ok is false for names that are not
// local (absolute, "..", NUL, drive letters).
func entryName(raw string) (string, bool) {
	name := strings.ReplaceAll(raw, "\\", "/")
	if strings.ContainsRune(name, 0) || strings.HasPrefix(name, "/") || (len(name) > 1 && name[1] == ':') {
		return "", false
	}
	clean := path.Clean("/" + name)[1:]
	if clean == "" {
		return "", true
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", false
		}
	}
	return clean, true
}

// Options say how extracted files are owned and which permissions they get.
type Options struct {
	Limits Limits
	// Owner, when set, owns every directory, file and link created (the
	// function's uid and gid when functions run under their own user).
	Owner *Owner
	// DirMode, FileMode and ExecMode default to 0o755, 0o644 and 0o755.
	DirMode, FileMode, ExecMode fs.FileMode
}

// Owner is a numeric uid and gid.
type Owner struct{ UID, GID int }

// Extract writes the archive at zipPath into dir (which must exist and be empty)
// through an os.Root. The executable bits recorded in the zip's external
// attributes are kept, as Lambda does for bootstrap files.
func Extract(zipPath, dir string, opts Options) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return errUnzip
	}
	defer zr.Close()
	lim := opts.Limits.withDefaults()
	if _, err := check(&zr.Reader, lim); err != nil {
		return err
	}
	if opts.DirMode == 0 {
		opts.DirMode = 0o755
	}
	if opts.FileMode == 0 {
		opts.FileMode = 0o644
	}
	if opts.ExecMode == 0 {
		opts.ExecMode = 0o755
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open extraction directory: %w", err)
	}
	defer root.Close()
	x := &extractor{root: root, opts: opts, budget: lim.MaxUnzippedBytes}
	var links []string
	for _, f := range zr.File {
		name, _ := entryName(f.Name)
		if name == "" {
			continue
		}
		isLink, err := x.entry(f, name)
		if err != nil {
			return err
		}
		if isLink {
			links = append(links, name)
		}
	}
	// A link may point at an entry written after it, so links are judged once
	// everything is in place: each must resolve inside the root (or dangle inside
	// it). os.Root's Stat follows the link and refuses a resolution that leaves.
	for _, name := range links {
		if _, err := root.Stat(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return &Error{fmt.Sprintf("Could not unzip uploaded file: symbolic link %q points outside the package.", name)}
		}
	}
	return nil
}

type extractor struct {
	root   *os.Root
	opts   Options
	budget int64 // bytes still allowed
}

func (x *extractor) entry(f *zip.File, name string) (isLink bool, err error) {
	mode := f.Mode()
	if mode.IsDir() || strings.HasSuffix(f.Name, "/") {
		return false, x.mkdirAll(name)
	}
	if dir := path.Dir(name); dir != "." {
		if err := x.mkdirAll(dir); err != nil {
			return false, err
		}
	}
	if mode&fs.ModeSymlink != 0 {
		return true, x.symlink(f, name)
	}
	perm := x.opts.FileMode
	if mode.Perm()&0o111 != 0 {
		perm = x.opts.ExecMode
	}
	rc, err := f.Open()
	if err != nil {
		return false, errUnzip
	}
	defer rc.Close()
	// O_EXCL: a duplicate entry, or one reached through a symlink planted by an
	// earlier entry, must not overwrite what is there.
	out, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return false, refused(name, err)
	}
	// Exact modes whatever the umask: a sandboxed instance reads its code as
	// another user.
	err = out.Chmod(perm)
	var n int64
	if err == nil {
		n, err = io.Copy(out, io.LimitReader(rc, x.budget+1))
	}
	x.budget -= n
	if err == nil && x.budget < 0 {
		err = errTooLarge(MaxUnzippedBytes)
	}
	if err == nil {
		err = x.chown(name)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var zerr *Error
		if errors.As(err, &zerr) {
			return false, err
		}
		if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) {
			return false, errUnzip
		}
		return false, fmt.Errorf("extract %q: %w", name, err)
	}
	return false, nil
}

func (x *extractor) mkdirAll(name string) error {
	if err := x.root.MkdirAll(name, x.opts.DirMode); err != nil {
		return refused(name, err)
	}
	// MkdirAll may have created parents too: give each component its exact mode
	// (the umask applied) and owner. Cheap, and idempotent for ones that existed.
	for p := name; p != "." && p != "/"; p = path.Dir(p) {
		if err := x.root.Chmod(p, x.opts.DirMode); err != nil {
			return refused(p, err)
		}
		if err := x.chown(p); err != nil {
			return err
		}
	}
	return nil
}

func (x *extractor) symlink(f *zip.File, name string) error {
	rc, err := f.Open()
	if err != nil {
		return errUnzip
	}
	target, err := io.ReadAll(io.LimitReader(rc, 4097))
	rc.Close()
	if err != nil || len(target) == 0 || len(target) > 4096 {
		return errUnzip
	}
	dest := string(target)
	if strings.HasPrefix(dest, "/") || strings.ContainsRune(dest, 0) {
		return &Error{fmt.Sprintf("Could not unzip uploaded file: symbolic link %q points outside the package.", name)}
	}
	if err := x.root.Symlink(dest, name); err != nil {
		return refused(name, err)
	}
	return x.chown(name)
}

func (x *extractor) chown(name string) error {
	if x.opts.Owner == nil {
		return nil
	}
	return x.root.Lchown(name, x.opts.Owner.UID, x.opts.Owner.GID)
}

// refused turns a filesystem refusal of an entry into the package error: an
// entry reached through a link that leaves the root, or one that collides with an
// earlier entry, is a malformed package, not a server fault.
func refused(name string, err error) error {
	if errors.Is(err, fs.ErrExist) || errors.Is(err, fs.ErrInvalid) || errors.Is(err, fs.ErrPermission) ||
		strings.Contains(err.Error(), "path escapes") || strings.Contains(err.Error(), "not a directory") {
		return &Error{fmt.Sprintf("Could not unzip uploaded file: entry %q is not a safe path in the package.", name)}
	}
	return fmt.Errorf("extract %q: %w", name, err)
}
