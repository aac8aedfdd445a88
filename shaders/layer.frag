#version 330 core
// A layer's source, sampled bilinearly, its alpha scaled by the layer's
// opacity; blended over what is below ("over", straight alpha). With
// SC_LAYER_YUV the source is a frame's YUV planes (yuv.glsl, inserted by
// the compositor), converted here, only where the layer is drawn.
uniform sampler2D uInput;
uniform float uOpacity;
// uPremultiplied: the source's colour is premultiplied by its alpha (a
// nested scene's frame); it is blended with ONE, ONE_MINUS_SRC_ALPHA.
uniform bool uPremultiplied;
in vec2 vUV;
out vec4 fragColor;

void main() {
#ifdef SC_LAYER_YUV
	vec4 c = sc_yuv_filtered(vUV);
#else
	vec4 c = texture(uInput, vUV);
#endif
	fragColor = uPremultiplied ? c * uOpacity : vec4(c.rgb, c.a * uOpacity);
}
