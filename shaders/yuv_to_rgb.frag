#version 330 core
// First pass for I420 and NV12 frames: the planes are uploaded untouched
// and converted here (sc_yuv comes from yuv.glsl), so the CPU never
// touches pixels.
out vec4 fragColor;

void main() {
	fragColor = sc_yuv(ivec2(gl_FragCoord.xy));
}
