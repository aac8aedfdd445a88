// Package barcode finds and reads 1D and 2D barcodes in video frames: the
// compositor's barcode pass. Results are shaped like the Shape Detection
// API's DetectedBarcode.
//
// The work is split the way the pipeline runs it:
//
//  1. GPU, at analysis resolution (frame / s, long side ≤ MaxAnalysisSide):
//     three fragment shaders (barcodepass/shaders/barcode_tensor.frag, barcode_boxh.frag,
//     barcode_classify.frag) pool gradient statistics over a window and
//     write an RGBA8 Mask: coherence of edge directions (bars), alignment of
//     edges to a perpendicular grid (2D codes; the quadrupled-angle
//     statistic), grid orientation and edge strength. ReferenceMask is the
//     Go version of those shaders, kept equivalent line by line (for tests,
//     tuning and a CPU fallback).
//  2. CPU, Detector.Detect: thresholds the read-back mask, links candidate
//     pixels of similar orientation into components, fits oriented
//     rectangles, merges fragments, and decodes each region from the
//     full-resolution luma with zxing-cpp 1.4 (cgo): an upright crop with a
//     quiet-zone margin, enlarged or reduced, inverted, grown. Decoding
//     confirms a region; undecoded regions are reported as "unknown" only
//     when they look like a code (score, shape, module runs). A cache keeps
//     results of regions that stay put between video frames.
//
// Encode renders test symbols with zxing-cpp's writer.
package barcode

// Point is a position in full-resolution frame pixels (x right, y down).
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Rect is an axis-aligned rectangle in full-resolution frame pixels.
type Rect struct {
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// DetectedBarcode mirrors the Shape Detection API's DetectedBarcode, with
// one extension: TrackID.
type DetectedBarcode struct {
	BoundingBox  Rect    `json:"boundingBox"`
	CornerPoints []Point `json:"cornerPoints"` // 4, clockwise (y down) from the corner nearest the image's top-left
	Format       string  `json:"format"`       // web name, "unknown" when located but not decoded
	RawValue     string  `json:"rawValue"`
	// TrackID (not in the Shape Detection API, which knows single images)
	// names the code across the frames of a video: the same code, followed
	// from frame to frame by position and value, keeps its id, from when it
	// is located (possibly "unknown" at first) through its reads; a code
	// not reported for a while, or another code, gets a new one. Ids are
	// positive and increase; 0 when the detector runs without its cache
	// (still images).
	TrackID int64 `json:"trackId,omitempty"`
}

// Gray is an 8-bit luma image (row 0 = top) used for decoding.
type Gray struct {
	Pix           []byte
	Stride        int
	Width, Height int
}
