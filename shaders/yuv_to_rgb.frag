#version 330 core
// First pass for I420 and NV12 frames: the planes are uploaded untouched
// (R8 luma, R8 or RG8 chroma) and converted here, so the CPU never touches
// pixels. Chroma is sampled at the co-sited texel (p/2) with texelFetch:
// bilinear texture() costs twice as much on llvmpipe.
uniform sampler2D uY;
uniform sampler2D uU; // I420: U plane (R8). NV12: interleaved UV (RG8).
uniform sampler2D uV; // I420 only.
uniform int uNV12;
// rgb = uMatrix * (yuv - uOffset), with range scaling folded into uMatrix.
uniform mat3 uMatrix;
uniform vec3 uOffset;
out vec4 fragColor;

void main() {
	ivec2 p = ivec2(gl_FragCoord.xy);
	ivec2 c = p / 2;
	float y = texelFetch(uY, p, 0).r;
	vec2 uv;
	if (uNV12 != 0) {
		uv = texelFetch(uU, c, 0).rg;
	} else {
		uv = vec2(texelFetch(uU, c, 0).r, texelFetch(uV, c, 0).r);
	}
	vec3 rgb = uMatrix * (vec3(y, uv) - uOffset);
	fragColor = vec4(clamp(rgb, 0.0, 1.0), 1.0);
}
