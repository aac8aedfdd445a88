// Package e2e tests the shadercast binary from the outside: it is built
// once, started with real flags, and looked at through real clients (a pion
// WHEP viewer that decodes VP8 and Opus, the SSE stream, the HTTP API,
// ffprobe, Xvfb screenshots, headless Chromium).
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/rtctest"
	"github.com/shadercast/shadercast/media"
)

// binary is the shadercast built for this test run.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shadercast-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "shadercast")
	build := exec.Command("go", "build", "-o", binary, "./cmd/shadercast")
	build.Dir = ".."
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building shadercast:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// service is a running shadercast process.
type service struct {
	t      testing.TB
	cmd    *exec.Cmd
	URL    string // http://127.0.0.1:port/
	stderr *tailBuffer
	exited chan struct{}
	err    error // Wait's result, after exited
	// controlToken, when set, goes with the snapshot requests.
	controlToken string
}

// start runs shadercast with args (plus --listen on a free loopback port
// unless args name one) and waits for its URL.
func start(t testing.TB, env []string, stdin io.Reader, args ...string) *service {
	t.Helper()
	if !slicesContainsPrefix(args, "--listen") {
		args = append([]string{"--listen", "127.0.0.1:0"}, args...)
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = stdin
	s := &service{t: t, cmd: cmd, stderr: &tailBuffer{max: 64 << 10}, exited: make(chan struct{})}
	cmd.Stderr = s.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	urlc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`watch at (http://\S+/)`)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case s.URL = <-urlc:
	case <-s.exited:
		t.Fatalf("shadercast exited before serving: %v\n%s", s.err, s.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("shadercast printed no URL within 60 s\n%s", s.stderr)
	}
	return s
}

func slicesContainsPrefix(args []string, p string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, p) {
			return true
		}
	}
	return false
}

// stop sends SIGTERM and requires a clean exit within 10 s.
func (s *service) stop(t testing.TB) {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if s.err != nil {
			t.Errorf("shadercast exited with %v after SIGTERM\n%s", s.err, s.stderr)
		}
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		t.Errorf("shadercast did not stop within 10 s of SIGTERM\n%s", s.stderr)
	}
}

func (s *service) getJSON(t testing.TB, path, token string, out any) int {
	t.Helper()
	resp := rtctest.Do(t, http.MethodGet, s.URL+path, token, "", "")
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, b)
		}
	}
	return resp.StatusCode
}

func (s *service) request(t testing.TB, method, path, token, ctype, body string) (int, string) {
	t.Helper()
	resp := rtctest.Do(t, method, s.URL+path, token, ctype, body)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// renditionStats is a rung of /api/stats renditions.
type renditionStats struct {
	Name          string
	Width, Height int
	InUse         bool
	Frames        int
	Viewers       int
	VP8, H264     struct {
		Samples, TargetBitrate int
		EncodeMs               float64
	}
}

// stats is the part of /api/stats the tests read.
type stats struct {
	Renditions []renditionStats `json:"renditions"`
	Input      struct {
		Active    string `json:"active"`
		State     string `json:"state"`
		LastError string `json:"lastError"`
	} `json:"input"`
	Frames struct {
		In, Out, Repeated uint64
	} `json:"frames"`
	Drops   map[string]uint64 `json:"drops"`
	Viewers int               `json:"viewers"`
	// Encoder is VP8's, H264 H.264's.
	Encoder struct {
		Samples uint64 `json:"samples"`
	} `json:"encoder"`
	H264 struct {
		Samples uint64 `json:"samples"`
	} `json:"h264"`
	Latency struct {
		P50 float64 `json:"p50Ms"`
		P95 float64 `json:"p95Ms"`
	} `json:"latency"`
}

// loopbackEngine keeps ICE on 127.0.0.1 with short timeouts.
func loopbackEngine() webrtc.SettingEngine {
	return *rtctest.LoopbackEngine(2*time.Second, 4*time.Second)
}

// frame is a decoded video frame with its RTP timestamp and arrival;
// frameInfo one without its pixels.
type (
	frame     = rtctest.Frame
	frameInfo = rtctest.FrameInfo
)

// detections is one event from the data channel or SSE.
type detections struct {
	Timestamp int64 `json:"timestamp"`
	Width     int   `json:"width"`
	Height    int   `json:"height"`
	Barcodes  []struct {
		Format       string `json:"format"`
		RawValue     string `json:"rawValue"`
		CornerPoints []struct{ X, Y float64 }
		BoundingBox  struct{ X, Y, Width, Height float64 }
	} `json:"barcodes"`
	arrived time.Time
}

// viewer is a pion WHEP viewer that decodes what it gets
// (rtctest.Viewer) and keeps the detection events of its data channel.
type viewer struct {
	*rtctest.Viewer

	mu     sync.Mutex
	events []detections
}

func watch(t testing.TB, s *service, token string) *viewer {
	t.Helper()
	return watchCodecs(t, s, token)
}

// watchCodecs is watch with a viewer offering only the video codecs
// mimes, in that order (pion's defaults when none).
func watchCodecs(t testing.TB, s *service, token string, mimes ...string) *viewer {
	t.Helper()
	v := &viewer{}
	v.Viewer = rtctest.NewViewer(t, rtctest.ViewerConfig{Codecs: mimes, DataChannel: "viewer",
		OnMessage: func(label string, data []byte) {
			var d detections
			if label != "detections" || json.Unmarshal(data, &d) != nil {
				return
			}
			d.arrived = time.Now()
			v.mu.Lock()
			v.events = append(v.events, d)
			if len(v.events) > 600 {
				v.events = v.events[300:]
			}
			v.mu.Unlock()
		}})
	v.Watch(t, s.URL+"whep", token)
	return v
}

func postSDP(t testing.TB, url, token, sdp string) (int, string, string) {
	t.Helper()
	r := rtctest.PostSDP(t, url, token, sdp)
	return r.Code, r.Body, r.Location
}

// rgbAt converts one pixel of an I420 frame (BT.709 limited, what the
// pipeline packs) to RGB.
func rgbAt(f media.VideoFrame, x, y int) (r, g, b float64) {
	py, _ := f.Plane(0)
	pu, _ := f.Plane(1)
	pv, _ := f.Plane(2)
	Y := (float64(py.Data[y*py.Stride+x]) - 16) / 219
	U := (float64(pu.Data[(y/2)*pu.Stride+x/2]) - 128) / 224
	V := (float64(pv.Data[(y/2)*pv.Stride+x/2]) - 128) / 224
	c := func(v float64) float64 { return max(0, min(255, v*255)) }
	return c(Y + 1.5748*V), c(Y - 0.1873*U - 0.4681*V), c(Y + 1.8556*U)
}

// tailBuffer keeps the last max bytes written.
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

// sseClient reads /api/events.
type sseClient struct {
	mu     sync.Mutex
	events map[string][]string
	done   chan struct{}
	cancel context.CancelFunc
}

func subscribe(t testing.TB, s *service, token string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"api/events", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("GET /api/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c := &sseClient{events: map[string][]string{}, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(c.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		name := "message"
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				c.mu.Lock()
				c.events[name] = append(c.events[name], strings.TrimPrefix(line, "data: "))
				if len(c.events[name]) > 500 {
					c.events[name] = c.events[name][250:]
				}
				c.mu.Unlock()
			case line == "":
				name = "message"
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-c.done })
	return c
}

func (c *sseClient) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events[name])
}

func (c *sseClient) last(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.events[name]
	if len(e) == 0 {
		return ""
	}
	return e[len(e)-1]
}

// eventually polls cond every 50 ms until it holds or the time is up.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
