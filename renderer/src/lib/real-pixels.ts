// Images shown at twice their own size or more are drawn with square pixels (nearest neighbour),
// as microscopy and inspection viewers do (ImageJ, napari): a 64-px cell crop blown up to 300 px
// with smoothing looks soft, and the expert judges blur that is not in the image. Smaller
// magnifications and reductions stay smooth, where square pixels would only add jagged edges.
import type { Action } from 'svelte/action';

/** The drawn scale (drawn size over the image's own) from which pixels are drawn square. */
export const REAL_PIXELS_FROM = 2;

export const realPixels: Action<HTMLImageElement> = (img) => {
  const update = () => {
    // The drawn scale: object-fit contain letterboxes (the smaller ratio), cover crops (the larger).
    const sx = img.clientWidth / img.naturalWidth, sy = img.clientHeight / img.naturalHeight;
    const scale = img.naturalWidth > 0 && img.naturalHeight > 0 ? (getComputedStyle(img).objectFit === 'cover' ? Math.max(sx, sy) : Math.min(sx, sy)) : 0;
    const magnified = scale >= REAL_PIXELS_FROM;
    img.style.imageRendering = magnified ? 'pixelated' : '';
    img.toggleAttribute('data-real-pixels', magnified);
  };
  const resized = new ResizeObserver(update);
  resized.observe(img);
  img.addEventListener('load', update);
  update();
  return {
    destroy() {
      resized.disconnect();
      img.removeEventListener('load', update);
    },
  };
};
