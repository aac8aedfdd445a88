package vp8

import (
	"errors"
	"testing"

	"github.com/shadercast/shadercast/internal/codectest"
)

// encodeFrames encodes n frames of the test pattern at w x h: a keyframe,
// then interframes. The packets' data are copies.
func encodeFrames(t testing.TB, w, h, n int) [][]byte {
	t.Helper()
	e := newEnc(t, w, h, 300_000)
	var out [][]byte
	for i := range n {
		f := codectest.Pattern(t, w, h, int64(i)*33333, i, true)
		pk, err := e.Encode(f, false, nil)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), pk.Data...))
	}
	return out
}

func TestParseFrameHeader(t *testing.T) {
	frames := encodeFrames(t, 322, 178, 3)
	k, err := ParseFrameHeader(frames[0])
	if err != nil {
		t.Fatal(err)
	}
	if !k.Keyframe || k.Width != 322 || k.Height != 178 || !k.Show || k.Version != 0 ||
		k.FirstPartitionSize == 0 || k.FirstPartitionSize > len(frames[0])-10 {
		t.Fatalf("keyframe header %+v (frame of %d bytes)", k, len(frames[0]))
	}
	d, err := ParseFrameHeader(frames[1])
	if err != nil {
		t.Fatal(err)
	}
	if d.Keyframe || d.Width != 0 || d.Height != 0 {
		t.Fatalf("interframe header %+v", d)
	}

	bad := func(b []byte) []byte { return append(append([]byte(nil), frames[0][:10]...), b...) }
	big := bad(nil)
	big[6], big[7], big[8], big[9] = 0xff, 0x3f, 0xff, 0x3f // 16383x16383, scale 0
	for name, b := range map[string][]byte{
		"empty":            nil,
		"short tag":        frames[1][:2],
		"short keyframe":   frames[0][:9],
		"no start code":    append([]byte{frames[0][0], frames[0][1], frames[0][2], 0x9d, 0x01, 0x2b}, frames[0][6:]...),
		"zero width":       append(bad(nil)[:6], 0, 0, 10, 0),
		"truncated part 1": frames[0][:10+k.FirstPartitionSize-1],
		"bad profile":      append([]byte{frames[1][0] | 0xe}, frames[1][1:]...),
		"huge, truncated":  big,
	} {
		if h, err := ParseFrameHeader(b); err == nil {
			t.Errorf("%s: no error (%+v)", name, h)
		}
	}
}

// A keyframe over the decoder's maximum is refused by our header check
// (ErrTooLarge, which libvpx never returns) before libvpx sees it; the
// decoder goes on decoding a stream within the bound.
func TestDecoderMaxSize(t *testing.T) {
	big := encodeFrames(t, 640, 360, 2)
	small := encodeFrames(t, 320, 180, 2)
	d := newDec(t)
	d.SetMaxSize(320, 240)
	for i, b := range big {
		f, err := d.Decode(b, int64(i))
		if i == 0 && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("640x360 keyframe with max 320x240: %v, want ErrTooLarge", err)
		}
		if err == nil {
			f.Close()
			t.Fatalf("frame %d of the oversized stream decoded", i)
		}
	}
	// A forged header claiming 16383x16383: refused by size, not by
	// libvpx trying to allocate 800 MB.
	forged := append([]byte(nil), small[0]...)
	forged[6], forged[7], forged[8], forged[9] = 0xff, 0x3f, 0xff, 0x3f
	if _, err := d.Decode(forged, 5); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("forged 16383x16383 keyframe: %v, want ErrTooLarge", err)
	}
	for i, b := range small {
		f, err := d.Decode(b, int64(10+i))
		if err != nil {
			t.Fatalf("320x180 frame %d: %v", i, err)
		}
		if f.CodedWidth() != 320 || f.CodedHeight() != 180 {
			t.Fatalf("decoded %dx%d", f.CodedWidth(), f.CodedHeight())
		}
		f.Close()
	}
}

// FuzzParseFrameHeader feeds frames (seeded with real encoder output) to
// the header parser and then to a decoder bounded at 64x64: nothing may
// panic, a parsed keyframe's size is what its bytes say, and the decoder
// never returns a picture over its bound.
func FuzzParseFrameHeader(f *testing.F) {
	for _, b := range encodeFrames(f, 48, 32, 3) {
		f.Add(b)
	}
	for _, b := range encodeFrames(f, 96, 64, 2) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseFrameHeader(b)
		if err == nil && h.Keyframe {
			if h.Width < 1 || h.Width > 0x3fff || h.Height < 1 || h.Height > 0x3fff {
				t.Fatalf("parsed size %dx%d", h.Width, h.Height)
			}
			if w := int(b[6]) | int(b[7]&0x3f)<<8; w != h.Width {
				t.Fatalf("width %d, bytes say %d", h.Width, w)
			}
		}
		d, err := NewDecoder(1)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		d.SetMaxSize(64, 64)
		fr, err := d.Decode(b, 0)
		if err != nil {
			return
		}
		defer fr.Close()
		if fr.CodedWidth() > 64 || fr.CodedHeight() > 64 {
			t.Fatalf("decoded %dx%d past the 64x64 bound", fr.CodedWidth(), fr.CodedHeight())
		}
	})
}
