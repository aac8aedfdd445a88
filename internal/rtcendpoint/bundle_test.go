package rtcendpoint

import (
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

const (
	offerHead  = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
	audioOffer = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a\r\na=sendonly\r\na=ice-ufrag:aaaa\r\na=ice-pwd:apwd\r\n" +
		"a=rtpmap:111 opus/48000/2\r\na=candidate:1 1 udp 1 127.0.0.1 5001 typ host\r\n"
	videoOffer = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\na=sendonly\r\na=ice-ufrag:vvvv\r\na=ice-pwd:vpwd\r\n" +
		"a=rtpmap:96 VP8/90000\r\na=candidate:1 1 udp 1 127.0.0.1 5002 typ host\r\n"
	unbundledOffer = offerHead + videoOffer + audioOffer
)

// TestBundleOne: an offer without BUNDLE gets a group of its first
// section; one with BUNDLE is left alone; one whose first section cannot
// be kept is an error saying what to offer. The answer loses its group, and the candidates written in the
// first section move to the kept one.
func TestBundleOne(t *testing.T) {
	video := func(md *sdp.MediaDescription) bool { return md.MediaName.Media == "video" }
	out, u, err := BundleOne(unbundledOffer, video)
	if err != nil || u == nil || u.Mid != "v" || u.Rejected != 1 || !strings.Contains(out, "a=group:BUNDLE v\r\n") {
		t.Fatalf("BundleOne: %v %+v\n%s", err, u, out)
	}
	// The rejected section takes the kept one's ICE credentials and loses
	// its candidates.
	if _, audio, _ := strings.Cut(out, "m=audio"); !strings.Contains(audio, "a=ice-ufrag:vvvv") || strings.Contains(audio, "candidate") {
		t.Errorf("the rejected section:\n%s", audio)
	}
	if _, _, err := BundleOne(offerHead+audioOffer+videoOffer, video); err == nil || !strings.Contains(err.Error(), "video first") {
		t.Errorf("audio first without BUNDLE: %v, want a 400 saying what to offer", err)
	}
	bundled := strings.Replace(unbundledOffer, "t=0 0\r\n", "t=0 0\r\na=group:BUNDLE v a\r\n", 1)
	if out, u, err := BundleOne(bundled, video); err != nil || u != nil || out != bundled {
		t.Errorf("a bundled offer changed: %v %+v", err, u)
	}
	if _, _, err := BundleOne(unbundledOffer, func(*sdp.MediaDescription) bool { return false }); err == nil {
		t.Error("an offer with nothing to keep was taken")
	}
	answer := "v=0\r\no=- 2 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE v\r\n" +
		"m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a\r\na=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\na=end-of-candidates\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\na=recvonly\r\n"
	got, err := u.Answer(answer)
	if err != nil {
		t.Fatal(err)
	}
	audioPart, videoPart, _ := strings.Cut(got, "m=video")
	if strings.Contains(got, "a=group") || strings.Contains(audioPart, "candidate") ||
		!strings.Contains(videoPart, "a=candidate:1 1 udp 1 127.0.0.1 5000 typ host") || !strings.Contains(videoPart, "a=end-of-candidates") {
		t.Errorf("answer:\n%s", got)
	}
}

// TestCodecOrder: names in payload-type order, each once.
func TestCodecOrder(t *testing.T) {
	md := &sdp.MediaDescription{MediaName: sdp.MediaName{Formats: []string{"102", "96", "104", "97"}},
		Attributes: []sdp.Attribute{{Key: "rtpmap", Value: "96 VP8/90000"}, {Key: "rtpmap", Value: "97 rtx/90000"},
			{Key: "rtpmap", Value: "102 H264/90000"}, {Key: "rtpmap", Value: "104 H264/90000"}}}
	if got := strings.Join(CodecOrder(md), ","); got != "H264,VP8,rtx" {
		t.Errorf("CodecOrder = %s", got)
	}
}
