#version 330 core
// Inverts the colours, keeping alpha; uAmount blends from none (0) to full (1).
uniform sampler2D uInput;
uniform float uAmount;
out vec4 fragColor;

void main() {
	vec4 c = texelFetch(uInput, ivec2(gl_FragCoord.xy), 0);
	fragColor = vec4(mix(c.rgb, 1.0 - c.rgb, uAmount), c.a);
}
