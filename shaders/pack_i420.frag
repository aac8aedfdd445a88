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
// Each chroma sample converts the mean RGB of its 2x2 block (clamped at
// odd edges), taken with one bilinear fetch at the block's centre: uInput
// is bound with linear filtering, and four point fetches cost twice as
// much on llvmpipe. Samples past the row end repeat the last one.
uniform sampler2D uInput;
uniform ivec2 uInputSize;
uniform ivec2 uTexels; // x: texels per row, y: texels per chroma plane row
uniform mat3 uMatrix;  // yuv = uMatrix * rgb + uOffset
uniform vec3 uOffset;
out vec4 fragColor;

vec3 rgbAt(ivec2 p) {
	return texelFetch(uInput, min(p, uInputSize - 1), 0).rgb;
}

void main() {
	ivec2 t = ivec2(gl_FragCoord.xy);
	int w = uInputSize.x;
	int h = uInputSize.y;
	vec4 o = vec4(0.0);
	if (t.y < h) {
		for (int i = 0; i < 4; i++) {
			vec3 rgb = rgbAt(ivec2(min(4 * t.x + i, w - 1), t.y));
			o[i] = dot(vec3(uMatrix[0][0], uMatrix[1][0], uMatrix[2][0]), rgb) + uOffset.x;
		}
	} else {
		int r = t.y - h;
		int cw = (w + 1) / 2;
		int plane = t.x < uTexels.y ? 1 : 2;
		int tx = plane == 1 ? t.x : t.x - uTexels.y;
		if (tx < uTexels.y) {
			vec3 row = plane == 1 ? vec3(uMatrix[0][1], uMatrix[1][1], uMatrix[2][1])
			                      : vec3(uMatrix[0][2], uMatrix[1][2], uMatrix[2][2]);
			float off = plane == 1 ? uOffset.y : uOffset.z;
			for (int i = 0; i < 4; i++) {
				vec2 c = vec2(ivec2(min(4 * tx + i, cw - 1), r) * 2 + 1);
				vec3 rgb = texture(uInput, c / vec2(uInputSize)).rgb;
				o[i] = dot(row, rgb) + off;
			}
		}
	}
	fragColor = clamp(o, 0.0, 1.0);
}
