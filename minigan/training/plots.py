"""Pictures of a run: sample grids, the animated GIF of them, and the training curves."""
import csv
import os

import numpy as np

from ..backend import to_numpy


def image_grid(images, nrow=None, pad=2):
    """Tile (N, 1, H, W) images in [-1, 1] into one (rows*H, cols*W) uint8 picture."""
    images = to_numpy(images)
    n, _, h, w = images.shape
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    ncol = int(np.ceil(n / nrow))
    grid = np.full((ncol * (h + pad) + pad, nrow * (w + pad) + pad), 255, dtype=np.uint8)
    pixels = np.clip((images[:, 0] + 1) * 127.5, 0, 255).round().astype(np.uint8)
    for i in range(n):
        r, c = divmod(i, nrow)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = pixels[i]
    return grid


def save_grid(path, images, nrow=None, scale=2, row_labels=None):
    """Write a grid of images as a PNG (white digits on black, upscaled ``scale`` times).

    ``row_labels``: one line of text per row, written to the left of it (StackGAN's captions).
    """
    from PIL import Image

    grid = image_grid(images, nrow)
    img = Image.fromarray(grid, mode="L")
    if scale != 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    if row_labels is not None:
        img = _label_rows(img, list(row_labels), (images.shape[2] + 2) * scale)
    _atomic_pil_save(img, path)


def _label_rows(img, labels, row_height):
    """The picture with a white margin on its left holding one label per row, centred on the row."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    placed = label_layout(labels, row_height, ImageDraw.Draw(img), font)
    margin = int(max(x + w for words in placed for x, _, w, _ in words)) + 12
    out = Image.new("L", (img.width + margin, img.height), 255)
    out.paste(img, (margin, 0))
    draw = ImageDraw.Draw(out)
    for words in placed:
        for x, y, _, word in words:
            draw.text((6 + x, y), word, fill=0, font=font, anchor="lm")
    return out


def label_layout(labels, row_height, draw, font, max_lines=2):
    """Where each word of each row's label goes: per label a list of (x, y, width, word), y the line's middle.

    Words are drawn one by one with a clear gap between them (the default font's own space
    is a pixel or two, which runs words together) and wrapped at word boundaries, into at most
    ``max_lines`` lines that fit the row: the margin is as narrow as the longest label allows.
    """
    def width(text):
        return draw.textlength(text, font=font)

    gap = max(3.0, 0.6 * width("n"))
    split = [text.split() for text in labels]
    line_height = max(1.0, getattr(font, "size", 10) * 1.2)
    lines_fit = max(1, min(max_lines, int(row_height // line_height)))

    def wrap(words, budget):
        lines, line, used = [], [], 0.0
        for word in words:
            w = width(word)
            if line and used + gap + w > budget:
                lines.append(line)
                line, used = [], 0.0
            used += (gap if line else 0.0) + w
            line.append((word, w))
        return lines + [line] if line else lines

    # the narrowest width at which every label fits in ``lines_fit`` lines
    total = [sum(width(w) for w in words) + gap * max(0, len(words) - 1) for words in split]
    budget = max([width(w) for words in split for w in words] + [t / lines_fit for t in total] + [1.0])
    while any(len(wrap(words, budget)) > lines_fit for words in split):
        budget += gap
    placed = []
    for i, words in enumerate(split):
        lines = wrap(words, budget)
        top = i * row_height + row_height / 2 - line_height * (len(lines) - 1) / 2
        row = []
        for k, line in enumerate(lines):
            x = 0.0
            for word, w in line:
                row.append((x, round(top + k * line_height), w, word))
                x += w + gap
        placed.append(row)
    return placed


def save_gif(path, frame_paths, duration_ms=200):
    """An animated GIF of the grids in ``frame_paths`` (the last frame held longer)."""
    from PIL import Image

    frames = []
    for p in frame_paths:
        with Image.open(p) as image:
            frames.append(image.convert("L"))
    if not frames:
        return
    durations = [duration_ms] * (len(frames) - 1) + [duration_ms * 5]
    _atomic_pil_save(frames[0], path, save_all=True, append_images=frames[1:], duration=durations, loop=0)


def _atomic_pil_save(img, path, **kw):
    tmp = f"{path}.tmp{os.getpid()}"
    img.save(tmp, format=os.path.splitext(path)[1][1:].upper(), **kw)
    os.replace(tmp, path)


def read_log(path):
    """The per-step training log (CSV) as a dict of NumPy columns."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    return {k: np.array([float(r[k]) if r[k] not in ("", None) else np.nan for r in rows]) for k in rows[0]}


def _smooth(y, window):
    if len(y) < window or window <= 1:
        return y
    kernel = np.ones(window) / window
    return np.convolve(y, kernel, mode="valid")


#: how a log column is labelled in the plots (others keep their name)
LABELS = {"d_loss": "D loss", "g_loss": "G loss", "d_real": "D(x)", "d_fake": "D(G(z))", "d_acc": "D accuracy",
          "wasserstein": "E[D(x)] - E[D(G(z))]"}


def curve_panels(columns, panels=None):
    """[(title, columns, reference line)]: the losses, then the task's panels, then whatever is left."""
    columns = [c for c in columns if c not in ("step", "epoch", "time")]
    groups = [("loss", [c for c in columns if c.endswith("loss")], None)]
    for title, (keys, ref) in (panels or {}).items():
        groups.append((title, [k for k in keys if k in columns], ref))
    placed = {c for _, keys, _ in groups for c in keys}
    groups.append(("other", [c for c in columns if c not in placed], None))
    return [g for g in groups if g[1]]


def plot_curves(log_path, out_path, panels=None, smooth=None):
    """Plot every column of the per-step log against the step: the losses first, then ``panels``.

    ``panels`` is ``{title: (columns, reference line or None)}`` (a task's
    ``panels``); columns in no panel share a last one.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = read_log(log_path)
    if not log:
        return
    steps = log["step"]
    window = smooth or max(1, len(steps) // 100)
    s = _smooth(steps, window)
    groups = curve_panels(list(log), panels)
    fig, axes = plt.subplots(len(groups), 1, figsize=(8, 3 * len(groups)), sharex=True, squeeze=False)
    for ax, (title, keys, ref) in zip(axes[:, 0], groups):
        for key in keys:
            ax.plot(s, _smooth(log[key], window), label=LABELS.get(key, key))
        if ref is not None:
            ax.axhline(ref, color="gray", lw=0.5, ls="--")
        ax.set_ylabel(title)
        ax.legend(loc="upper right")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel(f"step (moving average over {window})")
    fig.tight_layout()
    tmp = f"{out_path}.tmp{os.getpid()}.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, out_path)
