// Package whep serves shadercast's generator tracks to WebRTC viewers over
// WHEP (WebRTC-HTTP Egress Protocol, draft-ietf-wish-whep; the egress twin of
// WHIP, RFC 9725), using pion.
//
// A Publisher encodes one generator track once (VP8 for video, Opus for
// audio) into a pion TrackLocalStaticSample that every viewer's
// PeerConnection is bound to, so the encode cost does not grow with the
// audience. Viewers' PLI/FIR become forced keyframes on the shared encoder.
//
// Handler is the WHEP endpoint: POST an SDP offer, get 201 with the answer
// and a Location to DELETE when done. It is non-trickle: the answer is sent
// only after ICE gathering completes, so it carries every candidate and
// PATCH (trickle ICE / ICE restart) is answered 405. NACK retransmission and
// RTCP sender/receiver reports are on; transport-wide congestion control
// (TWCC feedback and GCC bandwidth estimation) is deliberately not wired:
// the encoder runs at a fixed CBR target shared by all viewers, so there is
// no per-viewer rate to adapt.
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
