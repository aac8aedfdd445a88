package whip

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/rtctest"
	"github.com/shadercast/shadercast/media"
)

func readVideo(t *testing.T, p *Publication, within time.Duration) media.VideoFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	f, err := p.Video.ReadVideo(ctx)
	if err != nil {
		t.Fatalf("ReadVideo: %v (stats %+v)", err, p.Stats())
	}
	return f
}

// TestPublishVideoAndAudio: a pion publisher sends video (VP8, and H.264
// constrained baseline in packetization mode 1) and Opus; its frames come
// out decoded, in order, with their colours and timestamps; the tone
// comes out at its pitch and level; DELETE ends it.
func TestPublishVideoAndAudio(t *testing.T) {
	for _, codec := range []string{webrtc.MimeTypeVP8, webrtc.MimeTypeH264} {
		t.Run(codec, func(t *testing.T) { publishVideoAndAudio(t, codec) })
	}
}

func publishVideoAndAudio(t *testing.T, codec string) {
	pubs := make(chan *Publication, 1)
	h, srv := newTestHandler(t, func(c *Config) { c.OnPublish = func(p *Publication) { pubs <- p } })
	pb := newPub(t, rtctest.PublisherConfig{Audio: true, Codec: codec})
	pb.Publish(t, srv.URL+"/whip", "")
	if !strings.HasPrefix(pb.Location, "/whip/") {
		t.Fatalf("Location %q", pb.Location)
	}
	pb.Start(t, indexPicture())
	p := waitPublication(t, pubs)
	if p.Audio == nil {
		t.Fatal("offer sends Opus but the publication has no Audio")
	}
	if got := h.Publications(); len(got) != 1 || got[0] != p {
		t.Fatalf("Publications() = %v", got)
	}

	// Frames come out with the right colours, in order, with µs
	// timestamps that follow the 30 fps RTP clock.
	f := readVideo(t, p, 10*time.Second)
	checkColours(t, f)
	prevIdx, prevTS := readIndex(f), f.Timestamp()
	f.Close()
	for n := 0; n < 20; n++ {
		f := readVideo(t, p, 2*time.Second)
		idx, ts := readIndex(f), f.Timestamp()
		if n%5 == 0 {
			checkColours(t, f)
		}
		f.Close()
		di := (idx - prevIdx + 256) % 256
		if di < 1 || di > 3 { // the queue keeps 2: a slow test may lose some
			t.Fatalf("frame index %d after %d", idx, prevIdx)
		}
		if want := int64(di) * 33333; abs(float64(ts-prevTS-want)) > 200 {
			t.Errorf("timestamp step %d µs for %d frames, want %d", ts-prevTS, di, want)
		}
		prevIdx, prevTS = idx, ts
	}

	// Audio: the 440 Hz tone at its level, mono as sent, 48 kHz f32.
	var pcm []float32
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	skip := 5
	for len(pcm) < 48000/2 {
		a, err := p.Audio.ReadAudio(ctx)
		if err != nil {
			t.Fatalf("ReadAudio: %v after %d samples", err, len(pcm))
		}
		if a.Format() != media.F32 || a.SampleRate() != 48000 || a.NumberOfChannels() != 1 {
			t.Fatalf("audio %v", a)
		}
		buf := make([]byte, a.NumberOfFrames()*4)
		if err := a.CopyTo(buf, media.AudioDataCopyToOptions{}); err != nil {
			t.Fatal(err)
		}
		a.Close()
		if skip > 0 {
			skip--
			continue
		}
		for i := 0; i < len(buf); i += 4 {
			pcm = append(pcm, math.Float32frombits(uint32(buf[i])|uint32(buf[i+1])<<8|uint32(buf[i+2])<<16|uint32(buf[i+3])<<24))
		}
	}
	var rms float64
	crossings := 0
	for i := 1; i < len(pcm); i++ {
		rms += float64(pcm[i] * pcm[i])
		if pcm[i-1] < 0 && pcm[i] >= 0 {
			crossings++
		}
	}
	rms = math.Sqrt(rms / float64(len(pcm)))
	if freq := float64(crossings) * 48000 / float64(len(pcm)); math.Abs(freq-440) > 10 || rms < 0.2 {
		t.Fatalf("decoded %.1f Hz at RMS %.3f, want 440±10 Hz at ~0.35", freq, rms)
	}

	// DELETE ends it: readers get io.EOF, the publication is gone.
	if resp, body := do(t, http.MethodDelete, srv.URL+pb.Location, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
	}
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("publication not done after DELETE")
	}
	if p.Err() != io.EOF {
		t.Errorf("Err after DELETE = %v", p.Err())
	}
	if _, err := p.Video.ReadVideo(context.Background()); err != io.EOF {
		t.Errorf("ReadVideo after DELETE: %v", err)
	}
	if _, err := p.Audio.ReadAudio(context.Background()); err != io.EOF {
		t.Errorf("ReadAudio after DELETE: %v", err)
	}
	if n := len(h.Publications()); n != 0 {
		t.Errorf("%d publications after DELETE", n)
	}
	st := p.Stats()
	t.Logf("stats %+v", st)
	if st.FramesDecoded < 20 || st.AudioDecoded < 25 || st.VideoPackets == 0 || st.KeyframeRequests == 0 {
		t.Errorf("stats %+v", st)
	}
	if resp, _ := do(t, http.MethodDelete, srv.URL+pb.Location, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("second DELETE: %d, want 404", resp.StatusCode)
	}
}

// TestPublisherVanishes: the publisher's machine goes silent (no DELETE,
// no DTLS close): ICE failure ends the publication with ErrPublisherLost.
func TestPublisherVanishes(t *testing.T) {
	pubs := make(chan *Publication, 1)
	h, srv := newTestHandler(t, func(c *Config) { c.OnPublish = func(p *Publication) { pubs <- p } })
	pb := newPub(t, rtctest.PublisherConfig{})
	pb.Publish(t, srv.URL+"/whip", "")
	pb.Start(t, indexPicture())
	p := waitPublication(t, pubs)
	if p.Audio != nil {
		t.Error("video-only offer has Audio")
	}
	readVideo(t, p, 10*time.Second).Close()
	pb.Vanish()
	errc := make(chan error, 1)
	go func() {
		for {
			f, err := p.Video.ReadVideo(context.Background())
			if err != nil {
				errc <- err
				return
			}
			f.Close()
		}
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrPublisherLost) {
			t.Errorf("reader got %v, want ErrPublisherLost", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("vanished publisher not detected")
	}
	// The queue ends just before the publication does: Err is set once
	// Done is closed.
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the publication did not end after its queue did")
	}
	if !errors.Is(p.Err(), ErrPublisherLost) || len(h.Publications()) != 0 {
		t.Errorf("Err %v, %d publications", p.Err(), len(h.Publications()))
	}

	// A publisher that closes its PeerConnection without DELETE (DTLS
	// close_notify, no ICE timeout to wait for) also ends its publication,
	// and frees the slot.
	pb2 := newPub(t, rtctest.PublisherConfig{})
	pb2.Publish(t, srv.URL+"/whip", "")
	pb2.Start(t, indexPicture())
	p2 := waitPublication(t, pubs)
	readVideo(t, p2, 10*time.Second).Close()
	pb2.Close()
	select {
	case <-p2.Done():
		if !errors.Is(p2.Err(), ErrPublisherLost) {
			t.Errorf("closed publisher: Err %v, want ErrPublisherLost", p2.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a publisher that closed its PeerConnection was not noticed")
	}
}

// TestGapWaitsForKeyframe loses every packet of one delta frame on the
// sender side (before pion, so NACK cannot repair it): the ingest must
// decode nothing from that frame until a keyframe, ask for it with PLI,
// and resume with the keyframe.
func TestGapWaitsForKeyframe(t *testing.T) {
	pubs := make(chan *Publication, 1)
	_, srv := newTestHandler(t, func(c *Config) {
		c.OnPublish = func(p *Publication) { pubs <- p }
		c.VideoBuffer = 64 // keep every frame: the test looks for absent ones
	})
	const lose = 45 // 1.5 s in: the start-up PLIs are done
	pb := newPub(t, rtctest.PublisherConfig{Drop: func(i int64, key bool) bool { return i == lose }})
	pb.Publish(t, srv.URL+"/whip", "")
	pb.Start(t, indexPicture())
	p := waitPublication(t, pubs)

	var got []int
	deadline := time.Now().Add(15 * time.Second)
	for {
		f := readVideo(t, p, 5*time.Second)
		got = append(got, readIndex(f))
		f.Close()
		if len(got) > 0 && got[len(got)-1] > lose+30 && got[len(got)-1] < 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no frames long after the loss: %v", got)
		}
	}
	sent := pb.Sent()
	if sent[lose].Key {
		t.Fatalf("frame %d was a keyframe; the test needs a delta frame", lose)
	}
	// The first keyframe after the loss, and the PLI that asked for it.
	key := -1
	for i := lose + 1; i < len(sent); i++ {
		if sent[i].Key {
			key = i
			break
		}
	}
	if key < 0 {
		t.Fatalf("the sender never made a keyframe after the loss (PLIs %d)", pb.PLIs())
	}
	if sent[key].PLIsBefore <= sent[lose].PLIsBefore {
		t.Errorf("no PLI reached the sender between the loss and keyframe %d", key)
	}
	for _, idx := range got {
		if idx >= lose && idx < key {
			t.Errorf("frame %d decoded between the loss (%d) and the keyframe (%d): %v", idx, lose, key, got)
			break
		}
	}
	if !slices.Contains(got, key) && !slices.Contains(got, key+1) {
		t.Errorf("decoding did not resume at keyframe %d: %v", key, got)
	}
	if !slices.Contains(got, lose-1) {
		t.Errorf("frame before the loss missing: %v", got)
	}
	st := p.Stats()
	t.Logf("loss at %d, keyframe %d; stats %+v", lose, key, st)
	if st.Gaps == 0 || (key > lose+1 && st.FramesSkipped == 0) {
		t.Errorf("stats %+v", st)
	}
}

func TestBadRequests(t *testing.T) {
	_, srv := newTestHandler(t, func(c *Config) {
		c.Token = "s3cret"
		c.MaxBodyBytes = 16 << 10
	})
	url := srv.URL + "/whip"
	good := newPub(t, rtctest.PublisherConfig{Audio: true}).Offer(t)

	check := func(what string, resp *http.Response, code int, reason string) {
		t.Helper()
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != code || !strings.Contains(string(b), reason) {
			t.Errorf("%s: %d %q, want %d with %q", what, resp.StatusCode, b, code, reason)
		}
		if resp.StatusCode >= 400 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: error Content-Type %q", what, resp.Header.Get("Content-Type"))
		}
	}
	check("no token", post(t, url, "", good), http.StatusUnauthorized, "unauthorized")
	check("wrong token", post(t, url, "nope", good), http.StatusUnauthorized, "unauthorized")
	check("content type", postCT(t, url, "s3cret", "text/plain", good), http.StatusUnsupportedMediaType, "application/sdp")
	check("too large", post(t, url, "s3cret", good+strings.Repeat("a=x\r\n", 8<<10)), http.StatusRequestEntityTooLarge, "too large")
	check("garbage", post(t, url, "s3cret", "hello"), http.StatusBadRequest, "bad offer")
	check("no VP8 or H.264", post(t, url, "s3cret", newPub(t, rtctest.PublisherConfig{Audio: true, Codec: webrtc.MimeTypeVP9}).Offer(t)), http.StatusBadRequest, "no VP8 or H.264")
	audioOnly := newPub(t, rtctest.PublisherConfig{Audio: true})
	// Take the video section out of the offer: stop its transceiver.
	for _, tr := range audioOnly.PC.GetTransceivers() {
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			audioOnly.PC.RemoveTrack(tr.Sender())
		}
	}
	check("audio only", post(t, url, "s3cret", audioOnly.Offer(t)), http.StatusBadRequest, "no video")

	resp, _ := do(t, http.MethodPatch, url+"/x", "s3cret")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PATCH: %d", resp.StatusCode)
	}
	resp, _ = do(t, http.MethodGet, url, "s3cret")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	resp, _ = do(t, http.MethodDelete, url+"/nosuch", "s3cret")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("DELETE unknown: %d", resp.StatusCode)
	}
	resp, _ = do(t, http.MethodOptions, url, "")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!slices.Contains(resp.Header.Values("Access-Control-Expose-Headers"), "Location") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("OPTIONS: %d %v", resp.StatusCode, resp.Header)
	}

	// One publisher at a time: the second gets 409 with a reason.
	first := newPub(t, rtctest.PublisherConfig{})
	first.Publish(t, url, "s3cret")
	r2 := post(t, url, "s3cret", newPub(t, rtctest.PublisherConfig{}).Offer(t))
	if r2.Header.Get("Retry-After") == "" {
		t.Error("409 without Retry-After")
	}
	check("second publisher", r2, http.StatusConflict, "already live")
	// The DELETE needs the token too, and then the slot is free again.
	if resp, _ := do(t, http.MethodDelete, srv.URL+first.Location, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("DELETE without token: %d", resp.StatusCode)
	}
	if resp, _ := do(t, http.MethodDelete, srv.URL+first.Location, "s3cret"); resp.StatusCode != http.StatusOK {
		t.Errorf("DELETE: %d", resp.StatusCode)
	}
	newPub(t, rtctest.PublisherConfig{}).Publish(t, url, "s3cret")
}

// TestNoLeaks publishes and deletes repeatedly, then closes the handler
// with a live publication: goroutines and frames come back.
func TestNoLeaks(t *testing.T) {
	pubs := make(chan *Publication, 16)
	h, srv := newTestHandler(t, func(c *Config) { c.OnPublish = func(p *Publication) { pubs <- p } })
	cycle := func(del bool) (*Publication, *rtctest.Publisher) {
		pb := newPub(t, rtctest.PublisherConfig{Audio: true})
		pb.Publish(t, srv.URL+"/whip", "")
		pb.Start(t, indexPicture())
		p := waitPublication(t, pubs)
		f := readVideo(t, p, 10*time.Second) // decoding ran
		f.Close()
		if del {
			if resp, _ := do(t, http.MethodDelete, srv.URL+pb.Location, ""); resp.StatusCode != http.StatusOK {
				t.Fatalf("DELETE: %d", resp.StatusCode)
			}
			pb.Close()
		}
		return p, pb
	}
	cycle(true)
	http.DefaultClient.CloseIdleConnections()
	base := settleGoroutines(0)
	frames := media.PoolStats().LiveVideoFrames
	for i := 0; i < 5; i++ {
		cycle(true)
	}
	p, last := cycle(false)
	h.Close()
	if !errors.Is(p.Err(), ErrHandlerClosed) {
		t.Errorf("Err after Handler.Close = %v", p.Err())
	}
	for _, p := range h.Publications() {
		t.Errorf("publication %s left", p.ID)
	}
	refused := newPub(t, rtctest.PublisherConfig{})
	resp := post(t, srv.URL+"/whip", "", refused.Offer(t))
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	refused.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST after Close: %d, want 503", resp.StatusCode)
	}
	// The last publisher's own goroutines are the test's; stop them too.
	last.Close()
	http.DefaultClient.CloseIdleConnections()
	if n := settleGoroutines(base); n > base+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after\n%s", base, n, buf[:runtime.Stack(buf, true)])
	}
	if n := media.PoolStats().LiveVideoFrames; n > frames {
		t.Errorf("live video frames %d, was %d", n, frames)
	}
}
