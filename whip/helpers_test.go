package whip

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/mediatest"
	"github.com/shadercast/shadercast/internal/rtctest"
	"github.com/shadercast/shadercast/media"
)

const (
	testW, testH = 160, 96
	// Bottom half: left red-ish, right green-ish (BT.601 limited); the
	// top band carries the frame index as 8 black/white blocks.
	lY, lU, lV = 81, 90, 240
	rY, rU, rV = 145, 54, 34
	bandRows   = 32
)

// indexFrame is a split-colour frame whose top band encodes i (mod 256) in
// eight 20-pixel blocks, most significant bit first.
func indexFrame(i int64, ts int64) (media.VideoFrame, error) {
	f, err := mediatest.SplitFrame(testW, testH, ts, 33333, mediatest.YUV{lY, lU, lV}, mediatest.YUV{rY, rU, rV})
	if err != nil {
		return f, err
	}
	for pi := 0; pi < 3; pi++ {
		p, _ := f.Plane(pi)
		rows := bandRows * p.Height / testH
		for y := 0; y < rows; y++ {
			row := p.Data[y*p.Stride : y*p.Stride+p.Width]
			for x := range row {
				bit := (i >> (7 - uint(x*8/p.Width))) & 1
				switch {
				case pi > 0:
					row[x] = 128
				case bit == 1:
					row[x] = 220
				default:
					row[x] = 30
				}
			}
		}
	}
	return f, nil
}

// readIndex decodes indexFrame's band.
func readIndex(f media.VideoFrame) int {
	p, _ := f.Plane(0)
	v := 0
	for b := 0; b < 8; b++ {
		x := b*p.Width/8 + p.Width/16
		if p.Data[(bandRows/2)*p.Stride+x] > 125 {
			v |= 1 << (7 - b)
		}
	}
	return v
}

func patchMean(p media.Plane, cx, cy, r int) float64 {
	sum, n := 0, 0
	for y := cy - r; y < cy+r; y++ {
		for x := cx - r; x < cx+r; x++ {
			sum += int(p.Data[y*p.Stride+x])
			n++
		}
	}
	return float64(sum) / float64(n)
}

// checkColours asserts the bottom halves have their colours, sampled away
// from the edge.
func checkColours(t *testing.T, f media.VideoFrame) {
	t.Helper()
	if f.CodedWidth() != testW || f.CodedHeight() != testH {
		t.Fatalf("decoded %dx%d, want %dx%d", f.CodedWidth(), f.CodedHeight(), testW, testH)
	}
	for pi, want := range [3][2]float64{{lY, rY}, {lU, rU}, {lV, rV}} {
		p, _ := f.Plane(pi)
		cy := p.Height * 3 / 4
		r := p.Height / 10
		l := patchMean(p, p.Width/4, cy, r)
		rr := patchMean(p, 3*p.Width/4, cy, r)
		if abs(l-want[0]) > 4 || abs(rr-want[1]) > 4 {
			t.Errorf("plane %d: left %.1f right %.1f, want %v±4", pi, l, rr, want)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// loopbackEngine keeps ICE on 127.0.0.1 with short timeouts, so a
// vanished peer is noticed quickly.
func loopbackEngine() *webrtc.SettingEngine {
	return rtctest.LoopbackEngine(time.Second, 2*time.Second)
}

func newTestHandler(t *testing.T, mod func(*Config)) (*Handler, *httptest.Server) {
	t.Helper()
	cfg := Config{SettingEngine: loopbackEngine()}
	if mod != nil {
		mod(&cfg)
	}
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/whip", h)
	mux.Handle("/whip/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	return h, srv
}

// newPub makes a publisher as these tests use it: 400 kbit/s, and ICE
// timeouts short enough that a vanished one is noticed within a test.
func newPub(t *testing.T, cfg rtctest.PublisherConfig) *rtctest.Publisher {
	t.Helper()
	cfg.Engine = loopbackEngine()
	cfg.Bitrate = 400_000
	return rtctest.NewPublisher(t, cfg)
}

// indexPicture is what newPub's publishers send: indexFrame at the test
// size.
func indexPicture() rtctest.Picture {
	return rtctest.Picture{Width: testW, Height: testH, Frame: indexFrame}
}

func post(t *testing.T, url, token, body string) *http.Response {
	t.Helper()
	return postCT(t, url, token, "application/sdp", body)
}

func postCT(t *testing.T, url, token, ct, body string) *http.Response {
	t.Helper()
	return rtctest.Do(t, http.MethodPost, url, token, ct, body)
}

// do sends a bodiless request and returns the response with its body read.
func do(t *testing.T, method, url, token string) (*http.Response, string) {
	t.Helper()
	resp := rtctest.Do(t, method, url, token, "", "")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// waitPublication waits for the handler's OnPublish to deliver one.
func waitPublication(t *testing.T, ch <-chan *Publication) *Publication {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no publication")
		return nil
	}
}

func settleGoroutines(target int) int {
	n, prev := runtime.NumGoroutine(), -1
	for i := 0; i < 100; i++ {
		if (target > 0 && n <= target) || (target == 0 && n == prev) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
		prev, n = n, runtime.NumGoroutine()
	}
	return n
}
