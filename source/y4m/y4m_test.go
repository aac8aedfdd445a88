package y4m

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadercast/shadercast/media"
)

// ffmpeg runs the real ffmpeg and returns its stdout; the tests compare the
// reader against ffmpeg's own decoding of the same source.
func ffmpeg(t testing.TB, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatalf("ffmpeg is required for this test (scripts/install-deps installs it): %v", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", append([]string{"-v", "error", "-nostdin"}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// lavfi returns a Y4M and the raw planes ffmpeg makes of the same source.
func lavfi(t testing.TB, src, pixfmt string, frames int, extra ...string) (y4m, raw []byte) {
	in := []string{"-f", "lavfi", "-i", src, "-frames:v", fmt.Sprint(frames), "-pix_fmt", pixfmt}
	in = append(in, extra...)
	y4m = ffmpeg(t, append(append([]string{}, in...), "-f", "yuv4mpegpipe", "-")...)
	raw = ffmpeg(t, append(append([]string{}, in...), "-f", "rawvideo", "-")...)
	return y4m, raw
}

func checkNoLeak(t *testing.T) {
	t.Cleanup(func() {
		if n := media.PoolStats().LiveVideoFrames; n != 0 {
			t.Errorf("%d video frames left open", n)
		}
	})
}

// planes returns the frame's I420 planes concatenated (tight).
func planes(t testing.TB, f media.VideoFrame) []byte {
	t.Helper()
	n, err := f.AllocationSize()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	if _, err := f.CopyTo(b, nil); err != nil {
		t.Fatal(err)
	}
	return b
}

func readAll(t *testing.T, r *Reader) []media.VideoFrame {
	t.Helper()
	var fs []media.VideoFrame
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			return fs
		}
		if err != nil {
			t.Fatalf("frame %d: %v", len(fs), err)
		}
		fs = append(fs, f)
	}
}

func TestMatchesFFmpegRaw(t *testing.T) {
	checkNoLeak(t)
	for _, tc := range []struct {
		name      string
		w, h      int
		extra     []string
		header    string
		cs        media.ColorSpace
		rate      Ratio
		wantRange string
	}{
		{"sd", 320, 240, nil, "C420jpeg", media.ColorSpaceBT601Limited, Ratio{25, 1}, ""},
		{"odd", 321, 241, []string{"-vf", "scale=321:241,setsar=1"}, "W321 H241", media.ColorSpaceBT601Limited, Ratio{25, 1}, "LIMITED"},
		{"sd-limited", 320, 240, []string{"-color_range", "tv"}, "XCOLORRANGE=LIMITED", media.ColorSpaceBT601Limited, Ratio{25, 1}, "LIMITED"},
		{"hd-full", 1280, 720, []string{"-color_range", "pc"}, "XCOLORRANGE=FULL", media.ColorSpaceBT709Full, Ratio{25, 1}, "FULL"},
		{"ntsc", 320, 240, []string{"-r", "30000/1001"}, "F30000:1001", media.ColorSpaceBT601Limited, Ratio{30000, 1001}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := fmt.Sprintf("testsrc2=size=%dx%d:rate=25", tc.w+tc.w%2, tc.h+tc.h%2)
			data, raw := lavfi(t, src, "yuv420p", 5, tc.extra...)
			if !bytes.Contains(data[:bytes.IndexByte(data, '\n')], []byte(tc.header)) {
				t.Fatalf("ffmpeg header %q lacks %q", data[:bytes.IndexByte(data, '\n')], tc.header)
			}
			r, err := NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			h := r.Header()
			if h.Width != tc.w || h.Height != tc.h || h.FrameRate != tc.rate || h.ColorRange != tc.wantRange || h.Interlaced() || h.Colorspace != "420jpeg" || h.PixelAspect != (Ratio{1, 1}) {
				t.Fatalf("header %+v", h)
			}
			fs := readAll(t, r)
			defer func() {
				for _, f := range fs {
					f.Close()
				}
			}()
			if len(fs) != 5 {
				t.Fatalf("%d frames, want 5", len(fs))
			}
			size := h.FrameSize()
			if len(raw) != 5*size {
				t.Fatalf("ffmpeg raw is %d bytes, want %d", len(raw), 5*size)
			}
			for i, f := range fs {
				if f.Format() != media.I420 || f.CodedWidth() != tc.w || f.CodedHeight() != tc.h || f.ColorSpace() != tc.cs {
					t.Fatalf("frame %d: %v", i, f)
				}
				wantTS := int64(i) * 1_000_000 * int64(tc.rate.Den) / int64(tc.rate.Num)
				wantNext := int64(i+1) * 1_000_000 * int64(tc.rate.Den) / int64(tc.rate.Num)
				if f.Timestamp() != wantTS || f.Duration() != wantNext-wantTS {
					t.Errorf("frame %d: ts %d dur %d, want %d %d", i, f.Timestamp(), f.Duration(), wantTS, wantNext-wantTS)
				}
				if !bytes.Equal(planes(t, f), raw[i*size:(i+1)*size]) {
					t.Errorf("frame %d differs from ffmpeg's rawvideo", i)
				}
			}
		})
	}
}

func TestTimestampsExactOverLongRuns(t *testing.T) {
	h := Header{FrameRate: Ratio{30000, 1001}}
	// After 10 hours at 29.97 fps the exact value, not an accumulated sum.
	n := int64(10 * 3600 * 30000 / 1001)
	if got, want := h.frameTime(n), n*1001*1_000_000/30000; got != want {
		t.Fatalf("frameTime(%d) = %d, want %d", n, got, want)
	}
}

func TestMono(t *testing.T) {
	checkNoLeak(t)
	data, raw := lavfi(t, "testsrc2=size=64x48:rate=25", "gray", 3)
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if r.Header().Colorspace != "mono" {
		t.Fatalf("colorspace %q", r.Header().Colorspace)
	}
	fs := readAll(t, r)
	if len(fs) != 3 {
		t.Fatalf("%d frames", len(fs))
	}
	for i, f := range fs {
		p := planes(t, f)
		if !bytes.Equal(p[:64*48], raw[i*64*48:(i+1)*64*48]) {
			t.Errorf("frame %d: luma differs from ffmpeg's", i)
		}
		for k, v := range p[64*48:] {
			if v != 128 {
				t.Fatalf("frame %d: chroma byte %d is %d, want 128", i, k, v)
			}
		}
		f.Close()
	}
}

func TestConcatenatedSizes(t *testing.T) {
	checkNoLeak(t)
	a, rawA := lavfi(t, "testsrc2=size=320x240:rate=25", "yuv420p", 2)
	b, rawB := lavfi(t, "testsrc2=size=160x120:rate=50", "yuv420p", 3)
	r, err := NewReader(io.MultiReader(bytes.NewReader(a), bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	fs := readAll(t, r)
	defer func() {
		for _, f := range fs {
			f.Close()
		}
	}()
	if len(fs) != 5 {
		t.Fatalf("%d frames, want 5", len(fs))
	}
	if h := r.Header(); h.Width != 160 || h.Height != 120 || h.FrameRate != (Ratio{50, 1}) {
		t.Fatalf("header after the change: %+v", h)
	}
	wantTS := []int64{0, 40000, 80000, 100000, 120000}
	for i, f := range fs {
		w, raw, k := 320, rawA, i
		if i >= 2 {
			w, raw, k = 160, rawB, i-2
		}
		if f.CodedWidth() != w || f.Timestamp() != wantTS[i] {
			t.Errorf("frame %d: %dx%d ts %d, want width %d ts %d", i, f.CodedWidth(), f.CodedHeight(), f.Timestamp(), w, wantTS[i])
		}
		n := w * w * 3 / 4 * 3 / 2
		if !bytes.Equal(planes(t, f), raw[k*n:(k+1)*n]) {
			t.Errorf("frame %d differs from ffmpeg's", i)
		}
	}
}

func TestTruncated(t *testing.T) {
	checkNoLeak(t)
	data, _ := lavfi(t, "testsrc2=size=32x32:rate=25", "yuv420p", 2)
	data = data[:len(data)-100]
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	f, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = r.ReadFrame()
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "1436 of 1536 bytes") {
		t.Fatalf("got %v, want ErrTruncated with 1436 of 1536 bytes", err)
	}
	// Cut inside the FRAME line.
	r, _ = NewReader(strings.NewReader("YUV4MPEG2 W2 H2\nFRA"))
	if _, err := r.ReadFrame(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("cut FRAME line: %v", err)
	}
}

func TestRejectsUnsupported(t *testing.T) {
	for _, tc := range []struct{ pixfmt, tag string }{{"yuv444p", "C444"}, {"yuv422p", "C422"}, {"yuv420p10le", "C420p10"}} {
		data, _ := lavfi(t, "testsrc2=size=32x32:rate=25", tc.pixfmt, 1, "-strict", "-1")
		_, err := NewReader(bytes.NewReader(data))
		var he *HeaderError
		if !errors.As(err, &he) || he.Token != tc.tag || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "-pix_fmt yuv420p") {
			t.Errorf("%s: got %v, want a HeaderError on %s with the ffmpeg hint", tc.pixfmt, err, tc.tag)
		}
	}
}

func TestBadInput(t *testing.T) {
	checkNoLeak(t)
	for _, tc := range []struct{ in, token string }{
		{"", ""},
		{"RIFF....\n", "RIFF...."},
		{"YUV4MPEG2 W2 H2", ""},
		{"YUV4MPEG2 W320 Hx\n", "Hx"},
		{"YUV4MPEG2 W320 F25:1\n", "H"},
		{"YUV4MPEG2 W320 H240 F25:0\n", "F25:0"},
		{"YUV4MPEG2 W320 H240 Iq\n", "Iq"},
		{"YUV4MPEG2 W320 H240 XCOLORRANGE=WIDE\n", "XCOLORRANGE=WIDE"},
		{"YUV4MPEG2 W320 H240 Z9\n", "Z9"},
		{"YUV4MPEG2 W99999 H240\n", "W99999"},
		{strings.Repeat("x", 70000), ""},
	} {
		_, err := NewReader(strings.NewReader(tc.in))
		var he *HeaderError
		if !errors.As(err, &he) || he.Token != tc.token {
			t.Errorf("%.30q: got %v, want HeaderError naming %q", tc.in, err, tc.token)
		}
	}

	frame := strings.Repeat("\x10", 6)
	r, _ := NewReader(strings.NewReader("YUV4MPEG2 W2 H2 It\nFRAME\n" + frame + "FRAMX\n" + frame))
	if !r.Header().Interlaced() {
		t.Error("It not reported as interlaced")
	}
	f, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := r.ReadFrame(); !errors.Is(err, ErrFrameMarker) {
		t.Errorf("garbled marker: %v", err)
	}
	// One byte too many in a frame: the next marker is off by one.
	r, _ = NewReader(strings.NewReader("YUV4MPEG2 W2 H2\nFRAME\n" + frame + "xFRAME\n" + frame))
	f, _ = r.ReadFrame()
	f.Close()
	if _, err := r.ReadFrame(); !errors.Is(err, ErrFrameMarker) {
		t.Errorf("misaligned frame: %v", err)
	}

	r, _ = NewReader(strings.NewReader("YUV4MPEG2 W2 H2\nFRAME Ib XFOO=1 W2\n" + frame + "FRAME W4 H4\n" + frame))
	f, err = r.ReadFrame()
	if err != nil {
		t.Fatalf("frame with honourable parameters: %v", err)
	}
	f.Close()
	var sc *SizeChangeError
	if _, err := r.ReadFrame(); !errors.As(err, &sc) || sc.From != [2]int{2, 2} || sc.To != [2]int{4, 2} {
		t.Errorf("frame-local size: %v", err)
	}
}

func TestReadFrameDoesNotAllocate(t *testing.T) {
	data, _ := lavfi(t, "testsrc2=size=320x240:rate=25", "yuv420p", 1)
	br := bytes.NewReader(data)
	r, err := NewReader(br)
	if err != nil {
		t.Fatal(err)
	}
	frameAt, _ := br.Seek(0, io.SeekCurrent)
	frameAt -= int64(r.br.Buffered())
	allocs := testing.AllocsPerRun(100, func() {
		br.Seek(frameAt, io.SeekStart)
		r.br.Reset(br)
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per frame", allocs)
	}
}

func BenchmarkReadFrame720p(b *testing.B) {
	data, _ := lavfi(b, "testsrc2=size=1280x720:rate=25", "yuv420p", 1)
	br := bytes.NewReader(data)
	r, err := NewReader(br)
	if err != nil {
		b.Fatal(err)
	}
	frameAt, _ := br.Seek(0, io.SeekCurrent)
	frameAt -= int64(r.br.Buffered())
	b.ReportAllocs()
	b.SetBytes(int64(r.Header().FrameSize()))
	for b.Loop() {
		br.Seek(frameAt, io.SeekStart)
		r.br.Reset(br)
		f, err := r.ReadFrame()
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// synthetic writes a Y4M file of n tiny frames at rate num:den.
func synthetic(t *testing.T, n int, rate string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "YUV4MPEG2 W4 H2 F%s\n", rate)
	for i := 0; i < n; i++ {
		b.WriteString("FRAME\n")
		b.Write(bytes.Repeat([]byte{byte(i)}, 12))
	}
	p := filepath.Join(t.TempDir(), "s.y4m")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSourcePacing(t *testing.T) {
	checkNoLeak(t)
	s, err := Open(synthetic(t, 10, "100:1"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	for i := 0; i < 10; i++ {
		f, err := s.ReadVideo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if f.Timestamp() != int64(i)*10000 {
			t.Errorf("frame %d at %d µs", i, f.Timestamp())
		}
		f.Close()
	}
	// Frame 9 is due 90 ms after frame 0.
	if el := time.Since(start); el < 90*time.Millisecond {
		t.Errorf("10 frames at 100 fps took %v, want >= 90ms", el)
	}
	if _, err := s.ReadVideo(context.Background()); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func TestSourceLateCallerIsNotBurst(t *testing.T) {
	checkNoLeak(t)
	s, err := Open(synthetic(t, 10, "50:1"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, _ := s.ReadVideo(context.Background())
	f.Close()
	time.Sleep(200 * time.Millisecond) // ten frame periods late
	start := time.Now()
	for i := 0; i < 4; i++ {
		f, err := s.ReadVideo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// The late frame comes at once, the three after it 20 ms apart: a
	// catch-up burst would take ~0.
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Errorf("4 frames after a stall took %v: burst instead of re-anchoring", el)
	}
}

func TestSourceLoop(t *testing.T) {
	checkNoLeak(t)
	s, err := Open(synthetic(t, 3, "1000:1"), Options{Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 8; i++ {
		f, err := s.ReadVideo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p, _ := f.Plane(0)
		if f.Timestamp() != int64(i)*1000 || p.Data[0] != byte(i%3) {
			t.Errorf("read %d: ts %d content %d, want %d %d", i, f.Timestamp(), p.Data[0], i*1000, i%3)
		}
		f.Close()
	}
	if _, err := Open("-", Options{Loop: true}); err == nil {
		t.Error("looping stdin accepted")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.y4m"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestSourceCloseAndCancelUnblock(t *testing.T) {
	checkNoLeak(t)
	s, err := Open(synthetic(t, 3, "1:1"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := s.ReadVideo(context.Background())
	f.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := s.ReadVideo(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled read: %v", err)
	}
	// The frame the cancelled read held comes next, not the one after it.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	f, err = s.ReadVideo(ctx2)
	if err != nil || f.Timestamp() != 1_000_000 {
		t.Fatalf("read after a cancelled one: %v, %v", f, err)
	}
	f.Close()
	// A cancelled read's frame is released by Close.
	ctx3, cancel3 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel3()
	if _, err := s.ReadVideo(ctx3); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled read: %v", err)
	}
	s.Close()
	s, _ = Open(synthetic(t, 3, "1:1"), Options{})
	f, _ = s.ReadVideo(context.Background())
	f.Close()

	errc := make(chan error)
	go func() {
		_, err := s.ReadVideo(context.Background())
		errc <- err
	}()
	time.Sleep(30 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("read after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock ReadVideo")
	}
	if _, err := s.ReadVideo(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after Close: %v", err)
	}
}

func TestSourceStdin(t *testing.T) {
	checkNoLeak(t)
	data, err := os.ReadFile(synthetic(t, 3, "1000:1"))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	go func() {
		pw.Write(data)
		pw.Close()
	}()
	old := os.Stdin
	os.Stdin = pr
	defer func() { os.Stdin = old }()
	s, err := Open("-", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		f, err := s.ReadVideo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if _, err := s.ReadVideo(context.Background()); err != io.EOF {
		t.Fatalf("end of stdin: %v", err)
	}
	s.Close()
	// Close leaves the process's stdin open.
	if _, err := pr.Stat(); err != nil {
		t.Errorf("stdin closed by Close: %v", err)
	}
}
