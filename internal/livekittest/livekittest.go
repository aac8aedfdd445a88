// Package livekittest starts a real LiveKit server for tests: the
// livekit-server binary that scripts/install-livekit builds once into the
// user's cache (make test runs it), on loopback ports of its own, in dev
// mode (API key "devkey", secret "secret").
package livekittest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
)

// Version is the LiveKit server the tests run (scripts/install-livekit).
const Version = "v1.9.11"

// Dev mode's API key and secret.
const (
	APIKey    = "devkey"
	APISecret = "secret"
)

// Binary is the livekit-server to run: $SHADERCAST_LIVEKIT_SERVER, else
// where scripts/install-livekit puts it. The test fails, saying how to get
// it, when it is missing.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SHADERCAST_LIVEKIT_SERVER"); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache")
	}
	p := filepath.Join(cache, "shadercast", "livekit", Version, "livekit-server")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no LiveKit server at %s: run scripts/install-livekit (make test does), or set SHADERCAST_LIVEKIT_SERVER", p)
	}
	return p
}

// Server is a running LiveKit server.
type Server struct {
	// URL is its signalling address (ws://...), HTTP the same over http
	// (its WHIP ingest is HTTP+"/whip/v1").
	URL, HTTP string

	t                      testing.TB
	bin, config            string
	mu                     sync.Mutex
	cmd                    *exec.Cmd
	exited                 chan struct{}
	log                    *strings.Builder
	port, tcpPort, udpPort int
}

// Start starts a server and waits until it answers; t's cleanup stops it.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t), port: freePort(t, "tcp"), tcpPort: freePort(t, "tcp"), udpPort: freePort(t, "udp")}
	s.URL = fmt.Sprintf("ws://127.0.0.1:%d", s.port)
	s.HTTP = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	s.config = filepath.Join(t.TempDir(), "livekit.yaml")
	conf := fmt.Sprintf(`port: %d
bind_addresses: [127.0.0.1]
rtc:
  tcp_port: %d
  udp_port: %d
  use_external_ip: false
  enable_loopback_candidate: true
  ips:
    includes: [127.0.0.1/32]
logging:
  level: warn
`, s.port, s.tcpPort, s.udpPort)
	if err := os.WriteFile(s.config, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Kill)
	s.Restart()
	return s
}

// Restart starts the server again (after Kill) on the same ports, and
// waits until it answers.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	s.log = &strings.Builder{}
	cmd := exec.Command(s.bin, "--dev", "--config", s.config, "--node-ip", "127.0.0.1")
	cmd.Stdout, cmd.Stderr = &lockedWriter{b: s.log, mu: &s.mu}, &lockedWriter{b: s.log, mu: &s.mu}
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		s.t.Fatalf("starting %s: %v", s.bin, err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	exited := s.exited
	s.mu.Unlock()
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.HTTP + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			s.t.Fatalf("livekit-server exited at start:\n%s", s.Log())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("livekit-server did not answer within 20 s:\n%s", s.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Kill kills the server (SIGKILL: as if its machine went away) and waits
// for it.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
}

// Log is what the server has written.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Token is an access token for identity in room: it may publish when
// publish is set, and subscribe either way.
func (s *Server) Token(identity, room string, publish bool) string {
	s.t.Helper()
	sub := true
	at := auth.NewAccessToken(APIKey, APISecret).SetIdentity(identity).SetValidFor(time.Hour).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: room, CanPublish: &publish, CanSubscribe: &sub, CanPublishData: &publish})
	tok, err := at.ToJWT()
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

func freePort(t testing.TB, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type lockedWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() > 256<<10 {
		return len(p), nil // enough to diagnose
	}
	return w.b.Write(p)
}
