package barcode

import "sync/atomic"

// MaxWindowRadius is the largest pooling radius the shaders support (the
// pipeline contract allows neighbourhoods of radius ≤ 12 texels).
const MaxWindowRadius = 12

// Params holds every tunable of the barcode pass. The first group is passed
// to the shaders as uniforms; the rest drive the CPU side. Mask thresholds
// are bytes (0..255) as read back.
type Params struct {
	// MaxAnalysisSide bounds the long side of the analysis resolution: the
	// frame is reduced by the smallest integer factor s that meets it
	// (never upscaled). Uniform uScale = s.
	MaxAnalysisSide int
	// WindowRadius is the radius, in analysis pixels, of the box window
	// over which gradient statistics are pooled (uniform uRadius, clamped
	// to MaxWindowRadius). It must span a few bars/modules yet stay below
	// the size of small codes.
	WindowRadius int
	// EnergyGain scales sqrt(mean |g|²) into the A byte (uniform
	// uEnergyGain); 4 maps gradients of 0..0.25 luma/pixel onto 0..255,
	// keeping resolution where the thresholds sit.
	EnergyGain float32

	// A mask pixel is a bar candidate when A ≥ MinEnergy and
	// R (coherence) ≥ MinCoherence1D, else a grid candidate when
	// A ≥ MinEnergy2D and G (grid score) ≥ MinGrid2D. Bars are accepted at
	// lower energy because coherence alone is already very selective;
	// grid scores are noisier (module corners, blur), so they need edges.
	MinCoherence1D uint8
	MinGrid2D      uint8
	MinEnergy      uint8
	MinEnergy2D    uint8
	// MaxAngleStep is the largest grid-orientation difference (degrees,
	// modulo 90) between linked candidate pixels: a code is one rigid
	// pattern, while text and natural texture wander in angle.
	MaxAngleStep float64
	// LinkRadius: candidate pixels up to this far apart (Chebyshev, mask
	// pixels) are connected, bridging wide spaces between bars.
	LinkRadius int
	// MergeGap: regions of one kind and orientation that lie side by side
	// with a gap of at most MergeGap times their extent across the gap (and
	// overlap by half along it) are merged: a code whose modules are wider
	// than the pooling window falls apart at its wide spaces.
	MergeGap float64
	// MinArea1D / MinArea2D: smallest component (mask pixels) decoded.
	MinArea1D int
	MinArea2D int
	// ShrinkWindow is the fraction of WindowRadius trimmed from every side
	// of a component's rectangle: pooling spreads a code's response outward
	// by up to the window radius.
	ShrinkWindow float64
	// MaxRegions bounds how many regions are decoded per call (largest
	// first) so a busy texture cannot stall a frame.
	MaxRegions int

	// Decoding.
	// CropMargin grows a region before decoding by this fraction of its
	// short side plus CropMarginPx full-res pixels, for the quiet zone.
	CropMargin   float64
	CropMarginPx int
	// Crops whose short side is below MinCropSide (full-res pixels) are also
	// tried upscaled 2x; MaxCropSide caps the long side of a crop
	// (resampled down beyond it) to bound decode time.
	MinCropSide int
	MaxCropSide int
	// Crops whose long side exceeds DownscaleAbove are also tried at half
	// size (blurred large codes).
	DownscaleAbove int
	// MaxSymbolsPerRegion bounds how many symbols are read from one region
	// (nested or adjacent codes).
	MaxSymbolsPerRegion int
	// TryInverted also decodes the negated crop (light-on-dark codes);
	// zxing-cpp 1.4 does not try that itself.
	TryInverted bool
	// GrowRetry: a region that does not decode is retried once with its
	// crop grown by this fraction of its long half-side on every side,
	// which recovers codes located only in part (split by a highlight,
	// a fold or a wide gap).
	GrowRetry float64

	// Undecoded regions are reported as format "unknown" only when
	// ReportUndecoded is set and they look like a code: mean coherence
	// (bars) ≥ MinUndecodedScore1D or mean grid score (matrix) ≥
	// MinUndecodedScore2D, fill (component area / rectangle area) ≥
	// MinFill, at least MinUndecodedArea mask pixels, and a plausible
	// aspect (long/short side ≤ MaxAspect1D / MaxAspect2D). Everything
	// else that does not decode is treated as texture.
	ReportUndecoded     bool
	MinUndecodedScore1D uint8
	MinUndecodedScore2D uint8
	MinUndecodedArea    int
	MinFill             float64
	MaxAspect1D         float64
	MaxAspect2D         float64
	// Module-count plausibility of an undecoded region: the luma profile
	// across its bars (bars) or along both grid axes (matrix), binarized at
	// mid-range, must span at least MinProfileContrast grey levels and show
	// at least MinRuns1D / MinRuns2D runs whose widths vary (coefficient of
	// variation ≥ MinRunCV: codes mix module widths, stripe textures do
	// not).
	MinProfileContrast int
	MinRuns1D          int
	MinRuns2D          int
	MinRunCV           float64

	// Cache (video). Unless DisableCache is set, a region whose rectangle
	// overlaps one of a recent call by IoU ≥ CacheIoU inherits its outcome:
	// decoded regions are verified only every VerifyEvery calls (their
	// symbols re-read in place, one per call; the region is decoded again
	// when one no longer reads or the region changed shape), undecoded ones
	// retried every RetryEvery calls. An undecoded region
	// that stays put (same rectangle as when last tried) is retried at
	// doubling intervals up to MaxRetryEvery calls: on a static scene,
	// texture that never decodes costs next to nothing. Disable the cache
	// for still images.
	DisableCache  bool
	CacheIoU      float64
	VerifyEvery   int
	RetryEvery    int
	MaxRetryEvery int
	// MaxDecodesPerCall bounds the regions decoded in one call when the
	// cache is on (0: no bound); the others wait for the next calls.
	// MaxRefreshesPerCall bounds the cached regions verified or retried in
	// one call (0: no bound but MaxDecodesPerCall), most overdue first, so
	// that on a steady scene the zxing work spreads evenly over frames
	// instead of bunching when several regions fall due together.
	MaxDecodesPerCall   int
	MaxRefreshesPerCall int
	// FollowEvery: a decoded symbol that turned or grew since it was read
	// is re-read in place every FollowEvery calls (within
	// MaxRefreshesPerCall) rather than every VerifyEvery: between reads
	// its corners are carried with its located region, whose angle is
	// coarse (see place). 0: at the VerifyEvery pace.
	FollowEvery int
	// TrackIDs, when set, hands out the detector's track ids
	// (DetectedBarcode.TrackID): detectors that share one number their
	// codes apart, so that several detectors on one programme (a
	// service's layers) never give two codes the same id. Nil: the
	// detector counts on its own.
	TrackIDs *TrackIDs
}

// TrackIDs hands out track ids, from 1. The zero value is ready; it is safe
// for concurrent use.
type TrackIDs struct{ last atomic.Int64 }

// Next returns an id not handed out before.
func (t *TrackIDs) Next() int64 { return t.last.Add(1) }

// DefaultParams returns the tuned defaults.
func DefaultParams() Params {
	return Params{
		MaxAnalysisSide: 640,
		WindowRadius:    4,
		EnergyGain:      4,

		MinCoherence1D: 160,
		MinGrid2D:      110,
		MinEnergy:      20,
		MinEnergy2D:    40,
		MaxAngleStep:   15,
		LinkRadius:     3,
		MergeGap:       0.25,
		MinArea1D:      40,
		MinArea2D:      40,
		ShrinkWindow:   0.5,
		MaxRegions:     12,

		CropMargin:          0.15,
		CropMarginPx:        8,
		MinCropSide:         120,
		MaxCropSide:         1600,
		TryInverted:         true,
		DownscaleAbove:      500,
		MaxSymbolsPerRegion: 4,
		GrowRetry:           0.5,

		ReportUndecoded:     true,
		MinUndecodedScore1D: 237, // 0.93
		MinUndecodedScore2D: 179, // 0.70
		MinUndecodedArea:    200,
		MinFill:             0.6,
		MaxAspect1D:         6,
		MaxAspect2D:         2.5,
		MinProfileContrast:  40,
		MinRuns1D:           20,
		MinRuns2D:           10,
		MinRunCV:            0.3,

		CacheIoU:      0.5,
		VerifyEvery:   15,
		RetryEvery:    5,
		MaxRetryEvery: 60,

		MaxDecodesPerCall:   3,
		MaxRefreshesPerCall: 1,
		FollowEvery:         2,
	}
}

// AnalysisScale returns the integer downscale factor s for a w×h frame: the
// smallest s ≥ 1 with ceil(max(w,h)/s) ≤ p.MaxAnalysisSide.
func AnalysisScale(w, h int, p Params) int {
	long := max(w, h)
	m := p.MaxAnalysisSide
	if m <= 0 || long <= m {
		return 1
	}
	return (long + m - 1) / m
}
