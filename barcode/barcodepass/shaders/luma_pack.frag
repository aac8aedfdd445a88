#version 330 core
// Full-resolution luma (BT.709 weights), four pixels per RGBA8 texel, for
// the barcode decoder: read back only when the mask found candidates.
uniform sampler2D uInput;
uniform ivec2 uInputSize;
out vec4 fragColor;

void main() {
	ivec2 t = ivec2(gl_FragCoord.xy);
	vec4 o;
	for (int i = 0; i < 4; i++) {
		ivec2 p = ivec2(min(4 * t.x + i, uInputSize.x - 1), t.y);
		o[i] = dot(texelFetch(uInput, p, 0).rgb, vec3(0.2126, 0.7152, 0.0722));
	}
	fragColor = o;
}
