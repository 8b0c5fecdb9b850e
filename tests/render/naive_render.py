"""Naive per-pixel, per-face references for the renderer tests (plain Python floats, no torch ops).

Written straight from the paper's equations 6–12 and the conventions page, independent of the
vectorized implementation: loops over pixels and faces, no candidate lists, no K limit.
"""

from __future__ import annotations

import math


def _edge(px, py, ax, ay, bx, by):
    return (px - ax) * (by - ay) - (py - ay) * (bx - ax)


def _segment(px, py, ax, ay, bx, by):
    ex, ey = bx - ax, by - ay
    ll = ex * ex + ey * ey
    t = 0.0 if ll == 0 else min(1.0, max(0.0, ((px - ax) * ex + (py - ay) * ey) / ll))
    qx, qy = ax + t * ex, ay + t * ey
    return (px - qx) ** 2 + (py - qy) ** 2, t


def point_triangle(px, py, tri):
    """Returns (inside, distance, screen barycentrics of p or of the closest point p*)."""
    (ax, ay), (bx, by), (cx, cy) = [(v[0], v[1]) for v in tri]
    area = _edge(ax, ay, bx, by, cx, cy)
    if area != 0:
        w = (_edge(px, py, bx, by, cx, cy) / area, _edge(px, py, cx, cy, ax, ay) / area, _edge(px, py, ax, ay, bx, by) / area)
        if all(x >= 0 for x in w):
            return True, 0.0, w
    best = None
    for i, j in ((0, 1), (1, 2), (2, 0)):
        d2, t = _segment(px, py, tri[i][0], tri[i][1], tri[j][0], tri[j][1])
        if best is None or d2 < best[0]:
            bary = [0.0, 0.0, 0.0]
            bary[i], bary[j] = 1.0 - t, t
            best = (d2, tuple(bary))
    return False, math.sqrt(best[0]), best[1]


def perspective(bary, depths):
    weights = [b / z for b, z in zip(bary, depths)]
    total = sum(weights)
    return [w / total for w in weights], 1.0 / total


def render_naive(screen_verts, faces, face_attrs, background, height, width, blur_px, depth_slope=0.5, soft=True):
    """Soft-extension render of one mesh.

    Args:
        screen_verts: list of V (u, v, depth).
        faces: list of F (i, j, k).
        face_attrs: list of F lists of 3 attribute vectors (length C).
        background: H x W list of C-vectors, or None (zeros).

    Returns:
        (image H x W x C, alpha_s H x W, alpha_c H x W, crisp face H x W).
    """
    channels = len(face_attrs[0][0])
    image, alpha_s_map, alpha_c_map, face_map = [], [], [], []
    for r in range(height):
        row_img, row_as, row_ac, row_face = [], [], [], []
        for c in range(width):
            px, py = c + 0.5, r + 0.5
            hits = []
            for f, tri_idx in enumerate(faces):
                tri = [screen_verts[i] for i in tri_idx]
                inside, dist, bary = point_triangle(px, py, tri)
                bary_pc, depth = perspective(bary, [v[2] for v in tri])
                attr = [sum(bary_pc[k] * face_attrs[f][k][ch] for k in range(3)) for ch in range(channels)]
                hits.append((inside, dist, depth, attr, f))
            crisp = [h for h in hits if h[0]]
            z_c = math.inf
            a_c = [0.0] * channels
            crisp_face = -1
            if crisp:
                best = min(crisp, key=lambda h: h[2])
                z_c, a_c, crisp_face = best[2], best[3], best[4]
            alpha_c = 1.0 if crisp else 0.0
            counted = []
            if soft:
                for inside, dist, depth, attr, _ in hits:
                    if not inside and 0 < dist < blur_px and depth * (1 + depth_slope * dist / blur_px) < z_c:
                        counted.append((1.0 - dist / blur_px, attr))
            alpha_s = max((a for a, _ in counted), default=0.0)
            a_s = [sum(attr[ch] for _, attr in counted) / max(len(counted), 1) for ch in range(channels)]
            bg = background[r][c] if background is not None else [0.0] * channels
            pixel = [
                alpha_s * a_s[ch] + (1 - alpha_s) * (alpha_c * a_c[ch] + (1 - alpha_c) * bg[ch]) for ch in range(channels)
            ]
            row_img.append(pixel)
            row_as.append(alpha_s)
            row_ac.append(alpha_c)
            row_face.append(crisp_face)
        image.append(row_img)
        alpha_s_map.append(row_as)
        alpha_c_map.append(row_ac)
        face_map.append(row_face)
    return image, alpha_s_map, alpha_c_map, face_map


def candidates_naive(screen_verts, faces, height, width, blur_px):
    """Per pixel, the set of faces that cover it or lie within blur_px (PyTorch3D's rule).

    Returns a dict (row, col) -> {face: (inside, squared distance in pixels, depth)}, where depth
    uses perspective-corrected, clipped barycentrics of the pixel centre.
    """
    out = {}
    for r in range(height):
        for c in range(width):
            px, py = c + 0.5, r + 0.5
            found = {}
            for f, tri_idx in enumerate(faces):
                tri = [screen_verts[i] for i in tri_idx]
                (ax, ay), (bx, by), (cx, cy) = [(v[0], v[1]) for v in tri]
                area = _edge(ax, ay, bx, by, cx, cy)
                if area == 0:
                    continue
                w = [_edge(px, py, bx, by, cx, cy) / area, _edge(px, py, cx, cy, ax, ay) / area, _edge(px, py, ax, ay, bx, by) / area]
                inside = all(x >= 0 for x in w)
                d2 = min(_segment(px, py, tri[i][0], tri[i][1], tri[j][0], tri[j][1])[0] for i, j in ((0, 1), (1, 2), (2, 0)))
                if not inside and d2 >= blur_px**2:
                    continue
                zs = [v[2] for v in tri]
                top = [w[0] * zs[1] * zs[2], w[1] * zs[0] * zs[2], w[2] * zs[0] * zs[1]]
                total = max(sum(top), 1e-8)
                bary = [max(t / total, 0.0) for t in top]
                s = max(sum(bary), 1e-5)
                depth = sum(b / s * z for b, z in zip(bary, zs))
                found[f] = (inside, d2, depth)
            out[(r, c)] = found
    return out
