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

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/generator"
	"github.com/shadercast/shadercast/internal/mediatest"
	"github.com/shadercast/shadercast/whep"
)

// feedPublishers makes whep publishers fed in real time by generator
// tracks: split-colour video (VP8, and H.264 too with withH264, on one
// track: VP8, H.264, audio) and the 440 Hz tone.
func feedPublishers(t *testing.T) []*whep.Publisher {
	t.Helper()
	return feedCodecs(t, false)
}

func feedCodecs(t *testing.T, withH264 bool) []*whep.Publisher {
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
	if withH264 {
		h, err := whep.NewVideoPublisher(v, whep.VideoConfig{Codec: webrtc.MimeTypeH264, Bitrate: 400_000, Threads: 1,
			OnDemand: true, StreamID: ms.ID()})
		if err != nil {
			t.Fatal(err)
		}
		pubs = []*whep.Publisher{pubs[0], h, pubs[1]}
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

// TestClientPushCodecs: a push of both codecs sends the one the server's
// answer puts first (the ingest decodes it); a push of H.264 alone sends
// H.264, which the ingest decodes to the source's colours.
func TestClientPushCodecs(t *testing.T) {
	both := feedCodecs(t, true)
	for _, c := range []struct {
		name string
		pubs []*whep.Publisher
		want string // "" for the answer's choice
	}{
		{"both", both, ""},
		{"H.264 only", []*whep.Publisher{both[1], both[2]}, webrtc.MimeTypeH264},
		{"H.264 first", []*whep.Publisher{both[1], both[0], both[2]}, ""},
		// The server takes H.264 only: the push, which offered VP8
		// first, switches its track to H.264.
		{"server takes H.264 only", both, webrtc.MimeTypeH264},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := startIngest(t, "127.0.0.1:0")
			url := in.srv.URL + "/whip"
			if c.name == "server takes H.264 only" {
				onlyH264 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPost {
						b, _ := io.ReadAll(r.Body)
						r.Body = io.NopCloser(strings.NewReader(withoutVP8(string(b))))
						r.ContentLength = -1
					}
					in.h.ServeHTTP(w, r)
				}))
				defer onlyH264.Close()
				url = onlyH264.URL + "/whip"
			}
			cl, err := NewClient(ClientConfig{URL: url, Publishers: c.pubs, SettingEngine: loopbackEngine(),
				ConnectTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { cl.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			p := waitPublication(t, in.pubs)
			checkIngestVideo(t, p)
			sent := cl.Stats().VideoCodec
			if got := p.VideoCodec(); got != sent || sent == "" || c.want != "" && sent != c.want {
				t.Errorf("the push sent %q, the ingest received %q, want %q", sent, got, c.want)
			}
			t.Logf("sent %s", sent)
		})
	}
}

// withoutVP8 removes VP8 from an offer's video section (its payload
// type from the m-line and its attributes).
func withoutVP8(offer string) string {
	pt := ""
	for _, l := range strings.Split(offer, "\r\n") {
		if v, ok := strings.CutPrefix(l, "a=rtpmap:"); ok && strings.Contains(v, " VP8/") {
			pt, _, _ = strings.Cut(v, " ")
		}
	}
	var out []string
	for _, l := range strings.Split(offer, "\r\n") {
		switch {
		case strings.HasPrefix(l, "m=video "):
			l = strings.Replace(l, " "+pt+" ", " ", 1)
			l = strings.TrimSuffix(l, " "+pt)
		case strings.Contains(l, ":"+pt+" ") && strings.HasPrefix(l, "a="):
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\r\n")
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
