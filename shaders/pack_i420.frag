#version 330 core
// Last pass: RGBA to I420, four samples per RGBA8 texel, so one small
// glReadPixels returns all three planes. Packing measured 2-3x faster on
// llvmpipe than rendering into R8 targets.
//
// Target: uTexels.x wide, height + ceil(height/2) rows.
//   rows [0, h):      Y, texel tx holds pixels 4tx..4tx+3 of that row;
//   rows [h, h+ch):   chroma row r = ty-h; texels [0, uTexels.y) hold U
//                     samples 4tx..4tx+3, texels [uTexels.y, 2*uTexels.y)
//                     hold V samples the same way.
// The compositor draws each region separately (viewports), with PLANE set
// to 0 (Y), 1 (U) or 2 (V): no branch is left in the shader, which on
// llvmpipe costs as much as the work. Each chroma sample converts the mean
// RGB of its 2x2 block (clamped at odd edges), taken with one bilinear
// fetch at the block's centre: uInput is bound with linear filtering, and
// four point fetches cost twice as much on llvmpipe. Samples past the row
// end repeat the last one.
uniform sampler2D uInput;
uniform ivec2 uInputSize;
uniform ivec2 uTexels; // x: texels per row, y: texels per chroma plane row
// The plane's matrix row and offset, value = dot(ROW, rgb) + OFFSET, are
// compile-time constants (defines) for the same reason as in yuv.glsl.
const vec3 uRow = ROW;
const float uOffset = OFFSET;
out vec4 fragColor;

void main() {
	ivec2 t = ivec2(gl_FragCoord.xy);
	vec4 o;
#if PLANE == 0
	for (int i = 0; i < 4; i++) {
		ivec2 p = ivec2(min(4 * t.x + i, uInputSize.x - 1), t.y);
		o[i] = dot(uRow, texelFetch(uInput, p, 0).rgb) + uOffset;
	}
#else
	int tx = PLANE == 1 ? t.x : t.x - uTexels.y;
	int cw = (uInputSize.x + 1) / 2;
	float y = float(2 * (t.y - uInputSize.y) + 1) / float(uInputSize.y);
	for (int i = 0; i < 4; i++) {
		float x = float(2 * min(4 * tx + i, cw - 1) + 1) / float(uInputSize.x);
		o[i] = dot(uRow, texture(uInput, vec2(x, y)).rgb) + uOffset;
	}
#endif
	fragColor = clamp(o, 0.0, 1.0);
}
