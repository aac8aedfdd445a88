// Package rtcendpoint holds what shadercast's two WebRTC-over-HTTP
// endpoints share (the WHEP handler for viewers, the WHIP handler for
// publishers, RFC 9725): the ICE settings derived from their configs, CORS,
// the ICE-server Link headers, session ids.
package rtcendpoint

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"

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
