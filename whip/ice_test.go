package whip

import (
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/internal/rtctest"
)

func TestICEServerLinks(t *testing.T) {
	servers := []webrtc.ICEServer{
		{URLs: []string{"stun:stun.example.net:3478"}},
		{URLs: []string{"turn:turn.example.net:3478?transport=udp"}, Username: "user", Credential: `pa"ss`},
	}
	stun := `<stun:stun.example.net:3478>; rel="ice-server"`
	turn := `<turn:turn.example.net:3478?transport=udp>; rel="ice-server"; username="user"; credential="pa\"ss"; credential-type="password"`
	_, srv := newTestHandler(t, func(c *Config) { c.Token = "tok"; c.ICEServers = servers })
	resp, _ := do(t, http.MethodOptions, srv.URL+"/whip", "")
	if got := resp.Header.Values("Link"); !slices.Equal(got, []string{stun}) {
		t.Errorf("unauthenticated OPTIONS Link = %q, want only STUN", got)
	}
	resp, _ = do(t, http.MethodOptions, srv.URL+"/whip", "tok")
	if got := resp.Header.Values("Link"); !slices.Equal(got, []string{stun, turn}) {
		t.Errorf("authenticated OPTIONS Link = %q", got)
	}
	if got := resp.Header.Values("Access-Control-Expose-Headers"); len(got) < 2 || got[0] != "Location" || got[1] != "Link" {
		t.Errorf("Access-Control-Expose-Headers = %q", got)
	}
}

// TestUDPPortRange: the answer's candidates, and the media, use the range.
func TestUDPPortRange(t *testing.T) {
	lo := uint16(40000 + rand.IntN(20000))
	hi := lo + 19
	_, srv := newTestHandler(t, func(c *Config) { c.UDPPortMin, c.UDPPortMax = lo, hi })
	pb := newPub(t, rtctest.PublisherConfig{})
	resp := post(t, srv.URL+"/whip", "", pb.Offer(t))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	n := 0
	for _, l := range strings.Split(string(body), "\n") {
		f := strings.Fields(strings.TrimSpace(l))
		if len(f) < 8 || !strings.HasPrefix(f[0], "a=candidate:") || !strings.EqualFold(f[2], "udp") {
			continue
		}
		port, _ := strconv.Atoi(f[5])
		if port < int(lo) || port > int(hi) {
			t.Errorf("candidate %q outside %d-%d", l, lo, hi)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("answer has no UDP candidates:\n%s", body)
	}
	if _, err := NewHandler(Config{UDPPortMin: 10, UDPPortMax: 5}); err == nil {
		t.Error("inverted port range accepted")
	}
}
