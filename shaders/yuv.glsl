// YUV sampling shared by the conversion pass and by passes fused with it
// (the compositor inserts this after the #version line). I420 comes as
// three R8 planes; with SC_NV12 defined, sc_U is the interleaved RG8 plane.
// Chroma is taken at the co-sited texel p/2 with texelFetch: bilinear
// texture() costs twice as much on llvmpipe. A compile-time define rather
// than a uniform branch: the branch alone cost a fifth of the pass there.
uniform sampler2D sc_Y;
uniform sampler2D sc_U;
uniform sampler2D sc_V;
// rgb = sc_Matrix * (yuv - sc_Offset), range scaling folded into the matrix.
// The compositor defines SC_MATRIX and SC_OFFSET for each colour space and
// compiles a program per variant: as constants, the matrix's zeros and the
// offsets fold away, which made this pass 30% faster on llvmpipe than with
// uniforms.
const mat3 sc_Matrix = SC_MATRIX;
const vec3 sc_Offset = SC_OFFSET;

vec4 sc_yuv(ivec2 p) {
	ivec2 c = p / 2;
#ifdef SC_NV12
	vec2 uv = texelFetch(sc_U, c, 0).rg;
#else
	vec2 uv = vec2(texelFetch(sc_U, c, 0).r, texelFetch(sc_V, c, 0).r);
#endif
	vec3 rgb = sc_Matrix * (vec3(texelFetch(sc_Y, p, 0).r, uv) - sc_Offset);
	return vec4(clamp(rgb, 0.0, 1.0), 1.0);
}

// sc_luma is the luma at p from the Y plane alone, its range expanded:
// the BT.709 luma of sc_yuv(p) for a BT.709 frame, and close to it for a
// BT.601 one; for analyses that look at luma only, with one fetch where
// sc_yuv makes three.
float sc_luma(ivec2 p) {
	return clamp(sc_Matrix[0][0] * (texelFetch(sc_Y, p, 0).r - sc_Offset.x), 0.0, 1.0);
}

// sc_yuv_filtered samples the planes at texture coordinates uv (0-1 over
// the frame), filtered by the sampler bound to their units: for drawing a
// frame scaled, where each output pixel is not one input texel. Filtering
// YUV before the conversion gives what filtering RGB after it would: the
// conversion is affine.
vec4 sc_yuv_filtered(vec2 uv) {
#ifdef SC_NV12
	vec2 c = texture(sc_U, uv).rg;
#else
	vec2 c = vec2(texture(sc_U, uv).r, texture(sc_V, uv).r);
#endif
	vec3 rgb = sc_Matrix * (vec3(texture(sc_Y, uv).r, c) - sc_Offset);
	return vec4(clamp(rgb, 0.0, 1.0), 1.0);
}
