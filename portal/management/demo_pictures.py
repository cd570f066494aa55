"""Pictures for the demo clinic's own exercises, drawn with Pillow: a figure on a mat in the
start and end positions, so the demo shows exercises with pictures without shipping photos."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

Point = tuple[int, int]

#: Joint positions on an 800 x 600 canvas: head, shoulder, elbow, hand, hip, knee, ankle.
POSES: dict[str, dict[str, Point]] = {
    "lying, knees bent": {
        "head": (170, 455),
        "shoulder": (230, 465),
        "elbow": (300, 480),
        "hand": (370, 482),
        "hip": (420, 465),
        "knee": (510, 380),
        "ankle": (575, 478),
    },
    "bridge, hips lifted": {
        "head": (170, 455),
        "shoulder": (235, 462),
        "elbow": (300, 480),
        "hand": (370, 482),
        "hip": (420, 395),
        "knee": (515, 365),
        "ankle": (575, 478),
    },
    "standing tall": {
        "head": (400, 120),
        "shoulder": (400, 185),
        "elbow": (395, 265),
        "hand": (392, 335),
        "hip": (400, 330),
        "knee": (405, 410),
        "ankle": (405, 490),
    },
    "hinged at the hips": {
        "head": (245, 215),
        "shoulder": (300, 240),
        "elbow": (325, 320),
        "hand": (340, 395),
        "hip": (445, 320),
        "knee": (420, 405),
        "ankle": (410, 490),
    },
    "lying, arms and legs up": {
        "head": (170, 455),
        "shoulder": (230, 465),
        "elbow": (240, 385),
        "hand": (250, 305),
        "hip": (420, 465),
        "knee": (425, 370),
        "ankle": (520, 365),
    },
    "lying, opposite arm and leg lowered": {
        "head": (170, 455),
        "shoulder": (230, 465),
        "elbow": (160, 420),
        "hand": (95, 400),
        "hip": (420, 465),
        "knee": (500, 430),
        "ankle": (600, 445),
    },
}

BONES = [("shoulder", "elbow"), ("elbow", "hand"), ("shoulder", "hip"), ("hip", "knee"), ("knee", "ankle")]
SKY, MAT, FLOOR, BODY, PROP = (232, 241, 248), (72, 135, 110), (205, 214, 222), (33, 47, 61), (196, 120, 40)


def pose_picture(pose: str, *, prop: str = "") -> bytes:
    """A PNG of the figure in ``pose`` (a key of POSES), 800 x 600, with a ``prop``: ``band``
    (a loop band above the knees) or ``stick`` (a broom handle along the back)."""
    joints = POSES[pose]
    image = Image.new("RGB", (800, 600), SKY)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 500, 800, 600), fill=FLOOR)
    if joints["shoulder"][1] > 440:  # lying down: on a mat
        draw.rounded_rectangle((80, 488, 720, 506), radius=8, fill=MAT)
    for start, end in BONES:
        draw.line((joints[start], joints[end]), fill=BODY, width=22, joint="curve")
    for joint in joints.values():
        x, y = joint
        draw.ellipse((x - 11, y - 11, x + 11, y + 11), fill=BODY)
    x, y = joints["head"]
    draw.ellipse((x - 34, y - 34, x + 34, y + 34), fill=BODY)
    if prop == "band":
        kx, ky = joints["knee"]
        hx, hy = joints["hip"]
        bx, by = (kx * 3 + hx) // 4, (ky * 3 + hy) // 4
        draw.ellipse((bx - 26, by - 14, bx + 26, by + 14), outline=PROP, width=8)
    elif prop == "stick":
        hx, hy = joints["hip"]
        x, y = joints["head"]
        dx, dy = x - hx, y - hy
        draw.line(((hx - dx * 0.15, hy - dy * 0.15), (x + dx * 0.1, y + dy * 0.1)), fill=PROP, width=10)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


#: The demo clinic's pictures of its own exercises: (pose, prop, the words that stand in for it).
DEMO_PICTURES: dict[str, list[tuple[str, str, str]]] = {
    "bridge": [
        ("lying, knees bent", "band", "Start: lying on your back, knees bent, a loop band above the knees."),
        ("bridge, hips lifted", "band", "End: hips lifted until shoulders, hips and knees are in a line."),
    ],
    "hinge": [
        ("standing tall", "stick", "Start: standing tall, a broom handle on head, upper back and tailbone."),
        (
            "hinged at the hips",
            "stick",
            "End: hips pushed back, leaning forward, the handle on all three.",
        ),
    ],
    "dead-bug": [
        ("lying, arms and legs up", "", "Start: on your back, arms up to the ceiling, knees over hips."),
        ("lying, opposite arm and leg lowered", "", "Then lower one arm and the opposite leg to the floor."),
    ],
}
