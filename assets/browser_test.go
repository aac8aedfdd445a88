package assets

// End-to-end test of the viewer in a real browser: Debian's headless
// Chromium loads viewer.html from an httptest server, negotiates with a real
// whep.Handler, and plays a generated stream whose pixels we know.
//
// Chromium is driven over the DevTools protocol on --remote-debugging-pipe
// (JSON messages separated by NUL on file descriptors 3 and 4) rather than
// the websocket endpoint: no port to discover, no Origin checks, and no
// websocket dependency.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/generator"
	"github.com/shadercast/shadercast/internal/chromium"
	"github.com/shadercast/shadercast/internal/mediatest"
	"github.com/shadercast/shadercast/internal/rtctest"
	"github.com/shadercast/shadercast/whep"
)

const (
	streamW, streamH = 640, 360
	// BT.601 limited range: left half pure red, right half pure blue.
	leftY, leftU, leftV    = 81, 90, 240
	rightY, rightU, rightV = 41, 240, 110
)

func TestBrowserPlaysWHEP(t *testing.T) {
	// Never skips: chromium.Launch fails the test when the browser is
	// missing, since a silent pass would hide exactly the lacking coverage.
	src := startSource(t)
	srv := startServer(t, src)
	br := chromium.Launch(t)

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	page, err := br.OpenPage(ctx, srv.URL+"/")
	if err != nil {
		t.Fatalf("open page: %v\n%s", err, br.Diagnostics())
	}

	// Phase 1: connected, playing at the right size, audio flowing.
	var snap snapshot
	deadline := time.Now().Add(20 * time.Second)
	for {
		snap, err = pageSnapshot(ctx, page)
		if err == nil && snap.ready() == "" {
			break
		}
		if time.Now().After(deadline) {
			why := "no window.shadercast"
			if err != nil {
				why = err.Error()
			} else if snap.Loaded {
				why = snap.ready()
			}
			t.Fatalf("viewer did not start playing within 20 s: %s\nlast state: %+v\n%s", why, snap, br.Diagnostics())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("playing after %d connect(s): %+v", snap.Connects, snap)

	// Phase 2: over 2 s, most frames sent are rendered.
	sent0, rendered0 := src.framesSent.Load(), snap.FramesRendered
	time.Sleep(2 * time.Second)
	snap, err = pageSnapshot(ctx, page)
	if err != nil {
		t.Fatalf("snapshot: %v\n%s", err, br.Diagnostics())
	}
	sent, rendered := src.framesSent.Load()-sent0, snap.FramesRendered-rendered0
	t.Logf("2 s window: %d frames sent, %d rendered; fps %.1f, bitrate %.0f kbit/s, rtt %.1f ms, audio level %.2f",
		sent, rendered, snap.FPS, snap.Bitrate/1000, snap.RTT*1000, snap.AudioLevel)
	if sent == 0 {
		t.Fatalf("the source wrote no frames in 2 s")
	}
	if rendered*2 < int64(sent) {
		t.Errorf("rendered %d of %d frames sent in 2 s (want at least half)\nstate: %+v\n%s", rendered, sent, snap, br.Diagnostics())
	}
	if snap.State != "connected" {
		t.Errorf("connection state %q after the 2 s window, want connected", snap.State)
	}

	// Pixels: patches well inside each half, away from the edge where VP8's
	// 4:2:0 chroma blends the two colours.
	left, err := samplePatch(ctx, page, 64, 120, 192, 120)
	if err != nil {
		t.Fatalf("sample left: %v", err)
	}
	right, err := samplePatch(ctx, page, 384, 120, 192, 120)
	if err != nil {
		t.Fatalf("sample right: %v", err)
	}
	t.Logf("left patch %+v, right patch %+v", left, right)
	if !(left.R > 150 && left.R > left.G+80 && left.R > left.B+80) {
		t.Errorf("left patch is not red-dominant: %+v", left)
	}
	if !(right.B > 150 && right.B > right.R+80 && right.B > right.G+80) {
		t.Errorf("right patch is not blue-dominant: %+v", right)
	}
}

// snapshot mirrors window.shadercast.snapshot().
type snapshot struct {
	Loaded         bool    `json:"loaded"`
	State          string  `json:"state"`
	FramesRendered int64   `json:"framesRendered"`
	Width          int     `json:"width"`
	Height         int     `json:"height"`
	AudioLive      bool    `json:"audioLive"`
	AudioLevel     float64 `json:"audioLevel"` // 0 when unreported
	FPS            float64 `json:"fps"`
	Bitrate        float64 `json:"bitrate"`
	RTT            float64 `json:"rtt"` // seconds; 0 when unreported
	Connects       int     `json:"connects"`
	LastError      string  `json:"lastError"`
}

// ready returns "" when playback is fully up, else what is missing.
func (s snapshot) ready() string {
	var miss []string
	if s.State != "connected" {
		miss = append(miss, fmt.Sprintf("state %q", s.State))
	}
	if s.Width != streamW || s.Height != streamH {
		miss = append(miss, fmt.Sprintf("size %dx%d, want %dx%d", s.Width, s.Height, streamW, streamH))
	}
	if s.FramesRendered == 0 {
		miss = append(miss, "no frames rendered")
	}
	if !s.AudioLive {
		miss = append(miss, "audio not live")
	}
	if !s.Loaded {
		miss = append(miss, "page not loaded")
	}
	return strings.Join(miss, "; ")
}

type rgb struct{ R, G, B float64 }

// ---- media source and server --------------------------------------------

type source struct {
	vpub, apub *whep.Publisher
	framesSent atomic.Int64
}

func startSource(t *testing.T) *source {
	t.Helper()
	v, err := generator.New("video")
	if err != nil {
		t.Fatal(err)
	}
	a, err := generator.New("audio")
	if err != nil {
		t.Fatal(err)
	}
	// One encoder thread: these machines have 2 cores shared with Chromium's
	// decoder and compositor (see docs on libvpx threading in PLATFORM.md).
	vp, err := whep.NewVideoPublisher(v, whep.VideoConfig{Bitrate: 1_000_000, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	ap, err := whep.NewAudioPublisher(a, whep.AudioConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s := &source{vpub: vp, apub: ap}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		video := mediatest.Video(streamW, streamH, mediatest.YUV{leftY, leftU, leftV}, mediatest.YUV{rightY, rightU, rightV})
		mediatest.Feed(ctx, v, time.Second/30, video, func() { s.framesSent.Add(1) })
	}()
	go func() {
		defer wg.Done()
		mediatest.Feed(ctx, a, 20*time.Millisecond, mediatest.Audio(440), nil)
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		v.Writable().Close()
		a.Writable().Close()
		vp.Close()
		ap.Close()
	})
	return s
}

// loopbackEngine keeps ICE on 127.0.0.1 (the only network these machines
// have): loopback candidates on, everything else filtered, no mDNS.
// Chromium's own candidates are mDNS names, but its checks arrive from
// 127.0.0.1 and pion learns them as peer-reflexive.
func loopbackEngine() *webrtc.SettingEngine {
	return rtctest.LoopbackEngine(5*time.Second, 25*time.Second)
}

func startServer(t *testing.T, s *source) *httptest.Server {
	t.Helper()
	h, err := whep.NewHandler(whep.Config{
		Publishers:    []*whep.Publisher{s.vpub, s.apub},
		SettingEngine: loopbackEngine(),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", Handler())
	mux.Handle("/whep", h)
	mux.Handle("/whep/", h)
	// Explicit 127.0.0.1 listener: never an external interface.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		// Chromium is gone by now (its cleanup ran first), so no new
		// sessions arrive while the handler closes.
		srv.Close()
		h.Close()
	})
	return srv
}

// ---- Chromium over the DevTools protocol pipe ---------------------------

func pageSnapshot(ctx context.Context, p *chromium.Page) (snapshot, error) {
	var s snapshot
	err := p.Eval(ctx, `window.shadercast ? Object.assign(window.shadercast.snapshot(), {loaded: document.readyState === 'complete'}) : null`, &s)
	return s, err
}

func samplePatch(ctx context.Context, p *chromium.Page, x, y, w, h int) (rgb, error) {
	var c struct{ R, G, B float64 }
	err := p.Eval(ctx, fmt.Sprintf(`window.shadercast.samplePatch(%d, %d, %d, %d)`, x, y, w, h), &c)
	return rgb(c), err
}
