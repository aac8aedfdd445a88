package whep

import (
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/generator"
)

// TestICEServerLinkHeaders checks the headers on OPTIONS and on the 201.
// The servers point at 127.0.0.1 so the handler's own PeerConnections
// fail to use them quickly: a STUN socket that never answers (with a short
// gather timeout) and a TURN-over-TCP port that refuses connections.
func TestICEServerLinkHeaders(t *testing.T) {
	silent, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	refused, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	turnAddr := refused.Addr().String()
	refused.Close()
	stunURL := "stun:" + silent.LocalAddr().String()
	turnURL := "turn:" + turnAddr + "?transport=tcp"
	stunLink := "<" + stunURL + `>; rel="ice-server"`
	turnLink := "<" + turnURL + `>; rel="ice-server"; username="viewer"; credential="secret"; credential-type="password"`

	s := newSource(t)
	_, srv := newTestHandler(t, s, func(c *Config) {
		c.Token = "tok"
		c.ICEServers = []webrtc.ICEServer{{URLs: []string{stunURL}}, {URLs: []string{turnURL}, Username: "viewer", Credential: "secret"}}
		c.SettingEngine.SetSTUNGatherTimeout(100 * time.Millisecond)
	})
	url := srv.URL + "/whep"

	resp := do(t, http.MethodOptions, url, "")
	if got := resp.Header.Values("Link"); !slices.Equal(got, []string{stunLink}) {
		t.Errorf("unauthenticated OPTIONS Link = %q, want only STUN", got)
	}
	if got := resp.Header.Values("Access-Control-Expose-Headers"); !slices.Contains(got, "Link") || got[0] != "Location" {
		t.Errorf("Access-Control-Expose-Headers = %q", got)
	}
	resp = do(t, http.MethodOptions, url, "tok")
	if got := resp.Header.Values("Link"); !slices.Equal(got, []string{stunLink, turnLink}) {
		t.Errorf("authenticated OPTIONS Link = %q", got)
	}

	resp = post(t, url, "tok", offer(t, newClientPCClosed(t), webrtc.RTPCodecTypeVideo))
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	if got := resp.Header.Values("Link"); !slices.Equal(got, []string{stunLink, turnLink}) {
		t.Errorf("201 Link = %q", got)
	}
}

type candidate struct {
	ip   string
	port int
	typ  string
}

// candidates parses the UDP candidates of an SDP.
func candidates(t *testing.T, sdp string) []candidate {
	t.Helper()
	var out []candidate
	for _, l := range strings.Split(sdp, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "a=candidate:") {
			continue
		}
		// foundation component transport priority ip port "typ" type ...
		f := strings.Fields(l)
		if len(f) < 8 || !strings.EqualFold(f[2], "udp") {
			continue
		}
		port, err := strconv.Atoi(f[5])
		if err != nil {
			t.Fatalf("bad candidate %q", l)
		}
		out = append(out, candidate{ip: f[4], port: port, typ: f[7]})
	}
	return out
}

// answerFor POSTs a fresh video+audio offer and returns the answer SDP.
func answerFor(t *testing.T, url string) string {
	t.Helper()
	resp := post(t, url, "", offer(t, newClientPCClosed(t), webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	return string(body)
}

func TestUDPPortRange(t *testing.T) {
	// A random 20-port window, so concurrent test processes on the machine
	// rarely compete for it; pion skips ports in use within the range.
	lo := uint16(40000 + rand.IntN(20000))
	hi := lo + 19
	s := newSource(t)
	_, srv := newTestHandler(t, s, func(c *Config) { c.UDPPortMin, c.UDPPortMax = lo, hi })
	for i := 0; i < 3; i++ {
		cs := candidates(t, answerFor(t, srv.URL+"/whep"))
		if len(cs) == 0 {
			t.Fatal("answer has no UDP candidates")
		}
		for _, c := range cs {
			if c.port < int(lo) || c.port > int(hi) {
				t.Errorf("candidate %v outside %d-%d", c, lo, hi)
			}
		}
	}
	// And a viewer actually connects through a port of that range.
	v := connect(t, srv, "", false)
	waitConnected(t, v.PC, 5*time.Second)

	if _, err := NewHandler(Config{Publishers: []*Publisher{s.vpub}, UDPPortMin: 10, UDPPortMax: 5}); err == nil {
		t.Error("inverted port range accepted")
	}
}

func waitConnected(t *testing.T, pc *webrtc.PeerConnection, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
		if time.Now().After(deadline) {
			t.Fatalf("not connected within %v (state %v)", within, pc.ConnectionState())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestNAT1To1IPs(t *testing.T) {
	s := newSource(t)
	_, srv := newTestHandler(t, s, func(c *Config) { c.NAT1To1IPs = []string{"203.0.113.7"} })
	cs := candidates(t, answerFor(t, srv.URL+"/whep"))
	if len(cs) == 0 {
		t.Fatal("answer has no UDP candidates")
	}
	for _, c := range cs {
		if c.typ == "host" && c.ip != "203.0.113.7" {
			t.Errorf("host candidate %v not replaced by the 1:1 NAT address", c)
		}
	}
}

// TestLoopbackAuto: without IncludeLoopback in the handler's settings, an
// offer POSTed over loopback still gets a loopback candidate (and works).
func TestLoopbackAuto(t *testing.T) {
	s := newSource(t)
	_, srv := newTestHandler(t, s, func(c *Config) {
		se := loopbackEngine()
		se.SetIncludeLoopbackCandidate(false)
		c.SettingEngine = se
	})
	cs := candidates(t, answerFor(t, srv.URL+"/whep"))
	if !slices.ContainsFunc(cs, func(c candidate) bool { return c.ip == "127.0.0.1" }) {
		t.Fatalf("no loopback candidate: %v", cs)
	}
	v := connect(t, srv, "", false)
	waitConnected(t, v.PC, 5*time.Second)
}

// msids returns "stream track" for each a=msid line.
func msids(sdp string) []string {
	var out []string
	for _, l := range strings.Split(sdp, "\n") {
		if m, ok := strings.CutPrefix(strings.TrimSpace(l), "a=msid:"); ok {
			out = append(out, m)
		}
	}
	return out
}

func TestOneMediaStream(t *testing.T) {
	s := newSource(t)
	ms := generator.NewMediaStream(s.video, s.audio)
	pubs, err := NewStreamPublishers(ms, VideoConfig{Bitrate: 300_000, Threads: 1}, AudioConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range pubs {
			p.Close()
		}
	})
	if len(pubs) != 2 || pubs[0].Kind() != webrtc.RTPCodecTypeVideo || pubs[1].Kind() != webrtc.RTPCodecTypeAudio {
		t.Fatalf("publishers %v", pubs)
	}
	// Also the single-publisher form, through AudioConfig.Stream.
	ap, err := NewAudioPublisher(s.audio, AudioConfig{Stream: ms})
	if err != nil {
		t.Fatal(err)
	}
	ap.Close()
	if got := ap.Track().StreamID(); got != ms.ID() {
		t.Errorf("AudioConfig.Stream: stream id %q, want %q", got, ms.ID())
	}

	_, srv := newTestHandler(t, s, func(c *Config) { c.Publishers = pubs })
	got := msids(answerFor(t, srv.URL+"/whep"))
	if len(got) != 2 {
		t.Fatalf("a=msid lines %q, want 2", got)
	}
	for _, m := range got {
		if id, _, _ := strings.Cut(m, " "); id != ms.ID() {
			t.Errorf("a=msid:%s, want stream id %s on audio and video", m, ms.ID())
		}
	}
}

// TestManyCycles connects and disconnects a real pion viewer 200 times
// through one handler and publisher pair, then checks that goroutines and
// heap came back. Viewers are made and closed here rather than with
// connect, whose t.Cleanup would keep every closed PeerConnection alive
// until the end of the test and hide a real leak behind a fake one.
func TestManyCycles(t *testing.T) {
	const cycles = 200
	s := newSource(t)
	h, srv := newTestHandler(t, s, nil)
	url := srv.URL + "/whep"
	cycle := func() {
		pc := newClientPC(t)
		defer pc.Close()
		resp := post(t, url, "", offer(t, pc, webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio))
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST: %d %s", resp.StatusCode, body)
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
			t.Fatal(err)
		}
		// The test is about what 200 cycles leave behind, not how fast
		// one connects: under -race on a loaded 2-core machine, one in
		// a few hundred waits out an ICE retransmission past 5 s.
		waitConnected(t, pc, 15*time.Second)
		if r := do(t, http.MethodDelete, srv.URL+resp.Header.Get("Location"), ""); r.StatusCode != http.StatusOK {
			t.Fatalf("DELETE: %d", r.StatusCode)
		}
	}
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	// Warm up: pools, the HTTP keep-alive connection, pion's lazily
	// started helpers.
	for i := 0; i < 5; i++ {
		cycle()
	}
	http.DefaultClient.CloseIdleConnections()
	base := settleGoroutines(0)
	heap0 := heap()
	start := time.Now()
	for i := 0; i < cycles; i++ {
		cycle()
	}
	elapsed := time.Since(start)
	http.DefaultClient.CloseIdleConnections()
	if n := settleGoroutines(base); n > base+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after %d cycles\n%s", base, n, cycles, buf[:runtime.Stack(buf, true)])
	}
	if h.Sessions() != 0 {
		t.Fatalf("Sessions = %d", h.Sessions())
	}
	heap1 := heap()
	// 20 KiB per cycle: a leaked PeerConnection (ICE agent, DTLS, SRTP,
	// interceptor state and buffers) is far bigger than that, while the
	// measured drift is a few tens of KiB in total.
	const bound = 4 << 20
	t.Logf("%d cycles in %v (%v each); HeapInuse %d -> %d KiB", cycles, elapsed, elapsed/cycles, heap0>>10, heap1>>10)
	if heap1 > heap0+bound {
		t.Errorf("HeapInuse grew from %d to %d KiB over %d cycles", heap0>>10, heap1>>10, cycles)
	}
}
