#version 330 core
// 3x3 sharpen kernel (centre 1+4k, edges -k), clamped at the borders.
uniform sampler2D uInput;
uniform ivec2 uInputSize;
uniform float uStrength;
out vec4 fragColor;

vec4 at(ivec2 p) {
	return texelFetch(uInput, clamp(p, ivec2(0), uInputSize - 1), 0);
}

void main() {
	ivec2 p = ivec2(gl_FragCoord.xy);
	vec4 c = at(p);
	vec4 n = at(p + ivec2(1, 0)) + at(p - ivec2(1, 0)) + at(p + ivec2(0, 1)) + at(p - ivec2(0, 1));
	fragColor = vec4(clamp(c.rgb * (1.0 + 4.0 * uStrength) - n.rgb * uStrength, 0.0, 1.0), c.a);
}
