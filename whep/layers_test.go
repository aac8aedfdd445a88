package whep

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/generator"
	"github.com/shadercast/shadercast/internal/mediatest"
	"github.com/shadercast/shadercast/internal/rtctest"
	"github.com/shadercast/shadercast/media"
)

// noisyVideo is mediatest.Video's split picture with new noise in its
// top quarter every frame, so that an encoder spends its whole bitrate on
// it, as on a real picture (a flat one costs a few kbit/s at any target).
func noisyVideo(w, h int) func(int64) (generator.Frame, error) {
	split := mediatest.Video(w, h, mediatest.YUV{lY, lU, lV}, mediatest.YUV{rY, rU, rV})
	rng := rand.New(rand.NewPCG(1, 2))
	return func(i int64) (generator.Frame, error) {
		f, err := split(i)
		if err != nil {
			return f, err
		}
		y, _ := f.(media.VideoFrame).Plane(0)
		for r := 0; r < h/4; r++ {
			for x := 0; x < w; x++ {
				y.Data[r*y.Stride+x] = byte(rng.IntN(256))
			}
		}
		return f, nil
	}
}

// newLadder starts a VP8 publisher per size, each fed its own track of the
// split picture at that size, with the bitrates given; largest first.
func newLadder(t *testing.T, sizes [][2]int, bitrates []int) []*Publisher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var pubs []*Publisher
	var tracks []*generator.Track
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, tr := range tracks {
			tr.Writable().Close()
		}
		for _, p := range pubs {
			p.Close()
		}
	})
	for i, sz := range sizes {
		tr, err := generator.New(generator.KindVideo)
		if err != nil {
			t.Fatal(err)
		}
		tracks = append(tracks, tr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			mediatest.Feed(ctx, tr, time.Second/30, noisyVideo(sz[0], sz[1]), nil)
		}()
		p, err := NewVideoPublisher(tr, VideoConfig{Rendition: fmt.Sprintf("%dp", sz[1]), Width: sz[0], Height: sz[1], OnDemand: true,
			Bitrate: bitrates[i], MinBitrate: bitrates[i] / 4})
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, p)
	}
	return pubs
}

// TestLadderPerViewer: over a ladder, each viewer receives the rung its
// own bandwidth estimate carries. A viewer whose link lets in 250 kbit/s
// moves down from the 600 kbit/s top at a keyframe and goes on decoding
// at the smaller size; a viewer on a clean link keeps the top all along,
// and the top's encode is not lowered for the slow viewer.
func TestLadderPerViewer(t *testing.T) {
	s := newSource(t) // for its audio
	sizes := [][2]int{{testW, testH}, {testW / 2, testH / 2}, {testW / 4, testH / 4}}
	pubs := newLadder(t, sizes, []int{600_000, 200_000, 70_000})
	_, srv := newTestHandler(t, s, func(c *Config) { c.Publishers = append(pubs, s.apub) })

	fast := watchWith(t, srv, "", rtctest.ViewerConfig{Codecs: []string{webrtc.MimeTypeVP8}})
	slow := watchWith(t, srv, "", rtctest.ViewerConfig{Codecs: []string{webrtc.MimeTypeVP8}, Throttle: 250_000})
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	for {
		f, ok := slow.Latest()
		if ok {
			w := f.CodedWidth()
			f.Close()
			if w < testW {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the viewer at 250 kbit/s still receives the %dx%d top after 30 s", testW, testH)
		}
		time.Sleep(100 * time.Millisecond)
	}
	moved := time.Now()
	t.Logf("the slow viewer moved down after %v", moved.Sub(start).Round(100*time.Millisecond))
	// It goes on decoding after the move: the stream's numbering ran on.
	slow.WaitFrames(t, 30, 5*time.Second)
	f := slow.NextFrame(t, 5*time.Second)
	if f.CodedWidth() >= testW {
		t.Errorf("the slow viewer went back to %dx%d", f.CodedWidth(), f.CodedHeight())
	} else {
		checkFrameSized(t, f, f.CodedWidth(), f.CodedHeight())
	}
	f.Close()
	// The fast viewer keeps the top: on a loaded machine GCC may see a
	// second of delay overuse and move it down, but it comes back (a probe
	// up after 5 s); most of its frames are the top's, and so is its last.
	eventuallyTop := time.Now().Add(15 * time.Second)
	for {
		f, ok := fast.Latest()
		top := ok && f.CodedWidth() == testW
		if ok {
			f.Close()
		}
		if top {
			break
		}
		if time.Now().After(eventuallyTop) {
			t.Fatal("the fast viewer is not back on the top")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var atTop, below int
	for _, fi := range fast.Log() {
		if fi.Arrived.Before(start.Add(time.Second)) {
			continue
		}
		if fi.W == testW && fi.H == testH {
			atTop++
		} else {
			below++
		}
	}
	if atTop < 60 || below*4 > atTop {
		t.Errorf("the fast viewer decoded %d frames of the top and %d smaller: it should keep the top", atTop, below)
	}
	if got := pubs[0].Stats().TargetBitrate; got < 600_000*9/10 {
		t.Errorf("the top's encode was lowered to %d bit/s for the slow viewer", got)
	}
	// Its link carries the middle rung (200 kbit/s): a probe up reaches it.
	deadline = time.Now().Add(25 * time.Second)
	for {
		mid := false
		for _, fi := range slow.Log() {
			mid = mid || fi.Arrived.After(moved) && fi.W == testW/2
		}
		if mid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow viewer never tried the middle rung after moving down")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestKeyframeStart(t *testing.T) {
	vp8 := func(desc byte, key bool) []byte {
		hdr := byte(1) // inter frame
		if key {
			hdr = 0
		}
		return []byte{desc, hdr, 0, 0}
	}
	for _, c := range []struct {
		name    string
		mime    string
		payload []byte
		want    bool
	}{
		{"vp8 key start", webrtc.MimeTypeVP8, vp8(0x10, true), true},
		{"vp8 delta start", webrtc.MimeTypeVP8, vp8(0x10, false), false},
		{"vp8 key continuation", webrtc.MimeTypeVP8, vp8(0x00, true), false},
		{"h264 idr", webrtc.MimeTypeH264, []byte{0x65, 0x88}, true},
		{"h264 sps", webrtc.MimeTypeH264, []byte{0x67, 0x42}, true},
		{"h264 p slice", webrtc.MimeTypeH264, []byte{0x41, 0x9a}, false},
		{"h264 stap-a sps pps", webrtc.MimeTypeH264, []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}, true},
		{"h264 stap-a sei only", webrtc.MimeTypeH264, []byte{0x78, 0, 2, 0x06, 0x05}, false},
		{"h264 fu-a idr start", webrtc.MimeTypeH264, []byte{0x7c, 0x85, 0}, true},
		{"h264 fu-a idr middle", webrtc.MimeTypeH264, []byte{0x7c, 0x05, 0}, false},
		{"h264 truncated stap-a", webrtc.MimeTypeH264, []byte{0x78, 0, 9}, false},
		{"empty", webrtc.MimeTypeH264, nil, false},
	} {
		if got := keyframeStart(c.mime, c.payload); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestLayerSelection: the WHEP layer extension. A session over a ladder
// gets the layer resource's Link; POSTing a rid fixes the rung, maxHeight
// caps it, {} gives the choice back to the estimate; GET lists the layers;
// an unknown rid, bad JSON or an unknown session get 400 and 404.
func TestLayerSelection(t *testing.T) {
	s := newSource(t)
	sizes := [][2]int{{testW, testH}, {testW / 2, testH / 2}, {testW / 4, testH / 4}}
	pubs := newLadder(t, sizes, []int{600_000, 200_000, 70_000})
	_, srv := newTestHandler(t, s, func(c *Config) { c.Publishers = append(pubs, s.apub) })

	v := rtctest.NewViewer(t, rtctest.ViewerConfig{Codecs: []string{webrtc.MimeTypeVP8}, Engine: loopbackEngine()})
	resp := rtctest.PostSDP(t, srv.URL+"/whep", "", v.Offer(t))
	if resp.Code != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.Code, resp.Body)
	}
	var layerURL string
	for _, l := range resp.Header.Values("Link") {
		if strings.Contains(l, `rel="`+LayerRel+`"`) {
			layerURL = srv.URL + strings.TrimSuffix(strings.TrimPrefix(strings.Split(l, ";")[0], "<"), ">")
		}
	}
	if layerURL != srv.URL+resp.Location+"/layer" {
		t.Fatalf("layer Link %q for Location %q (Links %q)", layerURL, resp.Location, resp.Header.Values("Link"))
	}
	if err := v.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: resp.Body}); err != nil {
		t.Fatal(err)
	}
	layer := func(method, body string) (int, Layers) {
		t.Helper()
		r := rtctest.Do(t, method, layerURL, "", "application/json", body)
		defer r.Body.Close()
		var ls Layers
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode == http.StatusOK {
			if err := json.Unmarshal(b, &ls); err != nil {
				t.Fatalf("%s layer: %v\n%s", method, err, b)
			}
		}
		return r.StatusCode, ls
	}
	sized := func(w int) func() bool {
		return func() bool {
			f, ok := v.Latest()
			if !ok {
				return false
			}
			defer f.Close()
			return f.CodedWidth() == w
		}
	}
	waitFor(t, 10*time.Second, "the top", sized(testW))
	code, ls := layer(http.MethodGet, "")
	if code != 200 || len(ls.Layers) != 3 || ls.Layers[1].RID != fmt.Sprintf("%dp", testH/2) || ls.Layers[1].Width != testW/2 ||
		ls.Active != fmt.Sprintf("%dp", testH) || ls.Mode != "auto" {
		t.Fatalf("GET layer: %d %+v", code, ls)
	}
	small := fmt.Sprintf("%dp", testH/4)
	if code, ls = layer(http.MethodPost, `{"mediaId": "0", "rid": "`+small+`"}`); code != 200 || ls.Mode != "fixed" || ls.Max != small {
		t.Fatalf("POST rid: %d %+v", code, ls)
	}
	waitFor(t, 10*time.Second, "the fixed smallest rung", sized(testW/4))
	if code, ls = layer(http.MethodPost, fmt.Sprintf(`{"maxHeight": %d}`, testH/2)); code != 200 || ls.Mode != "max" {
		t.Fatalf("POST maxHeight: %d %+v", code, ls)
	}
	if code, ls = layer(http.MethodPost, `{}`); code != 200 || ls.Mode != "auto" {
		t.Fatalf("POST {}: %d %+v", code, ls)
	}
	// Back to the estimate's choice: a clean link climbs to the top.
	waitFor(t, 30*time.Second, "the top again", sized(testW))
	if code, _ := layer(http.MethodPost, `{"rid": "4k"}`); code != http.StatusBadRequest {
		t.Errorf("unknown rid: %d, want 400", code)
	}
	if code, _ := layer(http.MethodPost, `{"rid": 5}`); code != http.StatusBadRequest {
		t.Errorf("bad JSON: %d, want 400", code)
	}
	r := rtctest.Do(t, http.MethodGet, srv.URL+"/whep/nosuch/layer", "", "", "")
	r.Body.Close()
	if r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown session: %d, want 404", r.StatusCode)
	}
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
