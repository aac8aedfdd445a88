package still

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/imagefile"
	"github.com/shadercast/shadercast/internal/imagetest"
	"github.com/shadercast/shadercast/media"
)

func checkPoolClean(t *testing.T) {
	t.Cleanup(func() {
		if n := media.PoolStats().LiveVideoFrames; n != 0 {
			t.Errorf("%d video frames left open", n)
		}
	})
}

func write(t *testing.T, name string, data []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readOne(t *testing.T, s *Source) media.VideoFrame {
	t.Helper()
	f, err := s.ReadVideo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPNGPixelsAndPacing(t *testing.T) {
	checkPoolClean(t)
	// Odd size, with a translucent pixel: the frame holds straight alpha.
	img := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for y := 0; y < 3; y++ {
		for x := 0; x < 5; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(40 * x), uint8(80 * y), 200, 255})
		}
	}
	img.SetNRGBA(4, 2, color.NRGBA{250, 100, 50, 128})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	s, err := Open(write(t, "a.png", b.Bytes()), 100, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if w, h := s.Size(); w != 5 || h != 3 {
		t.Fatalf("size %dx%d", w, h)
	}
	start := time.Now()
	for i := 0; i < 5; i++ {
		f := readOne(t, s)
		if f.Format() != media.RGBA || f.CodedWidth() != 5 || f.CodedHeight() != 3 || f.Timestamp() != int64(i)*10000 || f.Duration() != 10000 {
			t.Fatalf("frame %d: %v", i, f)
		}
		p, _ := f.Plane(0)
		for y := 0; y < 3; y++ {
			for x := 0; x < 5; x++ {
				c := img.NRGBAAt(x, y)
				got := p.Data[y*p.Stride+4*x : y*p.Stride+4*x+4]
				if !bytes.Equal(got, []byte{c.R, c.G, c.B, c.A}) {
					t.Fatalf("frame %d pixel (%d,%d) = %v, want %v", i, x, y, got, c)
				}
			}
		}
		f.Close()
	}
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Errorf("5 frames at 100 fps took %v, want >= 40ms", el)
	}
}

func TestJPEGAndGIF(t *testing.T) {
	checkPoolClean(t)
	left, right := color.RGBA{200, 40, 40, 255}, color.RGBA{30, 160, 220, 255}
	img := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			if x < 32 {
				img.SetRGBA(x, y, left)
			} else {
				img.SetRGBA(x, y, right)
			}
		}
	}
	var jb, gb bytes.Buffer
	if err := jpeg.Encode(&jb, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	pal := image.NewPaletted(img.Rect, color.Palette{left, right})
	for y := 0; y < 32; y++ {
		for x := 32; x < 64; x++ {
			pal.SetColorIndex(x, y, 1)
		}
	}
	if err := gif.Encode(&gb, pal, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		tol  int
	}{{"a.jpg", jb.Bytes(), 6}, {"a.gif", gb.Bytes(), 0}} {
		s, err := Open(write(t, tc.name, tc.data), 30, Options{})
		if err != nil {
			t.Fatal(err)
		}
		f := readOne(t, s)
		p, _ := f.Plane(0)
		// Away from the edge, where JPEG's blocks are flat.
		for _, pt := range []struct {
			x, y int
			c    color.RGBA
		}{{4, 4, left}, {20, 27, left}, {44, 4, right}, {60, 28, right}} {
			px := p.Data[pt.y*p.Stride+4*pt.x:]
			for k, want := range []uint8{pt.c.R, pt.c.G, pt.c.B, 255} {
				if d := int(px[k]) - int(want); d < -tc.tol || d > tc.tol {
					t.Errorf("%s (%d,%d) channel %d = %d, want %d±%d", tc.name, pt.x, pt.y, k, px[k], want, tc.tol)
				}
			}
		}
		f.Close()
		s.Close()
	}
}

func TestErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing.png"), 30, Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	_, err := Open(write(t, "a.txt", []byte("hello, not an image")), 30, Options{})
	if !errors.Is(err, image.ErrFormat) || !strings.Contains(err.Error(), "not a PNG, JPEG or GIF") {
		t.Errorf("text file: %v", err)
	}
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)))
	if _, err := Open(write(t, "cut.png", b.Bytes()[:b.Len()/2]), 30, Options{}); err == nil {
		t.Error("truncated PNG accepted")
	}
	if _, err := Open(write(t, "ok.png", b.Bytes()), 0, Options{}); err == nil {
		t.Error("0 fps accepted")
	}
}

func TestCloseUnblocks(t *testing.T) {
	checkPoolClean(t)
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)))
	s, err := Open(write(t, "a.png", b.Bytes()), 0.5, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := readOne(t, s) // due at once
	errc := make(chan error)
	go func() {
		_, err := s.ReadVideo(context.Background()) // due in 2 s
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	s.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("read across Close: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not unblock ReadVideo")
	}
	// A frame handed out before Close stays valid.
	if p, err := f.Plane(0); err != nil || p.Data[0] != 0 || p.Data[3] != 255 {
		t.Errorf("earlier frame after Close: %v", err)
	}
	f.Close()
}

// TestRefusesHugeImageFromItsHeader: a tiny file declaring 50000x50000
// is refused before decoding (it would take 10 GB), naming the file, its
// size and the cap; the cap is configurable.
func TestRefusesHugeImageFromItsHeader(t *testing.T) {
	p := write(t, "huge.png", imagetest.DeclaredPNG(50000, 50000, 64))
	_, err := Open(p, 30, Options{})
	var tm *imagefile.TooManyPixelsError
	if !errors.As(err, &tm) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "50000x50000") {
		t.Fatalf("got %v, want a TooManyPixelsError naming %s", err, p)
	}
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)))
	small := write(t, "small.png", b.Bytes())
	if _, err := Open(small, 30, Options{MaxImagePixels: 63}); !errors.As(err, &tm) || tm.MaxPixels != 63 {
		t.Errorf("8x8 under a 63-pixel cap: %v", err)
	}
	s, err := Open(small, 30, Options{MaxImagePixels: 64})
	if err != nil {
		t.Fatalf("8x8 at a 64-pixel cap: %v", err)
	}
	s.Close()
}
