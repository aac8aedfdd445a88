package whip

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadercast/shadercast/generator"
	"github.com/shadercast/shadercast/internal/mediatest"
	"github.com/shadercast/shadercast/whep"
)

// feedPublishers makes whep publishers fed in real time by generator
// tracks: split-colour video and the 440 Hz tone.
func feedPublishers(t *testing.T) []*whep.Publisher {
	t.Helper()
	v, err := generator.New("video")
	if err != nil {
		t.Fatal(err)
	}
	a, err := generator.New("audio")
	if err != nil {
		t.Fatal(err)
	}
	ms := generator.NewMediaStream(v, a)
	pubs, err := whep.NewStreamPublishers(ms, whep.VideoConfig{Bitrate: 400_000, Threads: 1}, whep.AudioConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		mediatest.Feed(ctx, v, time.Second/30, mediatest.Video(testW, testH, mediatest.YUV{lY, lU, lV}, mediatest.YUV{rY, rU, rV}), nil)
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
		for _, p := range pubs {
			p.Close()
		}
	})
	return pubs
}

// ingest is a WHIP server on a fixed address that can be killed and
// started again.
type ingest struct {
	h    *Handler
	srv  *httptest.Server
	pubs chan *Publication
}

func startIngest(t *testing.T, addr string) *ingest {
	t.Helper()
	in := &ingest{pubs: make(chan *Publication, 4)}
	h, err := NewHandler(Config{SettingEngine: loopbackEngine(), OnPublish: func(p *Publication) { in.pubs <- p }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/whip", h)
	mux.Handle("/whip/", h)
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	in.h, in.srv = h, httptest.NewUnstartedServer(mux)
	in.srv.Listener.Close()
	in.srv.Listener = l
	in.srv.Start()
	t.Cleanup(in.kill)
	return in
}

func (in *ingest) kill() {
	in.h.Close()
	in.srv.CloseClientConnections()
	in.srv.Close()
}

func checkIngestVideo(t *testing.T, p *Publication) {
	t.Helper()
	// The first frames may still show the encoder settling: look at a few.
	for i := 0; i < 5; i++ {
		readVideo(t, p, 10*time.Second).Close()
	}
	f := readVideo(t, p, 2*time.Second)
	defer f.Close()
	checkColours(t, f)
}

func TestClientPushReconnectsAndDeletes(t *testing.T) {
	pubs := feedPublishers(t)
	in1 := startIngest(t, "127.0.0.1:0")
	addr := in1.srv.Listener.Addr().String()
	c, err := NewClient(ClientConfig{
		URL: in1.srv.URL + "/whip", Publishers: pubs, SettingEngine: loopbackEngine(),
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond, ConnectTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
	base := settleGoroutines(0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()

	p1 := waitPublication(t, in1.pubs)
	if p1.Audio == nil {
		t.Error("the push sends audio but the publication has none")
	}
	checkIngestVideo(t, p1)
	if st := c.Stats(); st.State != StateConnected || st.Connects != 1 || !strings.Contains(st.Resource, "/whip/"+p1.ID) {
		t.Errorf("client stats while connected: %+v", st)
	}
	if pubs[0].Stats().KeyframeRequests == 0 {
		t.Error("the ingest's PLI did not reach the shared encoder")
	}

	// Kill the server; the client notices and backs off.
	in1.kill()
	deadline := time.Now().Add(10 * time.Second)
	for c.State() == StateConnected {
		if time.Now().After(deadline) {
			t.Fatal("client still connected to a dead server")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a few refused POSTs
	if st := c.Stats(); st.LastError == "" {
		t.Errorf("no LastError after the server died: %+v", st)
	}

	// A new server on the same address: the client reconnects by itself.
	in2 := startIngest(t, addr)
	p2 := waitPublication(t, in2.pubs)
	checkIngestVideo(t, p2)
	st := c.Stats()
	if st.Connects != 2 || st.Attempts < 2 || st.State != StateConnected {
		t.Errorf("client stats after reconnect: %+v", st)
	}
	t.Logf("client stats after reconnect: %+v", st)

	// Ending the context DELETEs the resource: the publication ends
	// cleanly (io.EOF), not by connection loss.
	cancel()
	select {
	case err := <-runErr:
		if err != context.Canceled {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	select {
	case <-p2.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("publication still live after the client stopped")
	}
	if p2.Err() != io.EOF {
		t.Errorf("publication ended with %v, want io.EOF (DELETE)", p2.Err())
	}
	if c.State() != StateStopped {
		t.Errorf("state %s after Run", c.State())
	}
	// Everything the client started has ended with Run.
	in2.kill()
	http.DefaultClient.CloseIdleConnections()
	if n := settleGoroutines(base); n > base+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after\n%s", base, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestClientRefused(t *testing.T) {
	pubs := feedPublishers(t)
	_, srv := newTestHandler(t, func(c *Config) { c.Token = "right" })
	c, err := NewClient(ClientConfig{
		URL: srv.URL + "/whip", Token: "wrong", Publishers: pubs, SettingEngine: loopbackEngine(),
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	for c.Stats().Attempts < 2 {
		if time.Since(start) > 3*time.Second {
			t.Fatalf("no retry: %+v", c.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := c.Stats()
	if !strings.Contains(st.LastError, "401") || st.Connects != 0 {
		t.Errorf("stats %+v", st)
	}
	// 401 waits MaxBackoff (with no jitter below it).
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("second attempt after %v, want ≥ MaxBackoff", el)
	}

	if _, err := NewClient(ClientConfig{URL: "ftp://x", Publishers: pubs}); err == nil {
		t.Error("ftp URL accepted")
	}
	if _, err := NewClient(ClientConfig{URL: "http://x/whip"}); err == nil {
		t.Error("no publishers accepted")
	}
	if d := retryAfter("7"); d != 7*time.Second {
		t.Errorf("Retry-After 7 = %v", d)
	}
	if d := retryAfter(time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)); d < 58*time.Second || d > time.Minute {
		t.Errorf("Retry-After date = %v", d)
	}
}
