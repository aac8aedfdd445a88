// Package imagefile is the one place shadercast decodes images it is
// given (still inputs, ISF IMPORTED images and image inputs, `shadercast
// detect`): PNG, JPEG and GIF (its first frame).
//
// An image file is small and its pixels are not: a 467-byte PNG may declare
// 50000x50000 pixels, 10 GB once decoded. So the header is read first
// (image.DecodeConfig) and an image over a pixel cap is refused before the
// decoder allocates anything; the bytes read are capped too (a header that
// declares a small picture followed by gigabytes), and a panic inside a
// decoder becomes an error (internal/safe).
package imagefile

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // the formats image.Decode reads
	_ "image/jpeg"
	_ "image/png"
	"io"
	"io/fs"
	"strings"

	"github.com/shadercast/shadercast/internal/regularfile"
	"github.com/shadercast/shadercast/internal/safe"
)

const (
	// DefaultMaxPixels is the pixel cap when Options.MaxPixels is zero:
	// 64 Mpx (8192x8192, media.MaxPixels), 256 MiB as RGBA.
	DefaultMaxPixels = 8192 * 8192
	// DefaultMaxBytes is the file size cap when Options.MaxBytes is zero:
	// above what any real PNG or JPEG of DefaultMaxPixels takes.
	DefaultMaxBytes = 256 << 20
)

// Options bound what a decode may cost. The zero value uses the defaults.
type Options struct {
	// MaxPixels refuses images whose header declares more pixels
	// (width x height); 0 means DefaultMaxPixels.
	MaxPixels int64
	// MaxBytes refuses files larger than this; 0 means DefaultMaxBytes.
	MaxBytes int64
}

func (o Options) withDefaults() Options {
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	return o
}

// TooManyPixelsError is an image whose header declares more pixels than
// the cap.
type TooManyPixelsError struct {
	Name          string
	Format        string // "png", "jpeg", "gif"
	Width, Height int
	MaxPixels     int64
}

func (e *TooManyPixelsError) Error() string {
	return fmt.Sprintf("%s: %s image declares %dx%d pixels (%s), over the limit of %s",
		e.Name, strings.ToUpper(e.Format), e.Width, e.Height, pixels(int64(e.Width)*int64(e.Height)), pixels(e.MaxPixels))
}

func pixels(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d pixels", n)
	}
	return fmt.Sprintf("%.4g Mpx, %d pixels", float64(n)/(1<<20), n)
}

// Decode decodes the image r holds; name is what errors call it. It
// returns the image and its format name ("png", "jpeg", "gif"). Data that
// is no such image gives an error wrapping image.ErrFormat; an image over
// the pixel cap a *TooManyPixelsError; more than MaxBytes of data a
// *regularfile.TooLargeError.
func Decode(r io.Reader, name string, opts Options) (image.Image, string, error) {
	opts = opts.withDefaults()
	lr := regularfile.LimitReader(r, name, opts.MaxBytes)
	// DecodeConfig reads only the header (through a bufio.Reader of its
	// own, so somewhat more): keep what it consumed and replay it to the
	// full decode, so that r need not seek.
	var head bytes.Buffer
	cfg, format, err := image.DecodeConfig(io.TeeReader(lr, &head))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, "", fmt.Errorf("%s: not a PNG, JPEG or GIF image: %w", name, err)
		}
		return nil, "", fmt.Errorf("%s: reading the image header: %w", name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, format, fmt.Errorf("%s: %s image declares an empty size (%dx%d)", name, strings.ToUpper(format), cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > opts.MaxPixels {
		return nil, format, &TooManyPixelsError{Name: name, Format: format, Width: cfg.Width, Height: cfg.Height, MaxPixels: opts.MaxPixels}
	}
	img, err := safe.Value(func() (image.Image, error) {
		img, _, err := image.Decode(io.MultiReader(&head, lr))
		return img, err
	})
	if err != nil {
		return nil, format, fmt.Errorf("%s: decoding %s: %w", name, strings.ToUpper(format), err)
	}
	// The header vouched for the size the cap was checked on; a decoder
	// that returned more (a GIF frame larger than its screen) is refused.
	if b := img.Bounds(); b.Dx() > cfg.Width || b.Dy() > cfg.Height || b.Empty() {
		return nil, format, fmt.Errorf("%s: %s image decodes to %dx%d, its header declares %dx%d", name, strings.ToUpper(format), b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}
	return img, format, nil
}

// Open decodes the image file at path, which must be a regular file (a
// FIFO or device is refused without blocking) no larger than
// opts.MaxBytes.
func Open(path string, opts Options) (image.Image, string, error) {
	f, err := regularfile.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	return decodeFile(f, path, opts)
}

// ReadFS decodes the image file name of fsys, under the same rules as Open
// (non-regular files are refused after an fs.Stat, before opening).
func ReadFS(fsys fs.FS, name string, opts Options) (image.Image, string, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, "", err
	}
	if !st.Mode().IsRegular() {
		return nil, "", &regularfile.NotRegularError{Name: name, Mode: st.Mode()}
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	return decodeFile(f, name, opts)
}

func decodeFile(f fs.File, name string, opts Options) (image.Image, string, error) {
	opts = opts.withDefaults()
	st, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	if !st.Mode().IsRegular() {
		return nil, "", &regularfile.NotRegularError{Name: name, Mode: st.Mode()}
	}
	if st.Size() > opts.MaxBytes {
		return nil, "", &regularfile.TooLargeError{Name: name, Size: st.Size(), Limit: opts.MaxBytes}
	}
	return Decode(f, name, opts)
}
