package service

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTP limits. The timeouts users may need to change are Config fields;
// these are not.
const (
	defaultMaxEventClients = 32
	defaultReadTimeout     = 10 * time.Second
	defaultIdleTimeout     = 60 * time.Second
	// writeTimeout bounds writing one response, from the end of its
	// request headers: long enough for a WHEP/WHIP answer, which waits
	// for ICE gathering (10 s at most), and for a snapshot of a large
	// frame. SSE streams move the deadline forward before every write
	// (see hub.serveSSE), so a stream lives as long as its client reads.
	writeTimeout = 30 * time.Second
	// maxHeaderBytes: a bearer token and a browser's usual headers fit
	// many times over; net/http's default is 1 MiB per request.
	maxHeaderBytes = 16 << 10
)

// NoTokensError is Validate's refusal to listen on a non-loopback
// address without the tokens that keep strangers from publishing and
// controlling (Config.Insecure overrides it). cmd/shadercast names the
// environment variables that set them.
type NoTokensError struct {
	Listen string
	// Missing are the roles without a token: "publisher", "control".
	Missing []string
}

func (e *NoTokensError) Error() string {
	return fmt.Sprintf("--listen %s is not a loopback address and no %s token is set: anyone who reaches the port could publish and change the pipeline; set the token(s) or pass --insecure",
		e.Listen, strings.Join(e.Missing, " or "))
}

// missingTokens lists the roles whose token a network-facing service
// needs and lacks. The viewer token stays optional: a public stream is a
// legitimate choice, an open publisher or control API is not.
func (c Config) missingTokens() []string {
	var m []string
	if c.PublishToken == "" {
		m = append(m, "publisher")
	}
	if c.ControlToken == "" {
		m = append(m, "control")
	}
	return m
}

// validateDoors checks the HTTP access settings (part of Validate).
func (c Config) validateDoors() error {
	if c.MaxEventClients < 0 {
		return fmt.Errorf("--max-event-clients %d: want 0 (default %d) or more", c.MaxEventClients, defaultMaxEventClients)
	}
	if c.ReadTimeout < 0 || c.IdleTimeout < 0 {
		return fmt.Errorf("--read-timeout %v / --idle-timeout %v: want 0 (default) or a positive duration", time.Duration(c.ReadTimeout), time.Duration(c.IdleTimeout))
	}
	for _, o := range c.CORSOrigins {
		if _, err := normOrigin(o); err != nil {
			return fmt.Errorf("--cors-origin %q: %w", o, err)
		}
	}
	for _, h := range c.AllowedHosts {
		if _, err := normHost(h); err != nil {
			return fmt.Errorf("--allowed-host %q: %w", h, err)
		}
	}
	if m := c.missingTokens(); len(m) > 0 && !c.Insecure && !loopbackListen(c.Listen) {
		return &NoTokensError{Listen: c.Listen, Missing: m}
	}
	return nil
}

// loopbackListen reports whether the listen address only accepts
// connections from this host. A name other than localhost counts as
// non-loopback: it is not resolved here, and may resolve elsewhere later.
func loopbackListen(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// normOrigin returns a web origin in one canonical form,
// "scheme://host:port" with the port spelt out and the host in lower
// case, so that configured and received origins compare as strings.
func normOrigin(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", errors.New("want an origin: http(s)://host[:port], no path (no wildcard)")
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if u.Hostname() == "" {
		return "", errors.New("origin without a host")
	}
	return u.Scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port), nil
}

// normHost canonicalizes a Host header value or an --allowed-host entry:
// lower case, no trailing dot, no IPv6 brackets; the port, if any, kept
// apart ("" when absent).
func normHost(h string) (name, error) {
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		host, port = h, ""
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "" || strings.ContainsAny(host, "/ \t*@?#") {
		return name{}, errors.New("want a host name or IP, optionally with :port")
	}
	return name{host, port}, nil
}

type name struct{ host, port string }

// sameOrigin reports whether a browser's Origin header names the origin
// the request was sent to (its Host header). A Host without a port (a
// reverse proxy may drop it) matches either default port, as the scheme
// the client used is not known here.
func sameOrigin(origin, host string) bool {
	o, err := normOrigin(origin)
	if err != nil {
		return false
	}
	oh, op, _ := net.SplitHostPort(o[strings.Index(o, "://")+3:])
	h, err := normHost(host)
	if err != nil || h.host != oh {
		return false
	}
	return h.port == op || h.port == "" && (op == "80" || op == "443")
}

// doors is the HTTP access policy: the Host check against DNS
// rebinding, the origin check for browsers, the control token. Made by
// Service.httpServer from a validated Config.
type doors struct {
	checkHost bool
	hosts     []name
	origins   map[string]bool // normOrigin form
	control   string          // control token; "" lets everyone in
	log       *slog.Logger
	// refused counts refused requests by reason; the first of each
	// reason is logged at warn level, later ones at debug, so that a
	// flood of bad requests cannot flood the log.
	refused *prometheus.CounterVec
	logged  sync.Map
}

func newDoors(cfg Config, log *slog.Logger) (*doors, error) {
	if log == nil {
		log = slog.Default()
	}
	d := &doors{
		checkHost: loopbackListen(cfg.Listen) || len(cfg.AllowedHosts) > 0,
		origins:   map[string]bool{},
		control:   cfg.ControlToken,
		log:       log,
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "shadercast", Name: "http_refused_total",
			Help: "HTTP requests refused by the access policy, by reason (host, origin, token, query_token)."}, []string{"reason"}),
	}
	for _, o := range cfg.CORSOrigins {
		n, err := normOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("--cors-origin %q: %w", o, err)
		}
		d.origins[n] = true
	}
	for _, h := range cfg.AllowedHosts {
		n, err := normHost(h)
		if err != nil {
			return nil, fmt.Errorf("--allowed-host %q: %w", h, err)
		}
		d.hosts = append(d.hosts, n)
	}
	return d, nil
}

// refuse answers a request the policy refuses, with a JSON error that
// says what to change.
func (d *doors) refuse(w http.ResponseWriter, r *http.Request, code int, reason, msg string) {
	d.refused.WithLabelValues(reason).Inc()
	lv := slog.LevelDebug
	if _, seen := d.logged.LoadOrStore(reason, true); !seen {
		lv = slog.LevelWarn
	}
	d.log.Log(r.Context(), lv, "HTTP request refused", "reason", reason, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "err", msg)
	jsonError(w, code, msg)
}

// hostOK reports whether a Host header names this service as a client
// on this host would: a localhost name, a loopback IP, or an allowed
// name. A DNS-rebinding page's requests carry its own name and fail.
// An empty Host (HTTP/1.0) cannot come from a browser and passes.
func (d *doors) hostOK(host string) bool {
	if !d.checkHost || host == "" {
		return true
	}
	h, err := normHost(host)
	if err != nil {
		return false
	}
	if h.host == "localhost" || strings.HasSuffix(h.host, ".localhost") {
		return true
	}
	if ip, err := netip.ParseAddr(h.host); err == nil && ip.Unmap().IsLoopback() {
		return true
	}
	return slices.ContainsFunc(d.hosts, func(a name) bool { return a.host == h.host && (a.port == "" || a.port == h.port) })
}

// hostGuard refuses requests whose Host header is not this service's
// (every route: a rebinding page could otherwise watch, publish or
// control).
func (d *doors) hostGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !d.hostOK(r.Host) {
			h, _ := normHost(r.Host)
			d.refuse(w, r, http.StatusMisdirectedRequest, "host",
				fmt.Sprintf("Host %q is not a name of this service; use localhost or a loopback IP, or start shadercast with --allowed-host %s", r.Host, h.host))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin checks a browser's Origin header: ok is false for a
// foreign origin that is not allowed (the caller refuses the request);
// cross is true for an allowed origin other than the page's own (the
// caller adds CORS headers for it).
func (d *doors) crossOrigin(r *http.Request) (cross, ok bool) {
	o := r.Header.Get("Origin")
	if o == "" || sameOrigin(o, r.Host) {
		return false, true
	}
	n, err := normOrigin(o)
	return true, err == nil && d.origins[n]
}

func (d *doors) refuseOrigin(w http.ResponseWriter, r *http.Request) {
	o := r.Header.Get("Origin")
	d.refuse(w, r, http.StatusForbidden, "origin",
		fmt.Sprintf("pages from %s may not use %s; start shadercast with --cors-origin %s to allow them", o, r.URL.Path, o))
}

// originGuard refuses requests from foreign pages that are not allowed;
// for /whip, whose own CORS headers let any origin in (they are shared
// with /whep, which stays open to players embedded anywhere).
func (d *doors) originGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := d.crossOrigin(r); !ok {
			d.refuseOrigin(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// api guards a control route (/api/*, /metrics): the origin policy with
// CORS headers for allowed origins, the method, the control token (from
// the Authorization header; from ?token= only with queryToken, on GET,
// for EventSource, which cannot send headers), a body limit.
func (d *doors) api(h http.HandlerFunc, queryToken bool, methods ...string) http.Handler {
	allow := strings.Join(append([]string{http.MethodOptions}, methods...), ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Add("Vary", "Origin")
		cross, ok := d.crossOrigin(r)
		if !ok {
			d.refuseOrigin(w, r)
			return
		}
		if cross {
			hd.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
			hd.Set("Access-Control-Allow-Methods", allow)
			hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			hd.Set("Access-Control-Max-Age", "600")
		}
		if r.Method == http.MethodOptions {
			hd.Set("Allow", allow)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if len(methods) > 0 && !slices.Contains(methods, r.Method) {
			hd.Set("Allow", allow)
			jsonError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed; use %s", r.Method, strings.Join(methods, " or ")))
			return
		}
		if d.control != "" {
			got := bearer(r)
			if got == "" && r.URL.Query().Has("token") {
				if !queryToken || r.Method != http.MethodGet {
					d.refuse(w, r, http.StatusUnauthorized, "query_token",
						"?token= is accepted only by GET /api/events (EventSource cannot send headers); send \"Authorization: Bearer <token>\"")
					return
				}
				got = r.URL.Query().Get("token")
			}
			if !tokenOK(got, d.control) {
				hd.Set("WWW-Authenticate", `Bearer realm="shadercast control"`)
				d.refuse(w, r, http.StatusUnauthorized, "token", "missing or wrong bearer token for the control API")
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxAPIBody)
		h(w, r)
	})
}

// bearer returns the token of an "Authorization: Bearer <token>" header
// (the scheme is case-insensitive), or "".
func bearer(r *http.Request) string {
	a := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(a) <= len(p) || !strings.EqualFold(a[:len(p)], p) {
		return ""
	}
	return a[len(p):]
}

// httpServer builds the access policy and the http.Server with its
// limits; New calls it last, once the handlers exist.
func (s *Service) httpServer() (*http.Server, error) {
	d, err := newDoors(s.cfg, s.log)
	if err != nil {
		return nil, err
	}
	s.doors = d
	s.hub.maxSSE = s.cfg.MaxEventClients
	if s.hub.maxSSE == 0 {
		s.hub.maxSSE = defaultMaxEventClients
	}
	s.metrics.reg.MustRegister(d.refused, prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "shadercast",
		Name: "event_clients_refused_total", Help: "/api/events clients refused (503) past --max-event-clients."},
		func() float64 { return float64(s.hub.refusedSSE.Load()) }))
	if s.cfg.Insecure {
		if m := s.cfg.missingTokens(); len(m) > 0 {
			s.log.Warn("--insecure: serving without a "+strings.Join(m, " or ")+" token; anyone who reaches the port can publish and change the pipeline",
				"listen", s.cfg.Listen)
		}
	}
	if s.cfg.ViewerToken != "" && s.cfg.PublishToken == "" {
		s.log.Warn("a viewer token is set but no publisher token: /whip is open to everyone who reaches the port")
	}
	return newHTTPServer(s.cfg, d.hostGuard(s.routes())), nil
}

// newHTTPServer is the http.Server with cfg's limits.
func newHTTPServer(cfg Config, h http.Handler) *http.Server {
	rt := orDefault(time.Duration(cfg.ReadTimeout), defaultReadTimeout)
	return &http.Server{
		Handler: h,
		// The whole request, body included, within ReadTimeout: a body
		// that never finishes no longer holds its connection. SSE
		// streams are GET without a body; net/http lifts the read
		// deadline once the body is read.
		ReadHeaderTimeout: rt,
		ReadTimeout:       rt,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       orDefault(time.Duration(cfg.IdleTimeout), defaultIdleTimeout),
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// tokenOK compares a presented token with the wanted one in constant
// time; an empty presented token never matches.
func tokenOK(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
