#version 330 core
// Copies its input: the reference pass for tests and benchmarks.
uniform sampler2D uInput;
out vec4 fragColor;

void main() {
	fragColor = texelFetch(uInput, ivec2(gl_FragCoord.xy), 0);
}
