#version 330 core
// Scales uInput to the target's size with one bilinear fetch per pixel
// (uInput bound with linear filtering). At a 2:1 step each fetch lands
// between four texels and is their mean, a box filter; the compositor
// scales in such halving steps and ends with one step of less than 2:1,
// so that no texel is skipped (see compositor/rendition.go).
uniform sampler2D uInput;
uniform vec2 uScale; // 1 / the target's size
out vec4 fragColor;

void main() {
	fragColor = texture(uInput, gl_FragCoord.xy * uScale);
}
