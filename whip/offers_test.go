package whip

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/rtctest"
)

// bundleOnly turns an offer into the shape webrtcbin's max-bundle policy
// sends (RFC 8843): every section after the first at port 0 with
// a=bundle-only.
func bundleOnly(offer string) string {
	parts := strings.Split(offer, "m=")
	for i := 2; i < len(parts); i++ {
		sp := strings.SplitN(parts[i], " ", 3)
		parts[i] = sp[0] + " 0 " + sp[2]
		parts[i] = strings.Replace(parts[i], "a=mid:", "a=bundle-only\r\na=mid:", 1)
	}
	return strings.Join(parts, "m=")
}

// noBundle removes the offer's BUNDLE group (webrtcbin's bundle-policy
// none).
func noBundle(offer string) string {
	var out []string
	for _, l := range strings.Split(offer, "\r\n") {
		if !strings.HasPrefix(l, "a=group:BUNDLE") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\r\n")
}

// TestOfferShapes: the offers real publishers send, each with video and
// audio, are answered so that what can flow flows. max-bundle (sections
// after the first bundle-only, port 0) and audio first get both media;
// an offer without BUNDLE, which pion alone answers with every section
// rejected, gets its video section answered (with the candidates) and its
// audio rejected, and no BUNDLE group in the answer; without BUNDLE and
// audio first it gets 400 saying what to offer (no peer without BUNDLE
// starts a section after a rejected one).
func TestOfferShapes(t *testing.T) {
	for _, c := range []struct {
		name       string
		audioFirst bool
		munge      func(string) string
		audio      bool // audio expected to flow
		refused    bool
	}{
		{"max-bundle", false, bundleOnly, true, false},
		{"max-bundle audio first", true, bundleOnly, true, false},
		{"max-compat audio first", true, func(s string) string { return s }, true, false},
		{"no BUNDLE", false, noBundle, false, false},
		{"no BUNDLE audio first", true, noBundle, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			pubs := make(chan *Publication, 1)
			_, srv := newTestHandler(t, func(cfg *Config) { cfg.OnPublish = func(p *Publication) { pubs <- p } })
			pb := newPub(t, rtctest.PublisherConfig{Audio: true, Codec: webrtc.MimeTypeH264, AudioFirst: c.audioFirst})
			resp := post(t, srv.URL+"/whip", "", c.munge(pb.Offer(t)))
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if c.refused {
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "max-bundle") {
					t.Errorf("POST: %d %s, want 400 saying what to offer", resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST: %d %s", resp.StatusCode, body)
			}
			ans := &sdp.SessionDescription{}
			if err := ans.UnmarshalString(string(body)); err != nil {
				t.Fatal(err)
			}
			_, grouped := ans.Attribute("group")
			if grouped == !c.audio {
				t.Errorf("answer has a group: %v", grouped)
			}
			for _, md := range ans.MediaDescriptions {
				_, cands := md.Attribute("candidate")
				open := md.MediaName.Port.Value != 0
				switch md.MediaName.Media {
				case "video":
					if !open {
						t.Error("video section rejected")
					}
					if !c.audio && !cands {
						t.Error("no candidates in the answered video section")
					}
				case "audio":
					if open != c.audio {
						t.Errorf("audio section open %v, want %v", open, c.audio)
					}
				}
			}
			if err := pb.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
				t.Fatal(err)
			}
			pb.Start(t, indexPicture())
			p := waitPublication(t, pubs)
			f := readVideo(t, p, 10*time.Second)
			checkColours(t, f)
			f.Close()
			if (p.Audio != nil) != c.audio {
				t.Fatalf("publication audio %v, want %v", p.Audio != nil, c.audio)
			}
			if c.audio {
				deadline := time.Now().Add(5 * time.Second)
				for p.Stats().AudioDecoded < 10 && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
				}
				if n := p.Stats().AudioDecoded; n < 10 {
					t.Errorf("%d audio packets decoded", n)
				}
			}
		})
	}
}
