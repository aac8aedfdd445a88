package whip

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadercast/shadercast/codec/vp8"
	"github.com/shadercast/shadercast/internal/rtcendpoint"
	"github.com/shadercast/shadercast/internal/rtctest"
	"github.com/shadercast/shadercast/internal/safe"
)

// logBuf is a slog destination tests can read while handlers write.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// squat POSTs a real publisher's offer and never applies the answer (its
// PeerConnection is closed at once): an offer that never connects.
func squat(t *testing.T, url string) (int, string) {
	t.Helper()
	pb := newPub(t, rtctest.PublisherConfig{Audio: true})
	sdp := pb.Offer(t)
	pb.Close()
	resp := post(t, url, "", sdp)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

func waitDone(t *testing.T, p *Publication, within time.Duration) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(within):
		t.Fatalf("publication %s still live after %v (stats %+v)", p.ID, within, p.Stats())
	}
}

func hasFirstFrame(p *Publication) bool {
	select {
	case <-p.FirstFrame():
		return true
	default:
		return false
	}
}

// An offer that never connects holds the one publisher slot only until
// ConnectTimeout, never delivers a FirstFrame, and then a real publisher
// gets in.
func TestNeverConnectsGivesSlotBack(t *testing.T) {
	pubs := make(chan *Publication, 4)
	h, srv := newTestHandler(t, func(c *Config) {
		// The real publisher below is held to it too: room for a
		// loaded machine.
		c.ConnectTimeout = 3 * time.Second
		c.OnPublish = func(p *Publication) { pubs <- p }
	})
	url := srv.URL + "/whip"
	if code, _ := squat(t, url); code != http.StatusCreated {
		t.Fatalf("squatter: %d", code)
	}
	p := waitPublication(t, pubs)
	if code, _ := squat(t, url); code != http.StatusConflict {
		t.Fatalf("while the squatter holds the slot: %d, want 409", code)
	}
	waitDone(t, p, 10*time.Second)
	if !errors.Is(p.Err(), ErrNotConnected) || !strings.Contains(p.Err().Error(), "did not connect") {
		t.Fatalf("squatter ended with %v, want ErrNotConnected (did not connect)", p.Err())
	}
	if hasFirstFrame(p) {
		t.Fatal("FirstFrame closed for a publication that never connected")
	}
	if got := h.Stats().ConnectTimeouts; got != 1 {
		t.Errorf("ConnectTimeouts = %d", got)
	}

	pb := newPub(t, rtctest.PublisherConfig{})
	pb.Publish(t, url, "")
	pb.Start(t, indexPicture())
	p2 := waitPublication(t, pubs)
	select {
	case <-p2.FirstFrame():
	case <-time.After(10 * time.Second):
		t.Fatalf("no FirstFrame from a real publisher (stats %+v)", p2.Stats())
	}
	f := readVideo(t, p2, 2*time.Second)
	checkColours(t, f)
	f.Close()
	// Past the deadline a publisher that delivers stays.
	time.Sleep(3500 * time.Millisecond)
	if p2.Err() != nil || h.Stats().ConnectTimeouts != 1 {
		t.Fatalf("live publisher ended: %v", p2.Err())
	}
}

// A publisher that connects but sends no decodable picture is dropped at
// the deadline too, with a reason that says so.
func TestConnectedWithoutPictureDropped(t *testing.T) {
	pubs := make(chan *Publication, 1)
	_, srv := newTestHandler(t, func(c *Config) {
		c.ConnectTimeout = 2 * time.Second
		c.OnPublish = func(p *Publication) { pubs <- p }
	})
	pb := newPub(t, rtctest.PublisherConfig{})
	pb.Publish(t, srv.URL+"/whip", "") // connects, never starts sending
	p := waitPublication(t, pubs)
	waitDone(t, p, 10*time.Second)
	if !errors.Is(p.Err(), ErrNotConnected) || !strings.Contains(p.Err().Error(), "no decodable keyframe") {
		t.Fatalf("ended with %v", p.Err())
	}
}

// One address may have MaxUnconnectedPerAddr publications before their
// first picture; the next gets 429 with a Retry-After.
func TestUnconnectedPerAddressCap(t *testing.T) {
	h, srv := newTestHandler(t, func(c *Config) {
		c.MaxPublishers = 5
		c.MaxUnconnectedPerAddr = 2
		c.ConnectTimeout = 3 * time.Second
	})
	url := srv.URL + "/whip"
	for i := 0; i < 2; i++ {
		if code, _ := squat(t, url); code != http.StatusCreated {
			t.Fatalf("squatter %d: %d", i, code)
		}
	}
	if code, ra := squat(t, url); code != http.StatusTooManyRequests || ra != "3" {
		t.Fatalf("third: %d Retry-After %q, want 429 and 3", code, ra)
	}
	if h.Stats().AddrRefusals != 1 {
		t.Errorf("AddrRefusals = %d", h.Stats().AddrRefusals)
	}
}

// A publisher whose pictures are over MaxWidth x MaxHeight is refused
// before its first keyframe reaches libvpx: nothing is decoded, the
// publication ends with ErrTooLarge, one log line, one count, slot freed.
func TestOversizedVideoRefused(t *testing.T) {
	var logs logBuf
	pubs := make(chan *Publication, 2)
	h, srv := newTestHandler(t, func(c *Config) {
		c.MaxWidth, c.MaxHeight = testW-32, testH // the test publisher sends 160x96
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.OnPublish = func(p *Publication) { pubs <- p }
	})
	pb := newPub(t, rtctest.PublisherConfig{})
	pb.Publish(t, srv.URL+"/whip", "")
	pb.Start(t, indexPicture())
	p := waitPublication(t, pubs)
	waitDone(t, p, 10*time.Second)
	if !errors.Is(p.Err(), ErrTooLarge) || !errors.Is(p.Err(), vp8.ErrTooLarge) || !strings.Contains(p.Err().Error(), "160x96") {
		t.Fatalf("ended with %v, want ErrTooLarge naming 160x96", p.Err())
	}
	if st := p.Stats(); st.FramesDecoded != 0 || st.VideoPackets == 0 {
		t.Fatalf("stats %+v: want packets received and nothing decoded", st)
	}
	if hasFirstFrame(p) {
		t.Fatal("FirstFrame closed for a refused publisher")
	}
	// Let the publisher keep sending: still one log line, one count.
	time.Sleep(300 * time.Millisecond)
	if n := logs.count("publisher refused"); n != 1 || h.Stats().TooLarge != 1 {
		t.Fatalf("%d log lines, TooLarge %d; want 1 and 1:\n%s", n, h.Stats().TooLarge, logs.b.String())
	}
	pb.Close()
	if code, _ := squat(t, srv.URL+"/whip"); code != http.StatusCreated {
		t.Fatalf("after the refusal: %d, want 201 (slot free)", code)
	}
}

// A reassembled frame over MaxFrameBytes ends the publication the same way.
func TestFrameBytesBound(t *testing.T) {
	pubs := make(chan *Publication, 1)
	_, srv := newTestHandler(t, func(c *Config) {
		c.MaxFrameBytes = 32 // the flat 160x96 test picture's keyframe has more (under 200)
		c.OnPublish = func(p *Publication) { pubs <- p }
	})
	pb := newPub(t, rtctest.PublisherConfig{})
	pb.Publish(t, srv.URL+"/whip", "")
	pb.Start(t, indexPicture())
	p := waitPublication(t, pubs)
	waitDone(t, p, 10*time.Second)
	if !errors.Is(p.Err(), ErrTooLarge) || !strings.Contains(p.Err().Error(), "bytes") || p.Stats().FramesDecoded != 0 {
		t.Fatalf("ended with %v, stats %+v", p.Err(), p.Stats())
	}
}

// A panic in a receive loop (run is the boundary every loop runs behind)
// ends that publication with the panic as its error, logged once and
// counted; another publication goes on.
func TestReceiveLoopPanicRecovered(t *testing.T) {
	var logs logBuf
	pubs := make(chan *Publication, 2)
	h, srv := newTestHandler(t, func(c *Config) {
		c.MaxPublishers = 2
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.OnPublish = func(p *Publication) { pubs <- p }
	})
	var ps []*Publication
	for range 2 {
		pb := newPub(t, rtctest.PublisherConfig{})
		pb.Publish(t, srv.URL+"/whip", "")
		pb.Start(t, indexPicture())
		p := waitPublication(t, pubs)
		readVideo(t, p, 10*time.Second).Close()
		ps = append(ps, p)
	}
	var idx []int
	h.run(ps[0], func() error { return nil })
	h.run(ps[0], func() error { _ = idx[3]; return nil }) // a decoder bug
	waitDone(t, ps[0], 10*time.Second)
	var pe *safe.PanicError
	if !errors.As(ps[0].Err(), &pe) || !strings.Contains(ps[0].Err().Error(), "index out of range") {
		t.Fatalf("ended with %v, want the recovered panic", ps[0].Err())
	}
	if h.Stats().Panics != 1 || logs.count("level=ERROR") != 1 {
		t.Fatalf("Panics %d, log:\n%s", h.Stats().Panics, logs.b.String())
	}
	for range 5 {
		readVideo(t, ps[1], 2*time.Second).Close()
	}
	if ps[1].Err() != nil {
		t.Fatalf("the other publication ended: %v", ps[1].Err())
	}
}

// FuzzCheckOffer feeds SDP to the WHIP offer check: it must not panic, and
// what it accepts has a VP8 or H.264 video section and no more sections than
// rtcendpoint allows. The seed corpus (testdata/fuzz/FuzzCheckOffer) holds
// real pion publisher offers (VP8 with and without Opus, H264), saved as
// files so that each fuzz worker does not start PeerConnections.
func FuzzCheckOffer(f *testing.F) {
	f.Add("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n")
	f.Fuzz(func(t *testing.T, offer string) {
		_, err := checkOffer(offer)
		if err != nil {
			return
		}
		up := strings.ToUpper(offer)
		if !strings.Contains(up, "VP8") && !strings.Contains(up, "H264") || !strings.Contains(offer, "m=video") {
			t.Fatalf("accepted an offer without VP8 or H.264 video:\n%q", offer)
		}
		n := 0
		for _, l := range strings.Split(offer, "\n") {
			if strings.HasPrefix(l, "m=") {
				n++
			}
		}
		if n > rtcendpoint.MaxMediaSections {
			t.Fatalf("accepted %d media sections", n)
		}
	})
}
