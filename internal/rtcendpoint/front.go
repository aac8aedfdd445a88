package rtcendpoint

import (
	"crypto/subtle"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/pion/webrtc/v4"
)

// Front is the HTTP side the WHIP and WHEP endpoints share (RFC 9725 and
// the WHEP draft): CORS, the OPTIONS preflight with the ICE servers' Link
// headers (TURN secrets only to callers with the token), bearer-token
// authentication, method routing (POST creates a resource, DELETE of
// <path>/<id> ends it, PATCH is refused: no trickle ICE or ICE restart),
// the offer's content type and size, and the 201 answer. The endpoint
// supplies what differs: what a POST and a DELETE do.
type Front struct {
	// Realm names the endpoint in WWW-Authenticate ("whip", "whep").
	Realm string
	// Token, when set, is required as "Authorization: Bearer <Token>" on
	// POST, DELETE and PATCH (not on the preflight, which browsers send
	// without credentials).
	Token string
	// MaxBody limits the offer's size (413 past it).
	MaxBody int64
	// Post handles a POST whose offer (application/sdp, within MaxBody)
	// was read; it answers with Answer or an error.
	Post func(w http.ResponseWriter, r *http.Request, offer string)
	// Delete ends the resource id and reports whether there was one; the
	// DELETE of an unknown one gets 404 saying NotFound.
	Delete   func(id string) bool
	NotFound string
	// Extensions are a resource's sub-resources, <path>/<id>/<name>, each
	// announced on the 201 by a Link of its relation (Answer) and served
	// for GET and POST with the same authorization as DELETE.
	Extensions map[string]Extension

	links, publicLinks []string
}

// NewFront makes a Front whose Link headers announce servers.
func NewFront(realm, token string, maxBody int64, servers []webrtc.ICEServer) Front {
	return Front{Realm: realm, Token: token, MaxBody: maxBody,
		links: ICEServerLinks(servers, true), publicLinks: ICEServerLinks(servers, false)}
}

// Extension is a sub-resource of each session (Front.Extensions): the
// WHEP layer selection extension's.
type Extension struct {
	// Rel is its Link relation type, e.g.
	// "urn:ietf:params:whep:ext:core:layer".
	Rel string
	// Serve answers a GET or POST for the session id.
	Serve func(w http.ResponseWriter, r *http.Request, id string)
}

// extension returns the extension and session a path names, if any.
func (f *Front) extension(p string) (Extension, string, bool) {
	ext, ok := f.Extensions[path.Base(p)]
	if !ok || strings.Count(strings.Trim(p, "/"), "/") < 2 {
		return Extension{}, "", false
	}
	return ext, path.Base(path.Dir(p)), true
}

// ServeHTTP routes a request to the endpoint.
func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	SetCORS(w)
	if ext, id, ok := f.extension(r.URL.Path); ok {
		f.serveExtension(w, r, ext, id)
		return
	}
	if !f.admit(w, r, "POST, DELETE, OPTIONS, PATCH", true) {
		return
	}
	switch r.Method {
	case http.MethodPost:
		f.post(w, r)
	case http.MethodDelete:
		if !f.Delete(path.Base(r.URL.Path)) {
			http.Error(w, f.NotFound, http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodPatch:
		// Non-trickle by design: the answer already carries all our
		// candidates, and ICE restarts are done by a new POST.
		w.Header().Set("Allow", "POST, DELETE, OPTIONS")
		http.Error(w, "trickle ICE and ICE restart are not supported", http.StatusMethodNotAllowed)
	}
}

func (f *Front) serveExtension(w http.ResponseWriter, r *http.Request, ext Extension, id string) {
	if f.admit(w, r, "GET, POST, OPTIONS", false) {
		ext.Serve(w, r, id)
	}
}

// admit answers the CORS preflight (with the ICE servers' Link headers
// when links), refuses a method not in allow and an unauthorized request;
// it reports whether r goes on.
func (f *Front) admit(w http.ResponseWriter, r *http.Request, allow string, links bool) bool {
	switch {
	case r.Method == http.MethodOptions:
		hd := w.Header()
		hd.Set("Access-Control-Allow-Methods", allow)
		hd.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
		hd.Set("Access-Control-Max-Age", "86400")
		if links {
			f.setLinks(w, f.authorized(r))
		}
		w.WriteHeader(http.StatusNoContent)
		return false
	case !slices.Contains(strings.Split(allow, ", "), r.Method):
		w.Header().Set("Allow", allow)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return false
	case !f.authorized(r):
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+f.Realm+`"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return false
	}
	return true
}

func (f *Front) post(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/sdp" {
		http.Error(w, "Content-Type must be application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, f.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "offer too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading offer: "+err.Error(), http.StatusBadRequest)
		return
	}
	f.Post(w, r, string(body))
}

// Answer sends the 201 of a POST: the ICE servers' Link headers, the
// resource's Location (<path>/<id>), a Link to each of the extensions
// named that this session has, and the answer.
func (f *Front) Answer(w http.ResponseWriter, r *http.Request, id, answer string, exts ...string) {
	f.setLinks(w, true)
	loc := strings.TrimSuffix(r.URL.Path, "/") + "/" + id
	for _, name := range exts {
		if ext, ok := f.Extensions[name]; ok {
			w.Header().Add("Link", "<"+loc+"/"+name+`>; rel="`+ext.Rel+`"`)
		}
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, answer)
}

func (f *Front) setLinks(w http.ResponseWriter, authorized bool) {
	links := f.publicLinks
	if authorized {
		links = f.links
	}
	for _, l := range links {
		w.Header().Add("Link", l)
	}
}

func (f *Front) authorized(r *http.Request) bool {
	if f.Token == "" {
		return true
	}
	a := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(a) < len(p) || !strings.EqualFold(a[:len(p)], p) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(a[len(p):]), []byte(f.Token)) == 1
}
