// Package media defines the frame types that flow between shadercast's
// sources (decoders, capture), the compositor and the generator: VideoFrame
// for pictures and AudioData for sample blocks.
//
// The semantics follow WebCodecs (https://www.w3.org/TR/webcodecs/) so that
// behaviour can be reasoned about with a published spec instead of ad hoc
// rules: timestamps and durations are in microseconds, frames are explicitly
// closed, Clone shares the underlying memory, and CopyTo takes a plane layout
// (VideoFrame) or copy options with format conversion (AudioData).
//
// # Lifetime and pooling
//
// A video pipeline produces frames at a fixed rate forever, so the steady
// state must not allocate: frames are small values ({handle, generation})
// whose handles and pixel buffers come from pools and go back on Close.
// Buffers are reference counted so that Clone is cheap and the memory returns
// to the pool only when the last clone is closed. Because a handle is reused
// for later frames, every frame value carries the generation it was issued
// with; a stale copy of a closed frame therefore keeps reporting ErrClosed
// even after its handle belongs to another frame. The zero value of either
// type is a closed frame.
//
// # Concurrency
//
// Close is safe to call from any goroutine, any number of times, through any
// copy of the frame: exactly one call releases it and the others are no-ops.
// Accessors, Clone and CopyTo never crash and never observe a half-written
// frame, even if the frame is closed concurrently; Clone and CopyTo hold a
// reference while they run, so they either succeed on intact data or report
// ErrClosed. What is a programming error is touching plane memory obtained
// from VideoFrame.Plane after (or while) the frame is closed: that memory may
// already belong to another frame. Frames are immutable once handed on; only
// the producer of an AllocVideoFrame frame writes to its planes, and it must
// finish before cloning the frame or passing it to another goroutine.
//
// PoolStats reports live frames and buffers, which makes leaks (a missing
// Close) visible in tests of packages that use frames.
package media
