// Package rtcendpoint holds what shadercast's two WebRTC-over-HTTP
// endpoints share (the WHEP handler for viewers, the WHIP handler for
// publishers, RFC 9725): the ICE settings derived from their configs, CORS,
// the ICE-server Link headers, session ids.
package rtcendpoint

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// SettingEngines derives the setting engine of every PeerConnection from
// base (nil for defaults): the ICE UDP port range when udpMax != 0, host
// candidates replaced by the public nat IPs (pion's address rewrite rule;
// its SetNAT1To1IPs is deprecated), loopback candidates when
// includeLoopback. seLoop is the same with loopback candidates, for offers
// that arrived over loopback (the peer is on this host). prefix names the
// caller in errors.
func SettingEngines(prefix string, base *webrtc.SettingEngine, udpMin, udpMax uint16, nat []string, includeLoopback bool) (se, seLoop webrtc.SettingEngine, err error) {
	if base != nil {
		se = *base
	}
	if udpMax != 0 {
		if err := se.SetEphemeralUDPPortRange(udpMin, udpMax); err != nil {
			return se, se, fmt.Errorf("%s: UDP port range %d-%d: %w", prefix, udpMin, udpMax, err)
		}
	}
	if len(nat) > 0 {
		// Replaced, not appended: a local address that peers cannot
		// reach only costs them connectivity checks.
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        nat,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return se, se, fmt.Errorf("%s: NAT1To1IPs: %w", prefix, err)
		}
	}
	if includeLoopback {
		se.SetIncludeLoopbackCandidate(true)
	}
	seLoop = se
	seLoop.SetIncludeLoopbackCandidate(true)
	return se, seLoop, nil
}

// SetCORS lets pages from other origins use the endpoint.
func SetCORS(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	// Without exposing Location a cross-origin client cannot learn its
	// session URL and so can never DELETE it.
	hd.Set("Access-Control-Expose-Headers", "Location")
	// A second value rather than "Location, Link" in one: both forms mean
	// the same list, and the first value stays exactly "Location" for
	// clients that compare it. Link carries the ICE servers.
	hd.Add("Access-Control-Expose-Headers", "Link")
}

// ICEServerLinks formats servers as Link header values (RFC 9725 section
// 4.6): one `<url>; rel="ice-server"` per URL; TURN URLs carry username,
// credential and credential-type, and are left out entirely without
// withSecrets (or without a password credential).
func ICEServerLinks(servers []webrtc.ICEServer, withSecrets bool) []string {
	var out []string
	for _, s := range servers {
		for _, u := range s.URLs {
			v := "<" + u + `>; rel="ice-server"`
			if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
				cred, ok := s.Credential.(string)
				if !withSecrets || !ok {
					continue
				}
				v += "; username=" + quote(s.Username) + "; credential=" + quote(cred) + `; credential-type="password"`
			}
			out = append(out, v)
		}
	}
	return out
}

// quote makes an HTTP quoted-string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// FromLoopback reports whether r arrived on a loopback address.
func FromLoopback(r *http.Request) bool {
	la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	ta, ok := la.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// NewID returns a random session id (128 bits, hex).
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Defaults shared by the WHEP and WHIP handlers for sessions that have not
// connected yet (see their Config.ConnectTimeout and
// Config.MaxUnconnectedPerAddr).
const (
	// DefaultConnectTimeout is how long an answered session may take to
	// connect before its slot is given back. ICE and DTLS between two
	// reachable peers take well under a second, a TURN relay a few;
	// 10 s leaves room for a slow relay and still frees a squatted slot
	// quickly.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultMaxUnconnectedPerAddr bounds the sessions one remote address
	// may have still connecting: a browser opens one or two at a time (a
	// reload while the last one is still timing out), a player wall
	// behind one NAT a few more, while a squatter would open dozens.
	DefaultMaxUnconnectedPerAddr = 4
)

// Unconnected counts, per remote address, the sessions that were offered
// but have not connected yet, so that one address cannot hold every slot
// with offers that never connect. IPv4 addresses count one by one, IPv6
// ones by /64 (one host or site usually has a whole /64). Safe for
// concurrent use; the zero value is not usable, use NewUnconnected.
type Unconnected struct {
	max     int // <= 0: unlimited
	mu      sync.Mutex
	n       map[netip.Prefix]int
	refused atomic.Uint64
}

// NewUnconnected returns a counter allowing max sessions per address;
// max <= 0 means no limit.
func NewUnconnected(max int) *Unconnected {
	return &Unconnected{max: max, n: map[netip.Prefix]int{}}
}

// Take counts one more connecting session for r's remote address. It
// returns false, counting nothing, when the address is at its limit;
// otherwise release (idempotent, safe from any goroutine) uncounts it,
// once the session connected or ended.
func (u *Unconnected) Take(r *http.Request) (release func(), ok bool) {
	key := addrKey(r.RemoteAddr)
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.max > 0 && u.n[key] >= u.max {
		return nil, false
	}
	u.n[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			u.mu.Lock()
			if u.n[key]--; u.n[key] <= 0 {
				delete(u.n, key) // the map holds only addresses with sessions
			}
			u.mu.Unlock()
		})
	}, true
}

// Admit is Take for an HTTP handler: past the limit it answers 429 Too
// Many Requests itself, with Retry-After set to retry (when the oldest
// connecting session will have connected or timed out) and a body naming
// the limit and what (e.g. "sessions"), counts the refusal, and returns
// false.
func (u *Unconnected) Admit(w http.ResponseWriter, r *http.Request, what string, retry time.Duration) (release func(), ok bool) {
	release, ok = u.Take(r)
	if ok {
		return release, true
	}
	u.refused.Add(1)
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(retry.Round(time.Second)/time.Second))))
	http.Error(w, fmt.Sprintf("too many %s still connecting from this address (at most %d)", what, u.max), http.StatusTooManyRequests)
	return nil, false
}

// Refused is how many offers Admit refused.
func (u *Unconnected) Refused() uint64 { return u.refused.Load() }

// addrKey is the counting key of a remote address ("ip:port"): the IPv4
// address, or the IPv6 /64. Anything unparsable counts as one address.
func addrKey(remote string) netip.Prefix {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Prefix{}
	}
	a := ap.Addr().Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.WithZone("").Prefix(bits)
	return p
}

// MaxMediaSections bounds the m= sections of an offer. pion builds a
// transceiver (with its own buffers and goroutines on connect) for each, so
// an offer of thousands of sections costs far more than its 64 KiB body; a
// real client offers one video and one audio section, plus a data channel.
const MaxMediaSections = 16

// ParseOffer parses an SDP offer as pion will, and refuses one with more
// than MaxMediaSections media sections. Its errors are 400 bodies: they
// say what is wrong.
func ParseOffer(offer string) (*sdp.SessionDescription, error) {
	sd, err := (&webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}).Unmarshal()
	if err != nil {
		return nil, errors.New("bad offer: " + err.Error())
	}
	if n := len(sd.MediaDescriptions); n > MaxMediaSections {
		return nil, fmt.Errorf("bad offer: %d media sections, at most %d are accepted", n, MaxMediaSections)
	}
	return sd, nil
}
