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
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/generator"
	"github.com/shadercast/shadercast/internal/mediatest"
	"github.com/shadercast/shadercast/whep"
)

const (
	streamW, streamH = 640, 360
	// BT.601 limited range: left half pure red, right half pure blue.
	leftY, leftU, leftV    = 81, 90, 240
	rightY, rightU, rightV = 41, 240, 110
)

// chromiumPath is Debian's chromium; CHROMIUM overrides it.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

func TestBrowserPlaysWHEP(t *testing.T) {
	bin := chromiumPath()
	// Never skip: a missing browser would otherwise turn this test into a
	// silent pass on exactly the machines that lack coverage.
	if _, err := exec.LookPath(bin); err != nil {
		t.Fatalf("chromium not found at %s (%v): this test needs Debian's `chromium` package; run scripts/install-deps (or set CHROMIUM to a Chromium binary)", bin, err)
	}

	src := startSource(t)
	srv := startServer(t, src)
	br := launchChromium(t, bin)

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	page, err := br.openPage(ctx, srv.URL+"/")
	if err != nil {
		t.Fatalf("open page: %v\n%s", err, br.diagnostics())
	}

	// Phase 1: connected, playing at the right size, audio flowing.
	var snap snapshot
	deadline := time.Now().Add(20 * time.Second)
	for {
		snap, err = page.snapshot(ctx)
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
			t.Fatalf("viewer did not start playing within 20 s: %s\nlast state: %+v\n%s", why, snap, br.diagnostics())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("playing after %d connect(s): %+v", snap.Connects, snap)

	// Phase 2: over 2 s, most frames sent are rendered.
	sent0, rendered0 := src.framesSent.Load(), snap.FramesRendered
	time.Sleep(2 * time.Second)
	snap, err = page.snapshot(ctx)
	if err != nil {
		t.Fatalf("snapshot: %v\n%s", err, br.diagnostics())
	}
	sent, rendered := src.framesSent.Load()-sent0, snap.FramesRendered-rendered0
	t.Logf("2 s window: %d frames sent, %d rendered; fps %.1f, bitrate %.0f kbit/s, rtt %.1f ms, audio level %.2f",
		sent, rendered, snap.FPS, snap.Bitrate/1000, snap.RTT*1000, snap.AudioLevel)
	if sent == 0 {
		t.Fatalf("the source wrote no frames in 2 s")
	}
	if rendered*2 < int64(sent) {
		t.Errorf("rendered %d of %d frames sent in 2 s (want at least half)\nstate: %+v\n%s", rendered, sent, snap, br.diagnostics())
	}
	if snap.State != "connected" {
		t.Errorf("connection state %q after the 2 s window, want connected", snap.State)
	}

	// Pixels: patches well inside each half, away from the edge where VP8's
	// 4:2:0 chroma blends the two colours.
	left, err := page.samplePatch(ctx, 64, 120, 192, 120)
	if err != nil {
		t.Fatalf("sample left: %v", err)
	}
	right, err := page.samplePatch(ctx, 384, 120, 192, 120)
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
	se := &webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return se
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

type browser struct {
	t   *testing.T
	cmd *exec.Cmd
	in  *os.File // our end of Chromium's fd 3 (commands)

	stderr *tailBuffer

	wmu  sync.Mutex // serializes writes to in
	mu   sync.Mutex
	next int64
	wait map[int64]chan cdpMessage
	dead chan struct{} // closed when the reader sees EOF
	logs []string      // console messages and exceptions, bounded
}

type cdpMessage struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func launchChromium(t *testing.T, bin string) *browser {
	t.Helper()
	// Our own temp dir rather than t.TempDir: Chromium's helper processes
	// can still be writing for a moment after the browser exits, and we
	// want to kill them all before removing it.
	dir, err := os.MkdirTemp("", "shadercast-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmdR, cmdW, err := os.Pipe() // we write commands, Chromium reads fd 3
	if err != nil {
		t.Fatal(err)
	}
	evR, evW, err := os.Pipe() // Chromium writes fd 4, we read
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		// No network here but loopback: without these Chromium keeps
		// trying (and failing) to reach Google's services.
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--autoplay-policy=no-user-gesture-required",
		// Let WebRTC gather 127.0.0.1 host candidates too, so ICE does not
		// depend on the machine having any other interface.
		"--allow-loopback-in-peer-connection",
		"--mute-audio",
		"--remote-debugging-pipe",
		"--user-data-dir="+dir,
		"about:blank",
	)
	cmd.ExtraFiles = []*os.File{cmdR, evW} // fd 3, fd 4
	// Own process group, so cleanup can end the browser and every helper
	// process it forked (renderer, GPU, utility) by one group id.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	b := &browser{t: t, cmd: cmd, in: cmdW, stderr: &tailBuffer{max: 16 << 10},
		wait: map[int64]chan cdpMessage{}, dead: make(chan struct{})}
	cmd.Stderr = b.stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start %s: %v", bin, err)
	}
	cmdR.Close()
	evW.Close()
	go b.read(evR)

	t.Cleanup(func() {
		// Ask politely first so Chromium flushes and exits on its own,
		// then make sure of the whole group.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = b.call(ctx, "", "Browser.close", nil)
		cancel()
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		// Helpers that outlived the browser process.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmdW.Close()
		evR.Close()
		var err error
		for i := 0; i < 20; i++ {
			if err = os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("remove Chromium profile %s: %v", dir, err)
	})
	return b
}

func (b *browser) read(r io.Reader) {
	defer close(b.dead)
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m cdpMessage
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.wait[m.ID]
			delete(b.wait, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		b.event(m)
	}
}

// event keeps the page's console output and uncaught exceptions for the
// failure message: they usually say why nothing plays.
func (b *browser) event(m cdpMessage) {
	var line string
	switch m.Method {
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		_ = json.Unmarshal(m.Params, &p)
		var parts []string
		for _, a := range p.Args {
			if a.Value != nil {
				parts = append(parts, fmt.Sprint(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		line = "console." + p.Type + ": " + strings.Join(parts, " ")
	case "Runtime.exceptionThrown":
		var p struct {
			Details struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		_ = json.Unmarshal(m.Params, &p)
		line = "exception: " + p.Details.Text + " " + p.Details.Exception.Description
	default:
		return
	}
	b.mu.Lock()
	if len(b.logs) < 200 {
		b.logs = append(b.logs, line)
	}
	b.mu.Unlock()
}

// call sends one command (to the browser when session is "", else to that
// attached target) and waits for its reply.
func (b *browser) call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	ch := make(chan cdpMessage, 1)
	b.mu.Lock()
	b.next++
	id := b.next
	b.wait[id] = ch
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.wait, id)
		b.mu.Unlock()
	}()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	b.wmu.Lock()
	_, err = b.in.Write(append(data, 0))
	b.wmu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%s: write to Chromium: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		return m.Result, nil
	case <-b.dead:
		return nil, fmt.Errorf("%s: Chromium exited", method)
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

type page struct {
	b       *browser
	session string
}

// openPage creates a tab at url and attaches to it in flat mode (commands
// carry the sessionId; no nested Target.sendMessageToTarget).
func (b *browser) openPage(ctx context.Context, url string) (*page, error) {
	res, err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": url})
	if err != nil {
		return nil, err
	}
	var tgt struct {
		TargetID string `json:"targetId"`
	}
	if err := json.Unmarshal(res, &tgt); err != nil {
		return nil, err
	}
	res, err = b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": tgt.TargetID, "flatten": true})
	if err != nil {
		return nil, err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(res, &att); err != nil {
		return nil, err
	}
	p := &page{b: b, session: att.SessionID}
	// Console and exceptions into b.logs (events raised before this are
	// replayed by Runtime.enable).
	if _, err := b.call(ctx, p.session, "Runtime.enable", nil); err != nil {
		return nil, err
	}
	return p, nil
}

// eval evaluates expr in the page (awaiting a promise result) and decodes
// the value into out.
func (p *page) eval(ctx context.Context, expr string, out any) error {
	res, err := p.b.call(ctx, p.session, "Runtime.evaluate", map[string]any{
		"expression": expr, "returnByValue": true, "awaitPromise": true,
	})
	if err != nil {
		return err
	}
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return err
	}
	if e := r.ExceptionDetails; e != nil {
		return fmt.Errorf("evaluate %q: %s %s", expr, e.Text, e.Exception.Description)
	}
	if len(r.Result.Value) == 0 || string(r.Result.Value) == "null" {
		return errors.New("evaluate: no value")
	}
	return json.Unmarshal(r.Result.Value, out)
}

func (p *page) snapshot(ctx context.Context) (snapshot, error) {
	var s snapshot
	err := p.eval(ctx, `window.shadercast ? Object.assign(window.shadercast.snapshot(), {loaded: document.readyState === 'complete'}) : null`, &s)
	return s, err
}

func (p *page) samplePatch(ctx context.Context, x, y, w, h int) (rgb, error) {
	var c struct{ R, G, B float64 }
	err := p.eval(ctx, fmt.Sprintf(`window.shadercast.samplePatch(%d, %d, %d, %d)`, x, y, w, h), &c)
	return rgb(c), err
}

// diagnostics is what a failure message needs: the page's console and the
// tail of Chromium's stderr.
func (b *browser) diagnostics() string {
	b.mu.Lock()
	logs := strings.Join(b.logs, "\n")
	b.mu.Unlock()
	return "page console:\n" + logs + "\nchromium stderr (tail):\n" + b.stderr.String()
}

// tailBuffer keeps the last max bytes written (Chromium can be chatty).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
