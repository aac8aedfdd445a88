package rtcendpoint

import (
	"errors"
	"slices"
	"strings"

	"github.com/pion/sdp/v3"
)

// Unbundled says how an offer without a BUNDLE group was answered. pion
// runs every media section over one transport and answers such an offer
// with every section rejected (port 0: a 201 with nothing in it). An
// offer without BUNDLE asks for a transport per section, which one pion
// PeerConnection cannot give, so one section is answered, alone on its
// transport, and the others are rejected in the answer, which is what an
// offerer without BUNDLE can take (JSEP lets the answerer reject
// sections).
type Unbundled struct {
	// Mid is the section answered.
	Mid string
	// Rejected counts the other sections that sent or wanted media.
	Rejected int
}

// BundleOne prepares an offer for pion. An offer with a BUNDLE group is
// returned as it is, with a nil *Unbundled. Without one, its first active
// section, when keep accepts it, is put alone in a BUNDLE group (so pion
// answers it and rejects the rest), and the *Unbundled returned must be
// applied to the answer (Answer). When keep refuses the first section it
// is an error saying what to offer instead: peers without BUNDLE do not
// start a later section after a rejected one (webrtcbin 1.22, pion).
func BundleOne(offer string, keep func(*sdp.MediaDescription) bool) (string, *Unbundled, error) {
	sd, err := ParseOffer(offer)
	if err != nil {
		return "", nil, err
	}
	for _, a := range sd.Attributes {
		if a.Key == "group" && strings.HasPrefix(a.Value, "BUNDLE") {
			return offer, nil, nil
		}
	}
	u := &Unbundled{}
	first := true
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Port.Value == 0 {
			continue
		}
		mid, _ := md.Attribute("mid")
		switch {
		case first && mid != "" && keep(md):
			u.Mid = mid
		default:
			u.Rejected++
		}
		first = false
	}
	if u.Mid == "" {
		// Peers without BUNDLE (webrtcbin's bundle-policy none, pion as an
		// offerer) do not start a later section when an earlier one is
		// rejected: a 201 would carry nothing, so say what works instead.
		return "", nil, errors.New("bad offer: without a BUNDLE group only the offer's first media section can be answered, " +
			"and it is not one this endpoint can use: offer with bundle-policy max-bundle or max-compat, or put the video first")
	}
	// An offerer without BUNDLE may give each section its own ICE
	// credentials and candidates (webrtcbin does); pion takes the first
	// section's for its one transport. The others are rejected anyway: give
	// them the kept section's credentials and none of their candidates.
	var kept *sdp.MediaDescription
	for _, md := range sd.MediaDescriptions {
		if mid, _ := md.Attribute("mid"); mid == u.Mid {
			kept = md
		}
	}
	ufrag, _ := kept.Attribute("ice-ufrag")
	pwd, _ := kept.Attribute("ice-pwd")
	for _, md := range sd.MediaDescriptions {
		if md == kept {
			continue
		}
		attrs := md.Attributes[:0]
		for _, a := range md.Attributes {
			switch {
			case a.Key == "candidate" || a.Key == "end-of-candidates":
				continue
			case a.Key == "ice-ufrag" && ufrag != "":
				a.Value = ufrag
			case a.Key == "ice-pwd" && pwd != "":
				a.Value = pwd
			}
			attrs = append(attrs, a)
		}
		md.Attributes = attrs
	}
	sd.Attributes = append(sd.Attributes, sdp.Attribute{Key: "group", Value: "BUNDLE " + u.Mid})
	b, err := sd.Marshal()
	if err != nil {
		return "", nil, err
	}
	return string(b), u, nil
}

// Answer fits pion's answer to the offer without BUNDLE: the BUNDLE group
// the offer did not have goes (an answer may not add one), and the ICE
// candidates, which pion writes in the first section only, go to the
// answered section.
func (u *Unbundled) Answer(answer string) (string, error) {
	sd := &sdp.SessionDescription{}
	if err := sd.UnmarshalString(answer); err != nil {
		return "", err
	}
	attrs := sd.Attributes[:0]
	for _, a := range sd.Attributes {
		if a.Key == "group" && strings.HasPrefix(a.Value, "BUNDLE") {
			continue
		}
		attrs = append(attrs, a)
	}
	sd.Attributes = attrs
	var kept *sdp.MediaDescription
	for _, md := range sd.MediaDescriptions {
		if mid, _ := md.Attribute("mid"); mid == u.Mid {
			kept = md
		}
	}
	if kept == nil {
		return "", errors.New("the answer lacks the section answered")
	}
	for _, md := range sd.MediaDescriptions {
		if md == kept {
			continue
		}
		others := md.Attributes[:0]
		for _, a := range md.Attributes {
			if a.Key == "candidate" || a.Key == "end-of-candidates" {
				if _, dup := kept.Attribute(a.Key); a.Key != "end-of-candidates" || !dup {
					kept.Attributes = append(kept.Attributes, a)
				}
				continue
			}
			others = append(others, a)
		}
		md.Attributes = others
	}
	b, err := sd.Marshal()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// HasCodec reports whether md offers the codec named name (its rtpmap
// encoding name, case-insensitively: "VP8", "H264", "opus").
func HasCodec(md *sdp.MediaDescription, name string) bool {
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		_, enc, _ := strings.Cut(a.Value, " ")
		if n, _, _ := strings.Cut(enc, "/"); strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// CodecOrder lists the codecs md offers, by their rtpmap encoding names
// ("VP8", "H264", "opus"), in the order of its payload types: the order
// of preference (RFC 3264). A name comes once.
func CodecOrder(md *sdp.MediaDescription) []string {
	var out []string
	for _, pt := range md.MediaName.Formats {
		for _, a := range md.Attributes {
			v, ok := strings.CutPrefix(a.Value, pt+" ")
			if a.Key != "rtpmap" || !ok {
				continue
			}
			name, _, _ := strings.Cut(v, "/")
			if !slices.ContainsFunc(out, func(n string) bool { return strings.EqualFold(n, name) }) {
				out = append(out, name)
			}
		}
	}
	return out
}
