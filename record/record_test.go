package record

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shadercast/shadercast/codec/vp8"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source/y4m"
)

func tool(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is required for this test (scripts/install-deps installs it): %v", name, err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return out
}

type probed struct {
	CodecName    string `json:"codec_name"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	NbReadFrames string `json:"nb_read_frames"`
	TimeBase     string `json:"time_base"`
	ColorRange   string `json:"color_range"`
}

func ffprobe(t *testing.T, path string) probed {
	t.Helper()
	out := tool(t, "ffprobe", "-v", "error", "-show_streams", "-count_frames", "-of", "json", path)
	var res struct{ Streams []probed }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	if len(res.Streams) != 1 {
		t.Fatalf("ffprobe found %d streams:\n%s", len(res.Streams), out)
	}
	return res.Streams[0]
}

// sourceFrames reads n frames of ffmpeg's testsrc2 through the y4m reader.
func sourceFrames(t *testing.T, w, h, n int, extra ...string) ([]media.VideoFrame, []byte) {
	t.Helper()
	args := []string{"-v", "error", "-nostdin", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=25", w, h),
		"-frames:v", fmt.Sprint(n), "-pix_fmt", "yuv420p"}
	args = append(append(args, extra...), "-f", "yuv4mpegpipe", "-")
	data := tool(t, "ffmpeg", args...)
	r, err := y4m.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var fs []media.VideoFrame
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	t.Cleanup(func() {
		for _, f := range fs {
			f.Close()
		}
	})
	return fs, data
}

func TestIVFWithRealVP8(t *testing.T) {
	const w, h, n = 320, 240, 10
	frames, _ := sourceFrames(t, w, h, n)
	enc, err := vp8.NewEncoder(vp8.EncoderConfig{Width: w, Height: h, Bitrate: 1_000_000, FrameRate: 25})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()

	path := filepath.Join(t.TempDir(), "out.ivf")
	v, err := CreateIVF(path, w, h, 1, 90000)
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for _, f := range frames {
		p, err := enc.Encode(f, false, buf[:0])
		if err != nil {
			t.Fatal(err)
		}
		buf = p.Data
		if err := v.WriteFrame(p.Data, p.PTS*90/1000); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.WriteFrame(buf, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close: %v", err)
	}

	st := ffprobe(t, path)
	if st.CodecName != "vp8" || st.Width != w || st.Height != h || st.NbReadFrames != fmt.Sprint(n) || st.TimeBase != "1/90000" {
		t.Fatalf("ffprobe: %+v", st)
	}
	data, _ := os.ReadFile(path)
	if got := binary.LittleEndian.Uint32(data[24:]); got != n {
		t.Errorf("header frame count %d, want %d", got, n)
	}
	pts := tool(t, "ffprobe", "-v", "error", "-show_entries", "packet=pts", "-of", "csv=p=0", path)
	if want := "0\n3600\n7200\n"; !strings.HasPrefix(string(pts), want) {
		t.Errorf("packet pts %q, want to start with %q", pts, want)
	}

	// Decoded by ffmpeg, the recording must look like the source.
	raw := tool(t, "ffmpeg", "-v", "error", "-nostdin", "-i", path, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	size := w * h * 3 / 2
	if len(raw) != n*size {
		t.Fatalf("ffmpeg decoded %d bytes, want %d", len(raw), n*size)
	}
	for i, f := range frames {
		src := make([]byte, size)
		f.CopyTo(src, nil)
		if p := psnr(src, raw[i*size:(i+1)*size]); p < 30 {
			t.Errorf("frame %d: PSNR %.1f dB against the source", i, p)
		}
	}
}

func psnr(a, b []byte) float64 {
	var se float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255*float64(len(a))/se)
}

// pipeWriter hides bytes.Buffer's lack of Seek explicitly: a stream.
type pipeWriter struct{ bytes.Buffer }

func TestIVFUnseekableAndErrors(t *testing.T) {
	var pw pipeWriter
	v, err := NewIVF(&pw, 64, 48, 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.WriteFrame(nil, 0); err == nil {
		t.Error("empty frame accepted")
	}
	if err := v.WriteFrame([]byte{1, 2, 3}, 40); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	b := pw.Bytes()
	if len(b) != 32+12+3 || string(b[:4]) != "DKIF" || string(b[8:12]) != "VP80" ||
		binary.LittleEndian.Uint32(b[16:]) != 1000 || binary.LittleEndian.Uint32(b[20:]) != 1 ||
		binary.LittleEndian.Uint32(b[32:]) != 3 || binary.LittleEndian.Uint64(b[36:]) != 40 {
		t.Fatalf("bytes % x", b)
	}
	if _, err := NewIVF(&pw, 0, 48, 1, 1000); err == nil {
		t.Error("zero width accepted")
	}
	if _, err := NewIVF(&pw, 64, 48, 0, 1000); err == nil {
		t.Error("zero timebase accepted")
	}
	frame := []byte{1, 2, 3}
	allocs := testing.AllocsPerRun(100, func() {
		pw.Reset()
		v.closed = false
		v.WriteFrame(frame, 40)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per IVF frame", allocs)
	}
}

func TestY4MMatchesFFmpegAndRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string
		rng   string
	}{{"limited", nil, ""}, {"full", []string{"-color_range", "pc"}, "pc"}} {
		t.Run(tc.name, func(t *testing.T) {
			const w, h, n = 320, 240, 4
			frames, ffY4M := sourceFrames(t, w, h, n, tc.extra...)
			path := filepath.Join(t.TempDir(), "out.y4m")
			y, err := CreateY4M(path, Y4MOptions{FrameRateNum: 25, FrameRateDen: 1})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range frames {
				if err := y.WriteFrame(f); err != nil {
					t.Fatal(err)
				}
			}
			// A frame of another size is refused and writes nothing.
			other, _ := media.AllocVideoFrame(media.VideoFrameInit{Format: media.I420, CodedWidth: 160, CodedHeight: 120})
			if err := y.WriteFrame(other); err == nil || !strings.Contains(err.Error(), "160x120") {
				t.Errorf("other size: %v", err)
			}
			other.Close()
			rgba, _ := media.AllocVideoFrame(media.VideoFrameInit{Format: media.RGBA, CodedWidth: w, CodedHeight: h})
			if err := y.WriteFrame(rgba); err == nil {
				t.Error("RGBA frame accepted")
			}
			rgba.Close()
			if err := y.Close(); err != nil {
				t.Fatal(err)
			}

			got, _ := os.ReadFile(path)
			// Same header choices as ffmpeg, so the very same bytes.
			if !bytes.Equal(got, ffY4M) {
				t.Errorf("file differs from ffmpeg's Y4M of the same frames; headers %q vs %q",
					got[:bytes.IndexByte(got, '\n')], ffY4M[:bytes.IndexByte(ffY4M, '\n')])
			}
			st := ffprobe(t, path)
			if st.CodecName != "rawvideo" || st.Width != w || st.Height != h || st.NbReadFrames != fmt.Sprint(n) || st.ColorRange != tc.rng {
				t.Errorf("ffprobe: %+v", st)
			}

			r, err := y4m.NewReader(bytes.NewReader(got))
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range frames {
				back, err := r.ReadFrame()
				if err != nil {
					t.Fatal(err)
				}
				a, b := make([]byte, w*h*3/2), make([]byte, w*h*3/2)
				f.CopyTo(a, nil)
				back.CopyTo(b, nil)
				if !bytes.Equal(a, b) || back.ColorSpace() != f.ColorSpace() {
					t.Errorf("frame %d did not round-trip", i)
				}
				back.Close()
			}
		})
	}
}

func TestY4MNoAllocPerFrame(t *testing.T) {
	f, err := media.AllocVideoFrame(media.VideoFrameInit{Format: media.I420, CodedWidth: 64, CodedHeight: 48})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	y, err := NewY4M(io.Discard, Y4MOptions{FrameRateNum: 30, FrameRateDen: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := y.WriteFrame(f); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := y.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Y4M frame", allocs)
	}
	if _, err := NewY4M(io.Discard, Y4MOptions{}); err == nil {
		t.Error("zero frame rate accepted")
	}
}
