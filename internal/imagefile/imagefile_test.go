package imagefile

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/imagetest"
	"github.com/shadercast/shadercast/internal/regularfile"
)

func encoded(t testing.TB, format string, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(40 * x), uint8(40 * y), 200, 255})
		}
	}
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, nil)
	case "gif":
		err = gif.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodesRealImages(t *testing.T) {
	for _, format := range []string{"png", "jpeg", "gif"} {
		img, got, err := Decode(bytes.NewReader(encoded(t, format, 5, 3)), "x."+format, Options{})
		if err != nil || got != format || img.Bounds() != image.Rect(0, 0, 5, 3) {
			t.Errorf("%s: %v %q %v", format, img.Bounds(), got, err)
		}
	}
	// The exact cap is allowed.
	if _, _, err := Decode(bytes.NewReader(encoded(t, "png", 5, 3)), "x.png", Options{MaxPixels: 15}); err != nil {
		t.Errorf("at the cap: %v", err)
	}
}

func TestRefusesDeclaredHugeBeforeDecoding(t *testing.T) {
	data := imagetest.DeclaredPNG(50000, 50000, 64)
	start := time.Now()
	_, _, err := Decode(bytes.NewReader(data), "bomb.png", Options{})
	var tm *TooManyPixelsError
	if !errors.As(err, &tm) || tm.Width != 50000 || tm.Height != 50000 || tm.MaxPixels != DefaultMaxPixels {
		t.Fatalf("got %v, want a TooManyPixelsError for 50000x50000", err)
	}
	for _, want := range []string{"bomb.png", "PNG", "50000x50000", "64 Mpx"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	t.Logf("refused in %v: %v", time.Since(start), err)
	// A configured cap below the default.
	if _, _, err := Decode(bytes.NewReader(encoded(t, "jpeg", 5, 3)), "x.jpg", Options{MaxPixels: 14}); !errors.As(err, &tm) || tm.Format != "jpeg" {
		t.Errorf("cap 14 on 15 pixels: %v", err)
	}
}

func TestRefusesMoreDataThanTheCap(t *testing.T) {
	// Declares 1x1, then carries 1 MiB of pixel data.
	data := imagetest.DeclaredPNG(1, 1, 1<<20)
	data = append(data[:len(data)-12], imagetest.DeclaredPNG(1, 1, 0)...) // never mind the tail: the cap cuts it first
	_, _, err := Decode(bytes.NewReader(data), "long.png", Options{MaxBytes: 512})
	var tl *regularfile.TooLargeError
	if err == nil || (!errors.As(err, &tl) && !strings.Contains(err.Error(), "too much pixel data")) {
		t.Errorf("1x1 with 1 MiB of data under a 512-byte cap: %v", err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "big.png")
	os.WriteFile(p, encoded(t, "png", 64, 64), 0o644)
	if _, _, err := Open(p, Options{MaxBytes: 100}); !errors.As(err, &tl) || tl.Size <= 100 {
		t.Errorf("file over the byte cap: %v", err)
	}
}

func TestRefusesWhatIsNotAnImage(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("not an image"), imagetest.DeclaredPNG(0, 5, 0), encoded(t, "png", 4, 4)[:40]} {
		if _, _, err := Decode(bytes.NewReader(data), "x.png", Options{}); err == nil || !strings.Contains(err.Error(), "x.png") {
			t.Errorf("%q: %v", data, err)
		}
	}
}

func TestOpenRefusesFIFOWithoutBlocking(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pipe.png")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := Open(p, Options{})
		done <- err
	}()
	select {
	case err := <-done:
		var nr *regularfile.NotRegularError
		if !errors.As(err, &nr) || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("FIFO: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
	if _, _, err := ReadFS(os.DirFS(dir), "pipe.png", Options{}); !strings.Contains(err.Error(), "named pipe") {
		t.Errorf("FIFO through an fs.FS: %v", err)
	}
	if _, _, err := Open(dir, Options{}); !strings.Contains(fmtErr(err), "folder") {
		t.Errorf("a folder: %v", err)
	}
	if _, _, err := Open("/dev/zero", Options{}); !strings.Contains(fmtErr(err), "device") {
		t.Errorf("/dev/zero: %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// FuzzDecode: no input panics or gets past the caps.
func FuzzDecode(f *testing.F) {
	f.Add(encoded(f, "png", 3, 2))
	f.Add(encoded(f, "jpeg", 3, 2))
	f.Add(encoded(f, "gif", 3, 2))
	f.Add(imagetest.DeclaredPNG(50000, 50000, 16))
	f.Add(imagetest.DeclaredPNG(1, 1, 4096))
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxPixels = 1 << 16
		img, _, err := Decode(bytes.NewReader(data), "fuzz", Options{MaxPixels: maxPixels, MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		if b := img.Bounds(); int64(b.Dx())*int64(b.Dy()) > maxPixels || b.Empty() {
			t.Fatalf("decoded %v past the cap", b)
		}
	})
}
