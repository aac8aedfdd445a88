package y4m

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
)

// TestHeaderBounds feeds each class of out-of-range header field: every
// one must give a *HeaderError naming the token, never a panic, and the
// values real files use must still be read.
func TestHeaderBounds(t *testing.T) {
	checkNoLeak(t)
	bad := []struct{ in, token, want string }{
		// The known crasher: 1e6*den*n overflowed 64 bits in frameTime.
		{"W2 H2 F1:4620909396513", "F1:4620909396513", "frame rate 1:4620909396513 (2.16e-13 fps) out of range"},
		{"W2 H2 F4620909396513:1", "F4620909396513:1", "out of range"},
		{"W2 H2 F2147483648:2147483647", "F2147483648:2147483647", "out of range"},
		{"W2 H2 F99999999999999999999999:1", "F99999999999999999999999:1", "two whole numbers"},
		{"W2 H2 F1:0", "F1:0", "both positive"},
		{"W2 H2 F0:1", "F0:1", "both positive"},
		{"W2 H2 F-1:-1", "F-1:-1", "two whole numbers"},
		{"W2 H2 F+25:1", "F+25:1", "two whole numbers"},
		{"W2 H2 F25", "F25", "two whole numbers"},
		{"W2 H2 F1:3601", "F1:3601", "out of range"},             // slower than a frame an hour
		{"W2 H2 F10001:1", "F10001:1", "out of range"},           // faster than 10000 fps
		{"W2 H2 F2147483647:1", "F2147483647:1", "out of range"}, // num*den products at the edge
		{"W0 H2", "W0", "size must be"},
		{"W-2 H2", "W-2", "size must be"},
		{"W+2 H2", "W+2", "size must be"},
		{"W16385 H2", "W16385", "size must be"},
		{"W99999999999999999999999999 H2", "W99999999999999999999999999", "size must be"},
		{"W16384 H16384", "W16384 H16384", "frame too large"},
		{"W2 H2 A-1:1", "A-1:1", "pixel aspect"},
		{"W2 H2 A1:4620909396513", "A1:4620909396513", "pixel aspect"},
		{"W2 H2 A1", "A1", "pixel aspect"},
		{"W2 H2 I", "I", "interlacing"},
		{"W2 H2 C", "C", "only 8-bit"},
	}
	for _, tc := range bad {
		_, err := NewReader(strings.NewReader("YUV4MPEG2 " + tc.in + "\n"))
		var he *HeaderError
		if !errors.As(err, &he) || he.Token != tc.token || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want a HeaderError on %q saying %q", tc.in, err, tc.token, tc.want)
		}
	}
	good := []struct {
		in   string
		rate Ratio
	}{
		{"W7680 H4320 F60000:1001 A1:1", Ratio{60000, 1001}}, // 8K
		{"W8192 H8192 F24000:1001", Ratio{24000, 1001}},
		{"W2 H2 F0:0 A0:0", Ratio{25, 1}}, // unknown rate, as ffmpeg reads it
		{"W2 H2 F1:3600", Ratio{1, 3600}},
		{"W2 H2 F10000:1", Ratio{10000, 1}},
		{"W2 H2 F2147483647:2147483647", Ratio{2147483647, 2147483647}},
		{"W2 H2 F1000000:33333", Ratio{1000000, 33333}},
	}
	for _, tc := range good {
		r, err := NewReader(strings.NewReader("YUV4MPEG2 " + tc.in + "\n"))
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if r.Header().FrameRate != tc.rate {
			t.Errorf("%q: rate %v, want %v", tc.in, r.Header().FrameRate, tc.rate)
		}
	}
}

// TestFrameHeaderBounds covers the FRAME line and the stream's structure.
func TestFrameHeaderBounds(t *testing.T) {
	checkNoLeak(t)
	frame := strings.Repeat("\x10", 6)
	r, _ := NewReader(strings.NewReader("YUV4MPEG2 W2 H2\nFRAME W99999999999999999999999999\n" + frame))
	var he *HeaderError
	if _, err := r.ReadFrame(); !errors.As(err, &he) || !strings.Contains(err.Error(), "bad frame size") {
		t.Errorf("huge frame-local width: %v", err)
	}
	r, _ = NewReader(strings.NewReader("YUV4MPEG2 W2 H2\nFRAME " + strings.Repeat("X", 5000) + "\n" + frame))
	if _, err := r.ReadFrame(); !errors.Is(err, ErrFrameMarker) {
		t.Errorf("FRAME line over %d bytes: %v", maxLine, err)
	}
	// Headers without frames, forever: refused after a few, not looped on.
	r, _ = NewReader(strings.NewReader(strings.Repeat("YUV4MPEG2 W2 H2\n", 1000)))
	if _, err := r.ReadFrame(); !errors.As(err, &he) || !strings.Contains(err.Error(), "without a frame") {
		t.Errorf("headers only: %v", err)
	}
	// A header mid-stream is still adopted.
	r, _ = NewReader(strings.NewReader("YUV4MPEG2 W2 H2\nYUV4MPEG2 W2 H2 F30:1\nFRAME\n" + frame))
	f, err := r.ReadFrame()
	if err != nil {
		t.Fatalf("one mid-stream header: %v", err)
	}
	f.Close()
}

// TestFrameTimeSaturates: frame times never wrap or panic, whatever the
// index and rate, and they never go back.
func TestFrameTimeSaturates(t *testing.T) {
	for _, rate := range []Ratio{{1, 3600}, {10000, 1}, {1, maxRatioTerm}, {maxRatioTerm, 1}, {30000, 1001}} {
		h := Header{FrameRate: rate}
		prev := int64(0)
		for _, n := range []int64{0, 1, 2, 4, 1 << 20, 1 << 40, 1 << 50, 1 << 62, math.MaxInt64 - 1, math.MaxInt64} {
			got := h.frameTime(n)
			if got < prev {
				t.Fatalf("%v: frameTime(%d) = %d went back from %d", rate, n, got, prev)
			}
			prev = got
		}
	}
	if got := addTime(math.MaxInt64-5, 10); got != math.MaxInt64 {
		t.Errorf("addTime saturates at %d", got)
	}
}

// y4mSeed is a small valid stream: header, frames, a mid-stream header.
func y4mSeed(w, h, frames int, params string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "YUV4MPEG2 W%d H%d %s\n", w, h, params)
	n := w*h + 2*((w+1)/2)*((h+1)/2)
	for i := 0; i < frames; i++ {
		b.WriteString("FRAME\n")
		b.Write(bytes.Repeat([]byte{byte(16 + i)}, n))
	}
	return b.Bytes()
}

// FuzzReader reads headers and frames of arbitrary bytes: no panic, no
// frame left open, frames the size the header says, time never going back.
func FuzzReader(f *testing.F) {
	f.Add(y4mSeed(4, 2, 2, "F30000:1001 It A1:1 C420jpeg XYSCSS=420JPEG XCOLORRANGE=LIMITED"))
	f.Add(y4mSeed(3, 3, 1, "F25:1 Cmono"))
	f.Add(append(y4mSeed(2, 2, 1, "F1:1"), y4mSeed(4, 4, 1, "F50:1 C420mpeg2")...))
	f.Add([]byte("YUV4MPEG2 W2 H2 F1:4620909396513\nFRAME\n\x10\x10\x10\x10\x80\x80FRAME\n\x10\x10\x10\x10\x80\x80"))
	f.Add([]byte("YUV4MPEG2 W2 H2\nFRAME Ib XFOO=1 W2\n\x10\x10\x10\x10\x80\x80FRAME W4 H4\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		last := int64(-1)
		for i := 0; i < 64; i++ {
			h := r.Header()
			if h.FrameSize() > 1<<22 {
				return // a real frame allocation per input is too slow to fuzz
			}
			fr, err := r.ReadFrame()
			if err == io.EOF {
				return
			}
			if err != nil {
				if !fr.Closed() {
					t.Fatalf("error %v with an open frame", err)
				}
				return
			}
			h = r.Header()
			if fr.CodedWidth() != h.Width || fr.CodedHeight() != h.Height || fr.Timestamp() < last || fr.Duration() < 0 {
				t.Fatalf("frame %dx%d ts %d dur %d after %d, header %+v", fr.CodedWidth(), fr.CodedHeight(), fr.Timestamp(), fr.Duration(), last, h)
			}
			last = fr.Timestamp()
			fr.Close()
		}
	})
}
