package rtctest

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// Offer sets pc's local description to a complete (non-trickle) offer,
// candidates gathered, and returns it.
func Offer(t testing.TB, pc *webrtc.PeerConnection) string {
	t.Helper()
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-g
	return pc.LocalDescription().SDP
}

// Response is an endpoint's answer to an offer.
type Response struct {
	Code        int
	Body        string
	Location    string
	ContentType string
	Header      http.Header
}

// Do sends a request with a bearer token (unless token is empty) and a
// body of type ctype (unless body is empty); the caller closes the
// response's body.
func Do(t testing.TB, method, url, token, ctype, body string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// PostSDP POSTs sdp to a WHIP or WHEP url, with a bearer token unless it
// is empty, and reads the whole answer.
func PostSDP(t testing.TB, url, token, sdp string) Response {
	t.Helper()
	resp := Do(t, http.MethodPost, url, token, "application/sdp", sdp)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Code: resp.StatusCode, Body: string(b), Location: resp.Header.Get("Location"),
		ContentType: resp.Header.Get("Content-Type"), Header: resp.Header}
}
