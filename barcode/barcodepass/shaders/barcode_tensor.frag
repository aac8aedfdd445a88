#version 330 core
// Barcode pass, stage 1 of 3: per-block gradient moments.
// Go reference: barcode.tensorPixel (barcode/stages.go); keep in sync.
//
// Input  uInput: the full-res RGBA frame, W x H = uInputSize, row 0 = top.
// Output: two targets, w x h with s = uScale, w = ceil(W/s), h = ceil(H/s),
//         one texel per s x s block of the frame:
//           plane0 (RGBA32F) = block mean of (|g|^2, Re z^2, Im z^2, 0)
//           plane1 (RG32F)   = block mean of (Re z^4/|g|^2, Im z^4/|g|^2)
//         where g = (gx, gy) is the 2x2 luma gradient at each full-res pixel
//         and z = gx + i*gy. Both planes come from one fragment (two render
//         targets) so the gradients are computed once, and each luma sample
//         is fetched once per row pair: the right column of one pixel is the
//         left column of the next.
// Defines:
//   SCALE  analysis downscale factor s >= 1 (barcode.AnalysisScale): a
//          compile-time constant, so that the loops unroll and each row of
//          s+1 luma samples stays in registers (every sample is fetched
//          once, where a loop over a uniform fetched most rows twice; on
//          llvmpipe, constant loops also avoid per-pixel loop masks).

uniform sampler2D uInput;
uniform ivec2 uInputSize;
const int kScale = SCALE;

layout(location = 0) out vec4 plane0;
layout(location = 1) out vec2 plane1;

const vec3 kLuma = vec3(0.2126, 0.7152, 0.0722);

float luma(int x, int y) {
    ivec2 q = clamp(ivec2(x, y), ivec2(0), uInputSize - 1);
    return dot(texelFetch(uInput, q, 0).rgb, kLuma);
}

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    int px = p.x * kScale;
    int py = p.y * kScale;
    float top[kScale + 1];
    float bot[kScale + 1];
    for (int i = 0; i <= kScale; i++) {
        top[i] = luma(px + i, py);
    }
    vec3 a = vec3(0.0);
    vec2 b = vec2(0.0);
    for (int j = 0; j < kScale; j++) {
        for (int i = 0; i <= kScale; i++) {
            bot[i] = luma(px + i, py + j + 1);
        }
        for (int i = 0; i < kScale; i++) {
            float l00 = top[i];
            float l10 = top[i + 1];
            float l01 = bot[i];
            float l11 = bot[i + 1];
            float gx = 0.5 * ((l10 - l00) + (l11 - l01));
            float gy = 0.5 * ((l01 - l00) + (l11 - l10));
            float m2 = gx * gx + gy * gy;
            float z2x = gx * gx - gy * gy;
            float z2y = 2.0 * gx * gy;
            a += vec3(m2, z2x, z2y);
            if (m2 > 1e-12) {
                b += vec2((z2x * z2x - z2y * z2y) / m2, 2.0 * z2x * z2y / m2);
            }
        }
        top = bot;
    }
    float inv = 1.0 / float(kScale * kScale);
    plane0 = vec4(a * inv, 0.0);
    plane1 = b * inv;
}
