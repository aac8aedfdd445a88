#version 330 core
// A layer's source, sampled bilinearly, its alpha scaled by the layer's
// opacity; blended over what is below ("over", straight alpha).
uniform sampler2D uInput;
uniform float uOpacity;
in vec2 vUV;
out vec4 fragColor;

void main() {
	vec4 c = texture(uInput, vUV);
	fragColor = vec4(c.rgb, c.a * uOpacity);
}
