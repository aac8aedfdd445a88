package text

import (
	"context"
	"errors"
	"image/color"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"

	"github.com/shadercast/shadercast/media"
)

// fakeClock is a settable clock for {{clock}}.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestExpand(t *testing.T) {
	clk := &fakeClock{time.Date(2026, 12, 7, 9, 5, 3, 0, time.UTC)}
	s, err := Open("Dock {{ dock }} {{clock}} {{date}} {{unset}} {{not a field}}", Options{Width: 64, Height: 32, FPS: 30, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetField("dock", "4")
	if got, want := s.Expand(clk.now()), "Dock 4 09:05:03 2026-12-07  {{not a field}}"; got != want {
		t.Errorf("Expand: %q, want %q", got, want)
	}
}

// TestDrawsOnlyWhenTheTextChanges: the text is drawn (ink where the font
// puts it, transparent elsewhere); while it stays the same, frames share
// the pixels with new timestamps; when the clock moves on, a new picture.
func TestDrawsOnlyWhenTheTextChanges(t *testing.T) {
	clk := &fakeClock{time.Date(2026, 12, 7, 9, 5, 3, 0, time.UTC)}
	const W, H, size = 400, 100, 40
	s, err := Open("{{clock}}", Options{Width: W, Height: H, FPS: 200, Size: size, Color: color.RGBA{255, 255, 0, 255}, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	read := func() media.VideoFrame {
		t.Helper()
		f, err := s.ReadVideo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	f1 := read()
	defer f1.Close()
	pl, _ := f1.Plane(0)
	// The ink lies within the text's advance and the font's line, from
	// the margin; nothing outside it but the shadow's offset.
	ft, _ := opentype.Parse(goregular.TTF)
	face, _ := opentype.NewFace(ft, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	adv := font.MeasureString(face, "09:05:03").Ceil()
	m := face.Metrics()
	x0, y0 := size/4, size/4
	x1, y1 := x0+adv+4, y0+m.Height.Ceil()+4
	yellow, outside := 0, 0
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			p := pl.Data[y*pl.Stride+4*x:]
			if p[3] == 0 {
				continue
			}
			if x < x0-1 || x > x1 || y < y0-1 || y > y1 {
				outside++
			}
			if p[3] == 255 && p[0] > 200 && p[1] > 200 && p[2] < 60 {
				yellow++
			}
		}
	}
	if yellow < 200 || outside > 0 {
		t.Errorf("%d opaque yellow pixels (want many), %d inked pixels outside [%d,%d]-[%d,%d]", yellow, outside, x0, y0, x1, y1)
	}
	f2 := read()
	defer f2.Close()
	p2, _ := f2.Plane(0)
	if &p2.Data[0] != &pl.Data[0] || f2.Timestamp() <= f1.Timestamp() {
		t.Errorf("same text: pixels shared %v, timestamps %d then %d", &p2.Data[0] == &pl.Data[0], f1.Timestamp(), f2.Timestamp())
	}
	clk.t = clk.t.Add(time.Second)
	f3 := read()
	defer f3.Close()
	p3, _ := f3.Plane(0)
	if &p3.Data[0] == &pl.Data[0] {
		t.Fatal("the clock moved on, the picture did not")
	}
	diff := 0
	for i := range p3.Data[:H*p3.Stride] {
		if p3.Data[i] != pl.Data[i] {
			diff++
		}
	}
	if diff == 0 {
		t.Error("09:05:04 drawn as 09:05:03")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.ttf")
	os.WriteFile(junk, []byte("not a font at all"), 0o644)
	for name, o := range map[string]Options{
		"no size":        {FPS: 30},
		"no rate":        {Width: 10, Height: 10},
		"font size":      {Width: 10, Height: 10, FPS: 30, Size: 5000},
		"missing font":   {Width: 10, Height: 10, FPS: 30, Font: filepath.Join(dir, "none.ttf")},
		"not a font":     {Width: 10, Height: 10, FPS: 30, Font: junk},
		"font is a dir":  {Width: 10, Height: 10, FPS: 30, Font: dir},
		"huge":           {Width: 100000, Height: 10, FPS: 30},
		"negative size":  {Width: 10, Height: 10, FPS: 30, Size: -3},
		"frame rate NaN": {Width: 10, Height: 10, FPS: 0},
	} {
		if _, err := Open("x", o); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}

func TestClose(t *testing.T) {
	live := media.PoolStats().LiveVideoFrames
	s, err := Open("bye", Options{Width: 32, Height: 16, FPS: 100})
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.ReadVideo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	s.Close()
	if _, err := s.ReadVideo(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadVideo after Close: %v", err)
	}
	if n := media.PoolStats().LiveVideoFrames; n != live {
		t.Errorf("live frames %d, want %d", n, live)
	}
}
