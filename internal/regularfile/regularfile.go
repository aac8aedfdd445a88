// Package regularfile opens files that others put in place (plugin
// folders, the images shaders import, image inputs) so that only a regular
// file is ever read, and only up to a size: a FIFO would block the reader
// forever, a device (/dev/zero) never ends, a socket is not data. Files are
// opened non-blocking and checked on the opened descriptor, so a file
// swapped for a FIFO between a check and the open cannot block either.
//
// DirFS confines a folder through os.Root: a path, or a symbolic link,
// that leads out of the folder is refused by the kernel-side walk, even
// when the link was swapped in after any check.
package regularfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// NotRegularError is a path that names something other than a regular
// file.
type NotRegularError struct {
	Name string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	what := "not a regular file"
	switch {
	case e.Mode&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case e.Mode&fs.ModeSocket != 0:
		what = "a socket"
	case e.Mode&fs.ModeDevice != 0, e.Mode&fs.ModeCharDevice != 0:
		what = "a device"
	case e.Mode.IsDir():
		what = "a folder"
	}
	return fmt.Sprintf("%s is %s; only regular files are read", e.Name, what)
}

// TooLargeError is a file over the size limit a reader set.
type TooLargeError struct {
	Name  string
	Size  int64 // -1 when only known to be over Limit
	Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("%s is over the limit of %d bytes", e.Name, e.Limit)
	}
	return fmt.Sprintf("%s is %d bytes, over the limit of %d", e.Name, e.Size, e.Limit)
}

// openFlags open without blocking (a FIFO's open waits for a writer
// otherwise) and without making a terminal the controlling one.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY

// Open opens the file at path for reading, refusing (with a
// *NotRegularError) anything that is not a regular file, without blocking
// on it. The caller closes the file.
func Open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, err
	}
	if err := check(f, path); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func check(f fs.File, name string) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return &NotRegularError{Name: name, Mode: st.Mode()}
	}
	return nil
}

// DirFS returns the tree rooted at dir as an fs.FS, like os.DirFS, except
// that every access goes through an os.Root (no path or symbolic link can
// leave dir) and Open refuses what is not a regular file or a folder,
// without blocking. It opens the root for each access and holds no
// descriptor between them. It implements fs.StatFS and fs.ReadLinkFS.
func DirFS(dir string) fs.FS { return dirFS(dir) }

type dirFS string

func (d dirFS) root(op, name string) (*os.Root, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return os.OpenRoot(string(d))
}

func (d dirFS) Open(name string) (fs.File, error) {
	r, err := d.root("open", name)
	if err != nil {
		return nil, err
	}
	defer r.Close() // files opened from it stay valid
	f, err := r.OpenFile(name, openFlags, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() && !st.IsDir() {
		f.Close()
		return nil, &NotRegularError{Name: name, Mode: st.Mode()}
	}
	return f, nil
}

func (d dirFS) Stat(name string) (fs.FileInfo, error) {
	r, err := d.root("stat", name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Stat(name)
}

func (d dirFS) Lstat(name string) (fs.FileInfo, error) {
	r, err := d.root("lstat", name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Lstat(name)
}

func (d dirFS) ReadLink(name string) (string, error) {
	r, err := d.root("readlink", name)
	if err != nil {
		return "", err
	}
	defer r.Close()
	return r.Readlink(name)
}

// ReadFile reads name from fsys whole, refusing anything that is not a
// regular file (checked with fs.Stat before opening, so that even an
// fs.FS that would block opening a FIFO is not asked to) and any file
// over limit bytes (checked before reading, and again while reading, for
// a file that grows).
func ReadFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &NotRegularError{Name: name, Mode: st.Mode()}
	}
	if st.Size() > limit {
		return nil, &TooLargeError{Name: name, Size: st.Size(), Limit: limit}
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := check(f, name); err != nil {
		return nil, err
	}
	return ReadAll(f, name, limit)
}

// ReadAll reads r to its end, or fails with a *TooLargeError once more
// than limit bytes came.
func ReadAll(r io.Reader, name string, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{Name: name, Size: -1, Limit: limit}
	}
	return b, nil
}

// LimitReader returns a reader of r that fails with a *TooLargeError
// (instead of ending quietly, as io.LimitReader does) once more than limit
// bytes were read, so that a decoder sees the difference between a short
// file and one cut off.
func LimitReader(r io.Reader, name string, limit int64) io.Reader {
	return &limitReader{r: r, name: name, left: limit, limit: limit}
}

type limitReader struct {
	r           io.Reader
	name        string
	left, limit int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, &TooLargeError{Name: l.name, Size: -1, Limit: l.limit}
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1] // one byte more tells "over" from "exactly at"
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n - 1, &TooLargeError{Name: l.name, Size: -1, Limit: l.limit}
	}
	return n, err
}
