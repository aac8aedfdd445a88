package service

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func TestValidateDoors(t *testing.T) {
	for _, l := range []string{"127.0.0.1:0", "127.0.0.2:8080", "[::1]:8080", "localhost:8080", "LOCALHOST.:1", "[::ffff:127.0.0.1]:80"} {
		c := DefaultConfig()
		c.Listen = l
		if err := c.Validate(); err != nil {
			t.Errorf("loopback %s without tokens: %v", l, err)
		}
	}
	for _, l := range []string{"0.0.0.0:8080", ":8080", "[::]:8080", "192.0.2.1:80", "example.com:80", "localhost.example.com:80"} {
		c := DefaultConfig()
		c.Listen = l
		var nt *NoTokensError
		if err := c.Validate(); !errors.As(err, &nt) || !slices.Equal(nt.Missing, []string{"publisher", "control"}) {
			t.Errorf("%s without tokens: %v, want a NoTokensError naming both roles", l, err)
		}
		c.PublishToken = "p"
		if err := c.Validate(); !errors.As(err, &nt) || !slices.Equal(nt.Missing, []string{"control"}) {
			t.Errorf("%s without a control token: %v", l, err)
		}
		// The viewer token is never enough: it does not let anyone publish.
		c.PublishToken, c.ViewerToken = "", "v"
		if err := c.Validate(); !errors.As(err, &nt) || len(nt.Missing) != 2 {
			t.Errorf("%s with only a viewer token: %v", l, err)
		}
		c.PublishToken, c.ControlToken = "p", "c"
		if err := c.Validate(); err != nil {
			t.Errorf("%s with both tokens: %v", l, err)
		}
		c.PublishToken, c.ControlToken, c.Insecure = "", "", true
		if err := c.Validate(); err != nil {
			t.Errorf("%s with --insecure: %v", l, err)
		}
	}
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.CORSOrigins = []string{"*"} }, "--cors-origin"},
		{func(c *Config) { c.CORSOrigins = []string{"https://panel.example/app"} }, "--cors-origin"},
		{func(c *Config) { c.CORSOrigins = []string{"panel.example"} }, "--cors-origin"},
		{func(c *Config) { c.AllowedHosts = []string{"*"} }, "--allowed-host"},
		{func(c *Config) { c.AllowedHosts = []string{""} }, "--allowed-host"},
		{func(c *Config) { c.MaxEventClients = -1 }, "--max-event-clients"},
		{func(c *Config) { c.ReadTimeout = -1 }, "--read-timeout"},
	} {
		c := DefaultConfig()
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error about %q, got %v", tc.want, err)
		}
	}
}

func testDoors(t *testing.T, mod func(*Config)) *doors {
	t.Helper()
	c := DefaultConfig()
	mod(&c)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := newDoors(c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func serve(h http.Handler, method, url string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, url, nil)
	for k, v := range hdr {
		if k == "Host" {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })

func TestHostGuard(t *testing.T) {
	d := testDoors(t, func(c *Config) { c.AllowedHosts = []string{"studio.lan", "proxy.lan:8443"} })
	h := d.hostGuard(okHandler)
	for host, want := range map[string]int{
		"127.0.0.1:8080": 200, "127.0.0.1": 200, "127.5.6.7:1": 200, "[::1]:8080": 200, "localhost:8080": 200,
		"LocalHost.:9": 200, "cam.localhost:8080": 200, "studio.lan:8080": 200, "STUDIO.lan": 200, "proxy.lan:8443": 200,
		"":                      200, // HTTP/1.0 without Host: not a browser, so not a rebinding page
		"attacker.example:8080": 421, "attacker.example": 421, "proxy.lan:80": 421, "localhost.attacker.example:8080": 421,
		"192.168.1.5:8080": 421, "[::ffff:10.0.0.1]:80": 421, "studio.lan.evil:8080": 421,
	} {
		w := serve(h, "GET", "/whep", map[string]string{"Host": host})
		if w.Code != want {
			t.Errorf("Host %q: %d, want %d", host, w.Code, want)
		}
		if w.Code == 421 && !strings.Contains(w.Body.String(), "--allowed-host") {
			t.Errorf("Host %q refused without saying what to do: %s", host, w.Body)
		}
	}
	// A network bind has tokens; its Host is not checked unless names
	// are configured.
	open := testDoors(t, func(c *Config) { c.Listen, c.PublishToken, c.ControlToken = "0.0.0.0:8080", "p", "c" })
	if w := serve(open.hostGuard(okHandler), "GET", "/", map[string]string{"Host": "shadercast.example:8080"}); w.Code != 200 {
		t.Errorf("network bind, any Host: %d", w.Code)
	}
	named := testDoors(t, func(c *Config) {
		c.Listen, c.PublishToken, c.ControlToken, c.AllowedHosts = "0.0.0.0:8080", "p", "c", []string{"shadercast.example"}
	})
	if w := serve(named.hostGuard(okHandler), "GET", "/", map[string]string{"Host": "other.example:8080"}); w.Code != 421 {
		t.Errorf("network bind with --allowed-host, another Host: %d", w.Code)
	}
}

func TestControlOrigins(t *testing.T) {
	d := testDoors(t, func(c *Config) { c.CORSOrigins = []string{"https://panel.example", "http://127.0.0.1:9000"} })
	h := d.api(okHandler, false, http.MethodGet, http.MethodPatch)
	for _, tc := range []struct {
		origin, host string
		code         int
		acao         string
	}{
		{"", "127.0.0.1:8080", 200, ""},
		{"http://127.0.0.1:8080", "127.0.0.1:8080", 200, ""}, // same origin
		{"http://localhost", "localhost:80", 200, ""},
		{"https://shadercast.example", "shadercast.example", 200, ""}, // behind a TLS proxy
		{"http://evil.example", "127.0.0.1:8080", 403, ""},
		{"http://127.0.0.1:8081", "127.0.0.1:8080", 403, ""},
		{"null", "127.0.0.1:8080", 403, ""},
		{"https://panel.example", "127.0.0.1:8080", 200, "https://panel.example"},
		{"https://panel.example:443", "127.0.0.1:8080", 200, "https://panel.example:443"},
		{"http://panel.example", "127.0.0.1:8080", 403, ""}, // scheme matters
		{"http://127.0.0.1:9000", "127.0.0.1:8080", 200, "http://127.0.0.1:9000"},
	} {
		for _, m := range []string{"GET", "OPTIONS"} {
			w := serve(h, m, "/api/pipeline", map[string]string{"Origin": tc.origin, "Host": tc.host})
			want := tc.code
			if m == "OPTIONS" && want == 200 {
				want = 204
			}
			if w.Code != want || w.Header().Get("Access-Control-Allow-Origin") != tc.acao {
				t.Errorf("%s from %q to %s: %d ACAO %q, want %d %q", m, tc.origin, tc.host, w.Code, w.Header().Get("Access-Control-Allow-Origin"), want, tc.acao)
			}
			if w.Code == 403 && !strings.Contains(w.Body.String(), "--cors-origin") {
				t.Errorf("refused origin %q without saying what to do: %s", tc.origin, w.Body)
			}
		}
	}
	// /whip: the same policy in front of a handler that sets its own
	// (open) CORS headers.
	g := d.originGuard(okHandler)
	if w := serve(g, "POST", "/whip", map[string]string{"Origin": "http://evil.example", "Host": "127.0.0.1:8080"}); w.Code != 403 {
		t.Errorf("/whip from a foreign page: %d", w.Code)
	}
	if w := serve(g, "POST", "/whip", map[string]string{"Origin": "https://panel.example", "Host": "127.0.0.1:8080"}); w.Code != 200 {
		t.Errorf("/whip from an allowed page: %d", w.Code)
	}
	if w := serve(g, "POST", "/whip", map[string]string{"Host": "127.0.0.1:8080"}); w.Code != 200 {
		t.Errorf("/whip without Origin (OBS, ffmpeg): %d", w.Code)
	}
}

func TestControlToken(t *testing.T) {
	d := testDoors(t, func(c *Config) { c.ControlToken = "sesame" })
	api := d.api(okHandler, false, http.MethodGet, http.MethodPatch)
	events := d.api(okHandler, true, http.MethodGet)
	for _, tc := range []struct {
		name    string
		h       http.Handler
		method  string
		url     string
		auth    string
		code    int
		message string
	}{
		{"header", api, "GET", "/api/stats", "Bearer sesame", 200, ""},
		{"scheme in any case", api, "PATCH", "/api/pipeline", "bearer sesame", 200, ""},
		{"no token", api, "GET", "/api/stats", "", 401, "bearer token"},
		{"wrong token", api, "GET", "/api/stats", "Bearer sesam", 401, "bearer token"},
		{"not bearer", api, "GET", "/api/stats", "Basic sesame", 401, "bearer token"},
		{"empty bearer", api, "GET", "/api/stats", "Bearer ", 401, "bearer token"},
		{"query on a GET route", api, "GET", "/api/stats?token=sesame", "", 401, "?token="},
		{"query on a write", api, "PATCH", "/api/pipeline?token=sesame", "", 401, "?token="},
		{"query on the event stream", events, "GET", "/api/events?token=sesame", "", 200, ""},
		{"wrong query on the event stream", events, "GET", "/api/events?token=x", "", 401, "bearer token"},
		{"header on the event stream", events, "GET", "/api/events", "Bearer sesame", 200, ""},
		{"query write on the event route", events, "POST", "/api/events?token=sesame", "", 405, ""},
	} {
		w := serve(tc.h, tc.method, tc.url, map[string]string{"Authorization": tc.auth})
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.message) {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, w.Code, w.Body, tc.code, tc.message)
		}
		if w.Code == 401 && !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Errorf("%s: 401 is not a JSON error", tc.name)
		}
	}
	var m dto.Metric
	d.refused.WithLabelValues("query_token").Write(&m)
	if n := m.GetCounter().GetValue(); n != 2 {
		t.Errorf("refused ?token= requests counted %g, want 2", n)
	}
}

// sseServer serves a hub's stream on a real server with the service's
// limits, some shortened.
func sseServer(t *testing.T, h *hub, mod func(*http.Server)) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = newHTTPServer(DefaultConfig(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.serveSSE(w, r, func() []event { return []event{{name: "hello", data: []byte("{}")}} })
	}))
	if mod != nil {
		mod(ts.Config)
	}
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// openStream starts a stream and waits for its hello event.
func openStream(t *testing.T, url string) (*http.Response, *bufio.Reader, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if resp.StatusCode == 200 {
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended before its hello: %v", err)
			}
			if strings.HasPrefix(l, "event: hello") {
				break
			}
		}
	}
	return resp, br, func() { cancel(); resp.Body.Close() }
}

func TestSSEClientCap(t *testing.T) {
	h := newHub()
	h.maxSSE = 2
	ts := sseServer(t, h, nil)
	_, _, close1 := openStream(t, ts.URL)
	_, _, close2 := openStream(t, ts.URL)
	defer close2()
	resp, _, close3 := openStream(t, ts.URL)
	body, _ := io.ReadAll(resp.Body)
	close3()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "--max-event-clients") {
		t.Fatalf("third stream past a cap of 2: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if h.refusedSSE.Load() != 1 {
		t.Errorf("refused streams counted %d, want 1", h.refusedSSE.Load())
	}
	// A slot comes back when its client leaves.
	close1()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, _, c := openStream(t, ts.URL)
		c()
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot after a client left: %d", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSSEOutlivesWriteTimeout: a stream keeps delivering events long
// after the server's WriteTimeout, because every write moves the
// deadline; the timeout still ends other responses.
func TestSSEOutlivesWriteTimeout(t *testing.T) {
	const wt = 300 * time.Millisecond
	h := newHub()
	h.writeTimeout = wt
	ts := sseServer(t, h, func(s *http.Server) { s.WriteTimeout = wt })
	_, br, closeStream := openStream(t, ts.URL)
	defer closeStream()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				h.publish(event{name: "tick", data: []byte(fmt.Sprint(i))})
			}
		}
	}()
	start := time.Now()
	n := 0
	for time.Since(start) < 4*wt {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended after %v and %d events: %v", time.Since(start), n, err)
		}
		if strings.HasPrefix(l, "event: tick") {
			n++
		}
	}
	if n < 3 {
		t.Errorf("%d events in %v", n, 4*wt)
	}
}

// TestHTTPServerLimits: a body that never finishes and an idle
// keep-alive connection are cut off; oversized headers are refused.
func TestHTTPServerLimits(t *testing.T) {
	c := DefaultConfig()
	c.ReadTimeout, c.IdleTimeout = Duration(300*time.Millisecond), Duration(300*time.Millisecond)
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = newHTTPServer(c, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok")
	}))
	ts.Start()
	defer ts.Close()
	addr := ts.Listener.Addr().String()

	// waitClosed reads until the server closes the connection; a
	// connection still held after 10 s fails.
	waitClosed := func(name string, conn net.Conn) {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.Copy(io.Discard, conn)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: connection still open after 10 s", name)
		}
	}

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n\r\n0123456789", addr)
	waitClosed("slow body", conn)
	conn.Close()

	conn, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("keep-alive request: %v %v", resp, err)
	}
	waitClosed("idle keep-alive", conn)
	conn.Close()

	req, _ := http.NewRequest("GET", ts.URL, nil)
	req.Header.Set("X-Big", strings.Repeat("a", 2*maxHeaderBytes))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized headers: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}
