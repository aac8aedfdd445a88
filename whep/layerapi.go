package whep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// LayerRel is the Link relation of a session's layer resource: the WHEP
// layer selection extension of the IETF WHEP drafts (draft-ietf-wish-whep
// until 2024, now in the "core extensions" draft), which a session over a
// rendition ladder gets on its 201:
//
//	Link: </whep/{id}/layer>; rel="urn:ietf:params:whep:ext:core:layer"
//
// POST it a JSON object to choose what the viewer receives, 200 with the
// layers when done:
//
//	{"rid": "360p"}                         that rung, whatever the estimate
//	{"maxWidth": 640} or {"maxHeight": 360} the largest rung within, and the
//	                                        estimate's choice below it
//	{}                                      back to the estimate's choice
//
// "encodingId" is read as "rid" (the drafts' earlier name); "mediaId" may
// name the video section (a viewer has one video, so it is only checked
// for form); an unknown rung gets 400 naming the rungs. GET it for the layers: each rung's rid, size and
// target bitrate, which one is received ("active"), and the mode. (The
// drafts announce layers in a server-sent "layers" event; a GET answers
// the same question without a stream per viewer.)
const LayerRel = "urn:ietf:params:whep:ext:core:layer"

// layerRequest is a POST to the layer resource.
type layerRequest struct {
	MediaID    json.RawMessage `json:"mediaId"`
	RID        string          `json:"rid"`
	EncodingID string          `json:"encodingId"`
	MaxWidth   int             `json:"maxWidth"`
	MaxHeight  int             `json:"maxHeight"`
}

// Layers is the layer resource's answer.
type Layers struct {
	// Layers are the ladder's rungs, the largest first.
	Layers []Layer `json:"layers"`
	// Active is the rung received; Switching the one it is moving to.
	Active    string `json:"active"`
	Switching string `json:"switching,omitempty"`
	// Mode is "auto" (the estimate chooses), "max" (it chooses at most
	// Max) or "fixed" (Max, whatever the estimate).
	Mode string `json:"mode"`
	Max  string `json:"max,omitempty"`
}

// Layer is one rung.
type Layer struct {
	RID           string `json:"rid"`
	Width         int    `json:"width,omitempty"`
	Height        int    `json:"height,omitempty"`
	TargetBitrate int    `json:"targetBitrate"`
}

// layer serves a session's layer resource.
func (h *Handler) layer(w http.ResponseWriter, r *http.Request, id string) {
	s, ok := h.sessions.Get(id)
	if !ok || s.lt == nil {
		http.Error(w, "no such session, or it has no layers", http.StatusNotFound)
		return
	}
	lt := s.lt
	if r.Method == http.MethodPost {
		var req layerRequest
		dec := json.NewDecoder(io.LimitReader(r.Body, 4<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			http.Error(w, "layer request: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := lt.choose(req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(lt.layers())
}

// choose applies a layer request.
func (lt *layerTrack) choose(req layerRequest) error {
	// mediaId names the media section; a viewer has one video, the only
	// media with layers, so its value only needs to be well formed.
	if len(req.MediaID) > 0 {
		var id any
		if json.Unmarshal(req.MediaID, &id) != nil {
			return errors.New("mediaId: a string or a number")
		}
		switch id.(type) {
		case string, float64:
		default:
			return errors.New("mediaId: a string or a number")
		}
	}
	rid := req.RID
	if rid == "" {
		rid = req.EncodingID
	}
	switch {
	case rid != "":
		for i, p := range lt.rungs {
			if p.Rendition() == rid {
				lt.setCap(i, true)
				return nil
			}
		}
		var names []string
		for _, p := range lt.rungs {
			names = append(names, p.Rendition())
		}
		return fmt.Errorf("no layer %q: this stream has %s", rid, strings.Join(names, ", "))
	case req.MaxWidth > 0 || req.MaxHeight > 0:
		i := len(lt.rungs) - 1 // the smallest, if none fits
		for j, p := range lt.rungs {
			if (req.MaxWidth <= 0 || p.w <= req.MaxWidth) && (req.MaxHeight <= 0 || p.h <= req.MaxHeight) {
				i = j
				break
			}
		}
		lt.setCap(i, false)
	default:
		lt.setCap(0, false)
	}
	return nil
}

// layers describes the ladder and what the viewer receives.
func (lt *layerTrack) layers() Layers {
	lt.mu.Lock()
	cur, want, capIdx, fixed := lt.cur, lt.want, lt.capIdx, lt.fixed
	lt.mu.Unlock()
	out := Layers{Active: lt.rungs[cur].Rendition(), Mode: "auto"}
	if want >= 0 {
		out.Switching = lt.rungs[want].Rendition()
	}
	switch {
	case fixed:
		out.Mode, out.Max = "fixed", lt.rungs[capIdx].Rendition()
	case capIdx > 0:
		out.Mode, out.Max = "max", lt.rungs[capIdx].Rendition()
	}
	for _, p := range lt.rungs {
		out.Layers = append(out.Layers, Layer{RID: p.Rendition(), Width: p.w, Height: p.h, TargetBitrate: int(p.bwe.target.Load())})
	}
	return out
}
