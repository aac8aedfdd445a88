// Package whep serves shadercast's generator tracks to WebRTC viewers over
// WHEP (WebRTC-HTTP Egress Protocol, draft-ietf-wish-whep; the egress twin of
// WHIP, RFC 9725), using pion.
//
// A Publisher encodes one generator track once (VP8 for video, Opus for
// audio) into a pion TrackLocalStaticSample that every viewer's
// PeerConnection is bound to, so the encode cost does not grow with the
// audience. Viewers' PLI/FIR become forced keyframes on the shared encoder,
// coalesced and rate limited: at most one forced keyframe per
// VideoConfig.MinKeyframeInterval (default 500 ms, so at most two a
// second). A request inside the interval is not dropped but served by the
// first frame after it, so a new viewer waits at most 500 ms for its first
// picture, while a viewer flooding PLIs (or many viewers joining at once)
// costs the shared encode one keyframe per interval: at 30 fps a keyframe
// is roughly 5-10 delta frames' worth of bits, so two a second keep the
// CBR encoder's picture quality while one a frame would ruin everybody's.
//
// Handler is the WHEP endpoint: POST an SDP offer, get 201 with the answer
// and a Location to DELETE when done. It is non-trickle: the answer is sent
// only after ICE gathering completes, so it carries every candidate and
// PATCH (trickle ICE / ICE restart) is answered 405. NACK retransmission and
// RTCP sender/receiver reports are on.
//
// Bandwidth estimation: every PeerConnection negotiates transport-cc (the
// TWCC header extension on our packets, TWCC feedback from the viewer) and
// runs pion's GCC send-side estimator (delay and loss based, no pacer: the
// CBR encoder paces). Each video Publisher keeps the estimators of the
// sessions it is attached to and every 500 ms sets the shared encoder's
// target to
//
//	clamp(min over viewers of (estimate - audio) * 90% / videoTracks, MinBitrate, MaxBitrate)
//
// where audio is the bitrate of the session's audio publishers (same
// transport) and 10% is left for RTP/SRTP headers, RTCP and keyframe
// overshoot. It is the minimum because the encode is shared: one bitstream
// goes to everybody, so the weakest viewer sets the pace, and a better
// connected viewer gets no more than the worst one. (Serving mixed
// audiences each at its own rate needs several encodes: simulcast layers
// chosen per viewer by an SFU, at the cost of encoding each layer.)
// Viewers that never sent TWCC feedback (transport-cc not negotiated) do not
// count; with no counting viewer the configured Bitrate applies. To avoid
// oscillation, changes under 5% are ignored, decreases apply at once and
// increases are limited to +25% per step. VideoConfig.MinBitrate and
// MaxBitrate (defaults 150 kbit/s and Bitrate) bound the target;
// PublisherStats shows it and every viewer's estimate.
//
// Rendition ladders: when Config.Publishers holds several video
// publishers of one codec (the rungs of a ladder, largest first, each
// VideoConfig.Rendition), a viewer of that codec gets a track of its own
// (layerTrack, layers.go) that forwards one rung's packets and moves to
// another at that rung's keyframe, with its sequence numbers and
// timestamps running on, as an SFU forwards simulcast layers. Each rung is
// still encoded once for all its viewers, and only while somebody
// receives it. Every adaptInterval the viewer's own estimate decides:
// after a second of congestion (GCC sees over 10% loss or delay overuse)
// it moves down to the largest rung its estimate carries with 30% to
// spare; it moves up a rung once its estimate has carried the rung above
// for 2 s, or, since GCC without probing does not climb far past what is
// sent, to try it after 5 s without a switch (doubling after each try
// that fails, up to a minute). So one poor viewer no longer lowers
// everybody's picture: above the smallest rung a viewer's estimate does not
// count for its rung's encode (it moves instead); on the smallest it does,
// as above. A viewer's POST may cap its rung (?rendition=NAME): it then
// starts there and never moves above it.
//
// The floor is also the protection of the shared encode against any one
// viewer: a viewer on a bad link, or one that lies in its TWCC feedback,
// can lower the picture for everybody down to MinBitrate and no further.
// Below it that viewer simply receives more than its link carries (losses,
// NACKs, stalls for it alone). The service sets the floor with
// --min-bitrate, by default a quarter of --bitrate: a 4x drop is what a
// viewer on a congested link can impose on all, the rest keep a usable
// picture.
//
// Sessions that never connect: a POST reserves a viewer slot at once, so
// a session that has not connected (ICE and DTLS) within
// Config.ConnectTimeout (default 10 s) of its answer is ended and its slot
// given back, and one remote address (an IPv4 address, an IPv6 /64) may have at most
// Config.MaxUnconnectedPerAddr (default 4) sessions still connecting;
// past that a POST gets 429 with a Retry-After. Offers are checked before
// pion sees them (SDP, at most 16 media sections, some audio or video).
//
// ICE: Config restricts the server's UDP ports (UDPPortMin/UDPPortMax),
// advertises a 1:1 NAT's public address instead of local ones (NAT1To1IPs),
// adds loopback candidates (IncludeLoopback, automatic for POSTs that arrive
// over loopback), and hands its STUN/TURN servers to viewers as WHEP Link
// headers (ICEServers).
//
// Lip sync: browsers synchronise only tracks of one MediaStream, i.e. with
// the same a=msid stream id. Give the audio and video publishers of a source
// the same StreamID or generator.MediaStream, or use NewStreamPublishers.
package whep
