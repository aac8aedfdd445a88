package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/rtctest"
)

// httpDo sends one request with the given headers ("Host" sets the Host
// header) and returns the status, headers and body.
func httpDo(t testing.TB, method, url string, hdr map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func bearerHdr(tok string, more ...string) map[string]string {
	h := map[string]string{}
	if tok != "" {
		h["Authorization"] = "Bearer " + tok
	}
	for i := 0; i+1 < len(more); i += 2 {
		h[more[i]] = more[i+1]
	}
	return h
}

// TestHTTPDoors: the three roles' tokens, the origin and Host checks,
// ?token= only on the event stream, /metrics behind the control token,
// the SSE cap and the read timeout, through the built binary.
func TestHTTPDoors(t *testing.T) {
	const viewTok, pubTok, ctlTok = "view-secret", "pub-secret", "ctl-secret"
	const panel = "https://panel.example"
	s := start(t, []string{"SHADERCAST_VIEWER_TOKEN=" + viewTok, "SHADERCAST_PUBLISH_TOKEN=" + pubTok, "SHADERCAST_CONTROL_TOKEN=" + ctlTok},
		nil, "--cors-origin", panel, "--allowed-host", "studio.lan", "--max-event-clients", "2", "--read-timeout", "1s")
	u, _ := url.Parse(s.URL)
	port := u.Port()

	t.Run("roles", func(t *testing.T) {
		p := rtctest.NewPublisher(t, rtctest.PublisherConfig{})
		defer p.Close()
		offer := p.Offer(t)
		for _, tok := range []string{"", viewTok, ctlTok, pubTok + "x"} {
			if code, body, _ := postSDP(t, s.URL+"whip", tok, offer); code != http.StatusUnauthorized {
				t.Errorf("POST /whip with token %q: %d %s, want 401", tok, code, body)
			}
		}
		// The publisher token gets past the door (and the bad offer is
		// then refused for what it is).
		if code, body, _ := postSDP(t, s.URL+"whip", pubTok, "v=0\r\n"); code != http.StatusBadRequest {
			t.Errorf("POST /whip with the publisher token and a bad offer: %d %s, want 400", code, body)
		}
		for _, tok := range []string{"", pubTok, ctlTok} {
			if code, body, _ := postSDP(t, s.URL+"whep", tok, "v=0\r\n"); code != http.StatusUnauthorized {
				t.Errorf("POST /whep with token %q: %d %s, want 401", tok, code, body)
			}
		}
		if code, body, _ := postSDP(t, s.URL+"whep", viewTok, "v=0\r\n"); code != http.StatusBadRequest {
			t.Errorf("POST /whep with the viewer token and a bad offer: %d %s, want 400", code, body)
		}
		for _, tok := range []string{viewTok, pubTok} {
			if code, _, body := httpDo(t, "GET", s.URL+"api/stats", bearerHdr(tok), ""); code != http.StatusUnauthorized {
				t.Errorf("GET /api/stats with token %q: %d %s", tok, code, body)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		for _, tok := range []string{"", viewTok, pubTok} {
			if code, _, _ := httpDo(t, "GET", s.URL+"metrics", bearerHdr(tok), ""); code != http.StatusUnauthorized {
				t.Errorf("GET /metrics with token %q: %d, want 401", tok, code)
			}
		}
		if code, _, _ := httpDo(t, "GET", s.URL+"metrics?token="+ctlTok, nil, ""); code != http.StatusUnauthorized {
			t.Errorf("GET /metrics?token=: %d, want 401", code)
		}
		code, _, body := httpDo(t, "GET", s.URL+"metrics", bearerHdr(ctlTok), "")
		if code != http.StatusOK || !strings.Contains(body, "shadercast_frames_out_total") {
			t.Errorf("GET /metrics with the control token: %d %.200s", code, body)
		}
	})

	t.Run("query token", func(t *testing.T) {
		code, _, body := httpDo(t, "PATCH", s.URL+"api/pipeline?token="+ctlTok, map[string]string{"Content-Type": "application/json"}, `{"add":["invert"]}`)
		if code != http.StatusUnauthorized || !strings.Contains(body, "?token=") {
			t.Errorf("PATCH /api/pipeline?token=: %d %s, want 401 saying where ?token= works", code, body)
		}
		for _, p := range []string{"api/pipeline", "api/stats", "api/snapshot.png"} {
			if code, _, _ := httpDo(t, "GET", s.URL+p+"?token="+ctlTok, nil, ""); code != http.StatusUnauthorized {
				t.Errorf("GET /%s?token=: %d, want 401", p, code)
			}
		}
		for _, p := range []string{"whep", "whip"} {
			if code, _, _ := httpDo(t, "POST", s.URL+p+"?token="+map[string]string{"whep": viewTok, "whip": pubTok}[p],
				map[string]string{"Content-Type": "application/sdp"}, "v=0\r\n"); code != http.StatusUnauthorized {
				t.Errorf("POST /%s?token=: %d, want 401", p, code)
			}
		}
		// The event stream, which EventSource opens without headers.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"api/events?token="+ctlTok, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Errorf("GET /api/events?token=: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if got := pipelineNames(t, s, ctlTok); strings.Join(got, ",") != "barcode" {
			t.Errorf("a refused PATCH changed the chain: %v", got)
		}
	})

	t.Run("origins", func(t *testing.T) {
		code, hdr, body := httpDo(t, "GET", s.URL+"api/stats", bearerHdr(ctlTok, "Origin", "http://evil.example"), "")
		if code != http.StatusForbidden || hdr.Get("Access-Control-Allow-Origin") != "" || !strings.Contains(body, "--cors-origin") {
			t.Errorf("GET /api/stats from a foreign page: %d ACAO %q %s", code, hdr.Get("Access-Control-Allow-Origin"), body)
		}
		code, hdr, _ = httpDo(t, "OPTIONS", s.URL+"api/pipeline", map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "PATCH"}, "")
		if hdr.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight from a foreign page: %d ACAO %q", code, hdr.Get("Access-Control-Allow-Origin"))
		}
		code, hdr, _ = httpDo(t, "GET", s.URL+"api/stats", bearerHdr(ctlTok, "Origin", panel), "")
		if code != http.StatusOK || hdr.Get("Access-Control-Allow-Origin") != panel {
			t.Errorf("GET /api/stats from --cors-origin: %d ACAO %q", code, hdr.Get("Access-Control-Allow-Origin"))
		}
		code, hdr, _ = httpDo(t, "OPTIONS", s.URL+"api/pipeline", map[string]string{"Origin": panel, "Access-Control-Request-Method": "PATCH"}, "")
		if code != http.StatusNoContent || hdr.Get("Access-Control-Allow-Origin") != panel || !strings.Contains(hdr.Get("Access-Control-Allow-Methods"), "PATCH") {
			t.Errorf("preflight from --cors-origin: %d %v", code, hdr)
		}
		// The page's own origin needs no CORS.
		if code, _, _ := httpDo(t, "GET", s.URL+"api/stats", bearerHdr(ctlTok, "Origin", strings.TrimSuffix(s.URL, "/")), ""); code != http.StatusOK {
			t.Errorf("GET /api/stats from the same origin: %d", code)
		}
		// /whip: not from foreign pages; /whep stays open to players anywhere.
		if code, _, _ := httpDo(t, "OPTIONS", s.URL+"whip", map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}, ""); code != http.StatusForbidden {
			t.Errorf("/whip preflight from a foreign page: %d, want 403", code)
		}
		code, hdr, _ = httpDo(t, "OPTIONS", s.URL+"whep", map[string]string{"Origin": "http://player.example", "Access-Control-Request-Method": "POST"}, "")
		if code != http.StatusNoContent || hdr.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("/whep preflight from another origin: %d ACAO %q, want 204 *", code, hdr.Get("Access-Control-Allow-Origin"))
		}
	})

	t.Run("host", func(t *testing.T) {
		for _, c := range []struct{ method, path, tok string }{
			{"GET", "healthz", ""}, {"GET", "api/stats", ctlTok}, {"GET", "", ""}, {"POST", "whep", viewTok}, {"POST", "whip", pubTok},
		} {
			code, _, body := httpDo(t, c.method, s.URL+c.path, bearerHdr(c.tok, "Host", "rebind.attacker.example:"+port, "Content-Type", "application/sdp"), "v=0\r\n")
			if code != http.StatusMisdirectedRequest || !strings.Contains(body, "--allowed-host") {
				t.Errorf("%s /%s with a foreign Host: %d %.200s, want 421 naming --allowed-host", c.method, c.path, code, body)
			}
		}
		for _, h := range []string{"localhost:" + port, "studio.lan:" + port, "[::1]:" + port} {
			if code, _, _ := httpDo(t, "GET", s.URL+"healthz", map[string]string{"Host": h}, ""); code != http.StatusOK {
				t.Errorf("GET /healthz with Host %s: %d", h, code)
			}
		}
	})

	t.Run("event stream cap", func(t *testing.T) {
		a := subscribe(t, s, ctlTok)
		b := subscribe(t, s, ctlTok)
		code, hdr, body := httpDo(t, "GET", s.URL+"api/events", bearerHdr(ctlTok), "")
		if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
			t.Errorf("a third event stream past --max-event-clients 2: %d Retry-After %q %s", code, hdr.Get("Retry-After"), body)
		}
		a.cancel()
		<-a.done
		eventually(t, 10*time.Second, "a slot back after a stream closed", func() bool {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"api/events", nil)
			req.Header.Set("Authorization", "Bearer "+ctlTok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
		b.cancel()
	})

	t.Run("slow body", func(t *testing.T) {
		for _, c := range []struct{ path, tok, ctype string }{
			{"api/pipeline", ctlTok, "application/json"}, {"whip", pubTok, "application/sdp"},
		} {
			conn, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Fatal(err)
			}
			method := map[string]string{"api/pipeline": "PATCH", "whip": "POST"}[c.path]
			fmt.Fprintf(conn, "%s /%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: 1000\r\n\r\n{\"add\"",
				method, c.path, u.Host, c.tok, c.ctype)
			// --read-timeout 1s: the server answers or hangs up; a
			// connection still held after 15 s is the bug.
			conn.SetReadDeadline(time.Now().Add(15 * time.Second))
			_, err = io.Copy(io.Discard, bufio.NewReader(conn))
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("%s /%s with a body that never finishes: connection still held after 15 s", method, c.path)
			}
			conn.Close()
		}
		if code, _, _ := httpDo(t, "GET", s.URL+"healthz", nil, ""); code != http.StatusOK {
			t.Errorf("/healthz after slow clients: %d", code)
		}
	})

	t.Run("refusals counted", func(t *testing.T) {
		_, _, body := httpDo(t, "GET", s.URL+"metrics", bearerHdr(ctlTok), "")
		for _, want := range []string{`shadercast_http_refused_total{reason="host"}`, `shadercast_http_refused_total{reason="origin"}`,
			`shadercast_http_refused_total{reason="query_token"}`} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		// At least the one refusal above; the wait for a slot to come
		// back may have been refused again on a slow machine.
		if n := metricValue(body, "shadercast_event_clients_refused_total"); n < 1 {
			t.Errorf("shadercast_event_clients_refused_total = %v, want >= 1", n)
		}
	})
}

// TestHTTPRefusesOpenNetworkBind: a non-loopback --listen without the
// publisher and control tokens, and the retired SHADERCAST_TOKEN, stop
// the start with a message naming the variables to set. 0.0.0.0:0 is
// only used to see the refusal: a process that serves is killed.
func TestHTTPRefusesOpenNetworkBind(t *testing.T) {
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"no tokens", nil, []string{"--listen", "0.0.0.0:0"}, []string{"SHADERCAST_PUBLISH_TOKEN", "SHADERCAST_CONTROL_TOKEN", "--insecure"}},
		{"viewer token only", []string{"SHADERCAST_VIEWER_TOKEN=v"}, []string{"--listen", "0.0.0.0:0"}, []string{"SHADERCAST_PUBLISH_TOKEN", "SHADERCAST_CONTROL_TOKEN"}},
		{"no control token", []string{"SHADERCAST_PUBLISH_TOKEN=p"}, []string{"--listen", "0.0.0.0:0"}, []string{"SHADERCAST_CONTROL_TOKEN"}},
		{"old token", []string{"SHADERCAST_TOKEN=x"}, []string{"--listen", "127.0.0.1:0"}, []string{"SHADERCAST_TOKEN", "SHADERCAST_VIEWER_TOKEN", "SHADERCAST_PUBLISH_TOKEN"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, c.args...)
			var env []string
			for _, e := range os.Environ() {
				if !strings.HasPrefix(e, "SHADERCAST_") {
					env = append(env, e)
				}
			}
			cmd.Env = append(env, c.env...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if strings.Contains(sc.Text(), "watch at") {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("shadercast served: %s", sc.Text())
				}
			}
			err = cmd.Wait()
			if err == nil || ctx.Err() != nil {
				t.Fatalf("exit %v (context %v), want a refusal\n%s", err, ctx.Err(), stderr.String())
			}
			for _, w := range c.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("the refusal does not name %s:\n%s", w, stderr.String())
				}
			}
		})
	}
}

// TestHTTPInsecureWarns: --insecure starts without tokens and says so
// (served on loopback: this test never opens a network address).
func TestHTTPInsecureWarns(t *testing.T) {
	s := start(t, nil, nil, "--insecure", "--listen", "127.0.0.1:0")
	if code, _, _ := httpDo(t, "GET", s.URL+"healthz", nil, ""); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	eventually(t, 5*time.Second, "a warning about --insecure", func() bool {
		for _, l := range strings.Split(s.stderr.String(), "\n") {
			if strings.Contains(l, "level=WARN") && strings.Contains(l, "--insecure") {
				return true
			}
		}
		return false
	})
}
