#version 330 core
// Barcode pass, stage 1 of 3: per-block gradient moments.
// Go reference: barcode.tensorPixel (barcode/stages.go); keep in sync.
//
// Input  uInput: the full-res RGBA frame, W x H = uInputSize, row 0 = top.
// Output: RGBA32F, w x 2h with s = uScale, w = ceil(W/s), h = ceil(H/s).
//         Rows [0, h) are plane 0 and rows [h, 2h) plane 1 of the same
//         w x h grid of s x s blocks:
//           plane 0 = mean over the block of (|g|^2, Re z^2, Im z^2, 0)
//           plane 1 = mean over the block of (Re z^4/|g|^2, Im z^4/|g|^2, 0, 0)
//         where g = (gx, gy) is the 2x2 luma gradient at each full-res pixel
//         and z = gx + i*gy.
// Uniforms:
//   uScale (int)  analysis downscale factor s >= 1 (barcode.AnalysisScale)

uniform sampler2D uInput;
uniform ivec2 uInputSize;
uniform int uScale;

out vec4 fragColor;

const vec3 kLuma = vec3(0.2126, 0.7152, 0.0722);

float luma(int x, int y) {
    ivec2 q = clamp(ivec2(x, y), ivec2(0), uInputSize - 1);
    return dot(texelFetch(uInput, q, 0).rgb, kLuma);
}

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    int s = uScale;
    int h = (uInputSize.y + s - 1) / s;
    int plane = 0;
    int by = p.y;
    if (p.y >= h) {
        plane = 1;
        by = p.y - h;
    }
    vec4 acc = vec4(0.0);
    for (int j = 0; j < s; j++) {
        for (int i = 0; i < s; i++) {
            int px = p.x * s + i;
            int py = by * s + j;
            float l00 = luma(px, py);
            float l10 = luma(px + 1, py);
            float l01 = luma(px, py + 1);
            float l11 = luma(px + 1, py + 1);
            float gx = 0.5 * ((l10 - l00) + (l11 - l01));
            float gy = 0.5 * ((l01 - l00) + (l11 - l10));
            float m2 = gx * gx + gy * gy;
            float z2x = gx * gx - gy * gy;
            float z2y = 2.0 * gx * gy;
            if (plane == 0) {
                acc.x += m2;
                acc.y += z2x;
                acc.z += z2y;
            } else if (m2 > 1e-12) {
                acc.x += (z2x * z2x - z2y * z2y) / m2;
                acc.y += 2.0 * z2x * z2y / m2;
            }
        }
    }
    fragColor = acc * (1.0 / float(s * s));
}
