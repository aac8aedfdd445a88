package whep

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/generator"
	"github.com/shadercast/shadercast/internal/mediatest"
	"github.com/shadercast/shadercast/internal/rtctest"
)

// TestRenditionChoice: publishers of one codec at two sizes are a ladder;
// a viewer gets the top unless its POST asks for a rung by name, an
// unknown name is refused with the rungs listed, and a rung nobody
// receives is not encoded.
func TestRenditionChoice(t *testing.T) {
	s := newSource(t) // testW×testH: the top
	small, err := generator.New(generator.KindVideo)
	if err != nil {
		t.Fatal(err)
	}
	const sw, sh = testW / 2, testH / 2
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		mediatest.Feed(ctx, small, time.Second/30, mediatest.Video(sw, sh, mediatest.YUV{lY, lU, lV}, mediatest.YUV{rY, rU, rV}), nil)
	}()
	half, err := NewVideoPublisher(small, VideoConfig{Rendition: "48p", OnDemand: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		small.Writable().Close()
		half.Close()
	})
	_, srv := newTestHandler(t, s, func(c *Config) {
		c.Publishers = []*Publisher{s.vpub, half, s.apub}
	})
	time.Sleep(300 * time.Millisecond)
	if n := half.Stats().Samples; n != 0 || half.InUse() {
		t.Fatalf("the 48p rung encoded %d samples (in use %v) with nobody watching", n, half.InUse())
	}

	top := watchWith(t, srv, "", rtctest.ViewerConfig{})
	f := top.NextFrame(t, 10*time.Second)
	if f.CodedWidth() != testW || f.CodedHeight() != testH {
		t.Errorf("default viewer got %dx%d, want the top %dx%d", f.CodedWidth(), f.CodedHeight(), testW, testH)
	}
	f.Close()

	v := rtctest.NewViewer(t, rtctest.ViewerConfig{Engine: loopbackEngine()})
	v.Watch(t, srv.URL+"/whep?rendition=48p", "")
	f = v.NextFrame(t, 10*time.Second)
	checkFrameSized(t, f, sw, sh)
	f.Close()
	if !half.InUse() || half.Stats().Samples == 0 {
		t.Error("the 48p rung is watched but not encoded")
	}

	pc := newClientPCClosed(t)
	resp := post(t, srv.URL+"/whep?rendition=1080p", "", offer(t, pc, webrtc.RTPCodecTypeVideo))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "48p") {
		t.Errorf("unknown rendition: %d %q, want 400 naming the rungs", resp.StatusCode, body)
	}

	// The rung's viewer leaves: it is no longer encoded.
	v.Close()
	deadline := time.Now().Add(10 * time.Second)
	for half.InUse() {
		if time.Now().After(deadline) {
			t.Fatal("the 48p rung is still in use with its viewer gone")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
