// Package whip is shadercast's WHIP (WebRTC-HTTP Ingestion Protocol, RFC
// 9725) support, both ways, using pion.
//
// Handler is the ingest endpoint: a publisher (OBS, a browser, another
// shadercast) POSTs an SDP offer and gets 201 Created with the answer and a
// Location to DELETE when done. The answer is sent after ICE gathering
// completes (non-trickle), so PATCH (trickle ICE / ICE restart) is answered
// 405. The offer must send VP8 video (400 "no VP8 video" otherwise: the
// service composites video, so an audio-only publisher is refused too);
// Opus audio is optional. By default one publisher may be live at a time
// (Config.MaxPublishers); another POST gets 409 Conflict with the reason
// and a Retry-After, since the conflict clears when the live one leaves.
//
// Each accepted offer becomes a Publication: its Video (and Audio, when
// the offer sends Opus) are processor queues, i.e. source.Video and
// source.Audio, fed with frames decoded from the network. VP8 is
// depacketized with pion's samplebuilder; since libvpx decodes a frame
// whose reference was lost without complaint, the receive loop watches RTP
// sequence numbers and, after any gap, decodes nothing until the next
// keyframe, asking for it with PLI (rate-limited, repeated while waiting).
// NACK is negotiated so that most losses are repaired before they become
// gaps. Timestamps are microseconds from the RTP clocks, unwrapped and made
// monotonic, each stream anchored at the arrival time of its first packet
// on the publication's clock so that audio and video share one clock.
//
// A publication ends on DELETE (readers get io.EOF), when the
// PeerConnection fails or closes (the publisher vanished: readers get
// ErrPublisherLost), on Publication.Close, or on Handler.Close.
//
// Client pushes shadercast's own whep.Publishers to an external WHIP
// server, sharing the one encode with the WHEP viewers, and reconnects with
// exponential backoff until its context ends.
package whip
